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
 * stored. `o` is the op (0 commit, 1 insert, 2 update, 3 delete, 4 create_table, 5 drop_table,
 * 6 alter_table, 7 insert run), `l` the LSN, `x` the txn id; then `t` table id, `r` rowid, `v` row,
 * `b` before-image, `d` a TableDef, `n` a name (drop_table) or the change count (commit), `h` the
 * HLC. An insert run (`{o, l, x, t, v}`) holds consecutive inserts into one table, LSNs l, l + 1,
 * ..., with `v` the rows as `[rowid, ...values]`: a bulk load writes its head once per frame of up to
 * RUN_FRAME_BYTES_MAX instead of once per row, and one crc; it decodes to one insert record per
 * row, so readers never see it. Its `v` has a 4-byte count header (msgpack array32) whatever the
 * count, written when the frame closes. LSNs and txn ids
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
/**
 * Most bytes of an insert-run frame (less when segments are smaller). Small enough that segments
 * fill well (the writer cuts only between frames), large enough that the head and the crc's
 * setup are paid once per hundreds of rows.
 */
export const RUN_FRAME_BYTES_MAX = 32 * 1024;

const OP_COMMIT = 0;
const OP_INSERT = 1;
const OP_UPDATE = 2;
const OP_DELETE = 3;
const OP_CREATE_TABLE = 4;
const OP_DROP_TABLE = 5;
const OP_ALTER_TABLE = 6;
const OP_INSERT_RUN = 7;
/** msgpack array32: a header whose count is patched in when the run frame closes. */
const ARRAY32 = 0xdd;

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

/** Row i of an insert run as `[rowid, ...values]`: written by the run when it can, else read into `row` first. */
function writeRunRow(run: InsertRun, i: number, row: Value[], w: MsgpackWriter): boolean {
  if (run.writeRecord) return run.writeRecord(i, w);
  row[0] = run.rowidAt(i);
  run.rowInto(i, row, 1);
  return w.row(row);
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
  /** LSNs in the frames so far, after each frame (a run frame holds many). */
  private lsns: number[] = [];
  /** The insert-run frame open in `insertRun`: its unit offset (-1 when none), its count's, its rows. */
  private runAt = -1;
  private runCountAt = 0;
  private runRows = 0;
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
   * The records of an insert run from LSN `lsn` on, one LSN per row: run frames of up to
   * RUN_FRAME_BYTES_MAX (see the module header), each row read into one scratch array; returns
   * the LSN after them. A row the hand-written writer refuses gets an insert record of its own
   * through msgpackr, between two frames.
   */
  insertRun(lsn: number, txn: number, run: InsertRun): number {
    const w = this.w;
    const row = nullRow(run.width + 1);
    // A row's rowid follows its array header, whose size the width decides (MsgpackWriter.arrayHeader).
    const header = run.width + 1 < 0x10 ? 1 : run.width + 1 < 0x10000 ? 3 : 5;
    const frameMax = Math.min(RUN_FRAME_BYTES_MAX, this.frameBytesMax);
    let rows: Uint32Array | undefined = new Uint32Array(2 * run.count);
    for (let i = 0; i < run.count; i++) {
      if (this.runAt < 0) this.openRun(lsn + i, txn, run.table);
      let rowAt = w.length;
      let ok = writeRunRow(run, i, row, w);
      if (ok && this.runRows > 0 && w.length - this.runAt > frameMax) {
        // The frame is full: the row starts the next one.
        w.pos = w.start + rowAt;
        this.closeRun();
        this.openRun(lsn + i, txn, run.table);
        rowAt = w.length;
        ok = writeRunRow(run, i, row, w);
      }
      if (ok) {
        if (rows) {
          rows[2 * i] = rowAt + header;
          rows[2 * i + 1] = w.length;
        }
        this.runRows++;
        continue;
      }
      w.pos = w.start + rowAt;
      if (this.runRows > 0) this.closeRun();
      else w.pos = w.start + this.runAt;
      this.runAt = -1;
      row[0] = run.rowidAt(i);
      run.rowInto(i, row, 1);
      this.record({ kind: 'change', lsn: BigInt(lsn + i), txn: BigInt(txn), change: { op: 'insert', table: run.table, rowid: row[0] as number | bigint, row: row.slice(1) } });
      rows = undefined; // msgpackr wrote this one: no offsets to give
    }
    if (this.runAt >= 0) this.closeRun();
    if (rows) this.runs.set(run, rows);
    return lsn + run.count;
  }

  /** Opens an insert-run frame for rows from LSN `lsn` on: its head, and `v`'s header with room for the count. */
  private openRun(lsn: number, txn: number, table: number): void {
    const w = this.w;
    this.runAt = w.skip(FRAME_HEADER_BYTES);
    this.tableHead(5, OP_INSERT_RUN, lsn, txn, table);
    w.key(KEY_V);
    w.ensure(5);
    w.buf[w.pos++] = ARRAY32;
    this.runCountAt = w.skip(4);
    this.runRows = 0;
  }

  private closeRun(): void {
    assert(this.runRows > 0, 'a run frame holds at least one row');
    this.w.u32beAt(this.runCountAt, this.runRows);
    this.closeFrame(this.runAt, this.runRows);
    this.runAt = -1;
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
    this.lsns.push(this.lsnsSoFar + 1);
  }

  /** LSNs in the frames written so far. */
  private get lsnsSoFar(): number {
    return this.lsns.length === 0 ? 0 : this.lsns[this.lsns.length - 1]!;
  }

  /**
   * The transaction's frames: `ends[i]` is where frame i ends and `lsns[i]` how many LSNs the
   * frames up to it hold (one per record, a run frame one per row), `runs` where the rows of its
   * insert runs lie (EncodedRun). The next transaction starts empty.
   */
  finish(): { bytes: Uint8Array; ends: number[]; lsns: number[]; runs: Map<InsertRun, EncodedRun> } {
    const { ends, lsns } = this;
    const bytes = this.w.finish();
    const runs = new Map<InsertRun, EncodedRun>();
    for (const [run, at] of this.runs) runs.set(run, { bytes, at });
    this.ends = [];
    this.lsns = [];
    this.runs = new Map();
    return { bytes, ends, lsns, runs };
  }

  /** Forget the transaction in progress (after LIMIT_EXCEEDED). */
  discard(): void {
    this.w.discard();
    this.ends = [];
    this.lsns = [];
    this.runs = new Map();
    this.runAt = -1;
  }

  /** An insert record's body after its frame header; false when `row` needs msgpackr. */
  private insertBody(lsn: number, txn: number, table: number, rowid: number | bigint, row: readonly Value[]): boolean {
    this.head(6, OP_INSERT, lsn, txn, table, rowid);
    this.w.key(KEY_V);
    return this.w.row(row);
  }

  /** The map header and the fields every row change starts with: o, l, x, t, r. */
  private head(fields: number, op: number, lsn: number, txn: number, table: number, rowid: number | bigint): void {
    const w = this.w;
    this.tableHead(fields, op, lsn, txn, table);
    w.key(KEY_R);
    if (typeof rowid === 'number') w.number(rowid);
    else w.bigint(rowid);
  }

  /** The map header and the fields o, l, x, t. */
  private tableHead(fields: number, op: number, lsn: number, txn: number, table: number): void {
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
  }

  /** Closes the frame begun at unit offset `at`, which holds `lsnCount` LSNs. */
  private closeFrame(at: number, lsnCount = 1): void {
    const w = this.w;
    const end = w.length;
    this.checkFrame(end - at);
    const bodyStart = w.start + at + FRAME_HEADER_BYTES;
    w.u32leAt(at, end - at - FRAME_HEADER_BYTES);
    w.u32leAt(at + 4, crc32Range(w.buf, bodyStart, w.pos));
    this.ends.push(end);
    this.lsns.push(this.lsnsSoFar + lsnCount);
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
    const before = records.length;
    try {
      readBody(unpack(body), records);
    } catch (e) {
      records.length = before;
      const reason = e instanceof Error ? e.message : String(e);
      return { records, ends, validBytes: at, end: { kind: 'corrupt', offset: at, reason } };
    }
    at = bodyStart + length;
    for (let i = before; i < records.length; i++) ends.push(at);
  }
  return { records, ends, validBytes: at, end: { kind: 'clean' } };
}

/** Decode the records of one frame's body bytes (no header): one, or an insert run's rows; throws CORRUPT on a bad shape. */
export function decodeBody(body: Uint8Array): LogRecord[] {
  const out: LogRecord[] = [];
  readBody(unpack(body), out);
  return out;
}

/** The records of a decoded body, appended to `out`: one, or one per row of an insert run. */
function readBody(raw: unknown, out: LogRecord[]): void {
  const b = raw as Partial<Body> | null;
  if (typeof b !== 'object' || b === null || b.o !== OP_INSERT_RUN) {
    out.push(fromBody(raw));
    return;
  }
  const lsn = bigintField(b.l, 'l');
  const txn = bigintField(b.x, 'x');
  const t = table(b);
  if (!Array.isArray(b.v) || b.v.length === 0) throw corrupt('bad insert run');
  const rows = b.v as unknown[];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (!Array.isArray(r) || r.length === 0) throw corrupt('bad insert run row');
    out.push(change(lsn + BigInt(i), txn, { op: 'insert', table: t, rowid: rowidValue(r[0]), row: r.slice(1) as Value[] }));
  }
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
  return rowidValue(b.r);
}

function rowidValue(v: unknown): number | bigint {
  if (typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v))) return v;
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

