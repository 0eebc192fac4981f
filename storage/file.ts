/**
 * Node file backend: the byte store as one append-only data file plus an in-memory index.
 *
 * Layout of `<dir>/store.dat`:
 *
 *   file    := magic "DOSQLBS1" (8 bytes) record*
 *   record  := length:u32 crc:u32 payload            (little-endian; length = payload bytes)
 *   payload := opCount:u32 op{opCount}
 *   op      := 0x00 keyBytes:u16 key                 (delete)
 *            | 0x01 keyBytes:u16 key valueBytes:u32 value   (put)
 *
 * `crc` is CRC-32 (storage/crc32.ts) over the 4 length bytes then the payload, so a damaged
 * length that still lands inside the file is caught too. Ops apply in file order; a `write` puts
 * its deletes before its puts, which is the batch semantics.
 *
 * Why this shape: an append plus one fsync is the cheapest durable write a file system offers,
 * and an append-only file makes atomicity easy. Every append is exactly ONE record, issued only
 * after the previous append was fsynced, so after a crash at most the last record can be damaged:
 * - a record whose header promises more bytes than the file holds, or whose checksum fails and
 *   which ends exactly at end of file, or a tail of zero bytes (file grown, data never written),
 *   is a torn tail: that append was never acknowledged, so `open` truncates it away (and with
 *   it the whole batch: a batch is all or nothing);
 * - a checksum failure with any bytes after it, or an impossible length inside the file, or a
 *   valid checksum over a malformed payload, is damage inside committed data: `open` throws
 *   CORRUPT rather than silently dropping acknowledged writes.
 * (A flipped bit in the length field of a middle record that makes it run past end of file looks
 * exactly like a torn tail and is truncated; only a second checksum on the header could tell.)
 *
 * Writes are serialized through a queue. The writes that arrive while an append+fsync is in
 * flight are merged into the next record (group commit: one fsync for all of them, still one
 * record, so still all-or-nothing as a group, which is fine because none of them was
 * acknowledged yet). The index is updated only after the fsync, so a reader never sees data a
 * crash could take back.
 *
 * After an append or fsync fails, the file's tail is unknown (a partial record; and after a
 * failed fsync Linux may already have dropped the dirty pages), so the store refuses every later
 * write with IO; reopening recovers to the last durable record.
 *
 * The index maps each live key to the file offset and length of its value, beside a sorted key
 * array for `list` (as in MemoryStore); values stay on disk and `get` is one positional read.
 * Superseded puts and deletes are dead bytes; when they exceed `compactGarbageRatio` of a file
 * larger than `compactFileBytesMin`, the live entries are copied into `store.dat.tmp`, fsynced,
 * renamed over `store.dat` (atomic), and the directory is fsynced so the rename is durable. A
 * crash before the rename leaves the old file intact and a stale temp file that `open` deletes.
 *
 * One process at a time: there is no lock file.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { DosqlError, assert, isDosqlError } from '../base/errors.js';
import { STORE_ENTRY_BYTES_MAX, STORE_KEYS_PER_CALL_MAX, STORE_KEY_BYTES_MAX } from './types.js';
import type { ByteStore, ListOptions, StoreStats, WriteBatch } from './types.js';
import { checkBatch, checkKeyCount, selectRange } from './limits.js';
import { SortedKeys } from './sorted-keys.js';
import { crc32 } from './crc32.js';

/** Name of the data file inside the store's directory. */
export const FILE_STORE_DATA_NAME = 'store.dat';
const TEMP_SUFFIX = '.tmp';
const FILE_MAGIC = Buffer.from('DOSQLBS1', 'latin1');
const FILE_HEADER_BYTES = FILE_MAGIC.length;
const RECORD_HEADER_BYTES = 8;
const OP_DELETE = 0;
const OP_PUT = 1;
const DELETE_OP_HEADER_BYTES = 3;
const PUT_OP_HEADER_BYTES = 7;
const OP_COUNT_BYTES = 4;
/** Smallest payload a writer produces: one delete of the empty key. */
const RECORD_PAYLOAD_BYTES_MIN = OP_COUNT_BYTES + DELETE_OP_HEADER_BYTES;
/** Largest payload a writer produces: one batch at every limit (groups stop growing before). */
const RECORD_PAYLOAD_BYTES_MAX =
  OP_COUNT_BYTES + STORE_KEYS_PER_CALL_MAX * (PUT_OP_HEADER_BYTES + STORE_ENTRY_BYTES_MAX);
/** A group commit stops adding batches once its payload would pass this. */
const GROUP_PAYLOAD_BYTES_TARGET = 8 * 1024 * 1024;
/** Records written by compaction hold about this many payload bytes each. */
const COMPACT_RECORD_BYTES_TARGET = 4 * 1024 * 1024;
/** Default: no compaction below this file size (copying a small file saves nothing). */
const COMPACT_FILE_BYTES_MIN_DEFAULT = 4 * 1024 * 1024;
const COMPACT_GARBAGE_RATIO_DEFAULT = 0.5;
/** Most writes waiting for the file at once; more means the caller is not awaiting its writes. */
const WRITE_QUEUE_MAX = 65536;
/** Bytes read per step while scanning the file on open. */
const SCAN_CHUNK_BYTES = 1024 * 1024;

export interface FileStoreOptions {
  /** Compact when dead bytes exceed this fraction of the file, in (0, 1]; default 0.5. */
  compactGarbageRatio?: number;
  /** Never compact a file smaller than this; default 4 MiB. */
  compactFileBytesMin?: number;
}

interface IndexEntry {
  /** File offset of the value's first byte. */
  offset: number;
  /** Value length in bytes. */
  length: number;
  /** Bytes of the put op that wrote it (header, key, value): dead once superseded. */
  opBytes: number;
}

interface PendingWrite {
  batch: WriteBatch;
  payloadBytes: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** One decoded op; `entry` is set for puts. */
interface Op {
  key: string;
  opBytes: number;
  entry?: IndexEntry;
}

export class FileStore implements ByteStore {
  readonly stats: StoreStats = { reads: 0, entriesRead: 0, writes: 0, bytesWritten: 0 };
  /** Bytes of torn tail that `open` cut off (0 after a clean shutdown). */
  readonly truncatedBytes: number;

  private handle: fsp.FileHandle;
  private readonly index: Map<string, IndexEntry>;
  private readonly keys: SortedKeys;
  private bytes: number;
  private dead: number;
  /** Bumped by every index change; compaction asserts none happened during its copy. */
  private version = 0;
  private readonly queue: PendingWrite[] = [];
  /** True while a drain or a compaction owns the file's tail; they never run concurrently. */
  private busy = false;
  /** Settles when the current owner of the tail finishes. */
  private idle: Promise<void> = Promise.resolve();
  /** After a failed automatic compaction, do not retry before the file reaches this size. */
  private compactRetryBytes = 0;
  private closing: Promise<void> | undefined;
  private failure: DosqlError | undefined;

  private constructor(
    private readonly filePath: string,
    handle: fsp.FileHandle,
    scan: ScanResult,
    private readonly garbageRatio: number,
    private readonly compactBytesMin: number,
  ) {
    this.handle = handle;
    this.index = scan.index;
    this.keys = new SortedKeys([...scan.index.keys()].sort());
    this.bytes = scan.validBytes;
    this.dead = scan.deadBytes;
    this.truncatedBytes = scan.truncatedBytes;
  }

  /** Open (creating if missing) the store in `dir`; throws CORRUPT if committed data is damaged. */
  static async open(dir: string, options: FileStoreOptions = {}): Promise<FileStore> {
    const ratio = options.compactGarbageRatio ?? COMPACT_GARBAGE_RATIO_DEFAULT;
    const bytesMin = options.compactFileBytesMin ?? COMPACT_FILE_BYTES_MIN_DEFAULT;
    if (!(ratio > 0 && ratio <= 1)) {
      throw new DosqlError('MISUSE', `compactGarbageRatio must be in (0, 1], got ${ratio}`);
    }
    if (!(bytesMin >= 0)) throw new DosqlError('MISUSE', `compactFileBytesMin must be >= 0, got ${bytesMin}`);
    const filePath = path.join(dir, FILE_STORE_DATA_NAME);
    let handle: fsp.FileHandle | undefined;
    try {
      await fsp.mkdir(dir, { recursive: true });
      await fsp.rm(filePath + TEMP_SUFFIX, { force: true });
      if (!fs.existsSync(filePath)) await createEmptyFile(filePath);
      handle = await fsp.open(filePath, 'r+');
      const scan = scanFile(handle.fd, (await handle.stat()).size, filePath);
      if (scan.truncatedBytes > 0) {
        await handle.truncate(scan.validBytes);
        await handle.sync();
      }
      return new FileStore(filePath, handle, scan, ratio, bytesMin);
    } catch (e) {
      await handle?.close().catch(() => undefined);
      throw ioError(e, `cannot open file store in ${dir}`);
    }
  }

  /** Current size of the data file in bytes. */
  get fileBytes(): number {
    return this.bytes;
  }

  /** Bytes of the data file that hold superseded puts and deletes (reclaimed by compaction). */
  get deadBytes(): number {
    return this.dead;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    this.checkOpen();
    this.stats.reads++;
    const entry = this.index.get(key);
    if (!entry) return undefined;
    this.stats.entriesRead++;
    return this.readValue(entry);
  }

  async getMany(keys: string[]): Promise<Map<string, Uint8Array>> {
    this.checkOpen();
    checkKeyCount(keys.length);
    this.stats.reads++;
    const out = new Map<string, Uint8Array>();
    for (const k of keys) {
      const entry = this.index.get(k);
      if (entry) out.set(k, this.readValue(entry));
    }
    this.stats.entriesRead += out.size;
    return out;
  }

  async list(options: ListOptions): Promise<Array<[string, Uint8Array]>> {
    this.checkOpen();
    this.stats.reads++;
    const keys = selectRange(this.keys.sorted(), options);
    // Read every value before returning so the result is one consistent snapshot.
    const out = keys.map((k): [string, Uint8Array] => [k, this.readValue(this.index.get(k)!)]);
    this.stats.entriesRead += out.length;
    return out;
  }

  async write(batch: WriteBatch): Promise<void> {
    this.checkOpen();
    checkBatch(batch);
    if (this.failure) {
      throw new DosqlError('IO', `file store refuses writes after an earlier failure: ${this.failure.message}`, {
        cause: this.failure,
      });
    }
    if (this.queue.length >= WRITE_QUEUE_MAX) {
      throw new DosqlError('LIMIT_EXCEEDED', `${this.queue.length} writes queued; WRITE_QUEUE_MAX is ${WRITE_QUEUE_MAX}`);
    }
    this.stats.writes++;
    for (const [, v] of batch.put ?? []) this.stats.bytesWritten += v.byteLength;
    const payloadBytes = batchPayloadBytes(batch);
    if (payloadBytes === 0) return;
    const done = new Promise<void>((resolve, reject) => this.queue.push({ batch, payloadBytes, resolve, reject }));
    this.kick();
    return done;
  }

  put(key: string, value: Uint8Array): Promise<void> {
    return this.write({ put: [[key, value]] });
  }

  delete(key: string): Promise<void> {
    return this.write({ delete: [key] });
  }

  /** Waits for accepted writes to become durable, then closes the file. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.waitIdle();
      await this.handle.close().catch(() => undefined);
    })();
    return this.closing;
  }

  /** Rewrite the file with only the live entries now, whatever the garbage ratio. */
  async compact(): Promise<void> {
    this.checkOpen();
    if (this.failure) throw this.failure;
    // Check and take the tail in one synchronous step, so no drain can start in between.
    // Each round waits for one drain, which new writes can only extend while they arrive.
    while (this.busy) await this.idle;
    this.busy = true;
    const run = (async () => {
      try {
        await this.compactNow();
      } finally {
        this.busy = false;
        this.kick();
      }
    })();
    this.idle = run.catch(() => undefined);
    await run;
  }

  private async waitIdle(): Promise<void> {
    // Each round waits for one drain or compaction; new ones start only while writes arrive.
    while (this.busy) await this.idle;
  }

  /** Start draining the queue unless something already owns the tail (it will drain it). */
  private kick(): void {
    if (this.busy || this.queue.length === 0) return;
    this.busy = true;
    this.idle = this.drain();
  }

  private checkOpen(): void {
    if (this.closing) throw new DosqlError('CLOSED', 'store is closed');
  }

  private readValue(entry: IndexEntry): Uint8Array {
    const out = new Uint8Array(entry.length);
    readFully(this.handle.fd, out, 0, entry.length, entry.offset, this.filePath);
    return out;
  }

  /** Append queued writes, one record (one fsync) per group, until the queue is empty. */
  private async drain(): Promise<void> {
    assert(this.busy, 'drain owns the tail');
    try {
      // Each round takes at least one write off the queue, so this ends once writers stop.
      while (this.queue.length > 0) {
        const group = this.takeGroup();
        try {
          if (this.failure) throw this.failure;
          await this.appendGroup(group.map((p) => p.batch));
        } catch (e) {
          const err = ioError(e, `write to ${this.filePath} failed`);
          this.failure ??= err;
          for (const p of group) p.reject(err);
          continue;
        }
        for (const p of group) p.resolve();
        if (this.shouldCompact()) {
          // A failure before the rename leaves the old file whole: keep going and retry later.
          // A failure after it poisons the store inside compactNow.
          await this.compactNow().catch(() => {
            this.compactRetryBytes = this.bytes + Math.max(this.compactBytesMin, this.bytes / 2);
          });
        }
      }
    } catch (e) {
      // Only a bug lands here (I/O errors are handled per group): fail every waiting write
      // rather than leave it hanging, and stop writing to a file in an unknown state.
      this.failure ??= ioError(e, `write to ${this.filePath} failed`);
      for (const p of this.queue.splice(0)) p.reject(e);
    } finally {
      // Same synchronous step as the empty-queue check: a write arriving later kicks a new drain.
      this.busy = false;
    }
  }

  private takeGroup(): PendingWrite[] {
    let payload = OP_COUNT_BYTES;
    let n = 0;
    while (n < this.queue.length) {
      const next = this.queue[n]!.payloadBytes;
      if (n > 0 && payload + next > GROUP_PAYLOAD_BYTES_TARGET) break;
      payload += next;
      n++;
    }
    assert(n >= 1, 'a group holds at least one write');
    return this.queue.splice(0, n);
  }

  private async appendGroup(batches: WriteBatch[]): Promise<void> {
    const at = this.bytes;
    const { record, ops } = encodeRecord(batches, at);
    await writeFully(this.handle, record, at);
    await this.handle.datasync();
    this.bytes = at + record.length;
    for (const op of ops) {
      if (op.entry) this.applyPut(op.key, op.entry);
      else this.applyDelete(op.key, op.opBytes);
    }
  }

  private applyPut(key: string, entry: IndexEntry): void {
    this.version++;
    const old = this.index.get(key);
    if (old) this.dead += old.opBytes;
    else this.keys.add(key);
    this.index.set(key, entry);
  }

  private applyDelete(key: string, opBytes: number): void {
    this.version++;
    this.dead += opBytes;
    const old = this.index.get(key);
    if (!old) return;
    this.dead += old.opBytes;
    this.index.delete(key);
    this.keys.remove(key);
  }

  private shouldCompact(): boolean {
    return (
      this.bytes >= this.compactBytesMin &&
      this.bytes >= this.compactRetryBytes &&
      this.dead > this.garbageRatio * this.bytes
    );
  }

  /** Copy live entries to a new file and rename it over the old one; caller holds the queue. */
  private async compactNow(): Promise<void> {
    const tmpPath = this.filePath + TEMP_SUFFIX;
    assert(this.busy, 'compaction owns the tail');
    const versionBefore = this.version;
    const moved = new Map<string, IndexEntry>();
    let out: fsp.FileHandle | undefined;
    let newBytes = FILE_HEADER_BYTES;
    try {
      out = await fsp.open(tmpPath, 'w');
      await writeFully(out, FILE_MAGIC, 0);
      const keys = this.keys.sorted();
      const opBytesAt = (k: number): number => this.index.get(keys[k]!)!.opBytes;
      let i = 0;
      // Each round copies at least one key into one record.
      while (i < keys.length) {
        const start = i;
        let payload = OP_COUNT_BYTES;
        while (i < keys.length && (i === start || payload + opBytesAt(i) <= COMPACT_RECORD_BYTES_TARGET)) {
          payload += opBytesAt(i);
          i++;
        }
        const record = this.copyRecord(keys.slice(start, i), payload, newBytes, moved);
        await writeFully(out, record, newBytes);
        newBytes += record.length;
      }
      await out.sync();
      await out.close();
      out = undefined;
      await fsp.rename(tmpPath, this.filePath);
    } catch (e) {
      await out?.close().catch(() => undefined);
      await fsp.rm(tmpPath, { force: true }).catch(() => undefined);
      throw ioError(e, `compaction of ${this.filePath} failed`);
    }
    // The rename happened: from here the new file is the store, and appending to the old handle
    // would write into an unlinked file, so any failure now must stop all writes.
    let fresh: fsp.FileHandle;
    try {
      fsyncDirectory(path.dirname(this.filePath));
      fresh = await fsp.open(this.filePath, 'r+');
    } catch (e) {
      this.failure ??= ioError(e, `compaction of ${this.filePath} failed after its rename`);
      throw this.failure;
    }
    assert(this.version === versionBefore && moved.size === this.index.size, 'no write ran during compaction');
    const old = this.handle;
    this.handle = fresh;
    for (const [k, e] of moved) this.index.set(k, e);
    this.bytes = newBytes;
    this.dead = 0;
    await old.close().catch(() => undefined);
  }

  /** One record of puts for `keys`, their values read from the current file. */
  private copyRecord(keys: string[], payloadBytes: number, at: number, moved: Map<string, IndexEntry>): Buffer {
    const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payloadBytes);
    let pos = RECORD_HEADER_BYTES;
    record.writeUInt32LE(keys.length, pos);
    pos += OP_COUNT_BYTES;
    for (const key of keys) {
      const e = this.index.get(key)!;
      record[pos] = OP_PUT;
      const keyBytes = record.write(key, pos + PUT_OP_HEADER_BYTES, 'utf8');
      record.writeUInt16LE(keyBytes, pos + 1);
      record.writeUInt32LE(e.length, pos + 3);
      const valueAt = pos + PUT_OP_HEADER_BYTES + keyBytes;
      readFully(this.handle.fd, record, valueAt, e.length, e.offset, this.filePath);
      moved.set(key, { offset: at + valueAt, length: e.length, opBytes: e.opBytes });
      pos = valueAt + e.length;
    }
    assert(pos === record.length, 'compaction record sized exactly');
    sealRecord(record);
    return record;
  }
}

function batchPayloadBytes(batch: WriteBatch): number {
  let n = 0;
  for (const k of batch.delete ?? []) n += DELETE_OP_HEADER_BYTES + Buffer.byteLength(k, 'utf8');
  for (const [k, v] of batch.put ?? []) n += PUT_OP_HEADER_BYTES + Buffer.byteLength(k, 'utf8') + v.byteLength;
  return n;
}

/** Encode batches (each: deletes, then puts) as one record to be written at file offset `at`. */
function encodeRecord(batches: WriteBatch[], at: number): { record: Buffer; ops: Op[] } {
  let payloadBytes = OP_COUNT_BYTES;
  for (const b of batches) payloadBytes += batchPayloadBytes(b);
  assert(payloadBytes <= RECORD_PAYLOAD_BYTES_MAX, 'a group fits in a record');
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payloadBytes);
  const ops: Op[] = [];
  let pos = RECORD_HEADER_BYTES + OP_COUNT_BYTES;
  for (const b of batches) {
    for (const key of b.delete ?? []) {
      record[pos] = OP_DELETE;
      const keyBytes = record.write(key, pos + DELETE_OP_HEADER_BYTES, 'utf8');
      record.writeUInt16LE(keyBytes, pos + 1);
      ops.push({ key, opBytes: DELETE_OP_HEADER_BYTES + keyBytes });
      pos += DELETE_OP_HEADER_BYTES + keyBytes;
    }
    for (const [key, value] of b.put ?? []) {
      record[pos] = OP_PUT;
      const keyBytes = record.write(key, pos + PUT_OP_HEADER_BYTES, 'utf8');
      record.writeUInt16LE(keyBytes, pos + 1);
      record.writeUInt32LE(value.byteLength, pos + 3);
      const valueAt = pos + PUT_OP_HEADER_BYTES + keyBytes;
      record.set(value, valueAt);
      const opBytes = PUT_OP_HEADER_BYTES + keyBytes + value.byteLength;
      ops.push({ key, opBytes, entry: { offset: at + valueAt, length: value.byteLength, opBytes } });
      pos += opBytes;
    }
  }
  assert(pos === record.length, 'record sized exactly');
  record.writeUInt32LE(ops.length, RECORD_HEADER_BYTES);
  sealRecord(record);
  return { record, ops };
}

/** Fill in the length and checksum of a record whose payload is written. */
function sealRecord(record: Buffer): void {
  record.writeUInt32LE(record.length - RECORD_HEADER_BYTES, 0);
  record.writeUInt32LE(recordCrc(record.subarray(0, 4), record.subarray(RECORD_HEADER_BYTES)), 4);
}

function recordCrc(lengthBytes: Uint8Array, payload: Uint8Array): number {
  return crc32(payload, crc32(lengthBytes));
}

async function createEmptyFile(filePath: string): Promise<void> {
  // Through a temp file and a rename, so the data file never exists without its magic.
  const tmpPath = filePath + TEMP_SUFFIX;
  const h = await fsp.open(tmpPath, 'w');
  try {
    await writeFully(h, FILE_MAGIC, 0);
    await h.sync();
  } finally {
    await h.close();
  }
  await fsp.rename(tmpPath, filePath);
  fsyncDirectory(path.dirname(filePath));
}

function fsyncDirectory(dir: string): void {
  // Windows cannot open a directory for fsync; it has no need to either (rename is durable).
  if (process.platform === 'win32') return;
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

async function writeFully(h: fsp.FileHandle, bytes: Uint8Array, at: number): Promise<void> {
  let done = 0;
  // Every round writes at least one byte or throws, so at most bytes.length rounds.
  while (done < bytes.length) {
    const { bytesWritten } = await h.write(bytes, done, bytes.length - done, at + done);
    assert(bytesWritten > 0, 'write makes progress');
    done += bytesWritten;
  }
}

function readFully(fd: number, into: Uint8Array, intoAt: number, length: number, at: number, file: string): void {
  let done = 0;
  try {
    while (done < length) {
      const n = fs.readSync(fd, into, intoAt + done, length - done, at + done);
      if (n === 0) throw new DosqlError('CORRUPT', `${file} ends at ${at + done}, inside a value the index points to`);
      done += n;
    }
  } catch (e) {
    throw ioError(e, `read of ${file} failed`);
  }
}

function ioError(e: unknown, what: string): DosqlError {
  if (isDosqlError(e)) return e;
  return new DosqlError('IO', `${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

// ---- scanning on open ----

interface ScanResult {
  index: Map<string, IndexEntry>;
  validBytes: number;
  truncatedBytes: number;
  deadBytes: number;
}

/** Buffered positional reads over the file while scanning it front to back. */
class ScanReader {
  private chunk = Buffer.alloc(0);
  private chunkAt = 0;
  private chunkBytes = 0;

  constructor(
    private readonly fd: number,
    private readonly size: number,
    private readonly file: string,
  ) {}

  /** `length` bytes at `at` (which must lie inside the file); valid until the next call. */
  bytes(at: number, length: number): Buffer {
    assert(at >= 0 && at + length <= this.size, 'scan reads inside the file');
    if (at < this.chunkAt || at + length > this.chunkAt + this.chunkBytes) {
      const want = Math.min(Math.max(length, SCAN_CHUNK_BYTES), this.size - at);
      if (this.chunk.length < want) this.chunk = Buffer.allocUnsafe(want);
      readFully(this.fd, this.chunk, 0, want, at, this.file);
      this.chunkAt = at;
      this.chunkBytes = want;
    }
    return this.chunk.subarray(at - this.chunkAt, at - this.chunkAt + length);
  }

  allZero(from: number): boolean {
    // Each round consumes at least one byte of the file.
    for (let at = from; at < this.size; ) {
      const n = Math.min(SCAN_CHUNK_BYTES, this.size - at);
      const chunk = this.bytes(at, n);
      for (let i = 0; i < n; i++) if (chunk[i] !== 0) return false;
      at += n;
    }
    return true;
  }
}

function scanFile(fd: number, size: number, file: string): ScanResult {
  const r = new ScanReader(fd, size, file);
  if (size < FILE_HEADER_BYTES || !r.bytes(0, FILE_HEADER_BYTES).equals(FILE_MAGIC)) {
    throw new DosqlError('CORRUPT', `${file} is not a DoSQL byte store file (bad magic)`);
  }
  const index = new Map<string, IndexEntry>();
  let dead = 0;
  let at = FILE_HEADER_BYTES;
  const corrupt = (why: string): DosqlError =>
    new DosqlError('CORRUPT', `${file}: record at offset ${at} ${why}, with committed data after it`);
  // Each round consumes at least RECORD_HEADER_BYTES + RECORD_PAYLOAD_BYTES_MIN bytes or stops.
  while (at < size) {
    if (size - at < RECORD_HEADER_BYTES) break; // torn header
    const header = r.bytes(at, RECORD_HEADER_BYTES);
    const length = header.readUInt32LE(0);
    const crc = header.readUInt32LE(4);
    const lengthBytes = Buffer.from(header.subarray(0, 4));
    const end = at + RECORD_HEADER_BYTES + length;
    if (end > size) break; // the last append was cut short
    if (length < RECORD_PAYLOAD_BYTES_MIN || length > RECORD_PAYLOAD_BYTES_MAX) {
      if (r.allZero(at)) break; // file grown but never written
      throw corrupt(`has impossible length ${length}`);
    }
    const payload = r.bytes(at + RECORD_HEADER_BYTES, length);
    if (recordCrc(lengthBytes, payload) !== crc) {
      if (end === size) break; // the last append, torn inside
      throw corrupt('fails its checksum');
    }
    const ops = decodePayload(payload, at + RECORD_HEADER_BYTES);
    if (!ops) throw corrupt('has a valid checksum but a malformed payload');
    for (const op of ops) {
      const old = index.get(op.key);
      if (old) dead += old.opBytes;
      if (op.entry) index.set(op.key, op.entry);
      else {
        dead += op.opBytes;
        index.delete(op.key);
      }
    }
    at = end;
  }
  return { index, validBytes: at, truncatedBytes: size - at, deadBytes: dead };
}

/** Ops of a payload that starts at file offset `payloadAt`; undefined if it is malformed. */
function decodePayload(p: Buffer, payloadAt: number): Op[] | undefined {
  if (p.length < OP_COUNT_BYTES) return undefined;
  const count = p.readUInt32LE(0);
  if (count < 1 || count > p.length / DELETE_OP_HEADER_BYTES) return undefined;
  const ops: Op[] = [];
  let pos = OP_COUNT_BYTES;
  for (let i = 0; i < count; i++) {
    if (pos + DELETE_OP_HEADER_BYTES > p.length) return undefined;
    const tag = p[pos]!;
    const keyBytes = p.readUInt16LE(pos + 1);
    if (keyBytes > STORE_KEY_BYTES_MAX) return undefined;
    if (tag === OP_DELETE) {
      const keyAt = pos + DELETE_OP_HEADER_BYTES;
      if (keyAt + keyBytes > p.length) return undefined;
      ops.push({ key: p.toString('utf8', keyAt, keyAt + keyBytes), opBytes: DELETE_OP_HEADER_BYTES + keyBytes });
      pos = keyAt + keyBytes;
    } else if (tag === OP_PUT) {
      if (pos + PUT_OP_HEADER_BYTES > p.length) return undefined;
      const valueBytes = p.readUInt32LE(pos + 3);
      const keyAt = pos + PUT_OP_HEADER_BYTES;
      const valueAt = keyAt + keyBytes;
      if (valueAt + valueBytes > p.length) return undefined;
      const opBytes = PUT_OP_HEADER_BYTES + keyBytes + valueBytes;
      const key = p.toString('utf8', keyAt, valueAt);
      ops.push({ key, opBytes, entry: { offset: payloadAt + valueAt, length: valueBytes, opBytes } });
      pos = valueAt + valueBytes;
    } else {
      return undefined;
    }
  }
  return pos === p.length ? ops : undefined;
}
