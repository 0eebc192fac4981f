/**
 * The database crash test's workload and its check, shared by the Node run on MemoryStore
 * (test/crash/database-crash.test.ts, many seeds: the engine logic) and the workerd run on a
 * Durable Object's storage (test/workers/engine.test.ts, fewer seeds: the backend).
 *
 * A seeded run of inserts, range updates, range deletes and rolled-back transactions goes through
 * FaultyStore, first cleanly to count its store writes, then once per write point with that write
 * crashing (every other one torn). After each crash a new Database opens on what the store kept:
 * - every acknowledged commit is present,
 * - nothing of an unacknowledged transaction is visible, except the one commit in flight at the
 *   crash, which is either wholly present or wholly absent,
 * - the B-trees equal a fresh replay of the log.
 *
 * It imports nothing from Node, so workerd can load it; the caller supplies the stores.
 */
import { expect } from 'vitest';
import { Database } from '../../index.js';
import { FaultyStore } from '../../storage/fault.js';
import type { ByteStore } from '../../storage/types.js';
import { rng, type Rng } from './random.js';
import { replayFromZero, tableContents } from './replay.js';

/** Statements per seed's workload. */
const STEPS = 12;
/** Changes between checkpoints: small, so that crashes land inside checkpoints too. */
const CHECKPOINT_CHANGES_MIN = 25;
/** A fixed clock: the workload replays exactly from its seed. */
const CLOCK_MS = 1_700_000_000_000;

/** Where the workload runs and where the database reopens after each crash. */
export interface CrashStores {
  /** An empty store for one run of the workload (the crash-injecting store wraps it). */
  empty(): Promise<ByteStore>;
  /** A store over what `crashed` persisted, as a restarted process would open it. */
  restart(crashed: ByteStore): ByteStore;
}

type Model = Map<number, string>;

interface Step {
  sql: string;
  apply(m: Model): void;
}

/**
 * Crash the seeded workload at every write point for seeds 1..`seeds` and check each recovery;
 * throws on the first recovery that differs. Returns the number of crashes checked.
 */
export async function crashAtEveryWritePoint(seeds: number, stores: CrashStores): Promise<number> {
  let crashes = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const steps = makeSteps(rng(seed));
    const probe = new FaultyStore(await stores.empty(), {});
    await runWorkload(probe, steps);
    const writes = probe.writeCount;
    for (let at = 1; at <= writes; at++) {
      const store = new FaultyStore(await stores.empty(), { crashAtWrite: at, tornWrite: at % 2 === 0, seed });
      const { acked, inflight } = await runWorkload(store, steps);
      const db = await Database.open({ storage: stores.restart(store.inner) });
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
  return crashes;
}

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
      // A transaction that is rolled back: it must never be visible.
      steps.push({ sql: `BEGIN; INSERT INTO t VALUES (${1000 + s}, 'rolled back'); DELETE FROM t; ROLLBACK`, apply: () => {} });
    }
  }
  return steps;
}

/** Run `steps` until the store crashes: what was acknowledged, and the step in flight at the crash. */
async function runWorkload(store: FaultyStore, steps: Step[]): Promise<{ acked: Model; inflight?: Step }> {
  const acked: Model = new Map();
  let db: Database;
  try {
    db = await Database.open({ storage: store, checkpointChangesMin: CHECKPOINT_CHANGES_MIN, clock: () => CLOCK_MS });
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
