/**
 * A transaction keeps rows inserted in ascending key order in an append-only run beside its
 * overlay map (query/txn.ts). Reads, later writes of the same keys, failed statements and
 * savepoints must see one overlay: random transactions here mix ascending inserts with writes that
 * land in the map, under savepoints, and every read and the final table must equal SQLite's.
 * The run keeps its rows column by column and is logged as slices of it, not a Change per row:
 * what COMMIT logged must rebuild exactly the tables it applied.
 */
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { Database, type PreparedStatement } from '../../index.js';
import { MemoryStore } from '../../storage/memory.js';
import { Real, type Value } from '../../base/values.js';
import { MsgpackWriter } from '../../log/msgpack.js';
import { AppendRun } from '../../query/overlay-run.js';
import { rng, type Rng } from '../support/random.js';
import { replayFromZero, tableContents } from '../support/replay.js';

const TABLES = {
  rowid: 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)',
  clustered: 'CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID',
  unique: 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)',
};
const COMMITTED_ROWS = 30;
const STEPS = 300;

type Step = [sql: string, params: unknown[]];

const opened: Database[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) await db.close();
});

/** Keys as the table stores them: numbers, or zero-padded text so text order is number order. */
function keyOf(table: keyof typeof TABLES, n: number): number | string {
  return table === 'clustered' ? `k${String(n).padStart(6, '0')}` : n;
}

/** Mostly ascending inserts past the largest key so far, with the writes that break the run. */
function randomStep(r: Rng, table: keyof typeof TABLES, top: { n: number }): Step {
  const any = (): number | string => keyOf(table, 1 + r.int(top.n + 5));
  const roll = r.int(100);
  if (roll < 45) return ['INSERT INTO t VALUES (?, ?)', [keyOf(table, ++top.n), `v${r.int(50)}`]];
  if (roll < 52) return ['INSERT INTO t VALUES (?, ?)', [any(), `v${r.int(50)}`]];
  if (roll < 55 && table !== 'clustered') return ['INSERT INTO t (v) VALUES (?)', [`w${r.int(1000)}`]];
  if (roll < 60) return ['INSERT INTO t VALUES (?, ?), (?, ?)', [keyOf(table, top.n + 1), 'a', any(), 'b']];
  if (roll < 67) return ['UPDATE t SET v = ? WHERE id = ?', [`u${r.int(50)}`, any()]];
  if (roll < 71) return ['UPDATE t SET id = ? WHERE id = ?', [any(), any()]];
  if (roll < 77) return ['DELETE FROM t WHERE id = ?', [any()]];
  if (roll < 80) return ['SAVEPOINT s', []];
  if (roll < 83) return ['ROLLBACK TO s', []];
  if (roll < 85) return ['RELEASE s', []];
  if (roll < 90) return ['SELECT * FROM t WHERE id >= ? ORDER BY id', [any()]];
  if (roll < 94) return ['SELECT * FROM t WHERE id = ?', [any()]];
  if (roll < 97) return ['SELECT count(*), max(id) FROM t', []];
  return ['SELECT * FROM t ORDER BY id DESC LIMIT 5', []];
}

/** Each step's rows, or whether it failed (the messages of the two engines differ). */
async function playDosql(db: Database, steps: Step[]): Promise<unknown[]> {
  const prepared = new Map<string, PreparedStatement>();
  const out: unknown[] = [];
  for (const [sql, params] of steps) {
    let st = prepared.get(sql);
    if (!st) prepared.set(sql, (st = db.prepare(sql)));
    try {
      if (sql.startsWith('SELECT')) out.push((await db.query(sql, params as never)).rows);
      else out.push((await st.run(params as never)).rowsAffected);
    } catch {
      out.push('error');
    }
  }
  return out;
}

function playSqlite(ref: BetterSqlite3.Database, steps: Step[]): unknown[] {
  return steps.map(([sql, params]) => {
    try {
      const st = ref.prepare(sql);
      return sql.startsWith('SELECT') ? st.raw().all(...params) : st.run(...params).changes;
    } catch {
      return 'error';
    }
  });
}

async function agree(table: keyof typeof TABLES, seed: number, end: 'COMMIT' | 'ROLLBACK'): Promise<void> {
  const r = rng(seed);
  const db = await Database.open();
  opened.push(db);
  const ref = new BetterSqlite3(':memory:');
  const top = { n: 0 };
  const setup: Step[] = [];
  for (let i = 0; i < COMMITTED_ROWS; i++) setup.push(['INSERT INTO t VALUES (?, ?)', [keyOf(table, ++top.n), `c${i}`]]);
  const steps: Step[] = [['BEGIN', []]];
  for (let i = 0; i < STEPS; i++) steps.push(randomStep(r, table, top));
  steps.push([end, []], ['SELECT * FROM t ORDER BY id', []]);
  try {
    for (const [sql] of [[TABLES[table]]]) {
      await db.exec(sql!);
      ref.exec(sql!);
    }
    expect(await playDosql(db, setup)).toEqual(playSqlite(ref, setup));
    const got = await playDosql(db, steps);
    const want = playSqlite(ref, steps);
    for (let i = 0; i < steps.length; i++) expect({ step: i, sql: steps[i], got: got[i] }).toEqual({ step: i, sql: steps[i], got: want[i] });
    // Slices cut back by failed statements and ROLLBACK TO logged exactly the rows that stayed.
    expect(await tableContents(await replayFromZero(db))).toEqual(await tableContents(db.internals.tables));
  } finally {
    ref.close();
  }
}

describe('the overlay run beside the overlay map', () => {
  for (const table of Object.keys(TABLES) as Array<keyof typeof TABLES>) {
    it(`random transactions on a ${table} table read and commit what SQLite does`, async () => {
      for (let seed = 1; seed <= 4; seed++) await agree(table, seed, 'COMMIT');
    });
    it(`random transactions on a ${table} table roll back to the committed rows`, async () => {
      await agree(table, 11, 'ROLLBACK');
    });
  }

  it('keeps every kind of value as it was bound, before COMMIT, after it and in the log', async () => {
    const db = await Database.open();
    opened.push(db);
    await db.exec('CREATE TABLE k (id INTEGER PRIMARY KEY, a, b REAL, c TEXT, d BLOB)');
    const rows: unknown[][] = [
      [1, null, 2.0, 'two', new Uint8Array([2])],
      [2, 2n ** 62n, -0.0, '', new Uint8Array(0)],
      [3, 1.5, 1e300, 'é\u{1F600}', null],
      [4, -(2 ** 53) + 1, 7, null, new Uint8Array([0, 255])],
      [5, 'text in an untyped column', null, 'x'.repeat(5000), new Uint8Array(3000).fill(7)],
    ];
    const sql = 'SELECT id, a, typeof(a), b, typeof(b), c, d FROM k ORDER BY id';
    await db.exec('BEGIN');
    const ins = db.prepare('INSERT INTO k VALUES (?, ?, ?, ?, ?)');
    for (const row of rows) await ins.run(row as never);
    const pending = (await db.query(sql)).rows;
    await db.exec('COMMIT');
    const committed = (await db.query(sql)).rows;
    expect(committed).toEqual(pending);
    expect(pending.map((r) => [r[2], r[4]])).toEqual([
      ['null', 'real'],
      ['integer', 'real'],
      ['real', 'real'],
      ['integer', 'real'],
      ['text', 'null'],
    ]);
    expect(Object.is(pending[1]![3], -0)).toBe(true);
    expect(pending[1]![1]).toBe(2n ** 62n);
    expect(await tableContents(await replayFromZero(db))).toEqual(await tableContents(db.internals.tables));
  });

  it('a load of every kind of value reads the same before COMMIT, after it, after a reopen and on replay', async () => {
    // Enough rows that COMMIT writes them into leaves as bytes (BTree.appendPacked), with a row
    // too large for a leaf among them, and later statements that modify those leaves.
    const store = new MemoryStore();
    const db = await Database.open({ storage: store, checkpointChangesMin: 1_000_000 });
    await db.exec('CREATE TABLE k (id INTEGER PRIMARY KEY, a, b REAL, c TEXT, d BLOB)');
    const kinds: unknown[][] = [
      [null, 2.0, 'two', new Uint8Array([2])],
      [2n ** 62n, -0.0, '', new Uint8Array(0)],
      [1.5, 1e300, 'é\u{1F600}', null],
      [-(2 ** 53) + 1, 7, null, new Uint8Array([0, 255])],
      ['text in an untyped column', null, 'x'.repeat(300), new Uint8Array(200).fill(7)],
    ];
    const sql = 'SELECT id, a, typeof(a), b, typeof(b), c, d FROM k ORDER BY id';
    await db.exec('BEGIN');
    const ins = db.prepare('INSERT INTO k VALUES (?, ?, ?, ?, ?)');
    for (let i = 1; i <= 4000; i++) await ins.run([i, ...(i === 2500 ? [null, 1, 'y'.repeat(5000), null] : kinds[i % kinds.length]!)] as never);
    const pending = (await db.query(sql)).rows;
    await db.exec('COMMIT');
    expect((await db.query(sql)).rows).toEqual(pending);
    await db.exec('UPDATE k SET c = ? WHERE id % 97 = 0', ['updated']);
    await db.exec('DELETE FROM k WHERE id % 89 = 0');
    await db.exec('INSERT INTO k (a) VALUES (1), (2)');
    const after = (await db.query(sql)).rows;
    expect(after.length).toBe(4000 - 44 + 2);
    expect(await tableContents(await replayFromZero(db))).toEqual(await tableContents(db.internals.tables));
    await db.close(); // checkpoints: the reopened database reads the pages
    const again = await Database.open({ storage: store });
    opened.push(again);
    expect((await again.query(sql)).rows).toEqual(after);
    expect((await again.query('SELECT c FROM k WHERE id = 2500')).rows).toEqual([['y'.repeat(5000)]]);
  });

  it('a failed multi-row insert takes back the rows it appended', async () => {
    const db = await Database.open();
    opened.push(db);
    await db.exec(TABLES.rowid);
    await db.exec('BEGIN');
    const ins = db.prepare('INSERT INTO t VALUES (?, ?)');
    for (let i = 1; i <= 100; i++) await ins.run([i, `v${i}`]);
    await expect(db.exec('INSERT INTO t VALUES (101, 1), (102, 2), (50, 3)')).rejects.toMatchObject({ code: 'CONSTRAINT_UNIQUE' });
    // The rows 101 and 102 were appended before the conflict: the statement took them back.
    expect((await db.query('SELECT count(*), max(id) FROM t')).rows).toEqual([[100, 100]]);
    await ins.run([null, 'auto']);
    await db.exec('COMMIT');
    expect((await db.query('SELECT id, v FROM t WHERE id > 99 ORDER BY id')).rows).toEqual([[100, 'v100'], [101, 'auto']]);
  });
});

describe('AppendRun.writeRecord', () => {
  it('writes each row as the log writes its record array, for every kind of value', () => {
    const r = rng(79);
    const kinds: Array<() => Value> = [
      () => null,
      () => r.int(1000) - 500,
      () => (r.next() - 0.5) * 1e12,
      () => -0,
      () => 2 ** 40 + r.int(1000),
      () => new Real(r.int(100)),
      () => new Real(r.next()),
      () => `t${r.int(1e6)}é`,
      () => 'x'.repeat(r.int(300)),
      () => new Uint8Array([r.int(256), 0, 255]),
      () => 9007199254740993n + BigInt(r.int(1000)),
    ];
    for (const byRowid of [true, false]) {
      const width = 1 + r.int(6);
      const run = new AppendRun(byRowid, width);
      const records: Value[][] = [];
      for (let i = 0; i < 200; i++) {
        const rowid = i === 150 ? 2n ** 62n : i + 1;
        const row = Array.from({ length: width }, () => r.pick(kinds)());
        run.push(rowid, row, byRowid ? undefined : `k${String(i).padStart(4, '0')}`);
        records.push([rowid, ...row]);
      }
      const ours = new MsgpackWriter();
      const theirs = new MsgpackWriter();
      for (let i = 0; i < records.length; i++) {
        expect(run.writeRecord(i, ours)).toBe(true);
        expect(theirs.row(records[i]!)).toBe(true);
        expect(Buffer.from(ours.finish()).equals(Buffer.from(theirs.finish()))).toBe(true);
      }
    }
  });
});
