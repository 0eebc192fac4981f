/**
 * A hand-written msgpack reader for the shapes MsgpackWriter (log/msgpack.ts) writes: SQL values,
 * rows and arrays of strings. It reads one item at a time from any position in a buffer, which
 * msgpackr's `unpack` cannot do cheaply: it takes a whole buffer and costs about 0.7 us of setup
 * per call, more than decoding a row of a few values. The B-tree's packed leaves
 * (materializers/btree/packed-leaf.ts) read single rows out of a stored page with it.
 *
 * Values decode exactly as `base/codec.ts` (msgpackr with our options) decodes them: integers up
 * to 32 bits and float64 as numbers, int64 and uint64 as bigint, fixext8 0x52 as a `Real`, bin as
 * a Uint8Array (copied here, where msgpackr returns a view: a view would pin the whole page).
 * Anything else (maps, float32, other extensions, nested arrays inside a row) is outside the
 * vocabulary: the reader answers UNSUPPORTED and the caller falls back to msgpackr.
 *
 * One reader is a cursor (`buf`, `pos`); callers keep one per use and reset it, so reading
 * allocates nothing but the values it returns.
 */
import { Real, type Value } from '../base/values.js';

/** What a read returns for an item outside the vocabulary (or a truncated buffer). */
export const UNSUPPORTED: unique symbol = Symbol('UNSUPPORTED');
/** msgpack extension type of a REAL (see base/codec.ts). */
const REAL_EXTENSION_TYPE = 0x52;
/** Strings of at most this many UTF-16 code units are built by String.fromCharCode with explicit arguments. */
const SHORT_STRING_UNITS_MAX = 16;
/** Strings of at most this many bytes are decoded by a JS loop; longer ones by TextDecoder. */
const LOOP_STRING_BYTES_MAX = 64;

const EMPTY = new Uint8Array(0);
const textDecoder = new TextDecoder();
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Index in `u32` of the double's high (sign, exponent) word. */
const HI = LITTLE_ENDIAN ? 1 : 0;
const LO = 1 - HI;
const fcc = String.fromCharCode;

export class MsgpackReader {
  buf: Uint8Array = EMPTY;
  pos = 0;
  /** UTF-16 code units of the string being decoded (scratch, never shrunk). */
  private readonly units: number[] = new Array<number>(LOOP_STRING_BYTES_MAX).fill(0);

  /** Read `buf` from `pos` on. */
  reset(buf: Uint8Array, pos = 0): this {
    this.buf = buf;
    this.pos = pos;
    return this;
  }

  /** The element count of the array header at `pos`, or -1 when the item there is not an array. */
  arrayHeader(): number {
    const b = this.buf;
    const t = b[this.pos]!;
    if (t >= 0x90 && t <= 0x9f) {
      this.pos++;
      return t & 0x0f;
    }
    if (t === 0xdc) return this.uintBytes(2);
    if (t === 0xdd) return this.uintBytes(4);
    return -1;
  }

  /** The byte length of the str header at `pos`, or -1 when the item there is not a string. */
  strHeader(): number {
    const t = this.buf[this.pos]!;
    if (t >= 0xa0 && t <= 0xbf) {
      this.pos++;
      return t & 0x1f;
    }
    if (t === 0xd9) return this.uintBytes(1);
    if (t === 0xda) return this.uintBytes(2);
    if (t === 0xdb) return this.uintBytes(4);
    return -1;
  }

  /** The byte length of the bin header at `pos`, or -1. */
  binHeader(): number {
    const t = this.buf[this.pos]!;
    if (t === 0xc4) return this.uintBytes(1);
    if (t === 0xc5) return this.uintBytes(2);
    if (t === 0xc6) return this.uintBytes(4);
    return -1;
  }

  /** A number (an integer of at most 32 bits or a float64) at `pos`; UNSUPPORTED for anything else. */
  number(): number | typeof UNSUPPORTED {
    const b = this.buf;
    const t = b[this.pos]!;
    if (t < 0x80) {
      this.pos++;
      return t;
    }
    if (t >= 0xe0) {
      this.pos++;
      return t - 0x100;
    }
    switch (t) {
      case 0xcc:
        return this.uintBytes(1);
      case 0xcd:
        return this.uintBytes(2);
      case 0xce:
        return this.uintBytes(4);
      case 0xd0:
        return (this.uintBytes(1) << 24) >> 24;
      case 0xd1:
        return (this.uintBytes(2) << 16) >> 16;
      case 0xd2:
        return this.uintBytes(4) | 0;
      case 0xcb:
        this.pos++;
        return this.float64();
      default:
        return UNSUPPORTED;
    }
  }

  /** One SQL value at `pos`; UNSUPPORTED (position unspecified) outside the vocabulary. */
  value(): Value | typeof UNSUPPORTED {
    const b = this.buf;
    const t = b[this.pos]!;
    if (t < 0x80 || t >= 0xe0) return this.number();
    if (t >= 0xa0 && t <= 0xbf) {
      this.pos++;
      return this.string(t & 0x1f);
    }
    switch (t) {
      case 0xc0:
        this.pos++;
        return null;
      case 0xd9:
      case 0xda:
      case 0xdb:
        return this.string(this.strHeader());
      case 0xc4:
      case 0xc5:
      case 0xc6: {
        const n = this.binHeader();
        const at = this.pos;
        this.pos += n;
        return this.pos <= b.length ? b.slice(at, this.pos) : UNSUPPORTED;
      }
      case 0xcf:
      case 0xd3: {
        this.pos++;
        const hi = this.uint32At(this.pos);
        const lo = this.uint32At(this.pos + 4);
        this.pos += 8;
        const u = (BigInt(hi) << 32n) | BigInt(lo);
        return t === 0xd3 ? BigInt.asIntN(64, u) : u;
      }
      case 0xd7:
        if (b[this.pos + 1] !== REAL_EXTENSION_TYPE) return UNSUPPORTED;
        this.pos += 2;
        return new Real(this.float64());
      default:
        return this.number();
    }
  }

  /** An array of values at `pos`; UNSUPPORTED when it is not one or holds anything else. */
  row(): Value[] | typeof UNSUPPORTED {
    const n = this.arrayHeader();
    if (n < 0) return UNSUPPORTED;
    if (n <= 4) return this.shortRow(n);
    const out: Value[] = [];
    for (let i = 0; i < n; i++) {
      const v = this.value();
      if (v === UNSUPPORTED) return UNSUPPORTED;
      out.push(v);
    }
    return this.pos <= this.buf.length ? out : UNSUPPORTED;
  }

  /**
   * A row of at most 4 values as an array literal: exactly sized, where pushing onto [] reserves
   * 17 slots; a lookup returns one row per call, so its size is most of what the call allocates.
   */
  private shortRow(n: number): Value[] | typeof UNSUPPORTED {
    const a = n > 0 ? this.value() : null;
    const b = n > 1 ? this.value() : null;
    const c = n > 2 ? this.value() : null;
    const d = n > 3 ? this.value() : null;
    if (a === UNSUPPORTED || b === UNSUPPORTED || c === UNSUPPORTED || d === UNSUPPORTED || this.pos > this.buf.length) return UNSUPPORTED;
    return n === 4 ? [a, b, c, d] : n === 3 ? [a, b, c] : n === 2 ? [a, b] : n === 1 ? [a] : [];
  }

  /** The `n` bytes at `pos` as UTF-8 text. */
  string(n: number): string {
    const b = this.buf;
    const at = this.pos;
    this.pos += n;
    if (n > LOOP_STRING_BYTES_MAX) return textDecoder.decode(b.subarray(at, at + n));
    if (n <= SHORT_STRING_UNITS_MAX) {
      let ascii = 0;
      for (let p = at; p < at + n; p++) ascii |= b[p]!;
      if (ascii < 0x80) return asciiString(b, at, n);
    }
    const u = this.units;
    let k = 0;
    for (let p = at; p < at + n; ) {
      const c = b[p++]!;
      if (c < 0x80) u[k++] = c;
      else if ((c & 0xe0) === 0xc0) u[k++] = ((c & 0x1f) << 6) | (b[p++]! & 0x3f);
      else if ((c & 0xf0) === 0xe0) {
        u[k++] = ((c & 0x0f) << 12) | ((b[p]! & 0x3f) << 6) | (b[p + 1]! & 0x3f);
        p += 2;
      } else {
        const cp = ((c & 0x07) << 18) | ((b[p]! & 0x3f) << 12) | ((b[p + 1]! & 0x3f) << 6) | (b[p + 2]! & 0x3f);
        p += 3;
        u[k++] = 0xd800 + ((cp - 0x10000) >> 10);
        u[k++] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
      }
    }
    return k <= SHORT_STRING_UNITS_MAX ? shortString(u, k) : fcc.apply(null, u.slice(0, k));
  }

  /** Skip the string at `pos`; its length in UTF-16 code units, or -1 when it is not a string. */
  skipString(): number {
    const n = this.strHeader();
    if (n < 0 || this.pos + n > this.buf.length) return -1;
    const units = utf16Length(this.buf, this.pos, n);
    this.pos += n;
    return units;
  }

  private float64(): number {
    const p = this.pos;
    u32[HI] = this.uint32At(p);
    u32[LO] = this.uint32At(p + 4);
    this.pos += 8;
    return f64[0]!;
  }

  /** The big-endian unsigned integer of `width` bytes after the type byte at `pos`. */
  private uintBytes(width: 1 | 2 | 4): number {
    const b = this.buf;
    const p = this.pos + 1;
    this.pos = p + width;
    if (width === 1) return b[p]!;
    if (width === 2) return (b[p]! << 8) | b[p + 1]!;
    return this.uint32At(p);
  }

  private uint32At(p: number): number {
    const b = this.buf;
    return ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }
}

/** UTF-16 code units of the `n` UTF-8 bytes at `at`: one per sequence, two for a 4-byte one. */
export function utf16Length(b: Uint8Array, at: number, n: number): number {
  let units = 0;
  for (let p = at; p < at + n; p++) {
    const c = b[p]!;
    if ((c & 0xc0) !== 0x80) units += c >= 0xf0 ? 2 : 1;
  }
  return units;
}

/** The first `k` (at most SHORT_STRING_UNITS_MAX) units of `u` as a string, with no array copy. */
function shortString(u: number[], k: number): string {
  switch (k) {
    case 0: return '';
    case 1: return fcc(u[0]!);
    case 2: return fcc(u[0]!, u[1]!);
    case 3: return fcc(u[0]!, u[1]!, u[2]!);
    case 4: return fcc(u[0]!, u[1]!, u[2]!, u[3]!);
    case 5: return fcc(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!);
    case 6: return fcc(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!, u[5]!);
    case 7: return fcc(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!, u[5]!, u[6]!);
    case 8: return fcc(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!, u[5]!, u[6]!, u[7]!);
    case 9: return fcc(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!, u[5]!, u[6]!, u[7]!, u[8]!);
    case 10: return fcc(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!, u[5]!, u[6]!, u[7]!, u[8]!, u[9]!);
    case 11: return fcc(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!, u[5]!, u[6]!, u[7]!, u[8]!, u[9]!, u[10]!);
    case 12: return fcc(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!, u[5]!, u[6]!, u[7]!, u[8]!, u[9]!, u[10]!, u[11]!);
    case 13: return fcc(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!, u[5]!, u[6]!, u[7]!, u[8]!, u[9]!, u[10]!, u[11]!, u[12]!);
    case 14: return fcc(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!, u[5]!, u[6]!, u[7]!, u[8]!, u[9]!, u[10]!, u[11]!, u[12]!, u[13]!);
    case 15: return fcc(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!, u[5]!, u[6]!, u[7]!, u[8]!, u[9]!, u[10]!, u[11]!, u[12]!, u[13]!, u[14]!);
    default: return fcc(u[0]!, u[1]!, u[2]!, u[3]!, u[4]!, u[5]!, u[6]!, u[7]!, u[8]!, u[9]!, u[10]!, u[11]!, u[12]!, u[13]!, u[14]!, u[15]!);
  }
}

/** The `k` (at most SHORT_STRING_UNITS_MAX) ASCII bytes at `p` as a string, with no array copy. */
function asciiString(b: Uint8Array, p: number, k: number): string {
  switch (k) {
    case 0: return '';
    case 1: return fcc(b[p]!);
    case 2: return fcc(b[p]!, b[p+1]!);
    case 3: return fcc(b[p]!, b[p+1]!, b[p+2]!);
    case 4: return fcc(b[p]!, b[p+1]!, b[p+2]!, b[p+3]!);
    case 5: return fcc(b[p]!, b[p+1]!, b[p+2]!, b[p+3]!, b[p+4]!);
    case 6: return fcc(b[p]!, b[p+1]!, b[p+2]!, b[p+3]!, b[p+4]!, b[p+5]!);
    case 7: return fcc(b[p]!, b[p+1]!, b[p+2]!, b[p+3]!, b[p+4]!, b[p+5]!, b[p+6]!);
    case 8: return fcc(b[p]!, b[p+1]!, b[p+2]!, b[p+3]!, b[p+4]!, b[p+5]!, b[p+6]!, b[p+7]!);
    case 9: return fcc(b[p]!, b[p+1]!, b[p+2]!, b[p+3]!, b[p+4]!, b[p+5]!, b[p+6]!, b[p+7]!, b[p+8]!);
    case 10: return fcc(b[p]!, b[p+1]!, b[p+2]!, b[p+3]!, b[p+4]!, b[p+5]!, b[p+6]!, b[p+7]!, b[p+8]!, b[p+9]!);
    case 11: return fcc(b[p]!, b[p+1]!, b[p+2]!, b[p+3]!, b[p+4]!, b[p+5]!, b[p+6]!, b[p+7]!, b[p+8]!, b[p+9]!, b[p+10]!);
    case 12: return fcc(b[p]!, b[p+1]!, b[p+2]!, b[p+3]!, b[p+4]!, b[p+5]!, b[p+6]!, b[p+7]!, b[p+8]!, b[p+9]!, b[p+10]!, b[p+11]!);
    case 13: return fcc(b[p]!, b[p+1]!, b[p+2]!, b[p+3]!, b[p+4]!, b[p+5]!, b[p+6]!, b[p+7]!, b[p+8]!, b[p+9]!, b[p+10]!, b[p+11]!, b[p+12]!);
    case 14: return fcc(b[p]!, b[p+1]!, b[p+2]!, b[p+3]!, b[p+4]!, b[p+5]!, b[p+6]!, b[p+7]!, b[p+8]!, b[p+9]!, b[p+10]!, b[p+11]!, b[p+12]!, b[p+13]!);
    case 15: return fcc(b[p]!, b[p+1]!, b[p+2]!, b[p+3]!, b[p+4]!, b[p+5]!, b[p+6]!, b[p+7]!, b[p+8]!, b[p+9]!, b[p+10]!, b[p+11]!, b[p+12]!, b[p+13]!, b[p+14]!);
    default: return fcc(b[p]!, b[p+1]!, b[p+2]!, b[p+3]!, b[p+4]!, b[p+5]!, b[p+6]!, b[p+7]!, b[p+8]!, b[p+9]!, b[p+10]!, b[p+11]!, b[p+12]!, b[p+13]!, b[p+14]!, b[p+15]!);
  }
}
