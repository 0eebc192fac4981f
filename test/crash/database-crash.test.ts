/**
 * Crash test: a randomized workload over the fault-injecting store, crashed at every write point
 * (and with the crashing write torn), for many seeds, on MemoryStore. After reopening, every
 * acknowledged commit is present, nothing unacknowledged is (but the commit in flight, whole or
 * absent), and the B-tree equals a fresh replay of the log. The workload and the checks are
 * test/support/crash-workload.ts, which test/workers/engine.test.ts runs on a Durable Object too.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../storage/memory.js';
import { crashAtEveryWritePoint } from '../support/crash-workload.js';

const SEEDS = Number(process.env.CRASH_SEEDS ?? 200);

describe('crash at every write point', () => {
  it(`keeps every acknowledged commit and nothing else (${SEEDS} seeds)`, async () => {
    // The MemoryStore under the crashed FaultyStore holds what was persisted: reopen on it.
    const crashes = await crashAtEveryWritePoint(SEEDS, { empty: async () => new MemoryStore(), restart: (crashed) => crashed });
    expect(crashes).toBeGreaterThan(SEEDS);
  });
});
