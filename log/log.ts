/**
 * The write-ahead log: writer (group commit), reader, and recovery on open.
 *
 * The log is the database: every transaction is a run of change records closed by a commit
 * record, each with its own LSN (dense, from 1), appended here before anything else sees it.
 *
 * Appending. `append(changes)` is synchronous: it assigns the transaction id, the LSNs
 * (firstLsn..commitLsn, one per change then the commit's) and an HLC, encodes the records as
 * frames back to back into one buffer (`FrameEncoder`: no allocation or copy per record), queues
 * that buffer with the offset where each frame ends, and returns a promise that resolves once
 * the commit record is durable. Group commit: one store
 * write is in flight at a time; appends made meanwhile queue up and all go out in the next write
 * (the first write waits one microtask so that appends made in the same tick share it). A write
 * packs queued frames greedily into new segments of at most `segmentBytesMax`, copying whole runs
 * of frames (a transaction too long for the room left is cut after its last frame that fits, found
 * by binary search over its frame ends), and puts up to
 * STORE_KEYS_PER_CALL_MAX of them in one atomic `store.write`; more go in further writes, in LSN
 * order, so a commit record is never durable before the changes it closes. Old segments are never
 * rewritten while the log is open, so a write costs O(bytes appended).
 * If a write fails the log is failed for good: pending durability promises reject with the error
 * and later `append`/`flush` throw it; the database must be reopened, which recovers exactly what
 * is durable. The queue is bounded softly: `append` never refuses work (the caller's transaction is
 * already decided), but once more than APPEND_QUEUE_BYTES_MAX bytes wait, `queueFull` is true and
 * callers should `await flush()` before appending more.
 *
 * Storage layout. A segment is one store entry keyed `log/<first LSN as 16 hex digits>` (see
 * `lsn.ts`) holding whole frames (`record.ts`). A transaction may span segments. No in-memory
 * index of segments is kept: the segment holding LSN x is found with one reverse `list` bounded by
 * key(x + 1), and later segments are listed forward in pages of READ_PAGE_SEGMENTS.
 *
 * Reading. `read(from)` yields whole committed transactions whose commit LSN is >= from, in order.
 * When `from` falls inside a transaction that started in an earlier segment, the commit record's
 * change count tells where it began and the scan restarts there once. Only durable records are
 * yielded (a record past `durableLsn` when the reader reaches it ends the iteration), and a
 * transaction without its commit record is never yielded. Any check failure (crc, gap in the LSNs,
 * malformed record) is CORRUPT: the only torn data the log tolerates is the tail that `open` trims.
 * `lsnAtTimestamp` binary-searches LSNs, relying on commit HLCs increasing with LSN: O(log n) store
 * reads.
 *
 * Recovery (`open`). Only the end of the log can be damaged by a crash: the last segment may hold
 * a torn or corrupt frame (crc fails), and the last transaction may lack its commit record (it may
 * even span several trailing segments). Recovery walks back from the last segment until it finds a
 * commit record, then rewrites that segment with its prefix up to and including that record and
 * deletes the segments after it, so the next append continues the dense LSN sequence. It restores
 * the last LSN, the last txn id, and makes the clock observe the last commit's HLC so that HLCs
 * stay monotonic across restarts even when the wall clock went back.
 */
import { DosqlError, assert, isDosqlError } from '../base/errors.js';
import { nullRow } from '../base/values.js';
import { STORE_ENTRY_BYTES_MAX, STORE_KEYS_PER_CALL_MAX, type ByteStore } from '../storage/types.js';
import { HybridClock, hlcPhysicalMs } from './hlc.js';
import { LOG_KEY_PREFIX, LSN_MAX, SEGMENT_KEY_LENGTH, segmentKey, segmentKeyLsn } from './lsn.js';
import { FrameEncoder, decodeFrames, type DecodedFrames } from './record.js';
import type { Change, CommittedTxn, EncodedRun, Hlc, InsertRun, Lsn, PendingChange } from './types.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Default largest segment (store entry value) in bytes. */
export const SEGMENT_BYTES_DEFAULT = 1024 * 1024;
/** Smallest allowed `segmentBytesMax`: room for a commit record and small changes. */
export const SEGMENT_BYTES_MIN = 256;
/** Largest allowed `segmentBytesMax`: a segment plus its key must fit one store entry. */
export const SEGMENT_BYTES_MAX = STORE_ENTRY_BYTES_MAX - SEGMENT_KEY_LENGTH;
/** Bytes of queued, not yet written frames past which `queueFull` tells callers to flush. */
export const APPEND_QUEUE_BYTES_MAX = 64 * 1024 * 1024;
/** Segments fetched per forward `list` call while reading. */
export const READ_PAGE_SEGMENTS = 16;
/** Segments fetched per forward `list` while probing for a commit record (binary search). */
const PROBE_PAGE_SEGMENTS = 2;
/** Bound on recovery's walk back over trailing segments that hold no commit record. */
const RECOVERY_SEGMENTS_MAX = 1_000_000;

export interface LogOptions {
  /** Wall clock in Unix ms (default Date.now); tests inject one. */
  clock?: () => number;
  /** Largest segment in bytes (default 1 MiB); must stay under STORE_ENTRY_BYTES_MAX. */
  segmentBytesMax?: number;
}

export interface AppendResult {
  txn: bigint;
  firstLsn: Lsn;
  commitLsn: Lsn;
  hlc: Hlc;
  /** Resolves once the commit record (and so the whole transaction) is durable. */
  durable: Promise<void>;
  /** Where the rows of the transaction's insert runs lie in the bytes appended (see EncodedRun). */
  encodedRuns: ReadonlyMap<InsertRun, EncodedRun>;
}

/**
 * One appended transaction waiting for the store: its frames back to back (the last one is the
 * commit record) and where each ends. A write may take a prefix of its frames; `taken` counts
 * them and `takenBytes` is where the rest begins.
 */
interface QueuedTxn {
  firstLsn: Lsn;
  commitLsn: Lsn;
  hlc: Hlc;
  bytes: Uint8Array;
  ends: number[];
  /** LSNs in frames [0, i] (FrameEncoder.finish): a run frame holds many. */
  lsns: number[];
  taken: number;
  takenBytes: number;
}

interface Waiter {
  lsn: Lsn;
  resolve: () => void;
  reject: (e: unknown) => void;
}

interface Tail {
  lastLsn: Lsn;
  lastTxn: bigint;
  lastHlc: Hlc;
}

interface OpenTxn {
  txn: bigint;
  changes: Change[];
}

type Segment = [key: string, bytes: Uint8Array];

export class Log {
  private lastLsnValue: Lsn;
  private lastTxn: bigint;
  private lastHlcValue: Hlc;
  private durableLsnValue: Lsn;
  /** The last durable commit: lets `lsnAtTimestamp` answer "now or later" without reading. */
  private durableCommit: { lsn: Lsn; hlc: Hlc } | undefined;
  private queue: QueuedTxn[] = [];
  private queuedBytesValue = 0;
  private waiters: Waiter[] = [];
  private writing = false;
  private failure: DosqlError | undefined;
  private closed = false;
  /** Encodes each appended transaction into one buffer; reused from append to append. */
  private readonly encoder: FrameEncoder;

  private constructor(
    private readonly store: ByteStore,
    private readonly clock: HybridClock,
    private readonly segmentBytesMax: number,
    tail: Tail,
  ) {
    this.lastLsnValue = tail.lastLsn;
    this.lastTxn = tail.lastTxn;
    this.lastHlcValue = tail.lastHlc;
    this.durableLsnValue = tail.lastLsn;
    this.durableCommit = tail.lastLsn > 0n ? { lsn: tail.lastLsn, hlc: tail.lastHlc } : undefined;
    this.encoder = new FrameEncoder(segmentBytesMax);
  }

  /** Open the log in `store`, recovering from a crash (see the module header). */
  static async open(store: ByteStore, options: LogOptions = {}): Promise<Log> {
    const segmentBytesMax = options.segmentBytesMax ?? SEGMENT_BYTES_DEFAULT;
    if (!Number.isSafeInteger(segmentBytesMax) || segmentBytesMax < SEGMENT_BYTES_MIN || segmentBytesMax > SEGMENT_BYTES_MAX) {
      throw new DosqlError(
        'RANGE',
        `segmentBytesMax ${segmentBytesMax} must be an integer in [SEGMENT_BYTES_MIN ${SEGMENT_BYTES_MIN}, SEGMENT_BYTES_MAX ${SEGMENT_BYTES_MAX}]`,
      );
    }
    const clock = new HybridClock(options.clock ?? Date.now);
    const tail = await recoverTail(store);
    clock.observe(tail.lastHlc);
    return new Log(store, clock, segmentBytesMax, tail);
  }

  /** LSN of the last record appended (0n when the log is empty). */
  get lastLsn(): Lsn {
    return this.lastLsnValue;
  }

  /** Every record with an LSN <= this is durable in the store. */
  get durableLsn(): Lsn {
    return this.durableLsnValue;
  }

  /** HLC of the last transaction appended (0n when the log is empty). */
  get lastHlc(): Hlc {
    return this.lastHlcValue;
  }

  /** Bytes appended but not yet handed to the store. */
  get queuedBytes(): number {
    return this.queuedBytesValue;
  }

  /** True when more than APPEND_QUEUE_BYTES_MAX bytes wait: callers should `await flush()`. */
  get queueFull(): boolean {
    return this.queuedBytesValue > APPEND_QUEUE_BYTES_MAX;
  }

  /**
   * Append one transaction. LSNs, txn id and HLC are assigned before this returns; `durable`
   * resolves once it is in the store. Throws LIMIT_EXCEEDED (appending nothing) when a record
   * does not fit a segment, CLOSED after `close`, and the write error once the log has failed.
   */
  append(changes: readonly PendingChange[]): AppendResult {
    this.checkWritable();
    const txn = this.lastTxn + 1n;
    const firstLsn = this.lastLsnValue + 1n;
    const count = changeCount(changes);
    const commitLsn = firstLsn + BigInt(count);
    if (commitLsn > LSN_MAX) throw new DosqlError('LIMIT_EXCEEDED', `log LSNs exhausted (LSN_MAX ${LSN_MAX})`);
    const hlc = this.clock.now();
    const { bytes, ends, lsns, runs } = this.encodeTxn(txn, firstLsn, commitLsn, hlc, changes, count);

    // Nothing above changed the log's state (the clock only moved forward): now commit to it.
    this.lastTxn = txn;
    this.lastLsnValue = commitLsn;
    this.lastHlcValue = hlc;
    this.queue.push({ firstLsn, commitLsn, hlc, bytes, ends, lsns, taken: 0, takenBytes: 0 });
    this.queuedBytesValue += bytes.byteLength;
    const durable = this.waitFor(commitLsn);
    this.startWriting();
    return { txn, firstLsn, commitLsn, hlc, durable, encodedRuns: runs };
  }

  /** Resolves when everything appended so far is durable; throws the write error if one failed. */
  flush(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return this.waitFor(this.lastLsnValue);
  }

  /**
   * Refuse further appends and reads (CLOSED), then flush what was appended; throws the write
   * error if the log had failed. Idempotent. Does not close the store, which the caller owns.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush();
  }

  /**
   * Whole committed transactions with commitLsn >= fromLsn (and <= toLsn), in commit order.
   * Only durable records are yielded. Throws CORRUPT when stored data fails its checks.
   */
  async *read(fromLsn: Lsn, options: { toLsn?: Lsn } = {}): AsyncGenerator<CommittedTxn, void, undefined> {
    this.checkOpen();
    const from = fromLsn < 1n ? 1n : fromLsn;
    const to = options.toLsn;
    let scanFrom = from;
    // At most one restart: the second scan begins at a transaction's first record.
    for (let attempt = 0; attempt < 2; attempt++) {
      const restartAt = yield* this.scan(scanFrom, from, to);
      if (restartAt === undefined) return;
      if (restartAt >= scanFrom) break; // the transaction's start is not stored: fall through to CORRUPT
      scanFrom = restartAt;
    }
    throw new DosqlError('CORRUPT', `log: transaction committing at or after LSN ${from} has no consistent start`);
  }

  /** commitLsn of the last durable transaction whose HLC physical time is <= ms; 0n if none. */
  async lsnAtTimestamp(ms: number): Promise<Lsn> {
    this.checkOpen();
    const last = this.durableCommit;
    if (last === undefined) return 0n;
    if (hlcPhysicalMs(last.hlc) <= ms) return last.lsn;
    // Invariant: `best` is the last qualifying commit below lo; no commit in (hi, last] qualifies.
    let lo = 1n;
    let hi = last.lsn - 1n;
    let best = 0n;
    for (let probes = 0; lo <= hi; probes++) {
      assert(probes <= 128, 'lsnAtTimestamp binary search must halve its range each probe');
      const mid = (lo + hi) / 2n;
      const commit = await this.commitAtOrAfter(mid);
      if (commit.lsn <= hi && hlcPhysicalMs(commit.hlc) <= ms) {
        best = commit.lsn;
        lo = commit.lsn + 1n;
      } else {
        hi = mid - 1n;
      }
    }
    return best;
  }

  // ---- writing ----

  /** The transaction's frames in one buffer; throws LIMIT_EXCEEDED (encoding nothing) for a record over a segment. */
  private encodeTxn(txn: bigint, firstLsn: Lsn, commitLsn: Lsn, hlc: Hlc, changes: readonly PendingChange[], count: number): ReturnType<FrameEncoder['finish']> {
    const e = this.encoder;
    try {
      if (commitLsn <= MAX_SAFE && txn <= MAX_SAFE) {
        // Safe integers: no bigint arithmetic per record.
        let lsn = Number(firstLsn);
        const txnNum = Number(txn);
        for (let i = 0; i < changes.length; i++) {
          const c = changes[i]!;
          if (c.op === 'insert_run') lsn = e.insertRun(lsn, txnNum, c);
          else e.change(lsn++, txnNum, c);
        }
        e.commit(Number(commitLsn), txnNum, hlc, count);
      } else {
        let lsn = firstLsn;
        for (const change of expandRuns(changes)) e.record({ kind: 'change', lsn: lsn++, txn, change });
        e.record({ kind: 'commit', lsn: commitLsn, txn, hlc, changeCount: count });
      }
    } catch (err) {
      e.discard();
      throw err;
    }
    const out = e.finish();
    const frames = out.ends.length;
    assert(frames > 0 && out.lsns.length === frames && out.lsns[frames - 1] === count + 1 && out.ends[frames - 1] === out.bytes.byteLength, 'frames hold one LSN per record');
    return out;
  }

  private waitFor(lsn: Lsn): Promise<void> {
    if (lsn <= this.durableLsnValue) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    const last = this.waiters[this.waiters.length - 1];
    assert(last === undefined || last.lsn <= lsn, 'waiters are queued in LSN order');
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ lsn, resolve, reject }));
    // Callers may rely on flush() instead of awaiting every append: never an unhandled rejection.
    p.catch(() => {});
    return p;
  }

  private startWriting(): void {
    if (this.writing || this.queue.length === 0 || this.failure) return;
    this.writing = true;
    void this.drain();
  }

  /** The one writer: loops while frames are queued; each round removes at least one frame. */
  private async drain(): Promise<void> {
    // Let appends made in the same tick join the first write.
    await Promise.resolve();
    try {
      while (this.queue.length > 0) {
        const batch = this.takeBatch();
        await this.store.write({ put: batch.puts });
        this.markDurable(batch.lastLsn, batch.lastCommit);
      }
    } catch (e) {
      this.fail(e);
    } finally {
      this.writing = false;
    }
  }

  /**
   * Pack queued frames into new segments, at most STORE_KEYS_PER_CALL_MAX of them. A segment holds
   * whole frames: a transaction that does not fit the room left is cut after its last frame that
   * does (found by binary search over its frame ends), and the rest goes in the next segment.
   */
  private takeBatch(): { puts: Segment[]; lastLsn: Lsn; lastCommit: { lsn: Lsn; hlc: Hlc } | undefined } {
    const puts: Segment[] = [];
    const q = this.queue;
    let done = 0; // transactions wholly taken
    let takenBytes = 0;
    let lastLsn: Lsn = 0n;
    let lastCommit: { lsn: Lsn; hlc: Hlc } | undefined;
    while (done < q.length && puts.length < STORE_KEYS_PER_CALL_MAX) {
      const head = q[done]!;
      const segmentLsn = head.firstLsn + BigInt(lsnsTaken(head));
      // First pass: how many bytes of which transactions go in this segment.
      let room = this.segmentBytesMax;
      let end = done;
      let cutFrames = 0; // frames taken from q[end] when it does not fit whole
      while (end < q.length) {
        const t = q[end]!;
        const rest = t.bytes.byteLength - t.takenBytes;
        if (rest <= room) {
          room -= rest;
          end++;
          continue;
        }
        cutFrames = framesFitting(t, room);
        break;
      }
      assert(end > done || cutFrames > 0, 'every frame fits a segment (checked by append)');
      const cut = cutFrames > 0 ? cutBytes(q[end]!, cutFrames) : 0;
      // One whole transaction alone (the sequential-commit case) is already its segment's bytes:
      // the encoder never writes a finished unit again, so no copy is needed.
      const alone = end === done + 1 && cutFrames === 0 && q[done]!.takenBytes === 0;
      const segment = alone ? q[done]!.bytes : new Uint8Array(this.segmentBytesMax - room + cut);
      let at = 0;
      for (let i = done; i < end; i++) {
        const t = q[i]!;
        if (!alone) segment.set(t.takenBytes === 0 ? t.bytes : t.bytes.subarray(t.takenBytes), at);
        at += t.bytes.byteLength - t.takenBytes;
        lastLsn = t.commitLsn;
        lastCommit = { lsn: t.commitLsn, hlc: t.hlc };
      }
      if (cutFrames > 0) {
        // The segment is full; the next one continues this transaction.
        const t = q[end]!;
        segment.set(t.bytes.subarray(t.takenBytes, t.takenBytes + cut), at);
        at += cut;
        t.taken += cutFrames;
        t.takenBytes += cut;
        lastLsn = t.firstLsn + BigInt(lsnsTaken(t)) - 1n;
      }
      assert(at === segment.byteLength, 'segment filled exactly');
      puts.push([segmentKey(segmentLsn), segment]);
      takenBytes += at;
      done = end;
    }
    q.splice(0, done);
    this.queuedBytesValue -= takenBytes;
    assert(this.queuedBytesValue >= 0, 'queued byte count stays consistent');
    assert(lastLsn > 0n, 'a batch takes at least one frame');
    return { puts, lastLsn, lastCommit };
  }

  private markDurable(lsn: Lsn, lastCommit: { lsn: Lsn; hlc: Hlc } | undefined): void {
    assert(lsn > this.durableLsnValue && lsn <= this.lastLsnValue, 'durable LSN only moves forward');
    this.durableLsnValue = lsn;
    if (lastCommit) this.durableCommit = lastCommit;
    let done = 0;
    while (done < this.waiters.length && this.waiters[done]!.lsn <= lsn) this.waiters[done++]!.resolve();
    this.waiters.splice(0, done);
  }

  private fail(e: unknown): void {
    this.failure = isDosqlError(e, 'IO')
      ? e
      : new DosqlError('IO', `log write failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    for (const w of this.waiters) w.reject(this.failure);
    this.waiters = [];
    this.queue = [];
    this.queuedBytesValue = 0;
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.failure) throw this.failure;
  }

  private checkOpen(): void {
    if (this.closed) throw new DosqlError('CLOSED', 'log is closed');
  }

  // ---- reading ----

  /**
   * Scan records from the segment holding `scanFrom`, yielding committed transactions in range.
   * Returns where to restart when a wanted transaction began before the first scanned segment.
   */
  private async *scan(scanFrom: Lsn, from: Lsn, to: Lsn | undefined): AsyncGenerator<CommittedTxn, Lsn | undefined, undefined> {
    let open: OpenTxn | undefined;
    let expected: Lsn | undefined;
    let scanStart: Lsn | undefined;
    for await (const [key, decoded] of this.segmentsFrom(scanFrom, READ_PAGE_SEGMENTS)) {
      const segmentLsn = segmentKeyLsn(key);
      scanStart ??= segmentLsn;
      if (expected !== undefined && segmentLsn !== expected) {
        throw corrupt(key, `segment starts at LSN ${segmentLsn}, expected ${expected}`);
      }
      expected = segmentLsn;
      for (const r of decoded.records) {
        if (r.lsn !== expected) throw corrupt(key, `record has LSN ${r.lsn}, expected ${expected}`);
        expected++;
        if (r.lsn > this.durableLsnValue) return undefined;
        if (to !== undefined && r.lsn > to) return undefined;
        if (r.kind === 'change') {
          if (open === undefined) open = { txn: r.txn, changes: [] };
          else if (open.txn !== r.txn) throw corrupt(key, `txn ${open.txn} has no commit record before txn ${r.txn}`);
          open.changes.push(r.change);
          continue;
        }
        const changes = open === undefined ? [] : open.changes;
        if (open !== undefined && open.txn !== r.txn) throw corrupt(key, `commit of txn ${r.txn} follows changes of txn ${open.txn}`);
        open = undefined;
        const firstLsn = r.lsn - BigInt(r.changeCount);
        if (changes.length !== r.changeCount) {
          // Only the transaction the scan entered mid-way may look short.
          if (changes.length > r.changeCount || firstLsn >= scanStart) {
            throw corrupt(key, `commit of txn ${r.txn} counts ${r.changeCount} changes, found ${changes.length}`);
          }
          if (r.lsn >= from) return firstLsn;
          continue;
        }
        if (r.lsn >= from) yield { txn: r.txn, firstLsn, commitLsn: r.lsn, hlc: r.hlc, changes };
      }
    }
    return undefined;
  }

  /** The first durable commit record with an LSN >= lsn (callers ensure one exists). */
  private async commitAtOrAfter(lsn: Lsn): Promise<{ lsn: Lsn; hlc: Hlc }> {
    for await (const [, decoded] of this.segmentsFrom(lsn, PROBE_PAGE_SEGMENTS)) {
      for (const r of decoded.records) {
        if (r.kind === 'commit' && r.lsn >= lsn) return { lsn: r.lsn, hlc: r.hlc };
      }
    }
    throw new DosqlError('CORRUPT', `log: no commit record at or after LSN ${lsn} although one is durable`);
  }

  /**
   * Decoded segments in LSN order, starting with the one holding `lsn` (or the first one when
   * `lsn` precedes them all). Fetches `pageSegments` at a time, lazily.
   */
  private async *segmentsFrom(lsn: Lsn, pageSegments: number): AsyncGenerator<[string, DecodedFrames], void, undefined> {
    let page = await this.store.list({ prefix: LOG_KEY_PREFIX, end: segmentKey(lsn + 1n), reverse: true, limit: 1 });
    if (page.length === 0) page = await this.store.list({ prefix: LOG_KEY_PREFIX, limit: 1 });
    // Each round lists strictly later keys; the log is finite, so this ends.
    while (page.length > 0) {
      let lastKey = '';
      for (const [key, bytes] of page) {
        this.checkOpen();
        const decoded = decodeFrames(bytes);
        if (decoded.end.kind !== 'clean') throw corrupt(key, `${decoded.end.reason} at byte ${decoded.end.offset}`);
        yield [key, decoded];
        lastKey = key;
      }
      const last = segmentKeyLsn(lastKey);
      if (last > this.durableLsnValue) return;
      page = await this.store.list({ prefix: LOG_KEY_PREFIX, start: segmentKey(last + 1n), limit: pageSegments });
    }
  }
}

/** How many of `t`'s untaken frames fit in `room` bytes (binary search over its frame ends). */
function framesFitting(t: QueuedTxn, room: number): number {
  const limit = t.takenBytes + room;
  let lo = t.taken; // ends[lo - 1] <= limit always holds (or lo is the first untaken frame)
  let hi = t.ends.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t.ends[mid]! <= limit) lo = mid + 1;
    else hi = mid;
  }
  return lo - t.taken;
}

/** LSNs in the frames of `t` already taken. */
function lsnsTaken(t: QueuedTxn): number {
  return t.taken === 0 ? 0 : t.lsns[t.taken - 1]!;
}

/** Bytes of `t`'s next `frames` untaken frames. */
function cutBytes(t: QueuedTxn, frames: number): number {
  return t.ends[t.taken + frames - 1]! - t.takenBytes;
}

// ---- recovery ----

/** Trim the torn or uncommitted tail of the log and report what remains (see module header). */
async function recoverTail(store: ByteStore): Promise<Tail> {
  const deletes: string[] = [];
  let end: string | undefined;
  for (let walked = 0; walked < RECOVERY_SEGMENTS_MAX; walked++) {
    const page = await store.list({ prefix: LOG_KEY_PREFIX, ...(end === undefined ? {} : { end }), reverse: true, limit: 1 });
    if (page.length === 0) {
      await trimTail(store, deletes, undefined);
      return { lastLsn: 0n, lastTxn: 0n, lastHlc: 0n };
    }
    const [key, bytes] = page[0]!;
    const decoded = decodeFrames(bytes);
    // Only the newest segment can hold a torn write; damage further back is corruption.
    if (decoded.end.kind !== 'clean' && walked > 0) {
      throw corrupt(key, `${decoded.end.reason} at byte ${decoded.end.offset} before the log's tail`);
    }
    const firstLsn = segmentKeyLsn(key);
    decoded.records.forEach((r, i) => {
      if (r.lsn !== firstLsn + BigInt(i)) throw corrupt(key, `record ${i} has LSN ${r.lsn}`);
    });
    let lastCommit = decoded.records.length - 1;
    while (lastCommit >= 0 && decoded.records[lastCommit]!.kind !== 'commit') lastCommit--;
    if (lastCommit < 0) {
      deletes.push(key);
      end = key;
      continue;
    }
    const commit = decoded.records[lastCommit]!;
    assert(commit.kind === 'commit', 'found a commit record');
    const keepBytes = decoded.ends[lastCommit]!;
    const rewrite: Segment | undefined = keepBytes < bytes.byteLength ? [key, bytes.slice(0, keepBytes)] : undefined;
    await trimTail(store, deletes, rewrite);
    return { lastLsn: commit.lsn, lastTxn: commit.txn, lastHlc: commit.hlc };
  }
  throw new DosqlError('CORRUPT', `log: no commit record in the last ${RECOVERY_SEGMENTS_MAX} segments`);
}

/**
 * Delete trailing segments (newest first) then rewrite the new last one. Each write leaves a
 * valid log, so a crash during recovery is recovered by the next open.
 */
async function trimTail(store: ByteStore, deletes: string[], rewrite: Segment | undefined): Promise<void> {
  let at = 0;
  while (deletes.length - at > STORE_KEYS_PER_CALL_MAX - 1) {
    await store.write({ delete: deletes.slice(at, at + STORE_KEYS_PER_CALL_MAX) });
    at += STORE_KEYS_PER_CALL_MAX;
  }
  const rest = deletes.slice(at);
  if (rest.length === 0 && rewrite === undefined) return;
  await store.write({ delete: rest, ...(rewrite ? { put: [rewrite] } : {}) });
}

function corrupt(key: string, message: string): DosqlError {
  return new DosqlError('CORRUPT', `log segment ${key}: ${message}`);
}

/** The log records `changes` take: one per change, `count` per insert run. */
function changeCount(changes: readonly PendingChange[]): number {
  let n = 0;
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i]!;
    n += c.op === 'insert_run' ? c.count : 1;
  }
  return n;
}

/** `changes` with each insert run as its insert Changes (the rare path: LSNs past 2^53). */
function* expandRuns(changes: readonly PendingChange[]): Generator<Change> {
  for (const c of changes) {
    if (c.op !== 'insert_run') {
      yield c;
      continue;
    }
    for (let i = 0; i < c.count; i++) {
      const row = nullRow(c.width);
      c.rowInto(i, row, 0);
      yield { op: 'insert', table: c.table, rowid: c.rowidAt(i), row };
    }
  }
}
