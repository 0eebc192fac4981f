/**
 * Conversions between SQLite's storage classes, following the VDBE's own routines
 * (sqlite3VdbeIntValue, sqlite3VdbeRealValue, sqlite3VdbeMemNumerify, sqlite3VdbeMemCast) so
 * that every edge agrees with SQLite: text converts by its longest numeric prefix, REAL ->
 * INTEGER truncates and saturates, integral REALs inside +-2^51 count as INTEGER-looking, and
 * INTEGER -> REAL rounds to the nearest double.
 *
 * INTEGER values travel as safe `number` or `bigint` (see base/values.ts); internally the int64
 * helpers work in bigint and normalize with `int()` on the way out.
 */
import { INT64_MAX, INT64_MIN, Real, int, real, type Value } from '../../base/values.js';
import { affinityOfType } from './affinity.js';
import { atof, atoi64, realToText } from './fp.js';

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

/** Bytes of a BLOB read as UTF-8 text (invalid sequences become U+FFFD, as the API shows them). */
export function blobToText(b: Uint8Array): string {
  return textDecoder.decode(b);
}

export function textToBlob(s: string): Uint8Array {
  return textEncoder.encode(s);
}

/** INTEGER as bigint, for any INTEGER value representation. */
export function bigintOf(v: number | bigint): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

/** The double of a REAL value (boxed or not). */
export function realOf(v: number | Real): number {
  return v instanceof Real ? v.value : v;
}

/** SQLite's sqlite3RealToI64: truncate toward zero, saturating near the int64 limits. */
export function realToInt64(r: number): bigint {
  if (Number.isNaN(r)) return 0n;
  if (r < -9223372036854774784) return INT64_MIN;
  if (r > 9223372036854774784) return INT64_MAX;
  return BigInt(Math.trunc(r));
}

/** SQLite's sqlite3RealSameAsInt: r is 0 or exactly i with |i| < 2^51. */
export function realSameAsInt(r: number, i: bigint): boolean {
  return r === 0 || (Number(i) === r && i >= -2251799813685248n && i < 2251799813685248n);
}

/** A REAL result as SQLite stores it: NaN becomes NULL. */
export function realResult(x: number): Value {
  return Number.isNaN(x) ? null : real(x);
}

/** Text of a TEXT or BLOB value for numeric parsing. */
function textOf(v: string | Uint8Array): string {
  return typeof v === 'string' ? v : blobToText(v);
}

/** sqlite3VdbeRealValue (sqlite3_value_double): NULL -> 0, text by its numeric prefix. */
export function toDouble(v: Value): number {
  if (v === null) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Real) return v.value;
  return atof(textOf(v)).value;
}

/** sqlite3VdbeIntValue as bigint: NULL -> 0, REAL truncated and saturated, text by prefix. */
export function toInt64(v: Value): bigint {
  if (v === null) return 0n;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : realToInt64(v);
  if (typeof v === 'bigint') return v;
  if (v instanceof Real) return realToInt64(v.value);
  return atoi64(textOf(v)).value;
}

/** sqlite3_value_int64 as an INTEGER value (safe number or bigint). */
export function toInteger64(v: Value): bigint | number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  return int(toInt64(v));
}

/** INTEGER -> text in decimal; REAL -> SQLite's "%!.17g" rendering; BLOB bytes as UTF-8. */
export function toText(v: Value): string | null {
  if (v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isSafeInteger(v) ? String(v) : realToText(v);
  if (v instanceof Real) return realToText(v.value);
  return blobToText(v);
}

/** Text to INTEGER or REAL as CAST(x AS NUMERIC) does (sqlite3VdbeMemNumerify). */
function numerifyText(z: string): Value {
  const { value: r, rc } = atof(z);
  if ((rc & 2) === 0) {
    const a = atoi64(z);
    if (a.rc < 2) return int(a.value);
  }
  const ix = realToInt64(r);
  if (realSameAsInt(r, ix)) return int(ix);
  return realResult(r);
}

/** CAST(v AS NUMERIC): numbers unchanged, text/blob by longest numeric prefix (0 if none). */
export function toNumeric(v: Value): Value {
  if (v === null || typeof v === 'number' || typeof v === 'bigint' || v instanceof Real) return v;
  return numerifyText(textOf(v));
}

/**
 * The numeric class an arithmetic operator sees for an operand (computeNumericType):
 * INTEGER when the text is an integer that fits, else REAL. Numbers pass through.
 */
export function arithmeticOperand(v: Value): Value {
  if (v === null || typeof v === 'number' || typeof v === 'bigint' || v instanceof Real) return v;
  const z = textOf(v);
  const { value: r, rc } = atof(z);
  if (rc <= 0) {
    if ((rc & 2) === 0) {
      const a = atoi64(z);
      if (a.rc <= 1) return int(a.value);
    }
    return realResult(r);
  }
  if ((rc & 2) === 0) {
    const a = atoi64(z);
    if (a.rc === 0) return int(a.value);
  }
  return realResult(r);
}

/**
 * applyNumericAffinity: text that is entirely a number (whitespace aside) becomes INTEGER or
 * REAL; other text stays text. With tryForInt, an integral REAL becomes INTEGER.
 */
export function numericAffinityOfText(z: string, tryForInt: boolean): Value {
  const { value: r, rc } = atof(z);
  if (rc <= 0) return z;
  if ((rc & 2) === 0) {
    const ix = realToInt64(r);
    if (realSameAsInt(r, ix)) return int(ix);
    const a = atoi64(z);
    if (a.rc === 0) return int(a.value);
  }
  return tryForInt ? integerAffinity(r) : realResult(r);
}

/** sqlite3VdbeIntegerAffinity: an integral REAL strictly inside the int64 range becomes INTEGER. */
export function integerAffinity(r: number): Value {
  const ix = realToInt64(r);
  // Number(ix) === r also holds for -0.0, which SQLite likewise turns into INTEGER 0.
  if (Number(ix) === r && ix > INT64_MIN && ix < INT64_MAX) return int(ix);
  return realResult(r);
}

/** CAST(v AS typeName) with the affinity rules of datatype3 §3.1 for the type name. */
export function castTo(v: Value, typeName: string): Value {
  if (v === null) return null;
  switch (affinityOfType(typeName)) {
    case 'INTEGER':
      return toInteger64(v);
    case 'REAL':
      return realResult(toDouble(v));
    case 'NUMERIC':
      return toNumeric(v);
    case 'TEXT':
      return toText(v);
    case 'BLOB':
      return v instanceof Uint8Array ? v : textToBlob(toText(v)!);
  }
}

/** Bytes of a string in UTF-8 (a lone surrogate counts as the 3 bytes of U+FFFD), without encoding it. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
