/**
 * Upsert, RETURNING, CHECK, FOREIGN KEY and AUTOINCREMENT, each run on DoSQL and on SQLite
 * (better-sqlite3) statement by statement: same rows out, or both failing with the same message.
 */
import BetterSqlite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Database } from '../../index.js';

type Outcome = { rows: unknown[][] } | { error: string };

/** Run each statement on both engines and compare outcomes. */
export async function differential(statements: string[]): Promise<Database> {
  const lite = new BetterSqlite(':memory:');
  // better-sqlite3 is built with foreign keys on by default; SQLite's own default is off.
  lite.pragma('foreign_keys = OFF');
  const db = await Database.open();
  for (const sql of statements) {
    let want: Outcome;
    try {
      const st = lite.prepare(sql);
      want = st.reader ? { rows: st.raw().all() as unknown[][] } : (st.run(), { rows: [] });
    } catch (e) {
      want = { error: (e as Error).message };
    }
    let got: Outcome;
    try {
      got = { rows: (await db.query(sql)).rows as unknown[][] };
    } catch (e) {
      got = { error: (e as Error).message.replace(/ \(line \d+, column \d+\)$/, '') };
    }
    expect({ sql, ...got }).toEqual({ sql, ...want });
  }
  lite.close();
  return db;
}

describe('upsert', () => {
  it('DO NOTHING and DO UPDATE on the primary key and UNIQUE constraints', async () => {
    await differential([
      'CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER, n INTEGER DEFAULT 0, tag TEXT UNIQUE)',
      "INSERT INTO kv (k, v, tag) VALUES ('a', 1, 'x'), ('b', 2, 'y')",
      "INSERT INTO kv (k, v) VALUES ('a', 10) ON CONFLICT DO NOTHING",
      "INSERT INTO kv (k, v) VALUES ('a', 10) ON CONFLICT (k) DO UPDATE SET v = v + excluded.v, n = n + 1",
      "INSERT INTO kv (k, v, tag) VALUES ('c', 5, 'y') ON CONFLICT (tag) DO UPDATE SET v = excluded.v * 100",
      "INSERT INTO kv (k, v, tag) VALUES ('b', 7, 'q') ON CONFLICT (tag) DO UPDATE SET v = 0",
      "INSERT INTO kv (k, v) VALUES ('a', 3) ON CONFLICT (k) DO UPDATE SET v = excluded.v WHERE excluded.v > kv.v",
      "INSERT INTO kv (k, v) VALUES ('a', 30) ON CONFLICT (k) DO UPDATE SET v = excluded.v WHERE excluded.v > kv.v",
      "INSERT INTO kv (k, v, tag) VALUES ('z', 1, 'x') ON CONFLICT (k) DO NOTHING ON CONFLICT (tag) DO UPDATE SET n = 99",
      "INSERT INTO kv (k, v) VALUES ('a', 1) ON CONFLICT (v) DO NOTHING",
      "INSERT INTO kv (k, v, tag) VALUES ('d', 1, 'x') ON CONFLICT (tag) DO UPDATE SET tag = 'y'",
      'SELECT * FROM kv ORDER BY k',
      'CREATE TABLE c (id INTEGER PRIMARY KEY, hits INTEGER)',
      'INSERT INTO c VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET hits = hits + 1',
      'INSERT INTO c VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET hits = hits + 1',
      'INSERT INTO c VALUES (1, 1), (2, 1), (1, 1) ON CONFLICT DO UPDATE SET hits = hits + excluded.hits',
      'SELECT * FROM c ORDER BY id',
    ]);
  });
});

describe('RETURNING', () => {
  it('returns new rows from INSERT and UPDATE and old rows from DELETE', async () => {
    const db = await differential([
      'CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b REAL DEFAULT 1.5)',
      "INSERT INTO t (a) VALUES ('x'), ('y') RETURNING *",
      "INSERT INTO t (a) VALUES ('z') RETURNING id, a || '!' AS loud, b * 2",
      "UPDATE t SET a = upper(a) WHERE id > 1 RETURNING id, a",
      'DELETE FROM t WHERE id = 2 RETURNING *',
      "INSERT INTO t (id, a) VALUES (1, 'q') ON CONFLICT (id) DO UPDATE SET a = excluded.a RETURNING id, a",
      'SELECT * FROM t ORDER BY id',
    ]);
    const r = await db.query("INSERT INTO t (a) VALUES ('w') RETURNING id, a || '!' AS loud, b * 2");
    expect(r.columns).toEqual(['id', 'loud', 'b * 2']);
    const e = await db.exec('UPDATE t SET b = 0 RETURNING id');
    expect(e.rowsAffected).toBe(3);
  });
});

describe('CHECK constraints', () => {
  it('reject false, accept true and NULL, name the constraint', async () => {
    await differential([
      'CREATE TABLE p (x INTEGER CHECK (x > 0), y TEXT, CONSTRAINT short CHECK (length(y) < 4), CHECK (x <> 5))',
      "INSERT INTO p VALUES (1, 'abc')",
      "INSERT INTO p VALUES (NULL, NULL)",
      "INSERT INTO p VALUES (0, 'a')",
      "INSERT INTO p VALUES (2, 'abcd')",
      "INSERT INTO p VALUES (5, 'a')",
      'UPDATE p SET x = -1 WHERE x = 1',
      'UPDATE p SET x = 3 WHERE x = 1',
      "INSERT OR IGNORE INTO p VALUES (-3, 'a')",
      'SELECT * FROM p ORDER BY x',
    ]);
  });
});

describe('FOREIGN KEY', () => {
  it('is off by default and enforced with PRAGMA foreign_keys = ON', async () => {
    await differential([
      'CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT UNIQUE)',
      'CREATE TABLE child (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES parent ON DELETE CASCADE ON UPDATE CASCADE, pname TEXT, FOREIGN KEY (pname) REFERENCES parent(name) ON DELETE SET NULL)',
      'CREATE TABLE strict_child (pid INTEGER REFERENCES parent(id) ON DELETE RESTRICT)',
      'PRAGMA foreign_keys',
      'INSERT INTO child VALUES (100, 9, NULL)',
      'DELETE FROM child',
      'PRAGMA foreign_keys = ON',
      'PRAGMA foreign_keys',
      "INSERT INTO parent VALUES (1, 'one'), (2, 'two'), (3, 'three')",
      'INSERT INTO child VALUES (1, 1, NULL)',
      "INSERT INTO child VALUES (2, 2, 'two')",
      "INSERT INTO child VALUES (3, 1, 'one')",
      'INSERT INTO child VALUES (4, 9, NULL)',
      "INSERT INTO child VALUES (5, NULL, 'nope')",
      'UPDATE child SET pid = 7 WHERE id = 1',
      'UPDATE parent SET id = 10 WHERE id = 1',
      'SELECT * FROM child ORDER BY id',
      "DELETE FROM parent WHERE name = 'two'",
      'SELECT * FROM child ORDER BY id',
      'INSERT INTO strict_child VALUES (3)',
      'DELETE FROM parent WHERE id = 3',
      "DELETE FROM parent WHERE name = 'one'",
      'SELECT * FROM child ORDER BY id',
      'SELECT * FROM parent ORDER BY id',
      'PRAGMA journal_mode',
    ].filter((s) => s !== 'PRAGMA journal_mode'));
  });

  it('SET DEFAULT and NO ACTION', async () => {
    await differential([
      'PRAGMA foreign_keys = ON',
      'CREATE TABLE p (id INTEGER PRIMARY KEY)',
      'CREATE TABLE c (pid INTEGER DEFAULT 0 REFERENCES p ON DELETE SET DEFAULT)',
      'CREATE TABLE d (pid INTEGER REFERENCES p)',
      'INSERT INTO p VALUES (0), (1), (2)',
      'INSERT INTO c VALUES (1)',
      'DELETE FROM p WHERE id = 1',
      'SELECT * FROM c',
      'INSERT INTO d VALUES (2)',
      'DELETE FROM p WHERE id = 2',
      'SELECT * FROM p ORDER BY id',
    ]);
  });

  it('refuses other pragmas', async () => {
    const db = await Database.open();
    await expect(db.exec('PRAGMA cache_size = 10')).rejects.toMatchObject({ code: 'ERROR' });
  });
});

describe('AUTOINCREMENT', () => {
  it('never reuses a rowid, even of the deleted largest row', async () => {
    await differential([
      'CREATE TABLE a (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)',
      "INSERT INTO a (v) VALUES ('x'), ('y'), ('z')",
      'DELETE FROM a WHERE id = 3',
      "INSERT INTO a (v) VALUES ('w') RETURNING id",
      'DELETE FROM a',
      "INSERT INTO a (v) VALUES ('v') RETURNING id",
      'CREATE TABLE bad (id TEXT PRIMARY KEY AUTOINCREMENT)',
    ]);
  });
});
