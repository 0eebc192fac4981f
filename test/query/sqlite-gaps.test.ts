/**
 * Three places where DoSQL used to answer differently from SQLite, each checked statement by
 * statement against SQLite itself (better-sqlite3): the automatic rowid (max rowid now in the
 * table + 1), COLLATE carried outward through operators and functions to the comparison that uses
 * it, and FOREIGN KEY constraints checked at the end of each statement (and DEFERRED ones at
 * COMMIT) rather than row by row.
 */
import BetterSqlite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Database } from '../../index.js';
import { DosqlError } from '../../base/errors.js';
import { normalizeSqlite, type Cell } from '../differential/compare.js';

type Outcome = { rows: Cell[][] } | { error: string };

interface Pair {
  db: Database;
  lite: BetterSqlite.Database;
}

async function open(foreignKeys = false): Promise<Pair> {
  const lite = new BetterSqlite(':memory:');
  // better-sqlite3 turns foreign keys on by default; SQLite's own default (and DoSQL's) is off.
  lite.pragma(`foreign_keys = ${foreignKeys ? 'ON' : 'OFF'}`);
  const db = await Database.open();
  if (foreignKeys) await db.exec('PRAGMA foreign_keys = ON');
  return { db, lite };
}

function sqlite(lite: BetterSqlite.Database, sql: string): Outcome {
  try {
    const st = lite.prepare(sql);
    if (!st.reader) {
      st.run();
      return { rows: [] };
    }
    return { rows: (st.safeIntegers(true).raw(true).all() as unknown[][]).map((r) => r.map(normalizeSqlite)) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

async function dosql(db: Database, sql: string): Promise<Outcome> {
  try {
    return { rows: (await db.query(sql)).rows as Cell[][] };
  } catch (e) {
    return { error: (e as Error).message.replace(/ \(line \d+, column \d+\)$/, '') };
  }
}

/** Run each statement on both engines: the same rows, or the same error message. */
async function same(p: Pair, statements: string[]): Promise<void> {
  for (const sql of statements) {
    const want = sqlite(p.lite, sql);
    const got = await dosql(p.db, sql);
    expect({ sql, ...got }).toEqual({ sql, ...want });
  }
}

async function close(p: Pair): Promise<void> {
  await p.db.close();
  p.lite.close();
}

describe('automatic rowid: max(rowid) + 1', () => {
  it('counts negative rowids and reuses a deleted largest rowid', async () => {
    const p = await open();
    await same(p, [
      'CREATE TABLE t (id INTEGER PRIMARY KEY, v)',
      "INSERT INTO t VALUES (-5, 'a')",
      "INSERT INTO t VALUES (NULL, 'b')",
      "INSERT INTO t (v) VALUES ('c'), ('d')",
      'SELECT id, v FROM t ORDER BY id',
      'DELETE FROM t WHERE id = -2',
      "INSERT INTO t (v) VALUES ('e')",
      'SELECT id, v FROM t ORDER BY id',
      'DELETE FROM t',
      "INSERT INTO t (v) VALUES ('f')",
      'SELECT id, v FROM t ORDER BY id',
      'CREATE TABLE r (v)',
      "INSERT INTO r (rowid, v) VALUES (-9, 'x')",
      "INSERT INTO r VALUES ('y')",
      "INSERT INTO r (rowid, v) VALUES (40, 'z')",
      'DELETE FROM r WHERE rowid = 40',
      "INSERT INTO r VALUES ('w')",
      'SELECT rowid, v FROM r ORDER BY rowid',
    ]);
    await close(p);
  });

  it('sees the transaction: deletes and inserts before the insert, and rollback to a savepoint', async () => {
    const p = await open();
    await same(p, [
      'CREATE TABLE t (id INTEGER PRIMARY KEY, v)',
      "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')",
      'BEGIN',
      'DELETE FROM t WHERE id >= 2',
      "INSERT INTO t (v) VALUES ('d')",
      'SAVEPOINT s',
      "INSERT INTO t VALUES (10, 'e')",
      'DELETE FROM t WHERE id = 10',
      "INSERT INTO t (v) VALUES ('f')",
      'ROLLBACK TO s',
      "INSERT INTO t (v) VALUES ('g')",
      'RELEASE s',
      'COMMIT',
      'SELECT id, v FROM t ORDER BY id',
      "INSERT INTO t (v) VALUES ('h')",
      'SELECT id, v FROM t ORDER BY id',
    ]);
    await close(p);
  });

  it('AUTOINCREMENT never reuses a rowid', async () => {
    const p = await open();
    await same(p, [
      'CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, v)',
      "INSERT INTO t (v) VALUES ('a'), ('b'), ('c')",
      'DELETE FROM t WHERE id = 3',
      "INSERT INTO t (v) VALUES ('d')",
      "INSERT INTO t VALUES (-4, 'e')",
      "INSERT INTO t (v) VALUES ('f')",
      'SELECT id, v FROM t ORDER BY id',
    ]);
    await close(p);
  });

  it('past the largest rowid: a random unused one, or full under AUTOINCREMENT', async () => {
    const p = await open();
    await same(p, [
      'CREATE TABLE a (id INTEGER PRIMARY KEY AUTOINCREMENT, v)',
      "INSERT INTO a VALUES (9223372036854775807, 'max')",
      'CREATE TABLE t (id INTEGER PRIMARY KEY, v)',
      "INSERT INTO t VALUES (9223372036854775807, 'max')",
      "INSERT INTO t (v) VALUES ('r')",
      "SELECT count(*), count(DISTINCT id), min(id) > 0 FROM t",
    ]);
    await expect(p.db.exec("INSERT INTO a (v) VALUES ('x')")).rejects.toThrow(/full/);
    expect(() => p.lite.exec("INSERT INTO a (v) VALUES ('x')")).toThrow(/full/);
    await close(p);
  });

  it('a bulk insert in one transaction keeps counting from the cached max', async () => {
    const p = await open();
    const statements = ['CREATE TABLE t (id INTEGER PRIMARY KEY, v)', "INSERT INTO t VALUES (-100, 'low')", 'BEGIN'];
    for (let i = 0; i < 2000; i++) statements.push(i % 500 === 499 ? 'DELETE FROM t WHERE id = (SELECT max(id) FROM t)' : `INSERT INTO t (v) VALUES (${i})`);
    statements.push('COMMIT', 'SELECT count(*), min(id), max(id), sum(id) FROM t');
    await same(p, statements);
    await close(p);
  });
});

describe('collation carried outward to the comparison', () => {
  it('through operators, functions, CASE, CAST, BETWEEN and IN as SQLite does', async () => {
    const p = await open();
    // Each case is built so that NOCASE, RTRIM and BINARY give different answers where it matters.
    const cases = [
      "('A' COLLATE NOCASE || 'b') = 'ab'",
      "'ab' = ('A' COLLATE NOCASE || 'b')",
      "typeof('a' COLLATE NOCASE) = 'TEXT'",
      "+('a' COLLATE NOCASE) = 'A'",
      "-('a' COLLATE NOCASE) = 'A'",
      "(NOT 'a' COLLATE NOCASE) = 'A'",
      "((1 COLLATE NOCASE) + 1) || 'A' = '2a'",
      "(-1 COLLATE NOCASE) || 'A' = '-1a'",
      "(~1 COLLATE NOCASE) || 'A' = '-2a'",
      "((1 COLLATE NOCASE) AND 1) || 'A' = '1a'",
      "lower('A' COLLATE NOCASE) = 'A'",
      "upper('a' COLLATE NOCASE) = 'a'",
      "trim(' a' COLLATE NOCASE) = 'A'",
      "substr('abc' COLLATE NOCASE, 1, 1) = 'A'",
      "substr('abc', 1, 1 COLLATE NOCASE) = 'A'",
      "replace('abc' COLLATE NOCASE, 'b', 'x') = 'AXC'",
      "printf('%s', 'a' COLLATE NOCASE) = 'A'",
      "char(97 COLLATE NOCASE) = 'A'",
      "coalesce(NULL, 'a' COLLATE NOCASE) = 'A'",
      "ifnull(NULL, 'a' COLLATE NOCASE) = 'A'",
      "iif(1, 'a' COLLATE NOCASE, 'b') = 'A'",
      "nullif('a' COLLATE NOCASE, 'A')",
      "nullif('a', 'A' COLLATE NOCASE)",
      "max('a' COLLATE NOCASE, 'B')",
      "max('a', 'B' COLLATE NOCASE)",
      "min('a', 'B' COLLATE NOCASE)",
      "CAST('a' COLLATE NOCASE AS TEXT) = 'A'",
      "CASE WHEN 1 THEN 'a' COLLATE NOCASE END = 'A'",
      "CASE WHEN 0 THEN 'b' ELSE 'a' COLLATE NOCASE END = 'A'",
      "CASE 'x' COLLATE NOCASE WHEN 'x' THEN 'a' END = 'A'",
      "CASE 'a' COLLATE NOCASE WHEN 'A' THEN 1 ELSE 0 END",
      "CASE 'a' WHEN 'A' COLLATE NOCASE THEN 'x' ELSE 'y' END",
      "CASE 'a' WHEN 'A' THEN 'x' ELSE 'y' COLLATE NOCASE END",
      "CASE 'a' COLLATE BINARY WHEN 'A' COLLATE NOCASE THEN 'x' ELSE 'y' END",
      // The leftmost explicit collation wins; the outermost COLLATE of an operand wins.
      "('a' COLLATE BINARY || 'b') = ('A' COLLATE NOCASE || 'B')",
      "('a' || 'b' COLLATE NOCASE) = ('A' COLLATE BINARY || 'B')",
      "('a' COLLATE RTRIM || 'b' COLLATE NOCASE) = 'AB'",
      "('a ' COLLATE RTRIM || 'b' COLLATE NOCASE) = 'a b '",
      "'A' = ('a' COLLATE NOCASE) COLLATE BINARY",
      "('x' COLLATE NOCASE) = 'X' COLLATE BINARY",
      "(('a' COLLATE RTRIM) LIKE ('b' COLLATE NOCASE)) || 'A' = '0a'",
      "(('a' COLLATE RTRIM) LIKE ('b' COLLATE NOCASE)) || 'a ' = '0a'",
      "(('a' COLLATE RTRIM) = ('b' COLLATE NOCASE)) || 'a ' = '0a'",
      "CASE 'q' COLLATE RTRIM WHEN 'q' THEN 'a' ELSE 'y' COLLATE NOCASE END = 'a '",
      "('a' IS NOT 'b' COLLATE NOCASE) || 'A' = '1a'",
      "(('a' COLLATE NOCASE) ISNULL) || 'A' = '0a'",
      "('A' COLLATE NOCASE || 'b') IS 'ab'",
      // BETWEEN is two comparisons, each with its own collation.
      "'b' BETWEEN 'A' AND 'C' COLLATE NOCASE",
      "'b' BETWEEN 'A' COLLATE NOCASE AND 'C'",
      "'b' COLLATE NOCASE BETWEEN 'A' AND 'C' COLLATE BINARY",
      "('a' COLLATE NOCASE || 'b') BETWEEN 'AB' AND 'AB'",
      "('b' BETWEEN 'a' AND 'c' COLLATE NOCASE) || 'A' = '1a'",
      // IN: one item is an equality; a longer list uses the left operand's collation only.
      "'A' IN ('a' COLLATE NOCASE)",
      "'A' IN ('a' COLLATE NOCASE, 'z')",
      "('A' COLLATE NOCASE) IN ('a', 'z')",
      "('a' || 'b' COLLATE NOCASE) IN ('AB', 'z')",
      "('a' COLLATE NOCASE IN ('b', 'c')) || 'A' = '0a'",
      "('b' COLLATE NOCASE IN (SELECT 'B'))",
      // Subqueries stop it.
      "(SELECT 'a' COLLATE NOCASE) = 'A'",
      "(exists (SELECT 'B' COLLATE NOCASE)) || 'A' = '1a'",
      "('a' COLLATE NOCASE IN (SELECT 'b')) || 'A' = '0a'",
    ];
    await same(p, cases.map((c) => `SELECT ${c}`));
    await same(p, [
      'CREATE TABLE t (a TEXT, b TEXT)',
      "INSERT INTO t VALUES ('a', 'A'), ('B', 'b'), ('c ', 'C'), ('x', 'y')",
      "SELECT a FROM t WHERE (a || '') COLLATE NOCASE = b ORDER BY a",
      "SELECT a FROM t WHERE lower(a COLLATE RTRIM) = lower(b) ORDER BY a",
      "SELECT a FROM t WHERE substr(a, 1) = b COLLATE NOCASE ORDER BY a",
      "SELECT a FROM t ORDER BY upper(a COLLATE NOCASE) || '', a",
      "SELECT count(*) FROM t WHERE CASE a COLLATE NOCASE WHEN b THEN 1 END",
    ]);
    await close(p);
  });
});

describe('foreign keys checked at the end of each statement', () => {
  it('a self-referencing insert may add the child before its parent; a delete may take both', async () => {
    const p = await open(true);
    await same(p, [
      'CREATE TABLE t (id INTEGER PRIMARY KEY, p INTEGER REFERENCES t (id))',
      'INSERT INTO t VALUES (3, 2), (2, 1), (1, NULL)',
      'INSERT INTO t VALUES (5, 5)',
      'INSERT INTO t VALUES (6, 7)',
      'INSERT INTO t VALUES (6, 7), (8, 9)',
      'SELECT id, p FROM t ORDER BY id',
      'DELETE FROM t WHERE id = 1',
      'DELETE FROM t WHERE id <= 3',
      'SELECT id, p FROM t ORDER BY id',
      'INSERT INTO t VALUES (10, NULL), (11, 10), (12, 11)',
      'UPDATE t SET id = 20 WHERE id = 10',
      'UPDATE t SET p = 99 WHERE id = 12',
      'UPDATE t SET p = 99, id = 99 WHERE id = 12',
      'SELECT id, p FROM t ORDER BY id',
    ]);
    await close(p);
  });

  it('a failing statement leaves nothing behind, and a repair later in it is accepted', async () => {
    const p = await open(true);
    await same(p, [
      'CREATE TABLE parent (k TEXT PRIMARY KEY, v)',
      'CREATE TABLE child (id INTEGER PRIMARY KEY, k TEXT REFERENCES parent (k))',
      "INSERT INTO parent VALUES ('a', 1), ('b', 2)",
      "INSERT INTO child VALUES (1, 'a'), (2, 'b'), (3, 'b')",
      "INSERT INTO child VALUES (4, 'a'), (5, 'zz')",
      "SELECT count(*) FROM child",
      "DELETE FROM parent WHERE k = 'b'",
      "INSERT OR REPLACE INTO parent VALUES ('b', 3)",
      "UPDATE parent SET k = 'c' WHERE k = 'b'",
      'SELECT k, v FROM parent ORDER BY k',
      'BEGIN',
      "INSERT INTO child VALUES (6, 'a')",
      "DELETE FROM parent WHERE k = 'a'",
      'COMMIT',
      'SELECT id, k FROM child ORDER BY id',
    ]);
    await expect(p.db.exec("DELETE FROM parent WHERE k = 'a'")).rejects.toMatchObject({ code: 'CONSTRAINT_FOREIGNKEY', message: 'FOREIGN KEY constraint failed' });
    await close(p);
  });

  it('ON UPDATE CASCADE moves parents and children together; ON DELETE CASCADE counts only the rows deleted directly', async () => {
    const p = await open(true);
    await same(p, [
      'CREATE TABLE t (id INTEGER PRIMARY KEY, p REFERENCES t ON DELETE CASCADE ON UPDATE CASCADE)',
      'INSERT INTO t VALUES (1, NULL), (2, 1), (3, 2)',
      'UPDATE t SET id = id + 10 RETURNING id',
      'SELECT id, p FROM t ORDER BY id',
      'DELETE FROM t RETURNING id',
      'SELECT id, p FROM t ORDER BY id',
      'CREATE TABLE a (id INTEGER PRIMARY KEY)',
      'CREATE TABLE b (id INTEGER PRIMARY KEY, a REFERENCES a ON UPDATE CASCADE, n)',
      'INSERT INTO a VALUES (1), (2)',
      'INSERT INTO b VALUES (1, 1, 0), (2, 2, 0), (3, 1, 0)',
      'UPDATE a SET id = id * 10',
      'SELECT id, a FROM b ORDER BY id',
    ]);
    await close(p);
  });

  it('RESTRICT fails at once, even when the statement would repair it', async () => {
    const p = await open(true);
    await same(p, [
      'CREATE TABLE t (id INTEGER PRIMARY KEY, p REFERENCES t ON DELETE RESTRICT)',
      'INSERT INTO t VALUES (1, NULL), (2, 1)',
      'DELETE FROM t',
      'SELECT id, p FROM t ORDER BY id',
      'DELETE FROM t WHERE id = 2',
      'DELETE FROM t',
      'SELECT count(*) FROM t',
    ]);
    await close(p);
  });

  it('triggers run inside the statement whose end settles the checks', async () => {
    const p = await open(true);
    await same(p, [
      'CREATE TABLE parent (id INTEGER PRIMARY KEY)',
      'CREATE TABLE child (id INTEGER PRIMARY KEY, pid REFERENCES parent)',
      'CREATE TABLE log (x)',
      'CREATE TRIGGER add_parent AFTER INSERT ON child BEGIN INSERT OR IGNORE INTO parent VALUES (new.pid); END',
      'INSERT INTO child VALUES (1, 7)',
      'CREATE TRIGGER drop_children BEFORE DELETE ON parent BEGIN DELETE FROM child WHERE pid = old.id; END',
      'DELETE FROM parent',
      'SELECT count(*) FROM child',
    ]);
    await close(p);
  });
});

describe('IN (SELECT) under REAL affinity', () => {
  it('probes with the left value made REAL, unlike =', async () => {
    const p = await open();
    await same(p, [
      'CREATE TABLE r (c REAL, i INTEGER)',
      'INSERT INTO r VALUES (-9223372036854775807, -9223372036854775807), (9007199254740993, 9007199254740993)',
      "SELECT '-9223372036854775807' IN (SELECT c FROM r)",
      'SELECT 9007199254740993 IN (SELECT c FROM r), 9007199254740993 NOT IN (SELECT c FROM r)',
      'SELECT 9007199254740993 = c FROM r',
      'SELECT i IN (SELECT c FROM r), (i + 0) IN (SELECT c FROM r) FROM r',
      'SELECT c IN (-9223372036854775807, 1) FROM r',
    ]);
    await close(p);
  });
});

describe('collation in subqueries, grouping and DISTINCT', () => {
  it('a subquery column keeps its collation; GROUP BY, DISTINCT, min and max follow collations', async () => {
    const p = await open();
    await same(p, [
      "CREATE TABLE w (t TEXT, n INTEGER)",
      "INSERT INTO w VALUES ('a', 1), ('A', 2), ('b ', 3), ('b', 4), ('B', 5), (NULL, 6)",
      "SELECT 'b' IN (SELECT 'B' COLLATE NOCASE), 'b' IN (SELECT 'B')",
      "SELECT x = 'A' FROM (SELECT 'a' COLLATE NOCASE AS x)",
      "SELECT count(*) FROM (SELECT t COLLATE NOCASE AS x FROM w) WHERE x = 'B'",
      'SELECT t COLLATE NOCASE AS k, count(*), sum(n) FROM w GROUP BY 1 ORDER BY 2, 3',
      'SELECT count(*) FROM (SELECT t FROM w GROUP BY t COLLATE RTRIM)',
      'SELECT count(*) FROM (SELECT DISTINCT t COLLATE NOCASE FROM w)',
      'SELECT count(DISTINCT t COLLATE NOCASE), count(DISTINCT t) FROM w',
      'SELECT min(t COLLATE NOCASE), max(t COLLATE NOCASE), min(t), max(t) FROM w',
    ]);
    await close(p);
  });
});

describe('double-quoted identifiers', () => {
  it('name a column, and one naming none is refused with a hint (SQLite without legacy DQS)', async () => {
    const p = await open();
    await same(p, [
      'CREATE TABLE q (name TEXT, "odd col" INTEGER)',
      "INSERT INTO q VALUES ('x', 1), ('y', 2)",
      'SELECT "name", "odd col" FROM q ORDER BY 1',
      'SELECT count(*) FROM q WHERE name = "x"',
      'SELECT "hello", typeof("hello") FROM q LIMIT 1',
      'SELECT "name" || "!" FROM q ORDER BY 1',
      'SELECT q."nope" FROM q',
    ]);
    await close(p);
  });
});

describe('statements run once per run, afresh per trigger step', () => {
  it('an uncorrelated subquery in a trigger sees the rows each firing left', async () => {
    const p = await open();
    await same(p, [
      'CREATE TABLE item (id INTEGER PRIMARY KEY, v INTEGER)',
      'CREATE TABLE audit (n INTEGER, total INTEGER)',
      'CREATE TRIGGER item_audit AFTER INSERT ON item BEGIN INSERT INTO audit SELECT count(*), (SELECT sum(v) FROM item) FROM item; INSERT INTO audit SELECT n + 100, total FROM (SELECT count(*) AS n, sum(v) AS total FROM item); END',
      'INSERT INTO item VALUES (1, 10), (2, 20), (3, 30)',
      'SELECT * FROM audit ORDER BY n',
      'SELECT i.id, d.n FROM item i JOIN (SELECT count(*) AS n FROM audit) d ORDER BY 1',
    ]);
    await close(p);
  });
});

describe('ORDER BY with LIMIT keeps only the rows it can return', () => {
  it('gives SQLite answers for small and large limits and offsets', async () => {
    const p = await open();
    await same(p, [
      'CREATE TABLE n (id INTEGER PRIMARY KEY, v INTEGER, w TEXT)',
      "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 5000) INSERT INTO n SELECT i, (i * 7919) % 1000, 'w' || (i % 13) FROM s",
      'SELECT id, v FROM n ORDER BY v DESC, id LIMIT 10',
      'SELECT id, v FROM n WHERE v > 100 ORDER BY v, id DESC LIMIT 7 OFFSET 300',
      'SELECT id FROM n ORDER BY w, v, id LIMIT 1500 OFFSET 1000',
      'SELECT id FROM n ORDER BY v, id LIMIT 0',
      'SELECT id FROM n ORDER BY v, id LIMIT -1 OFFSET 4990',
    ]);
    await close(p);
  });
});
