/**
 * FaultyStore: a byte store wrapper that injects the failures a real backend can have, on a
 * deterministic schedule, so crash-recovery and error-path tests replay exactly from a seed.
 *
 * - Crash: the N-th write call (1-based, counting only calls that pass the limit checks, since a
 *   real backend rejects the others before touching storage) is not applied, and it and every
 *   later call (reads too) throw IO 'injected crash', as if the process had died there. The
 *   wrapped store is left as the crash left it; a test "restarts" by wrapping `inner` again (or
 *   by opening the engine on `inner` directly).
 * - Torn write: with `tornWrite`, the crashing write is instead applied partially: all of its
 *   deletes, then a prefix of its puts (at least one) whose last put has its value cut to a
 *   strictly shorter prefix (a batch with no puts keeps a strict prefix of its deletes). This
 *   deliberately BREAKS the store's atomicity promise: it models a backend whose last write tore,
 *   so that the layers above (the log's own checksums) can be tested for detecting it.
 * - Read failures: each get/getMany/list fails with IO 'injected read failure' with probability
 *   `readFailureProbability`, decided before the call reaches the wrapped store; and every one
 *   fails while `readOutage` is set, a transient outage a test switches on and off.
 *
 * Randomness: mulberry32 streams derived from `seed` (one for reads, one for tearing), so the
 * read-failure pattern does not shift when a torn write happens.
 *
 * `close` before a crash closes the wrapped store; after a crash it does nothing, since the
 * "dead process" cannot close anything and a test needs the wrapped store still open to restart.
 */
import { DosqlError } from '../base/errors.js';
import type { ByteStore, ListOptions, StoreStats, WriteBatch } from './types.js';
import { checkBatch } from './limits.js';

export interface FaultPlan {
  /** Crash when the N-th write call (1-based) happens: that write is not applied (or is torn, see below), it and every later call throw DosqlError('IO', 'injected crash'). */
  crashAtWrite?: number;
  /** When crashing, apply a torn version of the crashing write: a prefix of its puts, and the last put of that prefix with its value truncated to a random prefix (chosen with `seed`). */
  tornWrite?: boolean;
  /** Each read (get/getMany/list) fails with DosqlError('IO', 'injected read failure') with this probability, drawn from `seed`. */
  readFailureProbability?: number;
  seed?: number;
}

/** Mixed into the seed for the tearing stream so it is independent of the read stream. */
const TORN_STREAM_SALT = 0x9e3779b9;

export class FaultyStore implements ByteStore {
  /** While true, every read fails with IO 'injected read failure' (see the module header). */
  readOutage = false;
  private writes = 0;
  private isCrashed = false;
  private closed = false;
  private readonly readRandom: () => number;
  private readonly tornRandom: () => number;

  constructor(
    readonly inner: ByteStore,
    readonly plan: FaultPlan,
  ) {
    const { crashAtWrite, readFailureProbability } = plan;
    if (crashAtWrite !== undefined && !(Number.isSafeInteger(crashAtWrite) && crashAtWrite >= 1)) {
      throw new DosqlError('MISUSE', `crashAtWrite must be an integer >= 1, got ${crashAtWrite}`);
    }
    if (readFailureProbability !== undefined && !(readFailureProbability >= 0 && readFailureProbability <= 1)) {
      throw new DosqlError('MISUSE', `readFailureProbability must be in [0, 1], got ${readFailureProbability}`);
    }
    const seed = plan.seed ?? 0;
    this.readRandom = mulberry32(seed);
    this.tornRandom = mulberry32(seed ^ TORN_STREAM_SALT);
  }

  /** Write calls seen so far (including the crashing one; not the calls refused after it). */
  get writeCount(): number {
    return this.writes;
  }

  get crashed(): boolean {
    return this.isCrashed;
  }

  /** The wrapped store's counters (injected read failures never reach it, so are not counted). */
  get stats(): StoreStats {
    return this.inner.stats;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    this.beforeRead();
    return this.inner.get(key);
  }

  async getMany(keys: string[]): Promise<Map<string, Uint8Array>> {
    this.beforeRead();
    return this.inner.getMany(keys);
  }

  async list(options: ListOptions): Promise<Array<[string, Uint8Array]>> {
    this.beforeRead();
    return this.inner.list(options);
  }

  async write(batch: WriteBatch): Promise<void> {
    this.checkAlive();
    checkBatch(batch);
    this.writes++;
    if (this.writes !== this.plan.crashAtWrite) return this.inner.write(batch);
    this.isCrashed = true;
    let cause: unknown;
    if (this.plan.tornWrite) {
      try {
        await this.inner.write(this.tear(batch));
      } catch (e) {
        cause = e;
      }
    }
    throw new DosqlError('IO', 'injected crash', cause === undefined ? undefined : { cause });
  }

  put(key: string, value: Uint8Array): Promise<void> {
    return this.write({ put: [[key, value]] });
  }

  delete(key: string): Promise<void> {
    return this.write({ delete: [key] });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.isCrashed) await this.inner.close();
  }

  /** The partial batch a torn write leaves behind (see the module header). */
  private tear(batch: WriteBatch): WriteBatch {
    const puts = batch.put ?? [];
    const deletes = batch.delete ?? [];
    if (puts.length === 0) return { delete: deletes.slice(0, this.randomInt(deletes.length)) };
    const kept = puts.slice(0, 1 + this.randomInt(puts.length));
    const [key, value] = kept[kept.length - 1]!;
    kept[kept.length - 1] = [key, value.slice(0, this.randomInt(value.byteLength))];
    return { delete: deletes, put: kept };
  }

  /** Uniform integer in [0, n); 0 when n is 0. */
  private randomInt(n: number): number {
    return Math.floor(this.tornRandom() * n);
  }

  private beforeRead(): void {
    this.checkAlive();
    if (this.readOutage) throw new DosqlError('IO', 'injected read failure');
    const p = this.plan.readFailureProbability ?? 0;
    if (p > 0 && this.readRandom() < p) throw new DosqlError('IO', 'injected read failure');
  }

  private checkAlive(): void {
    if (this.isCrashed) throw new DosqlError('IO', 'injected crash');
    if (this.closed) throw new DosqlError('CLOSED', 'store is closed');
  }
}

/** mulberry32, as in test/support/random.ts (engine code must not import tests). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
