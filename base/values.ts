/**
 * SQL values as DoSQL holds them in memory, in the log and in pages.
 *
 * SQLite has five storage classes: NULL, INTEGER (64-bit signed), REAL (IEEE double), TEXT and
 * BLOB. JavaScript has one number type, so INTEGER and REAL need a convention to stay apart:
 *
 * - INTEGER: a `number` that is a safe integer (|v| <= 2^53 - 1), or a `bigint` for the rest of
 *   the int64 range. A bigint inside the safe range never appears (normalize with `int`).
 * - REAL: a `number` that is NOT a safe integer (1.5, NaN is never stored, 1e300), or a `Real` box
 *   when the double is integral and within the safe range (2.0, -0.0), which a bare number
 *   would make indistinguishable from an INTEGER.
 * - TEXT: `string`. BLOB: `Uint8Array`.
 *
 * So `typeof v === 'number' && Number.isSafeInteger(v)` means INTEGER, always. Code that makes
 * a REAL from arithmetic calls `real(x)`, which boxes only when it must.
 */

export class Real {
  constructor(readonly value: number) {}
}

/** The internal value: see the module header for how INTEGER and REAL stay apart. */
export type Value = null | number | bigint | string | Uint8Array | Real;

/** The value shape users see through the API: REALs unboxed, INTEGERs number or bigint. */
export type SqlValue = null | number | bigint | string | Uint8Array;

export type StorageClass = 'null' | 'integer' | 'real' | 'text' | 'blob';

export const INT64_MAX = 9223372036854775807n;
export const INT64_MIN = -9223372036854775808n;

/** Make a REAL value from a double: boxed only when a bare number would read as an INTEGER. */
export function real(x: number): Value {
  if (Number.isSafeInteger(x) || Object.is(x, -0)) return new Real(x);
  return x;
}

/** Make an INTEGER value from a bigint, using a plain number when it is safe. */
export function int(x: bigint): number | bigint {
  return x >= -9007199254740991n && x <= 9007199254740991n ? Number(x) : x;
}

/** NULL, read through a binding so that nullRow's literals are not constant (see there). */
const NULL_CELL: Value = null;

/**
 * `n` NULLs in a packed array of exactly `n` slots. `new Array(n).fill(null)` makes a holey one,
 * and an array stays holey for good: every later read of a row that lives long (logged, stored)
 * checks for holes. Pushing into [] keeps it packed but gives it room for 17 values, which a
 * pending row keeps until COMMIT; `slice` of a packed template copies both the kind and the size.
 */
export function nullRow(n: number): Value[] {
  // Literals for the common widths: the compiler allocates them inline, where `slice` is a call.
  // Their elements are a variable, not the constant null: a literal of constants shares its
  // elements copy-on-write, and the row's first write would copy them.
  const N = NULL_CELL;
  switch (n) {
    case 1:
      return [N];
    case 2:
      return [N, N];
    case 3:
      return [N, N, N];
    case 4:
      return [N, N, N, N];
    case 5:
      return [N, N, N, N, N];
    case 6:
      return [N, N, N, N, N, N];
    case 7:
      return [N, N, N, N, N, N, N];
    case 8:
      return [N, N, N, N, N, N, N, N];
  }
  let template = nullRowTemplates[n];
  if (template === undefined) {
    template = [];
    for (let i = 0; i < n; i++) template.push(null);
    nullRowTemplates[n] = template;
  }
  return template.slice();
}
/** Per width, a packed array of that many NULLs, never handed out (nullRow copies it). */
const nullRowTemplates: Value[][] = [];

export function storageClass(v: Value): StorageClass {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'number':
      return Number.isSafeInteger(v) ? 'integer' : 'real';
    case 'bigint':
      return 'integer';
    case 'string':
      return 'text';
    default:
      return v instanceof Real ? 'real' : 'blob';
  }
}

export function isInteger(v: Value): v is number | bigint {
  return typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v));
}

export function isReal(v: Value): boolean {
  return v instanceof Real || (typeof v === 'number' && !Number.isSafeInteger(v));
}

/** The double a numeric value stands for (INTEGER or REAL); undefined for other classes. */
export function toDouble(v: Value): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Real) return v.value;
  return undefined;
}

export type IntMode = 'number' | 'bigint';

/**
 * Convert an internal value to what the API returns. With intMode 'bigint' every INTEGER is a
 * bigint; with 'number' an INTEGER outside the safe range stays a bigint rather than lose digits.
 */
export function toSqlValue(v: Value, intMode: IntMode): SqlValue {
  if (v === null) return null;
  if (typeof v === 'number') {
    if (intMode === 'bigint' && Number.isSafeInteger(v)) return BigInt(v);
    return v;
  }
  if (v instanceof Real) return v.value;
  if (v instanceof Uint8Array && v.constructor !== Uint8Array) {
    return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }
  return v;
}

/**
 * Convert a value a user bound as a parameter. A JS number that is integral is an INTEGER (as in
 * better-sqlite3); a non-integral one is a REAL. Booleans bind as 1/0.
 * Returns undefined for shapes that cannot be bound (the caller raises MISMATCH).
 */
export function fromParam(p: unknown): Value | undefined {
  if (p === null) return null;
  switch (typeof p) {
    case 'number':
      if (Number.isNaN(p)) return null;
      return p;
    case 'bigint':
      if (p > INT64_MAX || p < INT64_MIN) return undefined;
      return int(p);
    case 'string':
      return p;
    case 'boolean':
      return p ? 1 : 0;
    case 'object':
      if (p instanceof Uint8Array) return p;
      if (p instanceof ArrayBuffer) return new Uint8Array(p);
      return undefined;
    default:
      return undefined;
  }
}
