/**
 * History blocks (materializers/history-blocks.ts): reads AS OF an LSN that a chunk's blocks hold
 * give what a model of every commit holds, through lookups (with and without a promise), chunked
 * scans over ranges that start and end inside chunks, on chunk bounds and past them, and SQL;
 * before and after reopening, with rows in negative chunks, in chunks that never get a block, and
 * at rowids past the ones blocks take. Checkpoints cut blocks every few steps, so a read meets
 * blocks, chunks whose blocks end before its LSN, and chunks without any.
 */
import { describe, expect, it } from 'vitest';
import type { Value } from '../../base/values.js';
import { Database } from '../../index.js';
import { encodeRowidKey, NOT_CACHED } from '../../materializers/btree/index.js';
import { CHUNK_ROWS } from '../../materializers/history-blocks.js';
import type { KeyRange } from '../../query/txn.js';
import { MemoryStore } from '../../storage/memory.js';
import { FaultyStore } from '../../storage/fault.js';
import { rng } from '../support/random.js';

/** Rowids the workload writes: three chunks updated often, one rarely, a negative one, two huge. */
const HOT = Array.from({ length: 3 * CHUNK_ROWS }, (_, i) => i);
const COLD = Array.from({ length: 20 }, (_, i) => 5 * CHUNK_ROWS + i);
const NEGATIVE = Array.from({ length: 10 }, (_, i) => -1 - i * 7);
const HUGE = [2n ** 60n, 2n ** 60n + 1n];

type Row = [number | bigint, number];

type State = { lsn: bigint; rows: Row[] };

/**
 * One step of the seeded workload: a transaction of a dozen writes (or 150), mostly to the hot
 * chunks; the model's rows after it are pushed to `states`.
 */
async function step(db: Database, r: ReturnType<typeof rng>, n: number, model: Map<bigint, number>, states: State[]): Promise<void> {
  await db.exec('BEGIN');
  const writes = r.chance(0.2) ? 150 : 12;
  for (let k = 0; k < writes; k++) {
    const pool = r.chance(0.85) ? HOT : r.chance(0.5) ? COLD : r.chance(0.5) ? NEGATIVE : HUGE;
    const id = BigInt(r.pick<number | bigint>(pool));
    if (r.chance(0.15)) {
      await db.exec('DELETE FROM t WHERE id = ?', [id]);
      model.delete(id);
    } else {
      await db.exec('INSERT OR REPLACE INTO t VALUES (?, ?)', [id, n * 1000 + k]);
      model.set(id, n * 1000 + k);
    }
  }
  await db.exec('COMMIT');
  states.push({ lsn: db.lsn, rows: [...model].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([id, v]) => [Number(id) === Number(id) && id <= 2n ** 53n ? Number(id) : id, v]) });
}

describe('history blocks', () => {
  for (const seed of [1, 2]) {
    it(`give what a model holds at every LSN, before and after reopening (seed ${seed})`, async () => {
      const r = rng(seed);
      const store = new MemoryStore();
      let db = await Database.open({ storage: store, checkpointChangesMin: 1_000_000 });
      await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)');
      const model = new Map<bigint, number>();
      const states: State[] = [];
      for (let n = 0; n < 80; n++) {
        await step(db, r, n, model, states);
        if (n % 7 === 6) await db.internals.tables.checkpoint();
      }
      await db.internals.tables.checkpoint();
      const def = db.internals.tables.catalog.table('t')!;
      expect(db.internals.tables.table(def.id).blockEndMax).toBeGreaterThan(states[10]!.lsn);
      await agree(db, states);
      await db.close();
      db = await Database.open({ storage: store });
      await agree(db, states);
      await db.close();
    });
  }

  it('after a failure while writing blocks: reads right, checkpoints refused until reopening, nothing lost', async () => {
    const r = rng(3);
    const inner = new MemoryStore();
    const store = new FaultyStore(inner, {});
    // A cache too small to hold the history, so that writing blocks reads pages from the store.
    let db = await Database.open({ storage: store, checkpointChangesMin: 1_000_000, cacheBytesMax: 16 * 1024 });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)');
    const model = new Map<bigint, number>();
    const states: State[] = [];
    const { tables } = db.internals;
    for (let n = 0; n < 40; n++) {
      await step(db, r, n, model, states);
      if (n === 24) {
        store.readOutage = true;
        await expect(tables.checkpoint()).rejects.toMatchObject({ code: 'IO', message: 'injected read failure' });
        store.readOutage = false;
        // Blocks may be half written: no checkpoint may persist them, and reads leave them alone.
        await expect(tables.checkpoint()).rejects.toMatchObject({ code: 'IO', message: expect.stringMatching(/reopen the database/) });
        expect(tables.table(tables.catalog.table('t')!.id).blockEndMax).toBe(0n);
      } else if (n % 7 === 6) {
        if (n < 24) await tables.checkpoint();
        else await expect(tables.checkpoint()).rejects.toMatchObject({ code: 'IO' });
      }
    }
    await agree(db, states);
    await db.close(); // closes although its last checkpoint is refused: the log holds every commit
    db = await Database.open({ storage: inner });
    await agree(db, states);
    await db.internals.tables.checkpoint(); // checkpoints again, blocks included
    const def = db.internals.tables.catalog.table('t')!;
    expect(db.internals.tables.table(def.id).blockEndMax).toBeGreaterThan(0n);
    await agree(db, states);
    await db.close();
  });
});

/** Every LSN's reads against the model. */
async function agree(db: Database, states: Array<{ lsn: bigint; rows: Row[] }>): Promise<void> {
  const { tables } = db.internals;
  const def = tables.catalog.table('t')!;
  const ids = [...HOT, ...COLD, ...NEGATIVE, -1000, 1000, ...HUGE];
  const bounds = [-8, 0, 1, CHUNK_ROWS - 1, CHUNK_ROWS, CHUNK_ROWS + 5, 2 * CHUNK_ROWS, 3 * CHUNK_ROWS + 1, 5 * CHUNK_ROWS + 3];
  const ranges: Array<[KeyRange, (id: number | bigint) => boolean]> = [[{}, () => true]];
  for (let i = 0; i + 1 < bounds.length; i += 2) {
    const lo = bounds[i]!;
    const hi = bounds[i + 1]!;
    ranges.push([{ lo: encodeRowidKey(lo), hi: encodeRowidKey(hi), hiInclusive: false }, (id) => id >= lo && id < hi]);
    ranges.push([{ lo: encodeRowidKey(lo), loInclusive: false, hi: encodeRowidKey(hi) }, (id) => id > lo && id <= hi]);
    ranges.push([{ lo: encodeRowidKey(hi) }, (id) => id >= hi]);
    ranges.push([{ hi: encodeRowidKey(lo), hiInclusive: false }, (id) => id < lo]);
  }
  for (const { lsn, rows } of states) {
    const byId = new Map(rows.map(([id, v]) => [BigInt(id), v]));
    for (const id of ids) {
      const key = encodeRowidKey(id);
      const want = byId.get(BigInt(id));
      const got = await tables.getAsOf(def, key, lsn);
      expect(got?.[2], `lookup ${id} at ${lsn}`).toEqual(want);
      const cached = tables.getAsOfCached(def, key, lsn);
      if (cached !== NOT_CACHED) expect(cached?.[2], `cached lookup ${id} at ${lsn}`).toEqual(want);
    }
    for (const [range, inRange] of ranges) {
      const want = rows.filter(([id]) => inRange(id));
      const chunks: Array<{ keys: string[]; rows: Value[][] }> = [];
      for await (const chunk of tables.scanAsOfChunks(def, range, lsn, true)) chunks.push(chunk);
      expect(chunks.every((c) => c.rows.length > 0 && c.keys.length === c.rows.length)).toBe(true);
      const got = chunks.flatMap((c) => c.rows.map((rec) => [rec[0], rec[2]]));
      expect(got, `scan ${JSON.stringify(range)} at ${lsn}`).toEqual(want);
      expect(chunks.flatMap((c) => c.keys)).toEqual(want.map(([id]) => encodeRowidKey(id)));
    }
    const sql = await db.query('SELECT id, v FROM t WHERE id BETWEEN ? AND ? ORDER BY id', [CHUNK_ROWS - 3, 2 * CHUNK_ROWS + 2], { asOf: { lsn } });
    expect(sql.rows).toEqual(rows.filter(([id]) => id >= CHUNK_ROWS - 3 && id <= 2 * CHUNK_ROWS + 2));
  }
}
