/**
 * SQLite's comparison semantics (datatype3.html §4): one total order for sorting
 * (NULL < numbers < TEXT < BLOB), numbers compared exactly across int64 and doubles, TEXT by a
 * collating sequence, BLOB by memcmp; comparison operators with three-valued logic; and the
 * affinity conversions applied to operands before a comparison.
 *
 * TEXT is ordered as its UTF-8 bytes are, i.e. by code point. JavaScript compares UTF-16 code
 * units, which disagree for characters above U+FFFF versus U+E000..U+FFFF, so the first
 * differing unit is remapped before it decides.
 */
import { Real, type Value } from '../../base/values.js';
import { isNumericAffinity, type Affinity } from './affinity.js';
import { numericAffinityOfText, toDouble, toText } from './convert.js';

export type Collation = 'BINARY' | 'NOCASE' | 'RTRIM';
export type ComparisonOp = '=' | '<>' | '<' | '<=' | '>' | '>=';

/** 0 NULL, 1 numeric, 2 text, 3 blob: the class order of the total order. */
function classRank(v: Value): number {
  if (v === null) return 0;
  if (typeof v === 'string') return 2;
  if (v instanceof Uint8Array) return 3;
  return 1;
}

/** UTF-16 code unit remapped so that unit order equals code point order. */
function codePointRank(c: number): number {
  if (c >= 0xe000) return c - 0x800;
  if (c >= 0xd800) return c + 0x2000;
  return c;
}

function sign(x: number): number {
  return x < 0 ? -1 : x > 0 ? 1 : 0;
}

/** Binary (UTF-8 byte order) comparison of two strings. */
export function compareBinary(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return x < 0xd800 && y < 0xd800 ? sign(x - y) : sign(codePointRank(x) - codePointRank(y));
  }
  return sign(a.length - b.length);
}

function foldAscii(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

function compareNoCase(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = foldAscii(a.charCodeAt(i));
    const y = foldAscii(b.charCodeAt(i));
    if (x !== y) return sign(codePointRank(x) - codePointRank(y));
  }
  return sign(a.length - b.length);
}

function trimTrailingSpaces(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 32) end--;
  return end === s.length ? s : s.slice(0, end);
}

export function compareText(a: string, b: string, collation: Collation = 'BINARY'): number {
  switch (collation) {
    case 'BINARY':
      return compareBinary(a, b);
    case 'NOCASE':
      return compareNoCase(a, b);
    case 'RTRIM':
      return compareBinary(trimTrailingSpaces(a), trimTrailingSpaces(b));
  }
}

/**
 * A text folded so that texts equal under `collation` are identical, for grouping and DISTINCT
 * by hashing: NOCASE folds ASCII letters only (as SQLite's does), RTRIM drops trailing spaces.
 */
export function collationKey(v: string, collation: Collation): string {
  switch (collation) {
    case 'BINARY':
      return v;
    case 'NOCASE':
      return v.replace(/[A-Z]+/g, (m) => m.toLowerCase());
    case 'RTRIM':
      return trimTrailingSpaces(v);
  }
}

export function compareBlobs(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  }
  return sign(a.length - b.length);
}

/** sqlite3IntFloatCompare: an int64 against a double, exactly. */
function compareIntReal(i: bigint, r: number): number {
  if (r < -9223372036854775808) return 1;
  if (r >= 9223372036854775808) return -1;
  const y = BigInt(Math.trunc(r));
  if (i < y) return -1;
  if (i > y) return 1;
  const d = Number(i);
  return d < r ? -1 : d > r ? 1 : 0;
}

/** Exact numeric comparison of two INTEGER/REAL values. */
export function compareNumbers(a: number | bigint | Real, b: number | bigint | Real): number {
  const x = a instanceof Real ? a.value : a;
  const y = b instanceof Real ? b.value : b;
  if (typeof x === 'number' && typeof y === 'number') return x < y ? -1 : x > y ? 1 : 0;
  if (typeof x === 'bigint' && typeof y === 'bigint') return x < y ? -1 : x > y ? 1 : 0;
  if (typeof x === 'bigint') {
    // y is a number: a safe INTEGER compares exactly as bigint; a REAL needs the int/float rule.
    const yn = y as number;
    if (Number.isSafeInteger(yn) && !(b instanceof Real)) return x < BigInt(yn) ? -1 : x > BigInt(yn) ? 1 : 0;
    return compareIntReal(x, yn);
  }
  return -compareNumbers(b, a);
}

/** SQLite's total order (sqlite3MemCompare): negative, zero or positive. */
export function compareValues(a: Value, b: Value, collation: Collation = 'BINARY'): number {
  const ra = classRank(a);
  const rb = classRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 0:
      return 0;
    case 1:
      return compareNumbers(a as number | bigint | Real, b as number | bigint | Real);
    case 2:
      return compareText(a as string, b as string, collation);
    default:
      return compareBlobs(a as Uint8Array, b as Uint8Array);
  }
}

/** A comparison operator with three-valued logic: 1, 0, or NULL when either side is NULL. */
export function compareOp(op: ComparisonOp, a: Value, b: Value, collation?: Collation): Value {
  if (a === null || b === null) return null;
  return comparisonResult(op, compareValues(a, b, collation));
}

/** What `op` answers (1 or 0) for two values that compare as `c` (negative, zero, positive). */
export function comparisonResult(op: ComparisonOp, c: number): Value {
  switch (op) {
    case '=':
      return c === 0 ? 1 : 0;
    case '<>':
      return c !== 0 ? 1 : 0;
    case '<':
      return c < 0 ? 1 : 0;
    case '<=':
      return c <= 0 ? 1 : 0;
    case '>':
      return c > 0 ? 1 : 0;
    case '>=':
      return c >= 0 ? 1 : 0;
  }
}

/** `a = b` with three-valued logic. */
export function sqlEquals(a: Value, b: Value, collation?: Collation): Value {
  return compareOp('=', a, b, collation);
}

/** `a IS b`: NULLs compare equal, never NULL. */
export function sqlIs(a: Value, b: Value, collation?: Collation): boolean {
  return compareValues(a, b, collation) === 0;
}

/** SQLite truthiness: NULL -> null; numbers by != 0; text/blob by their numeric prefix. */
export function isTruthy(v: Value): boolean | null {
  if (v === null) return null;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'bigint') return v !== 0n;
  return toDouble(v) !== 0;
}

/**
 * The affinity a comparison applies to its operands (sqlite3CompareAffinity): NUMERIC if either
 * side has a numeric affinity and both have one; otherwise the affinity of the side that has
 * one; otherwise none.
 */
export function comparisonAffinity(left: Affinity | undefined, right: Affinity | undefined): Affinity | undefined {
  if (left !== undefined && right !== undefined) {
    return isNumericAffinity(left) || isNumericAffinity(right) ? 'NUMERIC' : undefined;
  }
  const a = left ?? right;
  return a === 'BLOB' ? undefined : a;
}

function toComparisonNumeric(v: Value): Value {
  return typeof v === 'string' ? numericAffinityOfText(v, false) : v;
}

function toComparisonText(v: Value): Value {
  if (v === null || typeof v === 'string' || v instanceof Uint8Array) return v;
  return toText(v);
}

/**
 * Convert both operands as a comparison would before comparing them (datatype3 §4.2):
 * NUMERIC turns number-looking text into numbers; TEXT turns numbers into text.
 */
export function applyComparisonAffinity(
  left: Value,
  leftAffinity: Affinity | undefined,
  right: Value,
  rightAffinity: Affinity | undefined,
): [Value, Value] {
  const aff = comparisonAffinity(leftAffinity, rightAffinity);
  if (aff === undefined) return [left, right];
  if (isNumericAffinity(aff)) return [toComparisonNumeric(left), toComparisonNumeric(right)];
  return [toComparisonText(left), toComparisonText(right)];
}
