/**
 * A hand-written msgpack writer for the hot persisted shapes (log records, B-tree pages): SQL
 * values, rows, arrays and small maps with one-letter keys, written straight into one growing
 * buffer.
 *
 * Why: msgpackr's generic `pack` dispatches on every value, boxes each `Real` through its
 * extension hook (one Buffer per value) and returns one buffer per call, which the log then
 * copied into a frame. Here a whole transaction (or page) is encoded into one arena with no
 * per-value allocation.
 *
 * Compatibility: the bytes are exactly those of `base/codec.ts` (msgpackr with useRecords false):
 * the same integer widths (fixint below 0x80, then uint8/16/32, negative fixint, int8/16/32, a
 * float64 for safe integers beyond 32 bits), float64 for non-integral numbers, int64 (0xd3) for
 * bigints, minimal str and bin headers, REAL as fixext8 of type 0x52 with a big-endian double.
 * So either encoder's output decodes with `unpack`, and tests compare them byte for byte.
 * `value` refuses (returns false) anything outside the `Value` vocabulary, and callers fall back
 * to msgpackr for the whole unit then.
 *
 * Arena: bytes are written after `start`, the beginning of the unit in progress; `finish` returns
 * the unit as a view and the next unit starts after it. When the buffer fills, the unit so far
 * moves to a new, larger buffer (older units keep the old one alive through their views, which
 * are never written again), so positions inside a unit are kept relative to `start`.
 */
import { assert } from '../base/errors.js';
import { Real, type Value } from '../base/values.js';

/** Smallest arena allocated, in bytes: small units share one, like msgpackr's buffer. */
export const ARENA_BYTES_MIN = 64 * 1024;
/** Largest arena kept for the next unit once a unit is finished. */
export const ARENA_BYTES_KEEP_MAX = 1024 * 1024;
/** msgpack extension type of a REAL (see base/codec.ts). */
const REAL_EXTENSION_TYPE = 0x52;
/** Strings shorter than this are encoded by a JS loop; longer ones by TextEncoder. */
const STRING_LOOP_CHARS_MAX = 64;

const textEncoder = new TextEncoder();
/** Longest range `copy` moves byte by byte; longer ones go through a subarray and `set`. */
const COPY_LOOP_BYTES_MAX = 64;

export class MsgpackWriter {
  /** The arena; valid up to `pos`. */
  buf: Uint8Array;
  /** Where the unit in progress begins in `buf`. */
  start = 0;
  /** Next byte to write in `buf`. */
  pos = 0;
  private view: DataView;

  constructor(initialBytes = ARENA_BYTES_MIN) {
    this.buf = new Uint8Array(initialBytes);
    this.view = new DataView(this.buf.buffer);
  }

  /** Bytes written to the unit in progress. */
  get length(): number {
    return this.pos - this.start;
  }

  /** Room for `n` more bytes; may move the unit in progress to a new buffer. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const used = this.pos - this.start;
    const size = Math.max(ARENA_BYTES_MIN, 2 * (used + n));
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(this.start, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
    this.start = 0;
    this.pos = used;
  }

  /**
   * The unit in progress as a view (never written again); the next unit starts after it, in a
   * fresh small arena when this one grew past ARENA_BYTES_KEEP_MAX (one large unit must not pin
   * a large buffer for every later small one).
   */
  finish(): Uint8Array {
    const out = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    this.shrink();
    return out;
  }

  /**
   * A copy of the unit in progress, after which the arena is reused from its start: for units
   * kept long (stored pages) that should not pin a shared arena. Only when no earlier unit's
   * view is still in use.
   */
  takeCopy(): Uint8Array {
    const out = this.buf.slice(this.start, this.pos);
    this.start = 0;
    this.pos = 0;
    return out;
  }

  /** Drop the unit in progress. */
  discard(): void {
    this.pos = this.start;
    this.shrink();
  }

  /** Between units: trade an arena grown past ARENA_BYTES_KEEP_MAX for a fresh small one. */
  private shrink(): void {
    assert(this.pos === this.start, 'no unit in progress');
    if (this.buf.length <= ARENA_BYTES_KEEP_MAX) return;
    this.buf = new Uint8Array(ARENA_BYTES_MIN);
    this.view = new DataView(this.buf.buffer);
    this.start = 0;
    this.pos = 0;
  }

  /** Write 4 bytes little-endian at unit offset `at` (frame headers). */
  u32leAt(at: number, v: number): void {
    const p = this.start + at;
    assert(p + 4 <= this.pos, 'u32leAt inside the unit');
    const b = this.buf;
    b[p] = v & 0xff;
    b[p + 1] = (v >>> 8) & 0xff;
    b[p + 2] = (v >>> 16) & 0xff;
    b[p + 3] = v >>> 24;
  }

  /** Write 4 bytes big-endian at unit offset `at` (a msgpack count patched in later). */
  u32beAt(at: number, v: number): void {
    const p = this.start + at;
    assert(p + 4 <= this.pos, 'u32beAt inside the unit');
    this.view.setUint32(p, v);
  }

  /** Reserve `n` bytes (contents unspecified) and return their unit offset. */
  skip(n: number): number {
    this.ensure(n);
    const at = this.pos - this.start;
    this.pos += n;
    return at;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.byteLength);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }

  /** `src[start, end)` as they are: bytes already msgpack (rows the log wrote, copied into pages). */
  copy(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    const b = this.buf;
    // A row is a few dozen bytes: a loop costs less than the view `set` needs. (Two running
    // positions: about half the time of indexing both arrays by `at + i`, measured on Node 20.)
    if (n <= COPY_LOOP_BYTES_MAX) {
      let p = this.pos;
      for (let s = start; s < end; s++) b[p++] = src[s]!;
    } else b.set(src.subarray(start, end), this.pos);
    this.pos += n;
  }

  mapHeader(n: number): void {
    assert(n < 0x10, 'only fixmaps are written here');
    this.ensure(1);
    this.buf[this.pos++] = 0x80 | n;
  }

  /** A one-ASCII-char map key. */
  key(charCode: number): void {
    this.ensure(2);
    this.buf[this.pos++] = 0xa1;
    this.buf[this.pos++] = charCode;
  }

  arrayHeader(n: number): void {
    this.ensure(5);
    const b = this.buf;
    if (n < 0x10) b[this.pos++] = 0x90 | n;
    else if (n < 0x10000) {
      b[this.pos++] = 0xdc;
      b[this.pos++] = n >> 8;
      b[this.pos++] = n & 0xff;
    } else {
      b[this.pos++] = 0xdd;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    }
  }

  /** A JS number, with msgpackr's choice of width (see the module header). */
  number(v: number): void {
    this.ensure(9);
    const b = this.buf;
    if (v >>> 0 === v) {
      if (v < 0x80) b[this.pos++] = v;
      else if (v < 0x100) {
        b[this.pos++] = 0xcc;
        b[this.pos++] = v;
      } else if (v < 0x10000) {
        b[this.pos++] = 0xcd;
        b[this.pos++] = v >> 8;
        b[this.pos++] = v & 0xff;
      } else {
        b[this.pos++] = 0xce;
        this.view.setUint32(this.pos, v);
        this.pos += 4;
      }
    } else if (v >> 0 === v) {
      if (v >= -0x20) b[this.pos++] = 0x100 + v;
      else if (v >= -0x80) {
        b[this.pos++] = 0xd0;
        b[this.pos++] = v + 0x100;
      } else if (v >= -0x8000) {
        b[this.pos++] = 0xd1;
        this.view.setInt16(this.pos, v);
        this.pos += 2;
      } else {
        b[this.pos++] = 0xd2;
        this.view.setInt32(this.pos, v);
        this.pos += 4;
      }
    } else {
      b[this.pos++] = 0xcb;
      this.view.setFloat64(this.pos, v);
      this.pos += 8;
    }
  }

  /** An int64 bigint (the only bigints a Value holds). */
  bigint(v: bigint): void {
    assert(BigInt.asIntN(64, v) === v, 'bigint within int64');
    this.ensure(9);
    this.buf[this.pos++] = 0xd3;
    this.view.setBigInt64(this.pos, v);
    this.pos += 8;
  }

  real(v: number): void {
    this.ensure(10);
    this.buf[this.pos++] = 0xd7;
    this.buf[this.pos++] = REAL_EXTENSION_TYPE;
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }

  string(s: string): void {
    const n = s.length;
    // Like msgpackr: guess the header from the char count, fix it once the byte count is known.
    const guess = n < 0x20 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
    this.ensure(guess + 3 * n);
    const at = this.pos;
    let length: number;
    if (n < STRING_LOOP_CHARS_MAX) length = writeUtf8(s, this.buf, at + guess) - (at + guess);
    else length = textEncoder.encodeInto(s, this.buf.subarray(at + guess)).written;
    const header = length < 0x20 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
    const b = this.buf;
    if (header !== guess) b.copyWithin(at + header, at + guess, at + guess + length);
    if (header === 1) b[at] = 0xa0 | length;
    else if (header === 2) {
      b[at] = 0xd9;
      b[at + 1] = length;
    } else if (header === 3) {
      b[at] = 0xda;
      b[at + 1] = length >> 8;
      b[at + 2] = length & 0xff;
    } else {
      b[at] = 0xdb;
      this.view.setUint32(at + 1, length);
    }
    this.pos = at + header + length;
  }

  bin(v: Uint8Array): void {
    const n = v.byteLength;
    this.ensure(n + 5);
    const b = this.buf;
    if (n < 0x100) {
      b[this.pos++] = 0xc4;
      b[this.pos++] = n;
    } else if (n < 0x10000) {
      b[this.pos++] = 0xc5;
      b[this.pos++] = n >> 8;
      b[this.pos++] = n & 0xff;
    } else {
      b[this.pos++] = 0xc6;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    }
    b.set(v, this.pos);
    this.pos += n;
  }

  /** One SQL value; false (with unspecified bytes written) for anything that is not a Value. */
  value(v: Value): boolean {
    if (v === null) {
      this.ensure(1);
      this.buf[this.pos++] = 0xc0;
      return true;
    }
    switch (typeof v) {
      case 'number':
        this.number(v);
        return true;
      case 'string':
        this.string(v);
        return true;
      case 'bigint':
        if (BigInt.asIntN(64, v) !== v) return false; // not an int64 (msgpackr would pick another form)
        this.bigint(v);
        return true;
      case 'object':
        if (v instanceof Real) this.real(v.value);
        else if (v instanceof Uint8Array) this.bin(v);
        else return false;
        return true;
      default:
        return false;
    }
  }

  /** An array of values; false as for `value`. */
  row(values: readonly Value[]): boolean {
    const n = values.length;
    this.arrayHeader(n);
    for (let i = 0; i < n; i++) if (!this.value(values[i]!)) return false;
    return true;
  }

  /** An array of strings (B-tree keys). */
  strings(values: readonly string[]): void {
    const n = values.length;
    this.arrayHeader(n);
    for (let i = 0; i < n; i++) this.string(values[i]!);
  }
}

/** UTF-8 of `s` at `at` (room for 3 bytes per char is ensured); returns the end offset. */
function writeUtf8(s: string, b: Uint8Array, at: number): number {
  let p = at;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) b[p++] = c;
    else if (c < 0x800) {
      b[p++] = (c >> 6) | 0xc0;
      b[p++] = (c & 0x3f) | 0x80;
    } else if ((c & 0xfc00) === 0xd800 && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      c = 0x10000 + ((c & 0x03ff) << 10) + (s.charCodeAt(i + 1) & 0x03ff);
      i++;
      b[p++] = (c >> 18) | 0xf0;
      b[p++] = ((c >> 12) & 0x3f) | 0x80;
      b[p++] = ((c >> 6) & 0x3f) | 0x80;
      b[p++] = (c & 0x3f) | 0x80;
    } else if ((c & 0xf800) === 0xd800) {
      // A lone surrogate has no UTF-8 form: U+FFFD, as TextEncoder (and msgpackr) write.
      b[p++] = 0xef;
      b[p++] = 0xbf;
      b[p++] = 0xbd;
    } else {
      b[p++] = (c >> 12) | 0xe0;
      b[p++] = ((c >> 6) & 0x3f) | 0x80;
      b[p++] = (c & 0x3f) | 0x80;
    }
  }
  return p;
}
