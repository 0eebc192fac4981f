/**
 * JSON forms of SQL values, for the plain JSON route (`POST /db/<name>/query`, docs/HTTP.md).
 *
 * JSON has numbers (doubles) and strings only, so two SQL values need a tagged form, both in
 * results and in parameters:
 * - BLOB: `{ "$blob": "<base64>" }` (standard alphabet, with padding).
 * - INTEGER outside ±(2^53 - 1): `{ "$bigint": "<decimal>" }`; inside that range a plain number.
 * - REAL that JSON cannot write (±Infinity): `{ "$real": "Infinity" }` / `"-Infinity"`.
 * LSNs are decimal strings. A REAL with an integral value is written as a plain JSON number (2.0
 * becomes 2), as the embedded API's `number` does.
 *
 * Parameters additionally accept `true`/`false` (bound as 1/0, as the embedded API does). Any
 * other object or an array is a MISMATCH error naming the parameter.
 */
import { DosqlError } from '../base/errors.js';
import { INT64_MAX, INT64_MIN, type SqlValue } from '../base/values.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Characters of a `$bigint` decimal: a sign and the 19 digits of int64. */
const BIGINT_CHARS_MAX = 20;
/** Bytes encoded per `String.fromCharCode` call, to stay under engines' argument-count limits. */
const BASE64_CHUNK_BYTES = 0x8000;

export function toJsonValue(v: SqlValue): JsonValue {
  if (v === null || typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (Number.isFinite(v)) return v;
    // NaN never comes out of the engine (it stores NULL); infinities need a tagged form.
    return { $real: v > 0 ? 'Infinity' : '-Infinity' };
  }
  if (typeof v === 'bigint') {
    return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : { $bigint: v.toString() };
  }
  return { $blob: bytesToBase64(v) };
}

/** A parameter's JSON form to the value the engine binds; `what` names it in errors. */
export function fromJsonParam(v: unknown, what: string): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return v;
  if (typeof v === 'object' && !Array.isArray(v)) {
    const keys = Object.keys(v);
    const o = v as Record<string, unknown>;
    if (keys.length === 1 && typeof o.$blob === 'string') return base64ToBytes(o.$blob, what);
    if (keys.length === 1 && typeof o.$bigint === 'string') return parseBigint(o.$bigint, what);
    if (keys.length === 1 && (o.$real === 'Infinity' || o.$real === '-Infinity')) {
      return o.$real === 'Infinity' ? Infinity : -Infinity;
    }
  }
  throw new DosqlError(
    'MISMATCH',
    `parameter ${what} has no SQL value form: use null, a number, a string, a boolean, {"$blob": base64} or {"$bigint": decimal}`,
  );
}

/** Positional (array) or named (object) parameters from JSON. */
export function fromJsonParams(params: unknown): unknown[] | Record<string, unknown> | undefined {
  if (params === undefined || params === null) return undefined;
  if (Array.isArray(params)) return params.map((p, i) => fromJsonParam(p, String(i + 1)));
  if (typeof params === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, p] of Object.entries(params)) out[k] = fromJsonParam(p, k);
    return out;
  }
  throw new DosqlError('MISUSE', 'params must be an array or an object');
}

function parseBigint(s: string, what: string): bigint | number {
  if (s.length > BIGINT_CHARS_MAX || !/^-?[0-9]+$/.test(s)) {
    throw new DosqlError('MISMATCH', `parameter ${what}: $bigint must be a decimal integer string`);
  }
  const n = BigInt(s);
  if (n > INT64_MAX || n < INT64_MIN) throw new DosqlError('RANGE', `parameter ${what}: $bigint is outside the 64-bit integer range`);
  return n;
}

export function bytesToBase64(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += BASE64_CHUNK_BYTES) {
    s += String.fromCharCode(...b.subarray(i, i + BASE64_CHUNK_BYTES));
  }
  return btoa(s);
}

export function base64ToBytes(s: string, what: string): Uint8Array {
  let bin: string;
  try {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) throw new Error('bad base64');
    bin = atob(s);
  } catch {
    throw new DosqlError('MISMATCH', `parameter ${what}: $blob must be standard base64 with padding`);
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
