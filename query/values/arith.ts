/**
 * SQL arithmetic, bitwise operators and `||`, as SQLite's VDBE computes them (OP_Add ...
 * OP_Remainder, OP_BitAnd ... OP_ShiftRight, OP_Concat).
 *
 * - NULL in, NULL out.
 * - TEXT/BLOB operands first become numbers (INTEGER if the text is an int64 integer, else REAL
 *   by the numeric prefix; 'abc' is 0).
 * - INTEGER op INTEGER stays INTEGER unless + - * overflow int64, which falls back to REAL
 *   arithmetic; `/` truncates toward zero; `/` or `%` by zero is NULL.
 * - `%` with a REAL operand works on the integer parts and yields REAL.
 * - A REAL result of NaN (e.g. inf - inf) is NULL.
 * - Bitwise operators work on int64 (REALs truncated, text by integer prefix).
 *
 * The common case (two safe integers) runs on doubles; only possible overflow takes BigInt.
 */
import { INT64_MAX, INT64_MIN, int, type Value } from '../../base/values.js';
import { arithmeticOperand, bigintOf, blobToText, realResult, textToBlob, toDouble, toInt64, toText } from './convert.js';

type Op = 'add' | 'sub' | 'mul' | 'div' | 'mod';

const U64_MASK = (1n << 64n) - 1n;

function isIntValue(v: Value): v is number | bigint {
  return typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v));
}

function fitsInt64(x: bigint): boolean {
  return x >= INT64_MIN && x <= INT64_MAX;
}

/** Integer arithmetic; undefined means "fall back to REAL", null means NULL. */
function intMath(op: Op, a: number | bigint, b: number | bigint): Value | undefined {
  if (typeof a === 'number' && typeof b === 'number') {
    switch (op) {
      case 'add': {
        const r = a + b;
        if (Number.isSafeInteger(r)) return r;
        break;
      }
      case 'sub': {
        const r = a - b;
        if (Number.isSafeInteger(r)) return r;
        break;
      }
      case 'mul': {
        const r = a * b;
        if (Number.isSafeInteger(r)) return r === 0 ? 0 : r; // a product of safe ints that is safe is exact
        break;
      }
      case 'div':
        if (b === 0) return null;
        return (a - (a % b)) / b + 0; // exact truncating division; + 0 turns -0 into 0
      case 'mod':
        if (b === 0) return null;
        return (a % b) + 0;
    }
  }
  const x = bigintOf(a);
  const y = bigintOf(b);
  let r: bigint;
  switch (op) {
    case 'add':
      r = x + y;
      break;
    case 'sub':
      r = x - y;
      break;
    case 'mul':
      r = x * y;
      break;
    case 'div':
      if (y === 0n) return null;
      if (y === -1n && x === INT64_MIN) return undefined;
      r = x / y;
      break;
    case 'mod':
      if (y === 0n) return null;
      r = y === -1n ? 0n : x % y;
      break;
  }
  return fitsInt64(r) ? int(r) : undefined;
}

function realMath(op: Op, a: Value, b: Value): Value {
  const x = toDouble(a);
  const y = toDouble(b);
  switch (op) {
    case 'add':
      return realResult(x + y);
    case 'sub':
      return realResult(x - y);
    case 'mul':
      return realResult(x * y);
    case 'div':
      return y === 0 ? null : realResult(x / y);
    case 'mod': {
      const ia = toInt64(a);
      let ib = toInt64(b);
      if (ib === 0n) return null;
      if (ib === -1n) ib = 1n;
      return realResult(Number(ia % ib));
    }
  }
}

function arith(op: Op, a: Value, b: Value): Value {
  if (isIntValue(a) && isIntValue(b)) {
    const r = intMath(op, a, b);
    return r === undefined ? realMath(op, a, b) : r;
  }
  if (a === null || b === null) return null;
  const x = arithmeticOperand(a);
  const y = arithmeticOperand(b);
  if (x === null || y === null) return null;
  if (isIntValue(x) && isIntValue(y)) {
    const r = intMath(op, x, y);
    if (r !== undefined) return r;
  }
  // Like the VDBE, REAL math re-reads the original operands: `%` takes their integer prefix.
  return realMath(op, a, b);
}

export function add(a: Value, b: Value): Value {
  return arith('add', a, b);
}

export function sub(a: Value, b: Value): Value {
  return arith('sub', a, b);
}

export function mul(a: Value, b: Value): Value {
  return arith('mul', a, b);
}

export function div(a: Value, b: Value): Value {
  return arith('div', a, b);
}

export function mod(a: Value, b: Value): Value {
  return arith('mod', a, b);
}

/**
 * Unary minus on a computed value: SQLite compiles `-x` as `0 - x` (literals are negated by the
 * parser instead), so -(-9223372036854775808) overflows to REAL and -'abc' is 0.
 */
export function negate(a: Value): Value {
  return sub(0, a);
}

/** Unary plus: a no-op in SQLite (it does not even convert text). */
export function unaryPlus(a: Value): Value {
  return a;
}

function toU64(x: bigint): bigint {
  return x & U64_MASK;
}

function fromU64(u: bigint): bigint {
  return BigInt.asIntN(64, u);
}

export function bitAnd(a: Value, b: Value): Value {
  if (a === null || b === null) return null;
  if (typeof a === 'number' && typeof b === 'number' && isSmallInt(a) && isSmallInt(b)) return a & b;
  return int(toInt64(a) & toInt64(b));
}

export function bitOr(a: Value, b: Value): Value {
  if (a === null || b === null) return null;
  if (typeof a === 'number' && typeof b === 'number' && isSmallInt(a) && isSmallInt(b)) return a | b;
  return int(toInt64(a) | toInt64(b));
}

function isSmallInt(x: number): boolean {
  return Number.isInteger(x) && x >= -2147483648 && x <= 2147483647;
}

function shift(left: boolean, a: Value, b: Value): Value {
  if (a === null || b === null) return null;
  const x = toInt64(a);
  let n = toInt64(b);
  if (n === 0n) return int(x);
  if (n < 0n) {
    left = !left;
    n = n > -64n ? -n : 64n;
  }
  if (n >= 64n) return left || x >= 0n ? 0 : -1;
  if (left) return int(fromU64(toU64(x) << n));
  return int(x >> n); // BigInt >> is arithmetic: sign-extends as SQLite does by hand
}

export function shiftLeft(a: Value, b: Value): Value {
  return shift(true, a, b);
}

export function shiftRight(a: Value, b: Value): Value {
  return shift(false, a, b);
}

export function bitNot(a: Value): Value {
  if (a === null) return null;
  return int(~toInt64(a));
}

/** `a || b`: NULL propagates; both sides as text (BLOB bytes read as UTF-8); result TEXT. */
export function concat(a: Value, b: Value): Value {
  if (a === null || b === null) return null;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    // Join the bytes first: a BLOB need not end on a UTF-8 character boundary.
    const x = a instanceof Uint8Array ? a : textToBlob(toText(a)!);
    const y = b instanceof Uint8Array ? b : textToBlob(toText(b)!);
    const joined = new Uint8Array(x.length + y.length);
    joined.set(x, 0);
    joined.set(y, x.length);
    return blobToText(joined);
  }
  return toText(a)! + toText(b)!;
}
