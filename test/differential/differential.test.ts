/**
 * Differential test: DoSQL against SQLite itself (better-sqlite3), on random schemas, data and
 * queries.
 *
 * Each seed builds one random setup (schema.ts) on a fresh SQLite `:memory:` database and a fresh
 * in-memory DoSQL, checking that every DDL and INSERT succeeds or fails on both alike and that the
 * stored tables read back identically (values and typeof, so affinity is checked). Then it runs
 * QUERIES_PER_SEED random SELECTs (queries.ts) on both and compares the outcomes (compare.ts):
 * both failed (any message), or the same rows, order-insensitive unless an ORDER BY lists every
 * output column. Failures print the seed; `DIFF_SEED=<n>` replays one seed (and `DIFF_QUERIES`
 * changes how many queries it runs).
 */
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Database } from '../../index.js';
import { rng } from '../support/random.js';
import { difference, runDosql, runSqlite } from './compare.js';
import { KNOWN_GAPS, QueryGen, enabled } from './queries.js';
import { generateSetup } from './schema.js';

const DEFAULT_SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const QUERIES_PER_SEED_DEFAULT = 500;
const FAILURES_SHOWN_MAX = 5;

const envSeed = process.env['DIFF_SEED'];
const SEEDS = envSeed === undefined ? DEFAULT_SEEDS : envSeed.split(',').map(Number);
const QUERIES_PER_SEED = Number(process.env['DIFF_QUERIES'] ?? QUERIES_PER_SEED_DEFAULT);

interface SeedResult {
  failures: string[];
  compared: number;
  bothFailed: number;
  nonEmpty: number;
}

async function runSeed(seed: number, queries: number): Promise<SeedResult> {
  const r = rng(seed);
  const setup = generateSetup(r, { indexNonNumericColumns: enabled('indexNonNumericColumns'), autoRowid: enabled('autoRowidBelowZero'), nullPrimaryKey: enabled('nullPrimaryKey') });
  const lite = new BetterSqlite3(':memory:');
  const dosql = await Database.open();
  const failures: string[] = [];
  const result: SeedResult = { failures, compared: 0, bothFailed: 0, nonEmpty: 0 };
  const replay = `seed ${seed} (replay: DIFF_SEED=${seed} npx vitest run test/differential)`;
  try {
    for (const sql of setup.statements) {
      const diff = difference(runSqlite(lite, sql), await runDosql(dosql, sql, true), false);
      if (diff !== undefined) failures.push(`${replay}\nsetup: ${sql}\n${diff}`);
    }
    for (const t of setup.tables) {
      const cols = t.columns.flatMap((c) => [c, `typeof(${c})`]).join(', ');
      const sql = `SELECT ${cols} FROM ${t.name}`;
      const diff = difference(runSqlite(lite, sql), await runDosql(dosql, sql, false), false);
      if (diff !== undefined) failures.push(`${replay}\ntable contents: ${sql}\n${diff}`);
    }
    if (failures.length > 0) failures.unshift(`setup:\n${setup.statements.join(';\n')}`);
    const gen = new QueryGen(r, setup.tables);
    for (let i = 0; i < queries && failures.length < FAILURES_SHOWN_MAX; i++) {
      const q = gen.query();
      const a = runSqlite(lite, q.sql);
      const b = await runDosql(dosql, q.sql, false);
      result.compared++;
      if (!a.ok && !b.ok) result.bothFailed++;
      if (a.ok && a.rows.length > 0) result.nonEmpty++;
      const diff = difference(a, b, q.ordered);
      if (diff !== undefined) {
        if (failures.length === 0) failures.push(`setup:\n${setup.statements.join(';\n')}`);
        failures.push(`${replay}, query ${i}:\n${q.sql}\n${diff}`);
      }
    }
  } finally {
    lite.close();
    await dosql.close();
  }
  return result;
}

describe('differential: DoSQL vs SQLite', () => {
  it(`random schemas, data and ${QUERIES_PER_SEED} queries per seed for seeds ${SEEDS.join(',')}`, async () => {
    const failures: string[] = [];
    let compared = 0;
    let bothFailed = 0;
    let nonEmpty = 0;
    for (const seed of SEEDS) {
      const res = await runSeed(seed, QUERIES_PER_SEED);
      compared += res.compared;
      bothFailed += res.bothFailed;
      nonEmpty += res.nonEmpty;
      failures.push(...res.failures);
    }
    if (process.env['DIFF_VERBOSE']) {
      console.log(`compared ${compared} queries, ${bothFailed} failed on both, ${nonEmpty} non-empty on SQLite; known gaps: ${Object.keys(KNOWN_GAPS).join(', ') || 'none'}`);
    }
    expect(failures.join('\n\n')).toBe('');
    // The generator must mostly produce valid queries that return rows, or the test proves little.
    expect(bothFailed).toBeLessThan(compared * 0.25);
    expect(nonEmpty).toBeGreaterThan(compared * 0.4);
  });
});
