/**
 * The engine's own tests on the Durable Object backend, inside workerd: one engine, two storages.
 * - Crash: the randomized workload of test/crash/database-crash.test.ts, crashed at every write
 *   point (half of them torn) over FaultyStore(DurableObjectStore), then reopened on the object's
 *   storage: every acknowledged commit is present, nothing unacknowledged (except the in-flight
 *   commit, whole or absent), and the B-trees equal a fresh replay of the log. Fewer seeds than
 *   the Node run (which covers the engine logic); here the point is the backend.
 * - SQL: SQLite's select1.test (test/slt/corpus, brought in with Vite's `?raw`) on a database
 *   whose storage is the Durable Object's, through the SLT runner's parser and renderer.
 */
import { createHash } from 'node:crypto';
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { Database } from '../../index.js';
import type { SqlValue } from '../../base/values.js';
import { FaultyStore } from '../../storage/fault.js';
import { DurableObjectStore } from '../../storage/durable-object.js';
import { parseSlt, renderValue, type SltRecord } from '../slt/runner.js';
import { rng, type Rng } from '../support/random.js';
import { replayFromZero, tableContents } from '../support/replay.js';
import select1 from '../slt/corpus/select1.test?raw';
import { freshName, testEnv } from './helpers.js';

const SEEDS = 16;
const STEPS = 12;

type Model = Map<number, string>;
interface Step {
  sql: string;
  apply(m: Model): void;
}

/** The crash workload of test/crash/database-crash.test.ts (same generator, same seeds). */
function makeSteps(r: Rng): Step[] {
  const steps: Step[] = [];
  const ids = new Set<number>();
  for (let s = 0; s < STEPS; s++) {
    const kind = r.int(5);
    if (kind <= 1 || ids.size === 0) {
      const batch = Array.from({ length: 1 + r.int(20) }, () => 1 + r.int(400)).filter((id) => !ids.has(id));
      const unique = [...new Set(batch)];
      if (!unique.length) continue;
      for (const id of unique) ids.add(id);
      const vals = unique.map((id) => [id, `v${id}-${s}`.repeat(1 + r.int(30))] as const);
      steps.push({
        sql: `INSERT INTO t VALUES ${vals.map(([id, v]) => `(${id}, '${v}')`).join(', ')}`,
        apply: (m) => vals.forEach(([id, v]) => m.set(id, v)),
      });
    } else if (kind === 2) {
      const lo = r.int(400);
      const v = `u${s}`;
      steps.push({ sql: `UPDATE t SET v = '${v}' WHERE id BETWEEN ${lo} AND ${lo + 40}`, apply: (m) => m.forEach((_, id) => id >= lo && id <= lo + 40 && m.set(id, v)) });
    } else if (kind === 3) {
      const lo = r.int(400);
      steps.push({
        sql: `DELETE FROM t WHERE id >= ${lo} AND id < ${lo + 30}`,
        apply: (m) => [...m.keys()].forEach((id) => id >= lo && id < lo + 30 && (m.delete(id), ids.delete(id))),
      });
    } else {
      steps.push({ sql: `BEGIN; INSERT INTO t VALUES (${1000 + s}, 'rolled back'); DELETE FROM t; ROLLBACK`, apply: () => {} });
    }
  }
  return steps;
}

async function runWorkload(store: FaultyStore, steps: Step[]): Promise<{ acked: Model; inflight?: Step }> {
  const acked: Model = new Map();
  let db: Database;
  try {
    db = await Database.open({ storage: store, checkpointChangesMin: 25, clock: () => 1_700_000_000_000 });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
  } catch {
    return { acked };
  }
  for (const step of steps) {
    try {
      await db.exec(step.sql);
    } catch {
      return { acked, inflight: step };
    }
    step.apply(acked);
  }
  try {
    await db.close();
  } catch {
    // A crash while closing loses nothing acknowledged.
  }
  return { acked };
}

async function rowsOf(db: Database): Promise<Model> {
  const m: Model = new Map();
  if (!db.schema().some((t) => t.name === 't')) return m;
  for (const r of (await db.query('SELECT id, v FROM t')).rows) m.set(r[0] as number, r[1] as string);
  return m;
}

function same(a: Model, b: Model): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

function onObject<T>(f: (storage: DurableObjectStorage) => Promise<T>): Promise<T> {
  const env = testEnv();
  const stub = env.DATABASE.get(env.DATABASE.idFromName(freshName('engine')));
  return runInDurableObject(stub, (_instance, state) => f(state.storage));
}

describe('engine on DurableObjectStore', () => {
  it(`crash at every write point keeps every acknowledged commit and nothing else (${SEEDS} seeds)`, () =>
    onObject(async (storage) => {
      let crashes = 0;
      for (let seed = 1; seed <= SEEDS; seed++) {
        const steps = makeSteps(rng(seed));
        await storage.deleteAll();
        const probe = new FaultyStore(new DurableObjectStore(storage), {});
        await runWorkload(probe, steps);
        const writes = probe.writeCount;
        for (let at = 1; at <= writes; at++) {
          await storage.deleteAll();
          const store = new FaultyStore(new DurableObjectStore(storage), { crashAtWrite: at, tornWrite: at % 2 === 0, seed });
          const { acked, inflight } = await runWorkload(store, steps);
          // Restart: a new store and database over the same Durable Object storage.
          const db = await Database.open({ storage: new DurableObjectStore(storage) });
          const got = await rowsOf(db);
          const withInflight = new Map(acked);
          inflight?.apply(withInflight);
          if (!same(got, acked) && !same(got, withInflight)) {
            throw new Error(`seed ${seed}, crash at write ${at}: recovered rows differ from acknowledged commits`);
          }
          expect(await tableContents(await replayFromZero(db))).toEqual(await tableContents(db.internals.tables));
          await db.close();
          crashes++;
        }
      }
      expect(crashes).toBeGreaterThan(SEEDS);
    }));

  it('runs select1.test with every record passing', () =>
    onObject(async (storage) => {
      const parsed = parseSlt(select1);
      const db = await Database.open({ storage: new DurableObjectStore(storage), intMode: 'number' });
      const failures: string[] = [];
      let passed = 0;
      for (const r of parsed.records) {
        const problem = await runRecord(db, r, parsed.hashThreshold);
        if (problem) failures.push(`line ${r.line}: ${problem}`);
        else passed++;
      }
      await db.close();
      console.log(`select1.test on DurableObjectStore: ${passed} passed, ${failures.length} failed`);
      expect(failures.slice(0, 5)).toEqual([]);
      expect(passed).toBeGreaterThan(1000);
      // The data is really in the object's storage: reopen and count.
      const again = await Database.open({ storage: new DurableObjectStore(storage) });
      expect(again.schema().length).toBeGreaterThan(0);
      await again.close();
    }));
});

/** One sqllogictest record (same rules as test/slt/runner.ts); a problem message or undefined. */
async function runRecord(db: Database, r: SltRecord, hashThreshold: number): Promise<string | undefined> {
  if (r.kind === 'statement') {
    let ok = true;
    try {
      await db.exec(r.sql);
    } catch {
      ok = false;
    }
    return ok === !r.expectError ? undefined : r.expectError ? 'expected an error' : 'statement failed';
  }
  let rows: SqlValue[][];
  try {
    rows = (await db.query(r.sql)).rows;
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
  const types = r.types!;
  const rendered = rows.map((row) => row.map((v, i) => renderValue(v, types[i] ?? 'T')));
  const values = sortValues(rendered, r.sort);
  const expected = r.expected!;
  const hashed = (expected.length === 1 && / values hashing to /.test(expected[0]!)) || (hashThreshold > 0 && values.length > hashThreshold);
  const actual = hashed ? [`${values.length} values hashing to ${md5(values)}`] : values;
  const same = actual.length === expected.length && actual.every((v, i) => v === expected[i]);
  return same ? undefined : `expected ${JSON.stringify(expected.slice(0, 6))} got ${JSON.stringify(actual.slice(0, 6))}`;
}

function sortValues(values: string[][], sort: SltRecord['sort']): string[] {
  if (sort === 'rowsort') {
    return values
      .slice()
      .sort((a, b) => {
        for (let i = 0; i < a.length; i++) {
          if (a[i]! < b[i]!) return -1;
          if (a[i]! > b[i]!) return 1;
        }
        return 0;
      })
      .flat();
  }
  const flat = values.flat();
  return sort === 'valuesort' ? flat.sort() : flat;
}

function md5(values: string[]): string {
  const h = createHash('md5');
  for (const v of values) h.update(v + '\n');
  return h.digest('hex');
}
