/**
 * The log record codec: how one `LogRecord` becomes bytes, and how a segment's bytes become
 * records again.
 *
 * Frame: [u32 LE body length][u32 LE crc32 (IEEE) of the body][body], the body being msgpack
 * (`base/codec.ts`). The length lets a reader walk a segment without decoding; the crc tells a
 * complete record from one torn by a crash or damaged at rest. `decodeFrames` walks frames and
 * stops at the first one that is cut short ('torn': header or body runs past the end of the bytes)
 * or fails its check ('corrupt': crc mismatch or undecodable body), reporting the offset where
 * valid data ends so that recovery can keep exactly the valid prefix.
 *
 * Body shape: one flat msgpack map with one-letter keys, because records are the bulk of what is
 * stored. `o` is the op (0 commit, 1 insert, 2 update, 3 delete, 4 create_table, 5 drop_table),
 * `l` the LSN, `x` the txn id; then `t` table id, `r` rowid, `v` row, `b` before-image, `d` a
 * TableDef, `n` a name (drop_table) or the change count (commit), `h` the HLC. LSNs and txn ids
 * are written as plain msgpack integers when they fit a double exactly (compact) and decoded back
 * to bigint, so both shapes read the same. Row values keep their exact class (see base/values.ts).
 * Decoded BLOBs are plain Uint8Array views into the bytes given to `decodeFrames` (no copy): the
 * store hands those bytes to the caller, so nothing else mutates them.
 *
 * Two encoders, same bytes: `encodeRecord` builds the body map and packs it with msgpackr (any
 * record); `FrameEncoder`, the append path, writes row changes and commits by hand
 * (log/msgpack.ts) straight into one buffer per transaction, the crc computed in place, and
 * falls back to `encodeRecord` for the rest. Tests check byte equality of the two.
 */
import { pack, unpack } from '../base/codec.js';
import { DosqlError, assert } from '../base/errors.js';
import { nullRow, type Value } from '../base/values.js';
import { crc32, crc32Range } from '../storage/crc32.js';
import { MsgpackWriter } from './msgpack.js';
import type { Change, EncodedRun, InsertRun, LogRecord, TableDef } from './types.js';

/** Bytes of the frame header: body length then crc. */
export const FRAME_HEADER_BYTES = 8;
/** First arena of a one-off encoder (`encodeChangeRecord`); it grows as needed. */
const SINGLE_FRAME_ARENA_BYTES = 256;

const OP_COMMIT = 0;
const OP_INSERT = 1;
const OP_UPDATE = 2;
const OP_DELETE = 3;
const OP_CREATE_TABLE = 4;
const OP_DROP_TABLE = 5;
const OP_ALTER_TABLE = 6;

interface Body {
  o: number;
  l: number | bigint;
  x: number | bigint;
  t?: number;
  r?: number | bigint;
  v?: Value[];
  b?: Value[];
  d?: TableDef;
  n?: string | number;
  h?: number | bigint;
}

/** Encode one record as a complete frame (msgpackr; the general path). */
export function encodeRecord(record: LogRecord): Uint8Array {
  return frameBody(pack(toBody(record)));
}

/**
 * One change record with safe-integer LSN and transaction id as a complete frame, built by the
 * hand-written encoder: same bytes as encodeRecord. Appends use `FrameEncoder` directly.
 */
export function encodeChangeRecord(lsn: number, txn: number, c: Change): Uint8Array {
  const e = new FrameEncoder(Number.MAX_SAFE_INTEGER, SINGLE_FRAME_ARENA_BYTES);
  e.change(lsn, txn, c);
  return e.finish().bytes;
}

/**
 * Encodes a transaction's records as consecutive frames into one arena (see log/msgpack.ts):
 * no buffer per record, no copy of a body into its frame, the crc computed in place. Inserts,
 * updates, deletes and commits are written by hand; schema records (rare, nested objects) and
 * rows holding something outside the Value vocabulary go through msgpackr and are copied in.
 * Throws LIMIT_EXCEEDED when a frame is longer than `frameBytesMax`; call `discard` then.
 */
export class FrameEncoder {
  private readonly w: MsgpackWriter;
  private ends: number[] = [];
  /** Per insert run, where its rows' values lie in the transaction's bytes (see EncodedRun). */
  private runs = new Map<InsertRun, Uint32Array>();

  constructor(
    private readonly frameBytesMax: number,
    arenaBytes?: number,
  ) {
    this.w = new MsgpackWriter(arenaBytes);
  }

  /** Bytes of the transaction encoded so far. */
  get length(): number {
    return this.w.length;
  }

  /** A change record whose LSN and txn id are safe integers (the append hot path). */
  change(lsn: number, txn: number, c: Change): void {
    const w = this.w;
    const at = w.skip(FRAME_HEADER_BYTES);
    let ok = true;
    switch (c.op) {
      case 'insert':
        ok = this.insertBody(lsn, txn, c.table, c.rowid, c.row);
        break;
      case 'update':
        this.head(7, OP_UPDATE, lsn, txn, c.table, c.rowid);
        w.key(KEY_B);
        ok = w.row(c.before);
        w.key(KEY_V);
        ok = ok && w.row(c.row);
        break;
      case 'delete':
        this.head(6, OP_DELETE, lsn, txn, c.table, c.rowid);
        w.key(KEY_B);
        ok = w.row(c.before);
        break;
      default:
        ok = false;
    }
    if (ok) return this.closeFrame(at);
    w.pos = w.start + at;
    this.record({ kind: 'change', lsn: BigInt(lsn), txn: BigInt(txn), change: c });
  }

  /**
   * The records of an insert run from LSN `lsn` on, as `run.count` insert changes would be;
   * returns the LSN after them. Each row is read into one scratch array, so no row is allocated.
   */
  insertRun(lsn: number, txn: number, run: InsertRun): number {
    const row = nullRow(run.width);
    // A row's values follow its array header, whose size the width decides (MsgpackWriter.arrayHeader).
    const header = run.width < 0x10 ? 1 : run.width < 0x10000 ? 3 : 5;
    let rows: Uint32Array | undefined = new Uint32Array(2 * run.count);
    for (let i = 0; i < run.count; i++) {
      run.rowInto(i, row, 0);
      const rowid = run.rowidAt(i);
      const at = this.w.skip(FRAME_HEADER_BYTES);
      if (this.insertBody(lsn, txn, run.table, rowid, row)) {
        if (rows) {
          rows[2 * i] = this.rowStart + header;
          rows[2 * i + 1] = this.w.length;
        }
        this.closeFrame(at);
      } else {
        this.w.pos = this.w.start + at;
        this.record({ kind: 'change', lsn: BigInt(lsn), txn: BigInt(txn), change: { op: 'insert', table: run.table, rowid, row } });
        rows = undefined; // msgpackr wrote this one: no offsets to give
      }
      lsn++;
    }
    if (rows) this.runs.set(run, rows);
    return lsn;
  }

  /** A commit record whose LSN and txn id are safe integers. */
  commit(lsn: number, txn: number, hlc: bigint, changeCount: number): void {
    const w = this.w;
    const at = w.skip(FRAME_HEADER_BYTES);
    w.mapHeader(5);
    w.key(KEY_O);
    w.number(OP_COMMIT);
    w.key(KEY_L);
    w.number(lsn);
    w.key(KEY_X);
    w.number(txn);
    w.key(KEY_H);
    const h = compactInt(hlc);
    if (typeof h === 'number') w.number(h);
    else w.bigint(h);
    w.key(KEY_N);
    w.number(changeCount);
    this.closeFrame(at);
  }

  /** Any record, through msgpackr. */
  record(r: LogRecord): void {
    const frame = encodeRecord(r);
    this.checkFrame(frame.byteLength);
    this.w.bytes(frame);
    this.ends.push(this.w.length);
  }

  /** The transaction's frames and the offset just past each; the next transaction starts empty. */
  finish(): { bytes: Uint8Array; ends: number[]; runs: Map<InsertRun, EncodedRun> } {
    const ends = this.ends;
    const bytes = this.w.finish();
    const runs = new Map<InsertRun, EncodedRun>();
    for (const [run, at] of this.runs) runs.set(run, { bytes, at });
    this.ends = [];
    this.runs = new Map();
    return { bytes, ends, runs };
  }

  /** Forget the transaction in progress (after LIMIT_EXCEEDED). */
  discard(): void {
    this.w.discard();
    this.ends = [];
    this.runs = new Map();
  }

  /** An insert record's body after its frame header; false when `row` needs msgpackr. */
  private insertBody(lsn: number, txn: number, table: number, rowid: number | bigint, row: readonly Value[]): boolean {
    this.head(6, OP_INSERT, lsn, txn, table, rowid);
    this.w.key(KEY_V);
    this.rowStart = this.w.length;
    return this.w.row(row);
  }

  /** Where the last insert body's row begins, in the transaction's bytes. */
  private rowStart = 0;

  /** The map header and the fields every row change starts with: o, l, x, t, r. */
  private head(fields: number, op: number, lsn: number, txn: number, table: number, rowid: number | bigint): void {
    const w = this.w;
    w.mapHeader(fields);
    w.key(KEY_O);
    w.number(op);
    w.key(KEY_L);
    w.number(lsn);
    w.key(KEY_X);
    w.number(txn);
    w.key(KEY_T);
    w.number(table);
    w.key(KEY_R);
    if (typeof rowid === 'number') w.number(rowid);
    else w.bigint(rowid);
  }

  private closeFrame(at: number): void {
    const w = this.w;
    const end = w.length;
    this.checkFrame(end - at);
    const bodyStart = w.start + at + FRAME_HEADER_BYTES;
    w.u32leAt(at, end - at - FRAME_HEADER_BYTES);
    w.u32leAt(at + 4, crc32Range(w.buf, bodyStart, w.pos));
    this.ends.push(end);
  }

  private checkFrame(bytes: number): void {
    if (bytes > this.frameBytesMax) {
      throw new DosqlError('LIMIT_EXCEEDED', `log record of ${bytes} bytes does not fit a segment; segmentBytesMax is ${this.frameBytesMax}`);
    }
  }
}

const KEY_O = 0x6f;
const KEY_L = 0x6c;
const KEY_X = 0x78;
const KEY_T = 0x74;
const KEY_R = 0x72;
const KEY_V = 0x76;
const KEY_B = 0x62;
const KEY_H = 0x68;
const KEY_N = 0x6e;

function frameBody(body: Uint8Array): Uint8Array {
  const n = body.byteLength;
  const crc = crc32(body);
  const frame = new Uint8Array(FRAME_HEADER_BYTES + n);
  // Little-endian u32 length and crc, written by hand: no DataView per record.
  frame[0] = n & 0xff;
  frame[1] = (n >>> 8) & 0xff;
  frame[2] = (n >>> 16) & 0xff;
  frame[3] = n >>> 24;
  frame[4] = crc & 0xff;
  frame[5] = (crc >>> 8) & 0xff;
  frame[6] = (crc >>> 16) & 0xff;
  frame[7] = crc >>> 24;
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

export type DecodeEnd =
  | { kind: 'clean' }
  | { kind: 'torn'; offset: number; reason: string }
  | { kind: 'corrupt'; offset: number; reason: string };

export interface DecodedFrames {
  records: LogRecord[];
  /** Byte offset just past each record's frame (parallel to `records`). */
  ends: number[];
  /** Where valid data ends: the bytes [0, validBytes) hold exactly `records`. */
  validBytes: number;
  end: DecodeEnd;
}

/** Decode consecutive frames, stopping at the end of the bytes or at the first bad frame. */
export function decodeFrames(bytes: Uint8Array): DecodedFrames {
  const records: LogRecord[] = [];
  const ends: number[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  // Every iteration consumes at least FRAME_HEADER_BYTES, so this is bounded by the input size.
  while (at < bytes.byteLength) {
    if (bytes.byteLength - at < FRAME_HEADER_BYTES) {
      return { records, ends, validBytes: at, end: { kind: 'torn', offset: at, reason: 'frame header cut short' } };
    }
    const length = view.getUint32(at, true);
    const crc = view.getUint32(at + 4, true);
    const bodyStart = at + FRAME_HEADER_BYTES;
    if (length > bytes.byteLength - bodyStart) {
      return { records, ends, validBytes: at, end: { kind: 'torn', offset: at, reason: 'frame body cut short' } };
    }
    // A plain Uint8Array view (not a Buffer) so that BLOB values decode as plain Uint8Array.
    const body = new Uint8Array(bytes.buffer, bytes.byteOffset + bodyStart, length);
    if (crc32(body) !== crc) {
      return { records, ends, validBytes: at, end: { kind: 'corrupt', offset: at, reason: 'crc mismatch' } };
    }
    let record: LogRecord;
    try {
      record = fromBody(unpack(body));
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      return { records, ends, validBytes: at, end: { kind: 'corrupt', offset: at, reason } };
    }
    records.push(record);
    at = bodyStart + length;
    ends.push(at);
  }
  return { records, ends, validBytes: at, end: { kind: 'clean' } };
}

/** Decode a record from one frame's body bytes (no header); throws CORRUPT on a bad shape. */
export function decodeBody(body: Uint8Array): LogRecord {
  return fromBody(unpack(body));
}

function toBody(r: LogRecord): Body {
  const l = compactInt(r.lsn);
  const x = compactInt(r.txn);
  if (r.kind === 'commit') return { o: OP_COMMIT, l, x, h: compactInt(r.hlc), n: r.changeCount };
  const c = r.change;
  switch (c.op) {
    case 'insert':
      return { o: OP_INSERT, l, x, t: c.table, r: c.rowid, v: c.row };
    case 'update':
      return { o: OP_UPDATE, l, x, t: c.table, r: c.rowid, b: c.before, v: c.row };
    case 'delete':
      return { o: OP_DELETE, l, x, t: c.table, r: c.rowid, b: c.before };
    case 'create_table':
      return { o: OP_CREATE_TABLE, l, x, d: c.table };
    case 'drop_table':
      return { o: OP_DROP_TABLE, l, x, t: c.table, n: c.name };
    case 'alter_table':
      return { o: OP_ALTER_TABLE, l, x, d: c.table };
    default:
      return assertNever(c);
  }
}

function fromBody(raw: unknown): LogRecord {
  if (typeof raw !== 'object' || raw === null) throw corrupt('record body is not a map');
  const b = raw as Partial<Body>;
  const lsn = bigintField(b.l, 'l');
  const txn = bigintField(b.x, 'x');
  switch (b.o) {
    case OP_COMMIT: {
      if (typeof b.n !== 'number' || !Number.isSafeInteger(b.n) || b.n < 0) throw corrupt('bad change count');
      return { kind: 'commit', lsn, txn, hlc: bigintField(b.h, 'h'), changeCount: b.n };
    }
    case OP_INSERT:
      return change(lsn, txn, { op: 'insert', table: table(b), rowid: rowid(b), row: row(b.v, 'v') });
    case OP_UPDATE:
      return change(lsn, txn, { op: 'update', table: table(b), rowid: rowid(b), before: row(b.b, 'b'), row: row(b.v, 'v') });
    case OP_DELETE:
      return change(lsn, txn, { op: 'delete', table: table(b), rowid: rowid(b), before: row(b.b, 'b') });
    case OP_CREATE_TABLE:
      if (typeof b.d !== 'object' || b.d === null) throw corrupt('bad table definition');
      return change(lsn, txn, { op: 'create_table', table: b.d });
    case OP_DROP_TABLE:
      if (typeof b.n !== 'string') throw corrupt('bad table name');
      return change(lsn, txn, { op: 'drop_table', table: table(b), name: b.n });
    case OP_ALTER_TABLE:
      if (typeof b.d !== 'object' || b.d === null) throw corrupt('bad table definition');
      return change(lsn, txn, { op: 'alter_table', table: b.d });
    default:
      throw corrupt(`unknown record op ${String(b.o)}`);
  }
}

function change(lsn: bigint, txn: bigint, c: Change): LogRecord {
  return { kind: 'change', lsn, txn, change: c };
}

function compactInt(v: bigint): number | bigint {
  assert(v >= 0n, 'log integers are natural numbers');
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function bigintField(v: unknown, name: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  throw corrupt(`bad integer field ${name}`);
}

function table(b: Partial<Body>): number {
  if (typeof b.t !== 'number' || !Number.isSafeInteger(b.t)) throw corrupt('bad table id');
  return b.t;
}

function rowid(b: Partial<Body>): number | bigint {
  if (typeof b.r === 'bigint' || (typeof b.r === 'number' && Number.isSafeInteger(b.r))) return b.r;
  throw corrupt('bad rowid');
}

function row(v: unknown, name: string): Value[] {
  if (!Array.isArray(v)) throw corrupt(`bad row field ${name}`);
  return v as Value[];
}

function corrupt(message: string): DosqlError {
  return new DosqlError('CORRUPT', `log record: ${message}`);
}

function assertNever(x: never): never {
  throw new Error(`dosql invariant violated: unexpected change ${JSON.stringify(x)}`);
}

