/**
 * Access paths chosen by cost give SQLite's answers, and read what their shape promises: composite
 * keys, IN lists, ORs of indexed terms, outer joins through an index, hash joins, and plans that
 * change as a table grows. Page reads are counted on a cold cache, never timed.
 */
import { describe, expect, it } from 'vitest';
import { Database } from '../../index.js';
import { MemoryStore } from '../../storage/memory.js';
import { sqlitePair } from '../support/sqlite-pair.js';

const ROWS = 3000;
const SETUP = [
  'CREATE TABLE ev (id INTEGER PRIMARY KEY, day INTEGER, kind TEXT, n REAL, note)',
  'CREATE INDEX ev_day_kind ON ev (day, kind)',
  'CREATE INDEX ev_n ON ev (n)',
  'CREATE TABLE pk2 (a INTEGER, b TEXT, v, PRIMARY KEY (a, b))',
  'CREATE TABLE tags (ev_id INTEGER, tag TEXT)',
  'CREATE TABLE kinds (kind TEXT, label TEXT)',
  `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${ROWS})
   INSERT INTO ev SELECT i, i % 30, char(97 + i % 7), (i % 100) / 4.0, CASE WHEN i % 11 = 0 THEN NULL ELSE i % 13 END FROM s`,
  `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 400)
   INSERT INTO pk2 SELECT i % 20, char(97 + i / 20), i FROM s`,
  `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 900)
   INSERT INTO tags SELECT i * 3, 't' || (i % 9) FROM s`,
  "INSERT INTO kinds VALUES ('a', 'alpha'), ('b', 'beta'), ('c', 'gamma'), ('c', 'gamma2'), (NULL, 'none'), ('1', 'one')",
];

const QUERIES = [
  "SELECT id FROM ev WHERE day = 3 AND kind = 'd'",
  "SELECT id FROM ev WHERE day = 3 AND kind > 'd'",
  "SELECT id FROM ev WHERE day = 3 AND kind BETWEEN 'b' AND 'e'",
  'SELECT id FROM ev WHERE day IN (1, 2, 2, 29, 31, NULL)',
  "SELECT id FROM ev WHERE day IN (4, 5) AND kind IN ('a', 'f', 'zz')",
  "SELECT id FROM ev WHERE day = '3' AND kind = 'd'",
  'SELECT id FROM ev WHERE id IN (5, 7, 7, 2999, 4000) OR day = 6',
  "SELECT id FROM ev WHERE day = 7 OR kind = 'c' OR n = 2.5",
  'SELECT id FROM ev WHERE n > 24 OR id < 10',
  'SELECT id FROM ev WHERE n = 3 OR n = 3.0 OR n = 4',
  'SELECT v FROM pk2 WHERE a = 3',
  "SELECT v FROM pk2 WHERE a = 3 AND b = 'c'",
  "SELECT v FROM pk2 WHERE a IN (1, 3) AND b >= 'q'",
  "SELECT v FROM pk2 WHERE a = 3.0 AND b < 'e'",
  'SELECT ev.id, tags.tag FROM ev JOIN tags ON tags.ev_id = ev.id WHERE ev.day = 9',
  'SELECT ev.id, tags.tag FROM tags JOIN ev ON ev.day = tags.ev_id % 30 WHERE tags.tag = \'t3\' AND ev.kind = \'b\'',
  'SELECT ev.id, kinds.label FROM ev, kinds WHERE kinds.kind = ev.kind AND ev.day = 1',
  'SELECT k.label, count(*) FROM kinds k JOIN ev ON ev.kind = k.kind GROUP BY k.label',
  'SELECT ev.id, tags.tag FROM ev LEFT JOIN tags ON tags.ev_id = ev.id WHERE ev.day = 2',
  'SELECT t.tag, e.id FROM tags t LEFT JOIN ev e ON e.id = t.ev_id AND e.kind = \'a\' WHERE t.ev_id < 60',
  'SELECT count(*) FROM ev a JOIN ev b ON b.note = a.note WHERE a.day = 5',
  'SELECT count(*) FROM tags a JOIN tags b ON b.tag = a.tag JOIN kinds ON kinds.label = a.tag',
];

describe('access paths by cost', () => {
  const pair = sqlitePair(SETUP);
  for (const sql of QUERIES) {
    it(sql, async () => {
      const ours = (await pair.db.query(sql)).rows.map((r) => JSON.stringify(r)).sort();
      const theirs = (pair.ref.prepare(sql).raw().all() as unknown[][]).map((r) => JSON.stringify(r)).sort();
      expect(ours).toEqual(theirs);
    });
  }
});

// A hash join holds at most hashJoinRowsMax inner rows per run; past that it scans the inner table
// per outer row. Both sides of the limit give SQLite's answers. `tags` has 900 rows, all non-NULL.
describe('hash joins at and past their row limit', () => {
  const HASHED = [
    "SELECT ev.id, tags.tag FROM tags JOIN ev ON ev.day = tags.ev_id % 30 WHERE tags.tag = 't3' AND ev.kind = 'b'",
    'SELECT count(*) FROM tags a JOIN tags b ON b.tag = a.tag JOIN kinds ON kinds.label = a.tag',
    'SELECT count(*), sum(b.ev_id) FROM tags a JOIN tags b ON b.tag = a.tag WHERE a.ev_id < 300',
  ];
  for (const rowsMax of [900, 899, 0]) {
    const pair = sqlitePair(SETUP, { hashJoinRowsMax: rowsMax });
    for (const sql of HASHED) {
      it(`${sql} (hashJoinRowsMax ${rowsMax})`, async () => {
        const plan = (await pair.db.query(`EXPLAIN QUERY PLAN ${sql}`)).rows.map((r) => r[3]).join('; ');
        expect(plan).toContain('AUTOMATIC HASH INDEX');
        const ours = (await pair.db.query(sql)).rows.map((r) => JSON.stringify(r)).sort();
        const theirs = (pair.ref.prepare(sql).raw().all() as unknown[][]).map((r) => JSON.stringify(r)).sort();
        expect(ours).toEqual(theirs);
      });
    }
  }

  it('refuses a limit that is not a non-negative integer', async () => {
    for (const bad of [-1, 1.5, Number.NaN]) {
      await expect(Database.open({ hashJoinRowsMax: bad })).rejects.toMatchObject({ code: 'MISUSE' });
    }
  });
});

async function coldDatabase(setup: string[]): Promise<{ store: MemoryStore; db: Database }> {
  const store = new MemoryStore();
  const db = await Database.open({ storage: store });
  for (const s of setup) await db.exec(s);
  await db.close();
  return { store, db: await Database.open({ storage: store }) };
}

async function readsOf(store: MemoryStore, db: Database, sql: string): Promise<number> {
  const before = store.stats.reads;
  await db.query(sql);
  return store.stats.reads - before;
}

describe('page reads of keyed access paths (cold cache)', () => {
  const big = [
    'CREATE TABLE big (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER, pad TEXT)',
    'CREATE INDEX big_ab ON big (a, b)',
    `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 20000)
     INSERT INTO big SELECT i, i % 200, i % 7, printf('%040d', i) FROM s`,
  ];

  it('a composite equality, an IN list and an OR read O(log n + k) pages', async () => {
    const { store, db } = await coldDatabase(big);
    const scan = await readsOf(store, db, "SELECT count(*) FROM big WHERE pad = 'x'");
    await db.close();
    for (const sql of [
      'SELECT count(*) FROM big WHERE a = 17 AND b = 3',
      'SELECT count(*) FROM big WHERE a IN (17, 18) AND b = 3',
      'SELECT count(*) FROM big WHERE id IN (5, 500, 5000, 15000)',
      'SELECT count(*) FROM big WHERE (a = 17 AND b = 3) OR id = 7',
    ]) {
      const cold = await Database.open({ storage: store });
      const used = await readsOf(store, cold, sql);
      // Each lookup: a descent of the index (or table) tree, then one leaf per matching row.
      expect(used, sql).toBeLessThanOrEqual(60);
      expect(scan, sql).toBeGreaterThan(used * 5);
      await cold.close();
    }
  });

  it('an index on a column with two values is not used once statistics show it', async () => {
    const { db } = await coldDatabase([
      'CREATE TABLE f (id INTEGER PRIMARY KEY, flag INTEGER, u INTEGER)',
      'CREATE INDEX f_flag ON f (flag)',
      'CREATE INDEX f_u ON f (u)',
    ]);
    const plan = async (sql: string): Promise<string> => (await db.query(`EXPLAIN QUERY PLAN ${sql}`)).rows.map((r) => r[3]).join('; ');
    const query = db.prepare('SELECT count(*) AS n FROM f WHERE flag = 1');
    // Small tables are planned the way SQLite plans without statistics: through the index.
    expect(await plan('SELECT * FROM f WHERE flag = 1')).toBe('SEARCH f USING INDEX f_flag (flag=?)');
    expect(await query.get()).toEqual({ n: 0 });
    await db.exec(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 4000) INSERT INTO f SELECT i, i % 2, i FROM s`);
    expect(await plan('SELECT * FROM f WHERE flag = 1')).toBe('SCAN f');
    expect(await plan('SELECT * FROM f WHERE flag = 1 AND u = 5')).toBe('SEARCH f USING INDEX f_u (u=?)');
    // The prepared statement was replanned with the new statistics, and still answers right.
    expect(await query.get()).toEqual({ n: 2000 });
    await db.close();
  });
});
