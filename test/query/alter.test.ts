/** ALTER TABLE against SQLite (better-sqlite3), and its replay from the log. */
import { describe, expect, it } from 'vitest';
import { Database } from '../../index.js';
import { MemoryStore } from '../../storage/memory.js';
import { differential } from './dml-more.test.js';

describe('ALTER TABLE', () => {
  it('RENAME TO, RENAME COLUMN, ADD COLUMN and DROP COLUMN as SQLite does', async () => {
    await differential([
      'CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b INTEGER UNIQUE, c REAL)',
      "INSERT INTO t VALUES (1, 'x', 10, 1.5), (2, 'y', 20, 2.5)",
      'CREATE INDEX t_a ON t(a)',
      'ALTER TABLE t RENAME TO u',
      'SELECT * FROM t',
      'SELECT * FROM u ORDER BY id',
      'ALTER TABLE u RENAME COLUMN c TO cc',
      'SELECT id, cc FROM u ORDER BY id',
      "ALTER TABLE u ADD COLUMN d TEXT DEFAULT 'dflt'",
      'ALTER TABLE u ADD COLUMN e INTEGER',
      'ALTER TABLE u ADD COLUMN f INTEGER NOT NULL',
      'ALTER TABLE u ADD COLUMN g INTEGER NOT NULL DEFAULT -3',
      'ALTER TABLE u ADD COLUMN h UNIQUE',
      'ALTER TABLE u ADD COLUMN i DEFAULT (random())',
      'SELECT * FROM u ORDER BY id',
      "INSERT INTO u (a, b) VALUES ('z', 30)",
      'SELECT * FROM u ORDER BY id',
      'ALTER TABLE u DROP COLUMN id',
      'ALTER TABLE u DROP COLUMN b',
      'ALTER TABLE u DROP COLUMN a',
      'ALTER TABLE u DROP COLUMN cc',
      'ALTER TABLE u DROP COLUMN nope',
      'SELECT * FROM u ORDER BY id',
      'UPDATE u SET e = id * 2',
      'SELECT * FROM u WHERE b = 20',
      "SELECT name, sql FROM sqlite_schema WHERE type = 'table'",
      'CREATE TABLE one (x)',
      'ALTER TABLE one DROP COLUMN x',
      'ALTER TABLE nope RENAME TO x',
    ]);
  });

  it('is logged: replay and time travel see each definition', async () => {
    const store = new MemoryStore();
    let db = await Database.open({ storage: store });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT)');
    await db.exec("INSERT INTO t VALUES (1, 'x', 'p')");
    await db.exec("ALTER TABLE t ADD COLUMN n INTEGER DEFAULT 7");
    await db.exec('ALTER TABLE t DROP COLUMN a');
    await db.exec('ALTER TABLE t RENAME TO r');
    await db.exec("INSERT INTO r (b) VALUES ('q')");
    const want = (await db.query('SELECT * FROM r ORDER BY id')).rows;
    expect(want).toEqual([[1, 'p', 7], [2, 'q', 7]]);
    await db.close();
    db = await Database.open({ storage: store });
    expect((await db.query('SELECT * FROM r ORDER BY id')).rows).toEqual(want);
    expect((await db.query("SELECT sql FROM sqlite_schema WHERE name = 'r'")).rows).toEqual([['CREATE TABLE "r" (id INTEGER PRIMARY KEY, b TEXT, n INTEGER DEFAULT 7)']]);
    await db.close();
  });

  it('rolls back with its transaction', async () => {
    const db = await Database.open();
    await db.exec("CREATE TABLE t (a, b); INSERT INTO t VALUES (1, 2)");
    await db.exec('BEGIN');
    await db.exec('ALTER TABLE t ADD COLUMN c DEFAULT 3');
    await db.exec('ALTER TABLE t RENAME TO u');
    expect((await db.query('SELECT * FROM u')).rows).toEqual([[1, 2, 3]]);
    await db.exec('ROLLBACK');
    expect((await db.query('SELECT * FROM t')).rows).toEqual([[1, 2]]);
  });
});
