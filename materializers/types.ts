/**
 * The materializer contract: how a structure derived from the log (B-tree tables now; columnar,
 * full-text and vector indexes later) stays equal to a replay of the log.
 *
 * - `apply(txn)` receives whole committed transactions in commit order, read from the log or, at
 *   COMMIT, straight from the writer (whose insert runs it applies as the inserts they log). It
 *   must be deterministic (same log, same state: no clock, no randomness, no dependence on cache
 *   state) and idempotent on replay: a transaction with `commitLsn <= appliedLsn` is skipped, so
 *   recovery may replay a suffix of the log that the materializer already holds.
 * - `checkpoint()` persists the state together with `appliedLsn` in one atomic store write (the
 *   last of possibly several writes: earlier ones only add unreferenced pages), so after a crash the
 *   materializer reopens at some checkpoint `C` and replays the log from `C + 1`.
 * - A checkpoint never gets ahead of the durable log: callers checkpoint only LSNs the log has made
 *   durable, so recovery always finds the log records it needs.
 * - Rebuilding from LSN 0 on an empty store gives the same logical state as incremental upkeep
 *   (the property tests compare them).
 */
import type { AppliedTxn, Lsn } from '../log/types.js';

export interface Materializer {
  /** Short stable name; also the prefix of the materializer's keys in the store. */
  readonly name: string;
  /** Commit LSN of the last transaction applied in memory (0n when none). */
  readonly appliedLsn: Lsn;
  /** Commit LSN covered by the last persisted checkpoint (0n when none). */
  readonly checkpointLsn: Lsn;
  /** Apply one committed transaction; skips it when already applied. Throws DosqlError on I/O. */
  apply(txn: AppliedTxn): Promise<void>;
  /** Persist everything applied so far, atomically with `appliedLsn`. */
  checkpoint(): Promise<void>;
}
