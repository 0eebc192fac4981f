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
];

async function render(): Promise<string> {
  const db = await Database.open();
  await db.exec(SETUP);
  const out: string[] = [];
  for (const sql of QUERIES) {
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
