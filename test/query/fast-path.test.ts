/**
 * The synchronous statement path (DmlPlan.runSync, Database.execSync) must be invisible: every
 * script here runs twice, through prepared statements on a database where the fast path is taken
 * and on one where `PRAGMA foreign_keys = ON` (with no foreign keys declared, so nothing else
 * changes) keeps every statement on the locked async path; results, errors and final tables must
 * agree. Whether the fast path ran is seen from `execUnlocked`, the locked path's body.
 */
import { describe, expect, it, vi } from 'vitest';
import { Database, STATEMENT_CACHE_ENTRIES_MAX, type PreparedStatement } from '../../index.js';
import { MemoryStore } from '../../storage/memory.js';
import { testDatabases } from '../support/databases.js';
import { rng } from '../support/random.js';

type Step = [sql: string, params?: unknown[]];

interface Run {
  /** Per step: the exec result, or the error's code and message. */
  outcomes: unknown[];
  rows: unknown[][];
  /** Statements that took the locked path (execUnlocked), by step. */
  slow: number[];
}

const { fresh, track, opened } = testDatabases();

async function play(db: Database, steps: Step[], table = 't'): Promise<Run> {
  const prepared = new Map<string, PreparedStatement>();
  const spy = vi.spyOn(db, 'execUnlocked');
  const outcomes: unknown[] = [];
  const slow: number[] = [];
  for (const [i, [sql, params]] of steps.entries()) {
    let st = prepared.get(sql);
    if (!st) prepared.set(sql, (st = db.prepare(sql)));
    const before = spy.mock.calls.length;
    try {
      const r = await st.run(params as never);
      outcomes.push({ rowsAffected: r.rowsAffected, lastInsertRowid: r.lastInsertRowid });
    } catch (e) {
      const err = e as { code?: string; message: string };
      outcomes.push({ code: err.code, message: err.message });
    }
    if (spy.mock.calls.length > before) slow.push(i);
  }
  spy.mockRestore();
  const rows = (await db.query(`SELECT rowid, * FROM ${table} ORDER BY rowid`)).rows;
  return { outcomes, rows, slow };
}

/** Runs `steps` on a fast-path database and on an async-only one; returns the fast run. */
async function agree(ddl: string, steps: Step[], table = 't'): Promise<Run> {
  const fast = await fresh(ddl);
  const slow = await fresh(ddl);
  await slow.exec('PRAGMA foreign_keys = ON');
  const a = await play(fast, steps, table);
  const b = await play(slow, steps, table);
  expect(a.outcomes).toEqual(b.outcomes);
  expect(a.rows).toEqual(b.rows);
  expect(b.slow.length).toBe(steps.length);
  return a;
}

const KV = 'CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL CHECK (score >= 0), tag TEXT UNIQUE)';
const INSERT = 'INSERT INTO t VALUES (?, ?, ?, ?)';
const UPDATE = 'UPDATE t SET score = score + ? WHERE id = ?';

describe('prepared writes without promises', () => {
  it('insert in a transaction on the fast path, with the same results', async () => {
    const steps: Step[] = [['BEGIN']];
    for (let i = 1; i <= 200; i++) steps.push([INSERT, [i, `n${i}`, i / 2, `t${i}`]]);
    steps.push(['COMMIT']);
    const r = await agree(KV, steps);
    expect(r.rows.length).toBe(200);
    // BEGIN, the INSERT that compiles the plan, COMMIT: everything else ran synchronously.
    expect(r.slow).toEqual([0, 1, 201]);
  });

  it('constraint failures mid-transaction fail only their statement', async () => {
    const steps: Step[] = [
      ['BEGIN'],
      [INSERT, [1, 'a', 1, 'x']],
      [INSERT, [2, 'b', 2, 'y']],
      [INSERT, [1, 'dup', 3, 'z']], // PRIMARY KEY
      [INSERT, [3, 'c', 3, 'x']], // UNIQUE, against this transaction's own row
      [INSERT, [4, null, 4, 'w']], // NOT NULL
      [INSERT, [5, 'e', -1, 'v']], // CHECK
      [INSERT, ['five', 'e', 1, 'v']], // datatype mismatch on the rowid
      [INSERT, [6, 'f', 6, 'u']],
      [UPDATE, [10, 2]],
      [UPDATE, [-100, 2]], // CHECK on update
      ['UPDATE t SET tag = ? WHERE id = ?', ['x', 2]], // UNIQUE on update
      ['UPDATE t SET id = ? WHERE id = ?', [1, 2]], // PRIMARY KEY on update
      ['UPDATE t SET id = ? WHERE id = ?', [7, 2]], // rowid change
      ['UPDATE t SET name = ? WHERE id = ?', [null, 7]], // NOT NULL on update
      [UPDATE, [1, 99]], // no such row
      ['COMMIT'],
    ];
    const r = await agree(KV, steps);
    const codes = r.outcomes.map((o) => (o as { code?: string }).code);
    expect(codes).toEqual([
      undefined, undefined, undefined, 'CONSTRAINT_UNIQUE', 'CONSTRAINT_UNIQUE', 'CONSTRAINT_NOTNULL', 'CONSTRAINT_CHECK',
      'MISMATCH', undefined, undefined, 'CONSTRAINT_CHECK', 'CONSTRAINT_UNIQUE', 'CONSTRAINT_UNIQUE', undefined,
      'CONSTRAINT_NOTNULL', undefined, undefined,
    ]);
    expect(r.rows).toEqual([
      [1, 1, 'a', 1, 'x'],
      [6, 6, 'f', 6, 'u'],
      [7, 7, 'b', 12, 'y'],
    ]);
    // Past each statement's first (compiling) run, failures were found on the fast path too.
    expect(r.slow).toEqual([0, 1, 9, 11, 12, 14, 16]);
  });

  it('OR IGNORE skips the row and leaves lastInsertRowid alone', async () => {
    const ignore = 'INSERT OR IGNORE INTO t VALUES (?, ?, ?, ?)';
    const r = await agree(KV, [
      ['BEGIN'],
      [ignore, [1, 'a', 1, 'x']],
      [ignore, [2, 'b', 1, 'y']],
      [ignore, [2, 'c', 1, 'z']],
      [ignore, [3, 'c', 1, 'x']],
      [ignore, [4, 'd', -5, 'q']],
      ['UPDATE OR IGNORE t SET tag = ? WHERE id = ?', ['x', 2]],
      ['UPDATE OR IGNORE t SET tag = ? WHERE id = ?', ['x', 2]],
      ['COMMIT'],
    ]);
    expect(r.outcomes.slice(3, 6)).toEqual([
      { rowsAffected: 0, lastInsertRowid: 2 },
      { rowsAffected: 0, lastInsertRowid: 2 },
      { rowsAffected: 0, lastInsertRowid: 2 },
    ]);
    expect(r.slow).toEqual([0, 1, 6, 8]);
  });

  it('automatic rowids count on from the known maximum, and a deleted maximum is reused', async () => {
    const ins = 'INSERT INTO a (v) VALUES (?)';
    const del = 'DELETE FROM a WHERE rowid = ?';
    const steps: Step[] = [['BEGIN']];
    for (let i = 0; i < 20; i++) steps.push([ins, [`v${i}`]]);
    steps.push([del, [20]], [del, [19]], [ins, ['again']], [ins, ['more']], ['COMMIT'], [ins, ['autocommit']]);
    const r = await agree('CREATE TABLE a (v TEXT)', steps, 'a');
    expect(r.rows.map((row) => row[0])).toEqual([...Array.from({ length: 18 }, (_, i) => i + 1), 19, 20, 21]);
    expect(r.outcomes.at(-1)).toEqual({ rowsAffected: 1, lastInsertRowid: 21 });
  });

  // Above the known largest rowid the primary-key probe is skipped: every way that maximum moves
  // (a key moved up by UPDATE, a deleted maximum, a rolled-back savepoint) must keep duplicates out.
  it('duplicate rowids are refused wherever the largest rowid moved', async () => {
    const steps: Step[] = [[INSERT, [1, 'a', 1, 'a']], [INSERT, [2, 'b', 1, 'b']], ['BEGIN']];
    steps.push([INSERT, [3, 'c', 1, 'c']], ['UPDATE t SET id = ? WHERE id = ?', [100, 1]], [INSERT, [100, 'dup', 1, 'd']], [INSERT, [50, 'e', 1, 'e']]);
    steps.push(['DELETE FROM t WHERE id = ?', [100]], [INSERT, [100, 'again', 1, 'f']], [INSERT, [100, 'dup2', 1, 'g']]);
    steps.push(['SAVEPOINT s'], [INSERT, [200, 'h', 1, 'h']], ['ROLLBACK TO s'], [INSERT, [150, 'i', 1, 'i']], [INSERT, [200, 'j', 1, 'j']], [INSERT, [200, 'dup3', 1, 'k']]);
    steps.push(['COMMIT'], [INSERT, [200, 'dup4', 1, 'l']], [INSERT, [201, 'm', 1, 'm']], [INSERT, [2, 'dup5', 1, 'n']]);
    const r = await agree(KV, steps);
    expect(r.rows.map((row) => row[0])).toEqual([2, 3, 50, 100, 150, 200, 201]);
    expect(r.outcomes.filter((o) => (o as { code?: string }).code === 'CONSTRAINT_UNIQUE')).toHaveLength(5);
  });

  it('autocommit inserts take the next rowid from the last commit, whoever committed', async () => {
    const ins = 'INSERT INTO a (v) VALUES (?)';
    const del = 'DELETE FROM a WHERE rowid = ?';
    const steps: Step[] = [];
    for (let i = 0; i < 10; i++) steps.push([ins, [`v${i}`]]);
    steps.push([del, [10]], [ins, ['reuses 10']], [del, [3]], [ins, ['11']], ['BEGIN'], [ins, ['12 rolled back']], ['ROLLBACK'], [ins, ['12']]);
    steps.push(['INSERT INTO a (rowid, v) VALUES (?, ?)', [50, 'explicit']], [ins, ['51']], [del, [51]], [del, [50]], [ins, ['13']]);
    const r = await agree('CREATE TABLE a (v TEXT)', steps, 'a');
    expect(r.rows.map((row) => row[0])).toEqual([1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect(r.slow.length).toBeLessThan(8);
    // A commit from elsewhere (a concurrent transaction) moves the maximum: the next insert sees it.
    const db = await fresh('CREATE TABLE a (v TEXT)');
    const auto = db.prepare(ins);
    await auto.run(['1']);
    await auto.run(['2']);
    await db.transaction(async (tx) => void (await tx.exec('INSERT INTO a (rowid, v) VALUES (40, ?)', ['40'])));
    expect((await auto.run(['41'])).lastInsertRowid).toBe(41);
    await db.transaction(async (tx) => void (await tx.exec('DELETE FROM a WHERE rowid >= 40')));
    expect((await auto.run(['3'])).lastInsertRowid).toBe(3);
  });

  it('a savepoint rolls back fast-path statements', async () => {
    const r = await agree(KV, [
      ['BEGIN'],
      [INSERT, [1, 'a', 1, 'x']],
      ['SAVEPOINT s'],
      [INSERT, [2, 'b', 1, 'y']],
      [UPDATE, [5, 1]],
      ['DELETE FROM t WHERE id = ?', [1]],
      ['ROLLBACK TO s'],
      [INSERT, [3, 'c', 1, 'y']],
      [UPDATE, [1, 1]],
      ['RELEASE s'],
      ['COMMIT'],
    ]);
    expect(r.rows).toEqual([
      [1, 1, 'a', 2, 'x'],
      [3, 3, 'c', 1, 'y'],
    ]);
    expect(r.slow).not.toContain(7);
    expect(r.slow).not.toContain(8);
  });

  it('autocommit writes commit on the fast path', async () => {
    const steps: Step[] = [];
    for (let i = 1; i <= 30; i++) steps.push([INSERT, [i, `n${i}`, i, `t${i}`]]);
    for (let i = 1; i <= 30; i++) steps.push([UPDATE, [1, i]]);
    steps.push(['DELETE FROM t WHERE id = ?', [3]], ['DELETE FROM t WHERE id = ?', [3]], [UPDATE, [-1000, 4]]);
    const r = await agree(KV, steps);
    // Each statement's first run compiles; a plan is also recompiled when the table's size drifts.
    expect(r.slow.length).toBeLessThanOrEqual(6);
    expect(r.slow).toEqual(expect.arrayContaining([0, 30, 60]));
    expect(r.outcomes.at(-1)).toMatchObject({ code: 'CONSTRAINT_CHECK' });
    expect(r.outcomes.at(-2)).toEqual({ rowsAffected: 0, lastInsertRowid: 30 });
  });

  for (const seed of [1, 2, 3]) {
    it(`random writes agree with the async path (seed ${seed})`, async () => {
      const r = rng(seed);
      const ddl = `${KV}; CREATE TABLE a (k TEXT PRIMARY KEY, n INTEGER NOT NULL, u INTEGER UNIQUE)`;
      const shapes: Array<() => Step> = [
        () => [INSERT, [r.int(40), r.chance(0.1) ? null : 'n', r.int(10) - 1, `t${r.int(40)}`]],
        () => ['INSERT OR IGNORE INTO t (name, score, tag) VALUES (?, ?, ?)', ['auto', r.int(5), `t${r.int(60)}`]],
        () => [UPDATE, [r.int(3) - 1, r.int(45)]],
        () => ['UPDATE OR IGNORE t SET tag = ?, id = ? WHERE id = ?', [`t${r.int(40)}`, r.int(50), r.int(45)]],
        () => ['DELETE FROM t WHERE id = ?', [r.int(45)]],
        () => ['INSERT INTO a VALUES (?, ?, ?)', [`k${r.int(30)}`, r.chance(0.1) ? null : r.int(9), r.int(30)]],
        () => ['UPDATE a SET u = ? WHERE k = ?', [r.int(30), `k${r.int(30)}`]],
        () => ['DELETE FROM a WHERE k = ?', [`k${r.int(30)}`]],
      ];
      const steps: Step[] = [];
      let inTxn = false;
      let savepoint = false;
      for (let i = 0; i < 400; i++) {
        const roll = r.int(100);
        if (roll < 3) {
          steps.push([inTxn ? (r.chance(0.7) ? 'COMMIT' : 'ROLLBACK') : 'BEGIN']);
          inTxn = !inTxn;
          savepoint = false;
        } else if (roll < 5 && inTxn) {
          steps.push([savepoint ? (r.chance(0.5) ? 'ROLLBACK TO s' : 'RELEASE s') : 'SAVEPOINT s']);
          savepoint = !savepoint;
        } else steps.push(r.pick(shapes)());
      }
      if (inTxn) steps.push(['COMMIT']);
      const fast = await agree(ddl, steps);
      expect(fast.slow.length).toBeLessThan(steps.length / 2);
      // Constraint failures happened on the fast path too, not only on the locked one.
      const failedFast = fast.outcomes.filter((o, i) => 'code' in (o as object) && !fast.slow.includes(i));
      expect(failedFast.length).toBeGreaterThan(5);
      // The second table too: agree() compared only t.
      const dbs = opened.slice(-2);
      const [x, y] = await Promise.all(dbs.map((db) => db.query('SELECT * FROM a ORDER BY k')));
      expect(x!.rows).toEqual(y!.rows);
    });
  }

  it('autocommit fast-path writes are committed, durable and visible to everyone', async () => {
    const store = new MemoryStore();
    const db = await Database.open({ storage: store });
    await db.exec(KV);
    const ins = db.prepare(INSERT);
    let lsn = 0n;
    for (let i = 1; i <= 5; i++) {
      const r = await ins.run([i, `n${i}`, i, null]);
      expect(r.lsn).toBeGreaterThan(lsn);
      lsn = r.lsn;
    }
    expect(db.inTransaction).toBe(false);
    await db.close();
    const again = await Database.open({ storage: store });
    track(again);
    expect((await again.query('SELECT count(*) FROM t')).rows).toEqual([[5]]);
  });

  it('declines when a page is not cached, with the same results', async () => {
    const store = new MemoryStore();
    const rows = 3000;
    const setup = await Database.open({ storage: store });
    await setup.exec(KV);
    const ins = setup.prepare(INSERT);
    await setup.exec('BEGIN');
    for (let i = 1; i <= rows; i++) await ins.run([i, `name-${i}-${'x'.repeat(40)}`, i, `t${i}`]);
    await setup.exec('COMMIT');
    await setup.close();
    // A tiny page cache: most lookups must read a page, which the fast path leaves to the locked path.
    const db = await Database.open({ storage: store, cacheBytesMax: 16 * 1024 });
    track(db);
    const steps: Step[] = [];
    for (let i = 0; i < 200; i++) steps.push([UPDATE, [1, 1 + ((i * 7919) % rows)]]);
    for (let i = 0; i < 50; i++) steps.push([INSERT, [1 + ((i * 104_729) % rows), 'dup', 1, `new${i}`]]);
    for (let i = 0; i < 50; i++) steps.push([INSERT, [rows + 1 + i, 'new', 1, `t${1 + ((i * 31) % rows)}`]]);
    const r = await play(db, steps);
    expect(r.slow.length).toBeGreaterThan(20);
    expect(r.slow.length).toBeLessThan(steps.length);
    expect(r.outcomes.slice(0, 200).every((o) => (o as { rowsAffected: number }).rowsAffected === 1)).toBe(true);
    expect(r.outcomes.slice(200).every((o) => (o as { code: string }).code === 'CONSTRAINT_UNIQUE')).toBe(true);
    const total = (await db.query('SELECT count(*), sum(score) FROM t')).rows[0];
    expect(total).toEqual([rows, (rows * (rows + 1)) / 2 + 200]);
  });

  it('RETURNING: exec runs it on the fast path, query returns its rows and commits', async () => {
    const db = await fresh(KV);
    const sql = 'INSERT INTO t VALUES (?, ?, ?, ?) RETURNING id, name';
    const st = db.prepare(sql);
    await st.run([1, 'a', 1, 'x']);
    await st.run([2, 'b', 1, 'y']);
    // The plan cached by run() is a DML plan: query() must still write through a transaction.
    expect(await st.all([3, 'c', 1, 'z'])).toEqual([{ id: 3, name: 'c' }]);
    expect((await db.query('UPDATE t SET score = 9 WHERE id = ? RETURNING score', [3])).rows).toEqual([[9]]);
    expect((await db.query('UPDATE t SET score = 9 WHERE id = ? RETURNING score', [3])).rows).toEqual([[9]]);
    expect((await db.query('SELECT id, score FROM t ORDER BY id')).rows).toEqual([[1, 1], [2, 1], [3, 9]]);
    expect(db.inTransaction).toBe(false);
  });

  it('foreign keys and triggers keep their statements on the locked path', async () => {
    const ddl = `CREATE TABLE p (id INTEGER PRIMARY KEY);
      CREATE TABLE c (id INTEGER PRIMARY KEY, p INTEGER REFERENCES p(id));
      CREATE TABLE log (what TEXT);
      CREATE TRIGGER tr AFTER INSERT ON p BEGIN INSERT INTO log VALUES ('p' || NEW.id); END`;
    const db = await fresh(ddl);
    await db.exec('PRAGMA foreign_keys = ON');
    const child = db.prepare('INSERT INTO c VALUES (?, ?)');
    const parent = db.prepare('INSERT INTO p VALUES (?)');
    await parent.run([1]);
    await parent.run([2]);
    await child.run([1, 1]);
    await expect(child.run([2, 5])).rejects.toMatchObject({ code: 'CONSTRAINT_FOREIGNKEY' });
    expect((await db.query('SELECT what FROM log ORDER BY what')).rows).toEqual([['p1'], ['p2']]);
    expect((await db.query('SELECT id FROM c')).rows).toEqual([[1]]);
  });

  it('a plan made stale by DDL is not run', async () => {
    const db = await fresh(KV);
    const ins = db.prepare(INSERT);
    await ins.run([1, 'a', 1, 'x']);
    await ins.run([2, 'b', 1, 'y']);
    await db.exec('DROP TABLE t; CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL, tag TEXT NOT NULL)');
    await expect(ins.run([3, 'c', 1, null])).rejects.toMatchObject({ code: 'CONSTRAINT_NOTNULL' });
    await db.exec('BEGIN; ALTER TABLE t ADD COLUMN extra INTEGER DEFAULT 7');
    await expect(ins.run([3, 'c', 1, 'z'])).rejects.toThrow(/5 columns but 4 values/);
    await db.exec('ROLLBACK');
    await ins.run([3, 'c', 1, 'z']);
    expect((await db.query('SELECT id, tag FROM t')).rows).toEqual([[3, 'z']]);
  });

  it('prepared statements keep their parse: errors, reads in a transaction, cache eviction', async () => {
    const db = await fresh(KV);
    const ins = db.prepare(INSERT);
    const get = db.prepare('SELECT name FROM t WHERE id = ?');
    await expect(db.prepare('SELEC 1').get()).rejects.toMatchObject({ code: 'SYNTAX_ERROR' });
    await ins.run([1, 'a', 1, 'x']);
    expect(await get.get([1])).toEqual({ name: 'a' });
    await db.exec('BEGIN');
    await ins.run([2, 'b', 1, 'y']);
    expect(await get.all([2])).toEqual([{ name: 'b' }]);
    await db.exec('ROLLBACK');
    expect(await get.get([2])).toBeUndefined();
    // Far more distinct statements than the statement cache holds: the prepared ones keep their plans.
    for (let i = 0; i < STATEMENT_CACHE_ENTRIES_MAX + 10; i++) await db.query(`SELECT ${i}`);
    const spy = vi.spyOn(db, 'execUnlocked');
    await ins.run([3, 'c', 1, 'z']);
    expect(spy).not.toHaveBeenCalled();
    expect((await get.query([3])).rows).toEqual([['c']]);
  });

  it('each synchronous run of a statement has its own parameters, statement time and rows', async () => {
    let now = Date.UTC(2026, 0, 1);
    const db = await fresh(KV, { clock: () => now });
    const ins = db.prepare("INSERT INTO t VALUES (?, ?, ?, datetime('now'))");
    const get = db.prepare("SELECT name, tag, datetime('now') AS at FROM t WHERE id = ?");
    await ins.run([1, 'a', 1]);
    expect(await get.get([3])).toBeUndefined(); // plans both statements
    const spy = vi.spyOn(db, 'execUnlocked');
    now += 60_000;
    await ins.run([2, 'b', 2]);
    const first = await get.get([1]);
    now += 60_000;
    const second = await get.get([2]);
    // The fast path ran every call, one after another on the same statements.
    expect(spy).not.toHaveBeenCalled();
    expect(first).toEqual({ name: 'a', tag: '2026-01-01 00:00:00', at: '2026-01-01 00:01:00' });
    expect(second).toEqual({ name: 'b', tag: '2026-01-01 00:01:00', at: '2026-01-01 00:02:00' });
    expect(await get.get([3])).toBeUndefined();
    // A run that throws leaves the next one whole.
    await expect(get.get([{}] as never)).rejects.toMatchObject({ code: 'MISMATCH' });
    expect(await get.all([1])).toEqual([{ ...first, at: '2026-01-01 00:02:00' }]);
  });

  it('a closed database refuses prepared writes', async () => {
    const db = await Database.open();
    await db.exec(KV);
    const ins = db.prepare(INSERT);
    await ins.run([1, 'a', 1, 'x']);
    await db.close();
    await expect(ins.run([2, 'b', 1, 'y'])).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(db.prepare('INSERT INTO').run()).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(db.prepare('SELECT 1').get()).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('prepared point lookups by rowid', () => {
  // Rowids of every magnitude: under ROWID_PREFIX_EXACT_LIMIT (2^29) the committed tree is
  // searched by number, above it by key string; both must find exactly the rows a scan finds.
  const ROWIDS = [0, 1, 2, 255, 256, 65_536, 2 ** 29 - 1, 2 ** 29, 2 ** 29 + 1, 2 ** 40, 2 ** 53 - 1];
  const PROBES: unknown[] = [...ROWIDS, ...ROWIDS.map((x) => -x), 3, 2 ** 29 - 2, 2 ** 40 + 1, 1.0, 1.5, null, 2n ** 62n];

  it('finds what a scan finds, before and after a checkpoint, in and out of a transaction', async () => {
    const db = await Database.open({ checkpointChangesMin: 10 });
    track(db);
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)');
    const ins = db.prepare('INSERT INTO t VALUES (?, ?)');
    for (const x of [...ROWIDS, ...ROWIDS.slice(1).map((y) => -y)]) await ins.run([x, `r${x}`]);
    await db.exec('DELETE FROM t WHERE id = 256');
    const get = db.prepare('SELECT name FROM t WHERE id = ?');
    const scan = db.prepare('SELECT name FROM t WHERE +id = ?');
    const check = async () => {
      for (const p of PROBES) expect(await get.get([p as number]), String(p)).toEqual(await scan.get([p as number]));
    };
    await check();
    await db.exec('SELECT 1'); // after the checkpoint the last commit made due: clean pages
    await check();
    await db.exec('BEGIN');
    await ins.run([3, 'r3']);
    await check(); // the transaction's own rows first
    await db.exec('ROLLBACK');
    await check();
    expect(await get.get([3])).toBeUndefined();
    expect(await get.get([2 ** 29 - 1])).toEqual({ name: `r${2 ** 29 - 1}` });
  });
});
