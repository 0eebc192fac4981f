/**
 * Order-preserving key encoding: a tuple of SQL values becomes a JS string whose `<` order
 * (UTF-16 code units) is SQLite's order of the tuples, so the B-tree compares keys with plain `<`
 * and never needs to know about types.
 *
 * Each component is self-delimiting, so a tuple that is a prefix of another sorts first and
 * ('a','b') < ('ab','') holds. A component opens with a type tag char whose order is SQLite's
 * order of storage classes, NULL < numbers < TEXT < BLOB:
 *
 * - NULL: the tag alone.
 * - Numbers (INTEGER and REAL together, compared numerically): the tag, then the IEEE double of
 *   the value as 8 chars 0..255, big-endian with the sign bit flipped (and every bit flipped for
 *   negatives) so that char order is numeric order, then two residual chars 0..255: for an
 *   INTEGER the exact difference `value - double(value)`, biased by RESIDUAL_BIAS. An int64 is within 2^10 of
 *   its nearest double, so int64 values that round to the same double still order exactly
 *   (2^53 + 1 > 2^53), and a REAL (residual 0) orders exactly against them. -0.0 is encoded as 0,
 *   NaN (which SQLite stores as NULL) as NULL.
 * - TEXT: the tag, the text, then a terminator '\0'. A '\0' inside the text is escaped as
 *   '\0\xff', which sorts after the terminator followed by any tag. SQLite compares TEXT by code
 *   point (BINARY on UTF-8), which differs from UTF-16 code-unit order only for astral chars
 *   (surrogate pairs, 0xD800..0xDFFF) against U+E000..U+FFFF: astral chars are written as
 *   '\uffff' + the pair, and U+FFFF itself as '\uffff\u0001', so code-unit order of the encoding
 *   is code-point order of the text. A lone surrogate is encoded as U+FFFD, which is what it
 *   becomes in UTF-8 (and in msgpack) anyway.
 * - BLOB: the tag, the bytes as chars 0..255 with the same '\0' escape, then '\0'.
 *
 * Every char of an encoding is valid UTF-16 (no lone surrogates), so keys survive msgpack. Keys
 * of numbers, ASCII text and blobs use only chars 0..255, so V8 stores them as one-byte strings,
 * which compare about 4x faster than two-byte ones (the B-tree's binary searches are hot).
 *
 * Decoding cannot tell 1 from 1.0 (they must encode identically, since SQLite holds them equal):
 * a number decodes as INTEGER when it is integral and within int64, as REAL otherwise. Callers
 * that need the exact storage class read it from the row, not the key.
 */
import { assert, DosqlError } from '../../base/errors.js';
import { Real, real, int, type Value } from '../../base/values.js';
import type { MsgpackWriter } from '../../log/msgpack.js';

const TAG_NULL = 1;
const TAG_NUMBER = 2;
const TAG_TEXT = 3;
const TAG_BLOB = 4;
const TERMINATOR = 0;
/** Second char of an escaped '\0' in TEXT or BLOB content; above every tag. */
const ESCAPED_NUL = 0xff;
/** Prefix of an astral char (and of U+FFFF) in TEXT content, so they sort above U+E000..U+FFFE. */
const HIGH_PREFIX = 0xffff;
/** Follows HIGH_PREFIX for U+FFFF itself; below any high surrogate. */
const FFFF_MARK = 1;
/** Bias of the residual: an int64 residual lies in [-1024, 1024], written as 2 chars 0..255. */
const RESIDUAL_BIAS = 1024;
/** Chars of a number after its tag: 8 for the double, 2 for the residual. */
const NUMBER_CHARS = 10;
/** Bytes converted to chars per String.fromCharCode call (argument count stays small). */
const CHARS_PER_CALL_MAX = 8192;

const NULL_KEY = String.fromCharCode(TAG_NULL);
const NEEDS_TEXT_ESCAPE = /[\0\ud800-\udfff\uffff]/;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HI = LITTLE_ENDIAN ? 1 : 0;
const LO = LITTLE_ENDIAN ? 0 : 1;

/** The key of a tuple of values; see the module header for the format. */
export function encodeKey(values: readonly Value[]): string {
  if (values.length === 1) return encodeValue(values[0]!);
  let out = '';
  for (let i = 0; i < values.length; i++) out += encodeValue(values[i]!);
  return out;
}

/** `encodeKey([rowid])` without the generic dispatch: runs once per inserted row. */
export function encodeRowidKey(rowid: number | bigint): string {
  if (typeof rowid === 'number') return encodeDouble(rowid, 0);
  return encodeBigint(rowid);
}

/**
 * Writes `encodeRowidKey(rowid)` as a msgpack string, the bytes `w.string` writes for it, without
 * making the string (bulk appends write one key per row); returns the key's length in chars.
 */
export function writeRowidKey(rowid: number | bigint, w: MsgpackWriter): number {
  if (typeof rowid !== 'number') {
    const key = encodeBigint(rowid);
    w.string(key);
    return key.length;
  }
  const words = orderedDouble(rowid);
  const hi = words[0]!;
  const lo = words[1]!;
  // The chars are 0..255, so UTF-8 takes at most 2 bytes each: at most 22 bytes, a fixstr.
  w.ensure(1 + 2 * (1 + NUMBER_CHARS));
  const b = w.buf;
  const at = w.pos;
  let p = at + 1;
  p = utf8Latin1(b, p, TAG_NUMBER);
  p = utf8Latin1(b, p, hi >>> 24);
  p = utf8Latin1(b, p, (hi >>> 16) & 255);
  p = utf8Latin1(b, p, (hi >>> 8) & 255);
  p = utf8Latin1(b, p, hi & 255);
  p = utf8Latin1(b, p, lo >>> 24);
  p = utf8Latin1(b, p, (lo >>> 16) & 255);
  p = utf8Latin1(b, p, (lo >>> 8) & 255);
  p = utf8Latin1(b, p, lo & 255);
  p = utf8Latin1(b, p, RESIDUAL_BIAS >>> 8);
  p = utf8Latin1(b, p, RESIDUAL_BIAS & 255);
  b[at] = 0xa0 | (p - at - 1);
  w.pos = p;
  return 1 + NUMBER_CHARS;
}

/** The UTF-8 of char `c` (0..255) at `p`; returns the offset after it. */
function utf8Latin1(b: Uint8Array, p: number, c: number): number {
  if (c < 0x80) {
    b[p] = c;
    return p + 1;
  }
  b[p] = 0xc0 | (c >> 6);
  b[p + 1] = 0x80 | (c & 0x3f);
  return p + 2;
}

/** One component; tuples are concatenations of these. */
export function encodeValue(v: Value): string {
  if (v === null) return NULL_KEY;
  switch (typeof v) {
    case 'number':
      return Number.isNaN(v) ? NULL_KEY : encodeDouble(v, 0);
    case 'bigint':
      return encodeBigint(v);
    case 'string':
      return encodeText(v);
    default:
      if (v instanceof Real) return Number.isNaN(v.value) ? NULL_KEY : encodeDouble(v.value, 0);
      return encodeBlob(v);
  }
}

function encodeBigint(v: bigint): string {
  const d = Number(v);
  const residual = Number(v - BigInt(d));
  assert(Math.abs(residual) <= RESIDUAL_BIAS, 'int64 residual out of range');
  return encodeDouble(d, residual);
}

/** What `orderedDouble` returns: scratch, overwritten by the next call. */
const orderedWords = new Uint32Array(2);

/**
 * The 8 bytes a number key holds after its tag, as two 32-bit words [hi, lo] whose unsigned order
 * is numeric order: the IEEE double with its sign bit flipped, or every bit for a negative; -0 as
 * +0, since they are one key. Search prefixes of number keys are taken from them (search.ts).
 */
export function orderedDouble(d: number): Uint32Array {
  f64[0] = d === 0 ? 0 : d;
  let hi = u32[HI]!;
  let lo = u32[LO]!;
  if (hi & 0x80000000) {
    hi = ~hi;
    lo = ~lo;
  } else {
    hi ^= 0x80000000;
  }
  orderedWords[0] = hi;
  orderedWords[1] = lo;
  return orderedWords;
}

function encodeDouble(d: number, residual: number): string {
  const words = orderedDouble(d);
  const hi = words[0]!;
  const lo = words[1]!;
  return String.fromCharCode(
    TAG_NUMBER,
    (hi >>> 24) & 255,
    (hi >>> 16) & 255,
    (hi >>> 8) & 255,
    hi & 255,
    (lo >>> 24) & 255,
    (lo >>> 16) & 255,
    (lo >>> 8) & 255,
    lo & 255,
    (residual + RESIDUAL_BIAS) >>> 8,
    (residual + RESIDUAL_BIAS) & 255,
  );
}

function encodeText(s: string): string {
  if (!NEEDS_TEXT_ESCAPE.test(s)) return '\u0003' + s + '\u0000';
  let out = '\u0003';
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) out += '\u0000\u00ff';
    else if (c === 0xffff) out += '\uffff\u0001';
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && isLowSurrogate(s.charCodeAt(i + 1))) {
      out += '\uffff' + s[i] + s[i + 1];
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) out += '\ufffd';
    else out += s[i];
  }
  return out + '\u0000';
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

function encodeBlob(b: Uint8Array): string {
  let out = '\u0004';
  if (b.indexOf(0) < 0) {
    for (let i = 0; i < b.length; i += CHARS_PER_CALL_MAX) {
      out += String.fromCharCode.apply(null, b.subarray(i, i + CHARS_PER_CALL_MAX) as unknown as number[]);
    }
  } else {
    for (let i = 0; i < b.length; i++) out += b[i] === 0 ? '\u0000\u00ff' : String.fromCharCode(b[i]!);
  }
  return out + '\u0000';
}

/** The tuple a key stands for; numbers as described in the module header. Throws CORRUPT. */
export function decodeKey(key: string): Value[] {
  const out: Value[] = [];
  let pos = 0;
  while (pos < key.length) {
    const tag = key.charCodeAt(pos++);
    if (tag === TAG_NULL) out.push(null);
    else if (tag === TAG_NUMBER) {
      if (pos + NUMBER_CHARS > key.length) throw corrupt(key);
      out.push(decodeNumber(key, pos));
      pos += NUMBER_CHARS;
    } else if (tag === TAG_TEXT) pos = decodeText(key, pos, out);
    else if (tag === TAG_BLOB) pos = decodeBlob(key, pos, out);
    else throw corrupt(key);
  }
  return out;
}

function corrupt(key: string): DosqlError {
  return new DosqlError('CORRUPT', `malformed B-tree key of ${key.length} chars`);
}

/**
 * The number a key of one number component holds, when its residual is 0 (every REAL, and every
 * INTEGER a double holds exactly); undefined for any other key. History blocks find a rowid's
 * chunk with it, once per lookup, so it skips decodeKey's array.
 */
export function numberOfKey(key: string): number | undefined {
  if (key.length !== 1 + NUMBER_CHARS || key.charCodeAt(0) !== TAG_NUMBER) return undefined;
  if (((key.charCodeAt(9) << 8) | key.charCodeAt(10)) !== RESIDUAL_BIAS) return undefined;
  return keyDouble(key, 1);
}

/** The double of a number component's 8 chars at `pos`. */
function keyDouble(key: string, pos: number): number {
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < 4; i++) hi = (hi << 8) | key.charCodeAt(pos + i);
  for (let i = 4; i < 8; i++) lo = (lo << 8) | key.charCodeAt(pos + i);
  if (hi & 0x80000000) hi ^= 0x80000000;
  else {
    hi = ~hi;
    lo = ~lo;
  }
  u32[HI] = hi >>> 0;
  u32[LO] = lo >>> 0;
  return f64[0]!;
}

function decodeNumber(key: string, pos: number): Value {
  const d = keyDouble(key, pos);
  const residual = ((key.charCodeAt(pos + 8) << 8) | key.charCodeAt(pos + 9)) - RESIDUAL_BIAS;
  if (residual !== 0) return int(BigInt(d) + BigInt(residual));
  if (Number.isSafeInteger(d)) return d;
  if (Number.isInteger(d) && d >= -9223372036854775808 && d < 9223372036854775808) return int(BigInt(d));
  return real(d);
}

function decodeText(key: string, pos: number, out: Value[]): number {
  const end = key.indexOf('\u0000', pos);
  if (end < 0) throw corrupt(key);
  // Fast path: nothing escaped before the terminator.
  const prefixAt = key.indexOf('\uffff', pos);
  if (key.charCodeAt(end + 1) !== ESCAPED_NUL && (prefixAt < 0 || prefixAt > end)) {
    out.push(key.slice(pos, end));
    return end + 1;
  }
  let s = '';
  for (let i = pos; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c === TERMINATOR) {
      if (key.charCodeAt(i + 1) !== ESCAPED_NUL) {
        out.push(s);
        return i + 1;
      }
      s += '\u0000';
      i++;
    } else if (c === HIGH_PREFIX) {
      if (key.charCodeAt(i + 1) === FFFF_MARK) {
        s += '\uffff';
        i++;
      } else {
        s += key.slice(i + 1, i + 3);
        i += 2;
      }
    } else s += key[i];
  }
  throw corrupt(key);
}

function decodeBlob(key: string, pos: number, out: Value[]): number {
  const bytes: number[] = [];
  for (let i = pos; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c === TERMINATOR) {
      if (key.charCodeAt(i + 1) !== ESCAPED_NUL) {
        out.push(Uint8Array.from(bytes));
        return i + 1;
      }
      bytes.push(0);
      i++;
    } else {
      if (c > 255) throw corrupt(key);
      bytes.push(c);
    }
  }
  throw corrupt(key);
}

/** Exposed for tests: the tags in storage-class order. */
export const KEY_TAGS = { null: TAG_NULL, number: TAG_NUMBER, text: TAG_TEXT, blob: TAG_BLOB } as const;
