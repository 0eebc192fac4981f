/**
 * Column affinity (datatype3.html §3): which affinity a declared type name carries, and what
 * storing a value into a column of that affinity does to it.
 *
 * Affinity is a preference, not a constraint: TEXT that looks entirely like a number becomes
 * INTEGER or REAL in a numeric column, an integral REAL becomes INTEGER in a NUMERIC or INTEGER
 * column, numbers become TEXT in a TEXT column, and anything else is stored as given.
 */
import { Real, real, type Value } from '../../base/values.js';
import { integerAffinity, numericAffinityOfText, toText } from './convert.js';

export type Affinity = 'INTEGER' | 'REAL' | 'NUMERIC' | 'TEXT' | 'BLOB';

/** The five ordered rules of datatype3 §3.1 (case-insensitive substring tests). */
export function affinityOfType(declaredType: string): Affinity {
  const t = declaredType.toUpperCase();
  if (t.includes('INT')) return 'INTEGER';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'TEXT';
  if (t.includes('BLOB') || t.trim() === '') return 'BLOB';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'REAL';
  return 'NUMERIC';
}

export function isNumericAffinity(a: Affinity | undefined): boolean {
  return a === 'INTEGER' || a === 'REAL' || a === 'NUMERIC';
}

/** A numeric value as REAL (what a REAL column yields when read back). */
function asReal(v: Value): Value {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? real(v) : v;
  if (typeof v === 'bigint') return real(Number(v));
  return v;
}

/** The value a column of affinity `a` stores when given `v` (SQLite's applyAffinity on insert). */
export function applyAffinity(v: Value, a: Affinity): Value {
  if (typeof v === 'number') return numberAffinity(v, a);
  if (v === null || v instanceof Uint8Array) return v;
  switch (a) {
    case 'BLOB':
      return v;
    case 'TEXT':
      return typeof v === 'string' ? v : toText(v);
    case 'INTEGER':
    case 'NUMERIC':
    case 'REAL': {
      let out: Value = v;
      if (typeof v === 'string') out = numericAffinityOfText(v, true);
      else if (v instanceof Real) out = integerAffinity(v.value);
      return a === 'REAL' ? asReal(out) : out;
    }
  }
}

/**
 * `applyAffinity` of a number: the common case of every insert, without the generic path's
 * BigInt round trip for a fractional REAL (integerAffinity leaves a non-integral value as it is,
 * and NaN becomes NULL, as SQLite stores it).
 */
function numberAffinity(v: number, a: Affinity): Value {
  if (a === 'BLOB') return v;
  if (a === 'TEXT') return toText(v);
  let out: Value = v;
  if (!Number.isSafeInteger(v)) out = v !== Math.trunc(v) ? (Number.isNaN(v) ? null : v) : integerAffinity(v);
  return a === 'REAL' ? asReal(out) : out;
}
