/**
 * Fuzzing the parser (a project acceptance criterion): random token soups and mutations of valid
 * statements must either parse or throw a DosqlError, never anything else, and each call must
 * return promptly. Seeded (test/support/random.ts); the seed is in the failure message.
 */
import { describe, expect, it } from 'vitest';
import { isDosqlError } from '../../base/errors.js';
import { tokenize } from '../../query/lexer.js';
import { parse } from '../../query/parser.js';
import { rng, type Rng } from '../support/random.js';

const SEEDS_SQL = [
  'SELECT DISTINCT a, b AS x, t.* FROM t AS q LEFT JOIN u USING (a) WHERE a BETWEEN 1 AND 2 AND b IN (1, 2) GROUP BY a HAVING count(*) > 1 ORDER BY 1 DESC NULLS LAST LIMIT 3, 4',
  "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5) SELECT n, CASE WHEN n % 2 THEN 'odd' ELSE 'even' END FROM c",
  "SELECT CAST(a AS VARCHAR(10)), -9223372036854775808, x'0A0B', 1.5e3, ?, ?7, :p, @q, $r FROM t WHERE a LIKE 'x%' ESCAPE '!' AND NOT EXISTS (SELECT 1)",
  'SELECT sum(x) FILTER (WHERE x > 0) OVER (PARTITION BY a ORDER BY b ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM t WINDOW w AS (ORDER BY c)',
  'INSERT OR REPLACE INTO t(a, b) VALUES (1, 2), (3, 4) ON CONFLICT (a) DO UPDATE SET b = excluded.b WHERE b > 0 RETURNING *',
  'UPDATE t SET a = a + 1, (b, c) = (1, 2) FROM u WHERE t.id = u.id RETURNING a',
  'DELETE FROM t WHERE a IS NOT NULL AND b ISNULL',
  "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL DEFAULT 'x' COLLATE NOCASE, v REAL CHECK (v > 0), o INT REFERENCES p(id) ON DELETE CASCADE, UNIQUE (name, v)) WITHOUT ROWID",
  'CREATE UNIQUE INDEX i ON t (a DESC, b) WHERE a > 0',
  'CREATE VIEW v (x) AS SELECT a FROM t',
  "CREATE TRIGGER tr AFTER UPDATE OF a ON t FOR EACH ROW WHEN new.a > 0 BEGIN INSERT INTO log VALUES (new.a); SELECT RAISE(ABORT, 'x'); END",
  'ALTER TABLE t ADD COLUMN c TEXT; ALTER TABLE t RENAME TO u; DROP TABLE IF EXISTS u',
  'BEGIN IMMEDIATE; SAVEPOINT a; RELEASE a; ROLLBACK TO a; COMMIT; PRAGMA x = 1; EXPLAIN QUERY PLAN SELECT 1; VACUUM; ANALYZE; REINDEX',
  'SELECT * FROM t FOR SYSTEM_TIME AS OF LSN 5 x, u FOR SYSTEM_TIME BETWEEN 1 AND 2',
];

const VOCABULARY = [
  'SELECT', 'FROM', 'WHERE', 'AND', 'OR', 'NOT', 'NULL', 'IS', 'IN', 'BETWEEN', 'LIKE', 'ESCAPE', 'CASE', 'WHEN', 'THEN',
  'ELSE', 'END', 'CAST', 'AS', 'EXISTS', 'JOIN', 'LEFT', 'ON', 'USING', 'GROUP', 'BY', 'ORDER', 'LIMIT', 'OFFSET', 'UNION',
  'ALL', 'VALUES', 'WITH', 'RECURSIVE', 'INSERT', 'INTO', 'UPDATE', 'SET', 'DELETE', 'CREATE', 'TABLE', 'INDEX', 'VIEW',
  'TRIGGER', 'BEGIN', 'DROP', 'ALTER', 'PRIMARY', 'KEY', 'DEFAULT', 'COLLATE', 'OVER', 'FILTER', 'PARTITION', 'WINDOW',
  'ROWS', 'RAISE', 'DISTINCT', 'FOR', 'SYSTEM_TIME', 'RETURNING', 'CONFLICT', 'DO', 'NOTHING', 'EXPLAIN', 'PRAGMA',
  '(', ')', ',', ';', '.', '*', '+', '-', '~', '||', '->', '->>', '=', '==', '<>', '<', '>=', '<<', '&', '|', '/', '%',
  'a', 't', 'x', '"q"', '[b]', '`c`', "'s'", "'", '"', "x'0A'", "x'0'", '1', '1.5', '.5', '0x1F', '9223372036854775808',
  '?', '?3', '?0', ':n', '@m', '$o', '--', '/*', '*/', '\n', '!', '#', 'é',
];

const INPUT_MS_MAX = 100;

function mutate(r: Rng, sql: string): string {
  const toks = tokenize(sql).slice(0, -1).map((t) => sql.slice(t.pos, t.end));
  const rounds = 1 + r.int(4);
  let text = '';
  for (let k = 0; k < rounds; k++) {
    const i = r.int(toks.length + 1);
    switch (r.int(6)) {
      case 0:
        toks.splice(i, 0, r.pick(VOCABULARY));
        break;
      case 1:
        toks.splice(i, 1);
        break;
      case 2:
        if (i < toks.length) toks.splice(i, 0, toks[i]!);
        break;
      case 3: {
        const j = r.int(toks.length);
        if (i < toks.length) [toks[i], toks[j]] = [toks[j]!, toks[i]!];
        break;
      }
      case 4:
        toks.length = Math.min(toks.length, i);
        break;
      default:
        break;
    }
  }
  text = toks.join(' ');
  if (r.chance(0.3)) {
    // character-level damage
    const at = r.int(text.length + 1);
    const chars = `'"[]()\`;,.-*/xX0?:@$\\\n`;
    text = r.chance(0.5) ? text.slice(0, at) + chars[r.int(chars.length)]! + text.slice(at) : text.slice(0, at) + text.slice(at + 1);
  }
  return text;
}

function soup(r: Rng): string {
  const n = 1 + r.int(30);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(r.pick(VOCABULARY));
  return parts.join(r.chance(0.2) ? '' : ' ');
}

function check(seed: number, sql: string, failures: string[], stats: { ok: number; error: number }): void {
  const t0 = performance.now();
  try {
    const list = parse(sql);
    for (const p of list) {
      if (!(p.start >= 0 && p.start <= p.end && p.end <= sql.length)) failures.push(`seed ${seed}: bad slice for ${JSON.stringify(sql)}`);
    }
    stats.ok++;
  } catch (e) {
    if (isDosqlError(e)) stats.error++;
    else failures.push(`seed ${seed}: ${String(e)} for ${JSON.stringify(sql)}`);
  }
  const ms = performance.now() - t0;
  if (ms > INPUT_MS_MAX) failures.push(`seed ${seed}: ${ms.toFixed(0)} ms for ${JSON.stringify(sql)}`);
}

describe('parser fuzz', () => {
  it('the seed statements are valid', () => {
    for (const sql of SEEDS_SQL) expect(() => parse(sql)).not.toThrow();
  });

  for (const seed of [1, 2, 3, 4]) {
    it(`mutations and token soups, seed ${seed}`, () => {
      const r = rng(seed);
      const failures: string[] = [];
      const stats = { ok: 0, error: 0 };
      for (let i = 0; i < 3000; i++) {
        const sql = r.chance(0.7) ? mutate(r, r.pick(SEEDS_SQL)) : soup(r);
        check(seed, sql, failures, stats);
      }
      expect(failures.slice(0, 5), `seed ${seed}`).toEqual([]);
      // Both outcomes occur: mutations are neither all fatal nor all harmless.
      expect(stats.ok).toBeGreaterThan(50);
      expect(stats.error).toBeGreaterThan(50);
    });
  }
});
