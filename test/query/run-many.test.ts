/**
 * `PreparedStatement.runMany`: one call, many parameter sets, one statement's atomicity. What a
 * user sees must be what the same runs through `run` would leave, except that a failure takes
 * back every run of the call, and that an autocommit call commits once.
 */
import { describe, expect, it } from 'vitest';
import { Database, type Params } from '../../index.js';
import { MemoryStore } from '../../storage/memory.js';
import { testDatabases } from '../support/databases.js';
import { rng } from '../support/random.js';

const { fresh, track } = testDatabases();

const KV = 'CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, grp INTEGER)';
const rowsOf = (db: Database) => db.query('SELECT * FROM t ORDER BY id').then((r) => r.rows);

describe('runMany', () => {
  it('inserts every parameter set and sums what the runs affected', async () => {
    const db = await fresh(KV);
    const sets = Array.from({ length: 500 }, (_, i) => [i + 1, `n${i}`, i / 2, i % 7]);
    const r = await db.prepare('INSERT INTO t VALUES (?, ?, ?, ?)').runMany(sets);
    expect(r.rowsAffected).toBe(500);
    expect(r.lastInsertRowid).toBe(500);
    expect(r.lsn).toBe(db.lsn);
    expect(await rowsOf(db)).toEqual(sets);
  });

  it('commits an autocommit call once, durably', async () => {
    const store = new MemoryStore();
    const db = await Database.open({ storage: store });
    await db.exec(KV);
    const ins = db.prepare('INSERT INTO t (name) VALUES (?)');
    // Three commits take three commit LSNs besides their changes' three; one takes one.
    const before = db.lsn;
    for (const name of ['x', 'y', 'z']) await ins.run([name]);
    expect(db.lsn - before).toBe(6n);
    await db.exec('DELETE FROM t');
    const r = await ins.runMany([['a'], ['b'], ['c']]);
    expect(r.lsn - before).toBe(6n + 4n + 4n);
    await db.close();
    const again = track(await Database.open({ storage: store }));
    expect((await again.query('SELECT id, name FROM t ORDER BY id')).rows).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
  });

  it('takes named parameters and runs UPDATE and DELETE, on the fast path and off it', async () => {
    const db = await fresh(KV);
    await db.prepare('INSERT INTO t VALUES (:id, :name, :score, :grp)').runMany(
      Array.from({ length: 20 }, (_, i) => ({ id: i + 1, name: `n${i}`, score: i, grp: i % 3 })),
    );
    // By key (a synchronous plan) and by a non-key column (the general path).
    expect((await db.prepare('UPDATE t SET score = score + ? WHERE id = ?').runMany([[100, 1], [100, 2], [100, 99]])).rowsAffected).toBe(2);
    expect((await db.prepare('UPDATE t SET name = ? WHERE grp = ?').runMany([['zero', 0], ['one', 1]])).rowsAffected).toBe(14);
    expect((await db.prepare('DELETE FROM t WHERE id = ?').runMany([[3], [4], [3]])).rowsAffected).toBe(2);
    const rows = await rowsOf(db);
    expect(rows).toHaveLength(18);
    expect(rows[0]).toEqual([1, 'zero', 100, 0]);
    expect(rows[1]).toEqual([2, 'one', 101, 1]);
    expect(rows.find((r) => r[0] === 6)).toEqual([6, 'n5', 5, 2]);
  });

  it('leaves what the same runs through run() leave, over random statements with an index and a trigger', async () => {
    const ddl = `${KV}; CREATE INDEX t_grp ON t (grp); CREATE TABLE audit (n INTEGER);
      CREATE TRIGGER t_del AFTER DELETE ON t BEGIN INSERT INTO audit VALUES (old.id); END`;
    const one = await fresh(ddl);
    const many = await fresh(ddl);
    const random = rng(7);
    const shapes: Array<[string, () => Params]> = [
      ['INSERT OR REPLACE INTO t VALUES (?, ?, ?, ?)', () => [random.int(60), `v${random.int(9)}`, random.int(100) / 4, random.int(5)]],
      ['UPDATE t SET score = ? WHERE grp = ?', () => [random.int(50), random.int(5)]],
      ['DELETE FROM t WHERE id = ?', () => [random.int(60)]],
      ['INSERT INTO t (name, grp) VALUES (?, ?)', () => [`auto${random.int(9)}`, random.int(5)]],
    ];
    for (let step = 0; step < 40; step++) {
      const [sql, params] = shapes[random.int(shapes.length)]!;
      const sets = Array.from({ length: 1 + random.int(30) }, params);
      let affected = 0;
      const ps = one.prepare(sql);
      for (const p of sets) affected += (await ps.run(p)).rowsAffected;
      expect((await many.prepare(sql).runMany(sets)).rowsAffected).toBe(affected);
    }
    expect(await rowsOf(many)).toEqual(await rowsOf(one));
    expect((await many.query('SELECT n FROM audit')).rows).toEqual((await one.query('SELECT n FROM audit')).rows);
  });

  it('leaves what run() leaves for INSERTs of bare parameters (the bound path), failures included', async () => {
    const ddl = `CREATE TABLE a (id INTEGER PRIMARY KEY, n INTEGER NOT NULL CHECK (n >= 0), s TEXT UNIQUE, r REAL);
      CREATE TABLE b (k TEXT, j INTEGER, v, PRIMARY KEY (k, j)) WITHOUT ROWID;
      CREATE TABLE c (v TEXT)`;
    const one = await fresh(ddl);
    const many = await fresh(ddl);
    const random = rng(11);
    const value = (): unknown => random.pick([null, random.int(40) - 5, `${random.int(40)}`, `s${random.int(40)}`, random.int(2) === 1, 2n ** 40n, random.int(100) / 8]);
    const shapes: Array<[string, () => Params]> = [
      ['INSERT INTO a VALUES (?, ?, ?, ?)', () => [random.int(80), value(), value(), value()]],
      ['INSERT OR IGNORE INTO a VALUES (?, ?, ?, ?)', () => [random.int(80), value(), value(), value()]],
      ['INSERT INTO a (r, n) VALUES (?, ?)', () => [value(), value()]],
      ['INSERT INTO a (s, n, id) VALUES (?, ?, ?)', () => [value(), value()]], // too few: the id is NULL
      ['INSERT INTO b VALUES (?, ?, ?)', () => [`k${random.int(5)}`, random.int(5), value()]],
      ['INSERT INTO c (rowid, v) VALUES (?, ?)', () => [random.int(2) ? null : random.int(50), value()]],
      ['INSERT INTO c VALUES (:v)', () => ({ v: value() })],
    ];
    for (let step = 0; step < 120; step++) {
      const [sql, params] = shapes[random.int(shapes.length)]!;
      const sets = Array.from({ length: 1 + random.int(6) }, params);
      // run() per set, undone as a whole when one fails, as runMany is.
      let expected: { affected: number } | { code: string } = { affected: 0 };
      await one.exec('SAVEPOINT call');
      try {
        const ps = one.prepare(sql);
        let affected = 0;
        for (const p of sets) affected += (await ps.run(p)).rowsAffected;
        expected = { affected };
        await one.exec('RELEASE call');
      } catch (e) {
        expected = { code: (e as { code: string }).code };
        await one.exec('ROLLBACK TO call; RELEASE call');
      }
      const got = await many.prepare(sql).runMany(sets).then(
        (r) => ({ affected: r.rowsAffected }),
        (e: { code: string }) => ({ code: e.code }),
      );
      expect(got, `${sql} ${JSON.stringify(sets, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`).toEqual(expected);
    }
    for (const table of ['a', 'b', 'c']) {
      const sql = `SELECT rowid, * FROM ${table} ORDER BY 1, 2`;
      expect((await many.query(sql.replace('rowid, ', table === 'b' ? '' : 'rowid, '))).rows).toEqual((await one.query(sql.replace('rowid, ', table === 'b' ? '' : 'rowid, '))).rows);
    }
    expect((await many.get('SELECT count(*) AS n FROM a'))!.n).toBeGreaterThan(10);
  });

  it('takes back every run of the call when one fails, and names the failing set', async () => {
    const db = await fresh(KV);
    const ins = db.prepare('INSERT INTO t VALUES (?, ?, ?, ?)');
    await ins.run([1, 'one', 1, 1]);
    const err = await ins.runMany([[2, 'two', 2, 2], [3, 'three', 3, 3], [1, 'again', 0, 0], [4, 'four', 4, 4]]).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'DosqlError', code: 'CONSTRAINT_UNIQUE' });
    expect((err as Error).message).toMatch(/^runMany\(\) parameter set 2: /);
    await expect(ins.runMany([[5, null, 0, 0]])).rejects.toMatchObject({ code: 'CONSTRAINT_NOTNULL' });
    await expect(ins.runMany([[6, 'six', 0, 0], [7, {}, 0, 0]])).rejects.toMatchObject({ code: 'MISMATCH' });
    expect(await rowsOf(db)).toEqual([[1, 'one', 1, 1]]);

    // Inside a transaction: the call is undone, the transaction keeps its earlier changes.
    await db.exec('BEGIN');
    await ins.run([10, 'ten', 0, 0]);
    await expect(ins.runMany([[11, 'eleven', 0, 0], [10, 'dup', 0, 0]])).rejects.toMatchObject({ code: 'CONSTRAINT_UNIQUE' });
    await ins.runMany([[12, 'twelve', 0, 0]]);
    await db.exec('COMMIT');
    expect((await rowsOf(db)).map((r) => r[0])).toEqual([1, 10, 12]);
  });

  it('is bounded by transactionBytesMax as a whole, and the database keeps serving', async () => {
    const db = await fresh(KV, { transactionBytesMax: 4096 });
    const sets = Array.from({ length: 400 }, (_, i) => [i + 1, `name-${i}`, i, i]);
    await expect(db.prepare('INSERT INTO t VALUES (?, ?, ?, ?)').runMany(sets)).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(await rowsOf(db)).toEqual([]);
    await db.prepare('INSERT INTO t VALUES (?, ?, ?, ?)').runMany(sets.slice(0, 10));
    expect(await rowsOf(db)).toHaveLength(10);
  });

  it('refuses what is not one statement run many times', async () => {
    const db = await fresh(KV);
    await expect(db.prepare('INSERT INTO t (name) VALUES (?); INSERT INTO t (name) VALUES (?)').runMany([['a']])).rejects.toMatchObject({ code: 'MISUSE' });
    for (const sql of ['BEGIN', 'COMMIT', 'SAVEPOINT s', 'ROLLBACK']) {
      await expect(db.prepare(sql).runMany([[]])).rejects.toMatchObject({ code: 'MISUSE' });
    }
    await expect(db.prepare('INSERT INTO t (name) VALUES (?)').runMany('a' as never)).rejects.toMatchObject({ code: 'MISUSE' });
    await expect(db.prepare('INSERT INTO nope VALUES (?)').runMany([[1]])).rejects.toMatchObject({ code: 'NO_SUCH_TABLE' });
    expect(db.inTransaction).toBe(false);
    const r = await db.prepare('INSERT INTO t (name) VALUES (?)').runMany([]);
    expect(r).toMatchObject({ rowsAffected: 0, lsn: db.lsn });
  });

  it('waits its turn behind statements issued before it', async () => {
    const db = await fresh(KV);
    const first = db.exec('INSERT INTO t VALUES (1, ?, 0, 0)', ['first']);
    const batch = db.prepare('UPDATE t SET name = ? WHERE id = 1').runMany([['second'], ['third']]);
    await Promise.all([first, batch]);
    expect(await rowsOf(db)).toEqual([[1, 'third', 0, 0]]);
  });
});
