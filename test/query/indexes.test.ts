import { describe, expect, it } from 'vitest';
import { Database } from '../../index.js';
import { MemoryStore } from '../../storage/memory.js';
import { replayFromZero, tableContents } from '../support/replay.js';

describe('CREATE INDEX', () => {
  it('gives the same answers with and without the index, and drops', async () => {
    const db = await Database.open();
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT)');
    for (let i = 1; i <= 300; i++) await db.exec('INSERT INTO t VALUES (?, ?, ?)', [i, i % 17, `s${i % 5}`]);
    const queries = ['SELECT id FROM t WHERE a = 3 ORDER BY id', 'SELECT count(*) FROM t WHERE a > 10 AND a <= 12', "SELECT id FROM t WHERE b = 's2' AND a < 4 ORDER BY id", "SELECT count(*) FROM t WHERE b > 's3'", "SELECT count(*) FROM t WHERE a = '3'"];
    const before = await Promise.all(queries.map((q) => db.query(q)));
    await db.exec('CREATE INDEX ta ON t (a); CREATE INDEX tb ON t (b, a)');
    for (const [i, q] of queries.entries()) expect((await db.query(q)).rows, q).toEqual(before[i]!.rows);
    await db.exec('UPDATE t SET a = 3 WHERE id <= 10; DELETE FROM t WHERE id > 290');
    const check = await db.query('SELECT count(*) FROM t WHERE a = 3');
    await db.exec('DROP INDEX ta');
    expect((await db.query('SELECT count(*) FROM t WHERE a = 3')).rows).toEqual(check.rows);
    expect((await db.query("SELECT type, name, tbl_name FROM sqlite_schema WHERE type = 'index'")).rows).toEqual([['index', 'tb', 't']]);
    await expect(db.exec('CREATE INDEX tb ON t (a)')).rejects.toThrow(/already exists/);
    await db.exec('CREATE INDEX IF NOT EXISTS tb ON t (a)');
    await expect(db.exec('DROP INDEX nope')).rejects.toThrow(/no such index/);
    expect(await tableContents(await replayFromZero(db))).toEqual(await tableContents(db.internals.tables));
    await db.close();
  });

  it('enforces UNIQUE indexes, on existing rows and new ones', async () => {
    const db = await Database.open();
    await db.exec("CREATE TABLE u (id INTEGER PRIMARY KEY, email TEXT); INSERT INTO u VALUES (1, 'a'), (2, 'a'), (3, NULL), (4, NULL)");
    await expect(db.exec('CREATE UNIQUE INDEX ue ON u (email)')).rejects.toMatchObject({ code: 'CONSTRAINT_UNIQUE' });
    await db.exec("UPDATE u SET email = 'b' WHERE id = 2; CREATE UNIQUE INDEX ue ON u (email)");
    await expect(db.exec("INSERT INTO u VALUES (5, 'a')")).rejects.toMatchObject({ code: 'CONSTRAINT_UNIQUE' });
    await db.exec('INSERT INTO u VALUES (6, NULL)');
    await db.exec('DROP INDEX ue');
    await db.exec("INSERT INTO u VALUES (7, 'a')");
    expect((await db.query("SELECT count(*) FROM u WHERE email = 'a'")).rows).toEqual([[2]]);
    await db.close();
  });

  it('reads O(log n + k) pages for an indexed lookup on a cold cache', async () => {
    const store = new MemoryStore();
    const db = await Database.open({ storage: store });
    await db.exec('CREATE TABLE big (id INTEGER PRIMARY KEY, grp INTEGER, pad TEXT)');
    await db.exec('BEGIN');
    for (let i = 1; i <= 20_000; i++) await db.exec('INSERT INTO big VALUES (?, ?, ?)', [i, i % 2000, 'x'.repeat(40)]);
    await db.exec('COMMIT; CREATE INDEX big_grp ON big (grp)');
    await db.close();
    const cold = await Database.open({ storage: store });
    const reads = store.stats.reads;
    const r = await cold.query('SELECT count(*) FROM big WHERE grp = 7');
    expect(r.rows).toEqual([[10]]);
    const used = store.stats.reads - reads;
    // Index descent (a few pages) + at most one leaf per matching row + table descent.
    expect(used).toBeLessThanOrEqual(30);
    const scanReads = store.stats.reads;
    await cold.query("SELECT count(*) FROM big WHERE pad = 'y'");
    expect(store.stats.reads - scanReads).toBeGreaterThan(used * 3); // a full scan reads far more
    await cold.close();
  });
});

describe('views', () => {
  it('expand wherever named, list in sqlite_schema, refuse writes, and drop', async () => {
    const db = await Database.open();
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER); INSERT INTO t VALUES (1, 10), (2, 20), (3, 30)');
    await db.exec('CREATE VIEW big (k, v) AS SELECT id, a FROM t WHERE a > 15');
    expect((await db.query('SELECT k, v FROM big ORDER BY k')).rows).toEqual([[2, 20], [3, 30]]);
    expect((await db.query('SELECT count(*) FROM big JOIN t ON t.id = big.k')).rows).toEqual([[2]]);
    await db.exec('INSERT INTO t VALUES (4, 40)');
    expect((await db.query('SELECT max(v) FROM big')).rows).toEqual([[40]]);
    await expect(db.exec('INSERT INTO big VALUES (9, 9)')).rejects.toThrow(/it is a view/);
    await expect(db.exec('CREATE VIEW bad AS SELECT nope FROM t')).rejects.toMatchObject({ code: 'NO_SUCH_COLUMN' });
    await expect(db.exec('DROP TABLE big')).rejects.toThrow(/DROP VIEW/);
    expect((await db.query("SELECT type, name FROM sqlite_schema WHERE name = 'big'")).rows).toEqual([['view', 'big']]);
    await db.exec('DROP VIEW big; DROP VIEW IF EXISTS big');
    await expect(db.query('SELECT * FROM big')).rejects.toMatchObject({ code: 'NO_SUCH_TABLE' });
    await db.close();
  });
});
