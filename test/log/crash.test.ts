import { describe, expect, it } from 'vitest';
import { isDosqlError } from '../../base/errors.js';
import { Log } from '../../log/log.js';
import type { Change, CommittedTxn } from '../../log/types.js';
import { FaultyStore } from '../../storage/fault.js';
import { MemoryStore } from '../../storage/memory.js';
import type { ByteStore } from '../../storage/types.js';
import { rng } from '../support/random.js';
import { collect, randomChanges, steppingClock } from './helpers.js';

const SEEDS = 50;

interface Outcome {
  appended: CommittedTxn[];
  /** Txn ids whose `durable` promise resolved. */
  durable: Set<bigint>;
  crashed: boolean;
}

/** A randomized workload: bursts of appends, sometimes awaiting durability, flushes or nothing. */
async function workload(store: ByteStore, seed: number): Promise<Outcome> {
  const r = rng(seed);
  const segmentBytesMax = r.pick([256, 400, 1024]);
  const txnCount = 8 + r.int(16);
  const appended: CommittedTxn[] = [];
  const durable = new Set<bigint>();
  const log = await Log.open(store, { segmentBytesMax, clock: steppingClock().clock });
  try {
    for (let i = 0; i < txnCount; i++) {
      const changes: Change[] = randomChanges(r, 6, 60);
      const a = log.append(changes);
      appended.push({ txn: a.txn, firstLsn: a.firstLsn, commitLsn: a.commitLsn, hlc: a.hlc, changes });
      a.durable.then(
        () => durable.add(a.txn),
        () => {},
      );
      const pause = r.int(4);
      if (pause === 0) await a.durable;
      else if (pause === 1) await log.flush();
      else if (pause === 2) await Promise.resolve();
    }
    await log.close();
    return { appended, durable, crashed: false };
  } catch (e) {
    if (!isDosqlError(e, 'IO')) throw e;
    // Let the remaining durability promises settle before judging.
    for (let i = 0; i < 5; i++) await Promise.resolve();
    return { appended, durable, crashed: true };
  }
}

async function checkRecovered(inner: MemoryStore, outcome: Outcome, label: string): Promise<void> {
  // A crash during recovery itself (before its trimming write lands) is recovered by the next open.
  try {
    await Log.open(new FaultyStore(inner, { crashAtWrite: 1 }));
  } catch (e) {
    if (!isDosqlError(e, 'IO')) throw e;
  }
  const log = await Log.open(inner);
  const txns = await collect(log.read(1n));
  const prefix = outcome.appended.slice(0, txns.length);
  if (JSON.stringify(txns, jsonBig) !== JSON.stringify(prefix, jsonBig)) {
    expect(txns, `${label}: recovered txns are a prefix of the appended ones`).toEqual(prefix);
  }
  for (const t of outcome.appended.slice(txns.length)) {
    expect(outcome.durable.has(t.txn), `${label}: durable txn ${t.txn} lost`).toBe(false);
  }
  const lastCommit = txns.length > 0 ? txns[txns.length - 1]!.commitLsn : 0n;
  expect(log.lastLsn, label).toBe(lastCommit);
  const next = log.append([{ op: 'drop_table', table: 1, name: 'after' }]);
  expect(next.firstLsn, label).toBe(lastCommit + 1n);
  expect(next.txn, label).toBe(BigInt(txns.length + 1));
  await log.close();
  const again = await collect((await Log.open(inner)).read(lastCommit + 1n));
  expect(again.map((t) => [t.txn, t.firstLsn, t.commitLsn]), label).toEqual([[next.txn, next.firstLsn, next.commitLsn]]);
}

function jsonBig(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return Array.from(v);
  return v;
}

describe('log: crash at every write point', () => {
  it(`keeps every durable txn and no partial txn (${SEEDS} seeds, atomic and torn writes)`, async () => {
    let runs = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const clean = new FaultyStore(new MemoryStore(), {});
      const full = await workload(clean, seed);
      expect(full.crashed).toBe(false);
      const writes = clean.writeCount;
      expect(writes).toBeGreaterThan(1);
      for (const tornWrite of [false, true]) {
        for (let crashAtWrite = 1; crashAtWrite <= writes; crashAtWrite++) {
          const label = `seed ${seed}, crashAtWrite ${crashAtWrite}, tornWrite ${tornWrite}`;
          const inner = new MemoryStore();
          const outcome = await workload(new FaultyStore(inner, { crashAtWrite, tornWrite, seed }), seed);
          expect(outcome.crashed, label).toBe(true);
          await checkRecovered(inner, outcome, label);
          runs++;
        }
      }
    }
    expect(runs).toBeGreaterThan(SEEDS * 2);
  });
});
