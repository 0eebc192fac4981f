/**
 * Crash test: a randomized workload over the fault-injecting store, crashed at every write point
 * (and with the crashing write torn), for many seeds. After reopening:
 * - every acknowledged commit is present,
 * - nothing of an unacknowledged transaction is visible, except the one commit in flight at the
 *   crash, which is either wholly present or wholly absent,
 * - the B-tree equals a fresh replay of the log.
 */
import { describe, expect, it } from 'vitest';
import { Database } from '../../index.js';
import { FaultyStore } from '../../storage/fault.js';
import { MemoryStore } from '../../storage/memory.js';
import { rng, type Rng } from '../support/random.js';
import { replayFromZero, tableContents } from '../support/replay.js';

const SEEDS = Number(process.env.CRASH_SEEDS ?? 200);
const STEPS = 12;

type Model = Map<number, string>;

interface Step {
  sql: string;
  apply(m: Model): void;
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
  const exists = db.schema().some((t) => t.name === 't');
  if (!exists) return m;
  for (const r of (await db.query('SELECT id, v FROM t')).rows) m.set(r[0] as number, r[1] as string);
  return m;
}

function same(a: Model, b: Model): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

describe('crash at every write point', () => {
  it(`keeps every acknowledged commit and nothing else (${SEEDS} seeds)`, async () => {
    let crashes = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const steps = makeSteps(rng(seed));
      const probe = new FaultyStore(new MemoryStore(), {});
      await runWorkload(probe, steps);
      const writes = probe.writeCount;
      for (let at = 1; at <= writes; at++) {
        const store = new FaultyStore(new MemoryStore(), { crashAtWrite: at, tornWrite: at % 2 === 0, seed });
        const { acked, inflight } = await runWorkload(store, steps);
        const db = await Database.open({ storage: store.inner });
        const got = await rowsOf(db);
        const withInflight = new Map(acked);
        inflight?.apply(withInflight);
        const ok = same(got, acked) || same(got, withInflight);
        if (!ok) throw new Error(`seed ${seed}, crash at write ${at}: recovered rows differ from acknowledged commits`);
        expect(await tableContents(await replayFromZero(db))).toEqual(await tableContents(db.internals.tables));
        await db.close();
        crashes++;
      }
    }
    expect(crashes).toBeGreaterThan(SEEDS);
  });
});
