/**
 * Planner golden tests: SQL in, EXPLAIN QUERY PLAN text out, kept in plans.golden and reviewed
 * when regenerated (`UPDATE_GOLDEN=1 npx vitest run test/planner`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Database } from '../../index.js';

const GOLDEN = new URL('./plans.golden', import.meta.url);

const SETUP = `
CREATE TABLE t1 (id INTEGER PRIMARY KEY, a INTEGER, b TEXT);
CREATE TABLE t2 (id INTEGER PRIMARY KEY, t1id INTEGER, c REAL);
CREATE TABLE kv (k TEXT PRIMARY KEY, v);
CREATE INDEX t1_a ON t1 (a);
CREATE INDEX t2_t1id ON t2 (t1id);
CREATE TABLE ev (day INTEGER, kind TEXT, n INTEGER);
CREATE INDEX ev_day_kind ON ev (day, kind);
CREATE TABLE pk2 (a INTEGER, b TEXT, v, PRIMARY KEY (a, b));
CREATE TABLE tags (t1id INTEGER, tag TEXT);
`;

const QUERIES = [
  'SELECT * FROM t1',
  'SELECT * FROM t1 WHERE id = 5',
  'SELECT * FROM t1 WHERE id > 5 AND id <= 10',
  'SELECT * FROM t1 WHERE a = 3',
  'SELECT * FROM t1 WHERE a > 3',
  "SELECT * FROM t1 WHERE b = 'x'",
  "SELECT v FROM kv WHERE k = 'a'",
  'SELECT * FROM t1, t2 WHERE t2.t1id = t1.id AND t1.a = 7',
  'SELECT * FROM t2 JOIN t1 ON t1.id = t2.t1id WHERE t2.c > 1.5',
  'SELECT a, count(*) FROM t1 GROUP BY a ORDER BY 2 DESC',
  'SELECT DISTINCT b FROM t1',
  'SELECT * FROM t1 WHERE id IN (SELECT t1id FROM t2 WHERE c < 0)',
  'SELECT a FROM t1 UNION SELECT t1id FROM t2',
  'UPDATE t1 SET b = 1 WHERE a = 2',
  'DELETE FROM t2 WHERE id < 100',
  // Composite keys: equalities on leading columns, then a range on the next.
  "SELECT * FROM ev WHERE day = 3 AND kind = 'x'",
  "SELECT * FROM ev WHERE day = 3 AND kind > 'm'",
  "SELECT * FROM ev WHERE kind = 'x'",
  "SELECT v FROM pk2 WHERE a = 1 AND b = 'z'",
  'SELECT v FROM pk2 WHERE a = 1',
  // IN lists and ORs.
  'SELECT * FROM t1 WHERE id IN (1, 2, 3)',
  'SELECT * FROM t1 WHERE a IN (4, 5)',
  'SELECT * FROM ev WHERE day IN (1, 2) AND kind IN (\'x\', \'y\')',
  'SELECT * FROM t1 WHERE a = 1 OR id = 7',
  "SELECT * FROM t1 WHERE a = 1 OR b = 'x'",
  // Joins: an outer join uses the left side's values; an equality with no index gets a hash table.
  'SELECT * FROM t1 LEFT JOIN t2 ON t2.t1id = t1.id',
  'SELECT * FROM t1 JOIN tags ON tags.t1id = t1.id',
  'SELECT * FROM tags JOIN t2 ON t2.c = tags.t1id',
  // Derived tables and WITH: materialized once per run, then scanned.
  'SELECT * FROM (SELECT a, count(*) AS n FROM t1 GROUP BY a) d JOIN t2 ON t2.t1id = d.a',
  "WITH c AS (SELECT a FROM t1 WHERE b = 'x') SELECT * FROM c, t2 WHERE t2.t1id = c.a",
  'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) SELECT * FROM n',
];

/** Tables with rows, where statistics decide: an index on a column with two values is not worth it. */
const DATA_SETUP = `
CREATE TABLE big (id INTEGER PRIMARY KEY, flag INTEGER, u INTEGER, grp INTEGER);
CREATE INDEX big_flag ON big (flag);
CREATE INDEX big_u ON big (u);
CREATE INDEX big_grp ON big (grp);
CREATE TABLE small (id INTEGER PRIMARY KEY, grp INTEGER, name TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
INSERT INTO big SELECT i, i % 2, i, i % 50 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20)
INSERT INTO small SELECT i, i, 'g' || i FROM n;
CREATE TABLE other (id INTEGER PRIMARY KEY, k INTEGER);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
INSERT INTO other SELECT i, i % 300 FROM n;
`;

const DATA_QUERIES = [
  'SELECT * FROM big WHERE flag = 1',
  'SELECT * FROM big WHERE flag = 1 AND u = 77',
  'SELECT * FROM big WHERE flag = 1 AND grp = 7',
  'SELECT * FROM big WHERE u BETWEEN 10 AND 20',
  'SELECT * FROM big, small WHERE big.grp = small.grp AND small.name = \'g3\'',
  'SELECT * FROM small JOIN big ON big.u = small.id',
  'SELECT * FROM big JOIN other ON other.k = big.u WHERE big.flag = 0',
  'SELECT * FROM other, big, small WHERE other.k = big.u AND big.grp = small.grp AND small.name = \'g3\'',
];

async function render(): Promise<string> {
  return [await renderWith(SETUP, QUERIES), await renderWith(DATA_SETUP, DATA_QUERIES)].join('\n');
}

async function renderWith(setup: string, queries: string[]): Promise<string> {
  const db = await Database.open();
  await db.exec(setup);
  const out: string[] = [];
  for (const sql of queries) {
    const r = await db.query(`EXPLAIN QUERY PLAN ${sql}`);
    const depth = new Map<number, number>();
    const lines = r.rows.map(([id, parent, , detail]) => {
      const d = parent === 0 ? 0 : (depth.get(parent as number) ?? 0) + 1;
      depth.set(id as number, d);
      return `${'  '.repeat(d)}${detail}`;
    });
    out.push(`${sql}\n----\n${lines.join('\n')}\n`);
  }
  await db.close();
  return out.join('\n');
}

describe('planner golden plans', () => {
  it('match plans.golden', async () => {
    const text = await render();
    if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN, text);
    expect(text).toBe(readFileSync(GOLDEN, 'utf8'));
  });
});
