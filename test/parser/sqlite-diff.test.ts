/**
 * Differential check against SQLite itself (better-sqlite3): random mutations of valid statements
 * and random token sequences that SQLite prepares without error must parse here too. Inputs on
 * which SQLite reports a non-syntax error first (no such table, ...) are skipped, since SQLite
 * stops there before reading the rest. Seeded; the failure message holds the inputs.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { tokenize } from '../../query/lexer.js';
import { parse } from '../../query/parser.js';
import { rng } from '../support/random.js';

const SCHEMA = 'CREATE TABLE t(a, b, c, id, x, n, q, s, w, key, replace, temp, desc, asc, left, nocase, integer); CREATE TABLE u(a, id); CREATE TABLE p(id); CREATE TABLE log(a)';

const BASES = [
  'SELECT DISTINCT a, b AS x, t.* FROM t AS q LEFT JOIN u USING (a) WHERE a BETWEEN 1 AND 2 AND b IN (1, 2) GROUP BY a HAVING count(*) > 1 ORDER BY 1 DESC NULLS LAST LIMIT 3, 4',
  "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5) SELECT n, CASE WHEN n % 2 THEN 'odd' ELSE 'even' END FROM c",
  "SELECT CAST(a AS VARCHAR(10)), -9223372036854775808, x'0A0B', 1.5e3, ?, :p FROM t WHERE a LIKE 'x%' ESCAPE '!' AND NOT EXISTS (SELECT 1)",
  'SELECT sum(x) FILTER (WHERE x > 0) OVER (PARTITION BY a ORDER BY b ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM t WINDOW w AS (ORDER BY c)',
  'INSERT OR REPLACE INTO t(a, b) VALUES (1, 2), (3, 4) ON CONFLICT (a) DO UPDATE SET b = excluded.b WHERE b > 0 RETURNING *',
  'UPDATE t SET a = a + 1, (b, c) = (1, 2) FROM u WHERE t.id = u.id RETURNING a',
  "CREATE TABLE IF NOT EXISTS z (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL DEFAULT 'x' COLLATE NOCASE, v REAL CHECK (v > 0), o INT REFERENCES p(id) ON DELETE CASCADE, UNIQUE (name, v))",
  'CREATE UNIQUE INDEX i ON t (a DESC, b) WHERE a > 0',
];

const WORDS = [
  'SELECT', 'FROM', 'WHERE', 'AND', 'OR', 'NOT', 'NULL', 'IS', 'IN', 'BETWEEN', 'LIKE', 'GLOB', 'CASE', 'WHEN', 'THEN', 'ELSE',
  'END', 'AS', 'CAST', 'EXISTS', 'DISTINCT', 'ALL', 'UNION', 'VALUES', 'COLLATE', 'nocase', 'ESCAPE', 'ISNULL', 'NOTNULL',
  'ORDER', 'BY', 'GROUP', 'LIMIT', 'JOIN', 'ON', 'USING', 'LEFT', 'INTEGER', 'key', 'replace', 'temp', 'desc', 'asc', 'left',
  'INDEXED', 'WITH', 'OVER', 'FILTER', 'PARTITION', 'ROWS', 'GENERATED', 'DEFAULT', 'UNIQUE', 'PRIMARY', 'KEY', 'CHECK',
  '(', ')', ',', '.', '*', '+', '-', '=', '<', '||', '->', '~', 'a', 't', '1', '1.5', "'s'", "x'00'", '?', ':n', '"q"',
];

describe('accepts what SQLite accepts', () => {
  it('random mutations and token sequences (seed 21)', () => {
    const db = new Database(':memory:');
    db.exec(SCHEMA);
    const r = rng(21);
    const gaps: string[] = [];
    let compared = 0;
    for (let i = 0; i < 12000; i++) {
      let sql: string;
      if (r.chance(0.8)) {
        const base = r.pick(BASES);
        const toks = tokenize(base).slice(0, -1).map((t) => base.slice(t.pos, t.end));
        for (let k = 0; k < (r.chance(0.7) ? 1 : 2); k++) {
          const j = r.int(toks.length + 1);
          if (r.chance(0.5)) toks.splice(j, 0, r.pick(WORDS));
          else toks.splice(j, 1);
        }
        sql = toks.join(' ');
      } else {
        const parts = ['SELECT'];
        for (let k = 0; k < 2 + r.int(10); k++) parts.push(r.pick(WORDS));
        sql = parts.join(' ');
      }
      let sqliteMessage = '';
      try {
        db.prepare(sql);
      } catch (e) {
        sqliteMessage = (e as Error).message;
      }
      if (sqliteMessage !== '') continue; // syntax error, or a semantic error that hides the rest
      compared++;
      try {
        parse(sql);
      } catch (e) {
        gaps.push(`${(e as Error).message} :: ${sql}`);
      }
    }
    db.close();
    expect(compared, `compared ${compared}`).toBeGreaterThan(300);
    expect(gaps.slice(0, 10)).toEqual([]);
  });
});
