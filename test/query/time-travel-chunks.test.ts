/**
 * Scans AS OF an LSN read in chunks (TableStore.scanAsOfChunks) give exactly the rows the
 * row-at-a-time scan gives, at every LSN of a random history with updates, deletes (rows then
 * only in history, including long runs of them past the last current row) and re-inserts.
 */
import { describe, expect, it } from 'vitest';
import type { Value } from '../../base/values.js';
import { Database } from '../../index.js';
import { MemoryStore } from '../../storage/memory.js';
import type { KeyRange } from '../../query/txn.js';
import { rng } from '../support/random.js';

describe('scans AS OF in chunks', () => {
  // 400 ids: few versions per row; 30 ids: many.
  for (const [seed, ids] of [[1, 400], [2, 400], [3, 30]] as const) {
    it(`give the rows a model of every commit holds, at every LSN (seed ${seed}, ${ids} ids)`, async () => {
      const r = rng(seed);
      const db = await Database.open();
      await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v)');
      const model = new Map<number, number>();
      const states: Array<{ lsn: bigint; rows: Array<[number, number]> }> = [];
      for (let step = 0; step < 60; step++) {
        await db.exec('BEGIN');
        for (let k = 0; k < 20; k++) {
          const id = r.int(ids);
          const op = r.int(4);
          if (op === 0) {
            await db.exec('DELETE FROM t WHERE id = ?', [id]);
            model.delete(id);
          } else if (op === 1) {
            const above = Math.floor(ids * 0.75) + r.int(Math.ceil(ids / 4));
            await db.exec('DELETE FROM t WHERE id > ?', [above]);
            for (const key of [...model.keys()]) if (key > above) model.delete(key);
          } else {
            await db.exec('INSERT OR REPLACE INTO t VALUES (?, ?)', [id, step]);
            model.set(id, step);
          }
        }
        await db.exec('COMMIT');
        states.push({ lsn: db.lsn, rows: [...model].sort((a, b) => a[0] - b[0]) });
      }
      const { tables } = db.internals;
      const def = tables.catalog.table('t')!;
      const { encodeRowidKey } = await import('../../materializers/btree/index.js');
      const mid = Math.floor(ids / 2);
      const ranges: Array<[KeyRange, (id: number) => boolean]> = [
        [{}, () => true],
        [{ lo: encodeRowidKey(mid) }, (id) => id >= mid],
        [{ hi: encodeRowidKey(mid), hiInclusive: false }, (id) => id < mid],
        [{ lo: encodeRowidKey(3), loInclusive: false, hi: encodeRowidKey(mid) }, (id) => id > 3 && id <= mid],
      ];
      for (const { lsn, rows: all } of states) {
        for (const [range, inRange] of ranges) {
          const want = all.filter(([id]) => inRange(id));
          const chunks: Array<{ keys: string[]; rows: Value[][] }> = [];
          for await (const chunk of tables.scanAsOfChunks(def, range, lsn, true)) chunks.push(chunk);
          expect(chunks.every((c) => c.rows.length > 0 && c.keys.length === c.rows.length)).toBe(true);
          const got = chunks.flatMap((c) => c.rows.map((rec) => [rec[0], rec[2]])); // [rowid, id, v, ...]
          expect(got, `seed ${seed} lsn ${lsn}`).toEqual(want);
          expect(chunks.flatMap((c) => c.keys)).toEqual(want.map(([id]) => encodeRowidKey(id)));
          const entries: Array<[string, Value[]]> = [];
          for await (const e of tables.scanAsOfEntries(def, range, lsn)) entries.push(e);
          expect(entries.map(([key, rec]) => [key, rec[0], rec[2]])).toEqual(want.map(([id, v]) => [encodeRowidKey(id), id, v]));
        }
      }
      await db.close();
    });
  }

  // Runs of versions longer than a leaf, among rows with one: the scan skips them by seeking.
  it('match the full version list when some rows have hundreds of versions', async () => {
    const r = rng(4);
    const db = await Database.open();
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v)');
    await db.exec('BEGIN');
    for (let id = 1; id <= 60; id++) await db.exec('INSERT INTO t VALUES (?, ?)', [id, 0]);
    await db.exec('COMMIT');
    const lsns: bigint[] = [db.lsn];
    for (let step = 1; step <= 900; step++) {
      const id = [7, 8, 30, 59][r.int(4)]!;
      if (step % 97 === 0) await db.exec('DELETE FROM t WHERE id = ?', [id]);
      else await db.exec('INSERT OR REPLACE INTO t VALUES (?, ?)', [id, step]);
      if (step % 31 === 0) await db.exec('UPDATE t SET v = v WHERE id % 5 = 0');
      if (step % 45 === 0) lsns.push(db.lsn);
    }
    const all = (await db.query('SELECT id, v, _valid_from_lsn, _valid_to_lsn FROM t FOR SYSTEM_TIME ALL')).rows;
    for (const lsn of lsns) {
      const at = Number(lsn);
      const expected = all
        .filter(([, , from, to]) => (from as number) <= at && (to === null || (to as number) > at))
        .map(([id, v]) => [id, v])
        .sort((a, b) => (a[0] as number) - (b[0] as number));
      expect((await db.query('SELECT id, v FROM t ORDER BY id', [], { asOf: { lsn } })).rows, `lsn ${lsn}`).toEqual(expected);
      const inRange = expected.filter(([id]) => (id as number) > 7 && (id as number) <= 30);
      expect((await db.query('SELECT id, v FROM t WHERE id > 7 AND id <= 30', [], { asOf: { lsn } })).rows, `range at lsn ${lsn}`).toEqual(inRange);
    }
    await db.close();
  });

  // History walks step from entry to entry within a leaf (BTree.nextCached): other walks of the
  // same tree in between, and leaves read packed from the store, must only cost them a seek.
  it('stay right when walks of one history interleave and its pages come from the store', async () => {
    const store = new MemoryStore();
    const setup = await Database.open({ storage: store });
    await setup.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v)');
    await setup.exec('BEGIN');
    for (let id = 1; id <= 300; id++) await setup.exec('INSERT INTO t VALUES (?, ?)', [id, 0]);
    await setup.exec('COMMIT');
    const lsns: bigint[] = [setup.lsn];
    for (let step = 1; step <= 40; step++) {
      // Every row changes now and then; a few change at every step, so they have long runs of versions.
      await setup.exec('UPDATE t SET v = ? WHERE id % 7 = ? OR id IN (10, 11, 150)', [step, step % 7]);
      if (step % 9 === 0) await setup.exec('DELETE FROM t WHERE id = ?', [20 + step]);
      if (step % 10 === 0) lsns.push(setup.lsn);
    }
    await setup.close();
    // A small page cache: history leaves are evicted and read back packed.
    const db = await Database.open({ storage: store, cacheBytesMax: 32 * 1024 });
    const all = (await db.query('SELECT id, v, _valid_from_lsn, _valid_to_lsn FROM t FOR SYSTEM_TIME ALL')).rows;
    const at = (lsn: bigint) =>
      all
        .filter(([, , from, to]) => (from as number) <= Number(lsn) && (to === null || (to as number) > Number(lsn)))
        .map(([id, v]): [number, Value] => [id as number, v!])
        .sort((a, b) => a[0] - b[0]);
    for (const lsn of lsns) {
      const rows = at(lsn);
      const join = rows.flatMap(([a]) => rows.filter(([b]) => b >= a && b <= a + 2).map(([b, v]) => [a, b, v]));
      const sql = `SELECT a.id, b.id, b.v FROM t FOR SYSTEM_TIME AS OF LSN ${lsn} AS a JOIN t FOR SYSTEM_TIME AS OF LSN ${lsn} AS b ON b.id BETWEEN a.id AND a.id + 2 ORDER BY a.id, b.id`;
      expect((await db.query(sql)).rows, `self-join at lsn ${lsn}`).toEqual(join);
    }
    // Two scans at different LSNs, advanced in turn.
    const { tables } = db.internals;
    const def = tables.catalog.table('t')!;
    const [x, y] = [lsns[0]!, lsns[2]!];
    const walks = [tables.scanAsOfEntries(def, {}, x), tables.scanAsOfEntries(def, {}, y)];
    const got: Array<Array<[number, Value]>> = [[], []];
    for (let done = [false, false]; !done[0] || !done[1]; ) {
      for (const w of [0, 1]) {
        if (done[w]) continue;
        const n = await walks[w]!.next();
        if (n.done) done[w] = true;
        else got[w]!.push([n.value[1][0] as number, n.value[1][2]!]);
      }
    }
    expect(got[0]).toEqual(at(x));
    expect(got[1]).toEqual(at(y));
    await db.close();
  });
});
