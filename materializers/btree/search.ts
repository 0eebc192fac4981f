/**
 * Binary search over a page's keys by number first. Keys are strings compared by `<` (keys.ts),
 * and a point lookup compares about twenty of them on its way down: each a pointer chase to a
 * string of ~11 chars whose first 6-8 chars neighbouring keys share. A clean page (one in the
 * page cache, never modified again: making it writable copies it) gets, on its first search, the
 * numeric prefix of every key in one Float64Array; searches compare those contiguous numbers and
 * fall back to the strings only on a tie.
 *
 * The prefix of a key is its first PREFIX_CHARS chars as digits in base 257 (char + 1, and 0 past
 * the end of a shorter key), so prefix order agrees with string order: a < b when
 * prefix(a) < prefix(b), and equal prefixes mean equal first chars. Keys with a char above 255 in
 * those positions (text with non-Latin-1 chars) have no prefix: such a page is searched by string.
 *
 * A point lookup by rowid goes further (BTree.getCachedRowid): below ROWID_PREFIX_EXACT_LIMIT a
 * rowid's prefix holds its whole key, so in a tree of integer keys the search compares prefixes
 * only, computed from the number (`rowidPrefix`), and never makes or reads a key string.
 */
import { lowerBound, upperBound } from '../../storage/memory.js';
import { KEY_TAGS, orderedDouble } from './keys.js';
import type { BranchPage, LeafPage } from './page-store.js';

/** Chars in a prefix: 257^6 < 2^53, so every prefix is an exact double. */
export const PREFIX_CHARS = 6;
export const PREFIX_BASE = 257;
/** What `keyPrefix` returns for a key with a char above 255 among its first PREFIX_CHARS. */
export const NO_PREFIX = -1;
/** A page whose keys do not all have prefixes. */
const UNSEARCHABLE = new Float64Array(0);

/** The prefix of `key`'s chars from `from` on (packed leaves also take the next PREFIX_CHARS). */
export function keyPrefix(key: string, from = 0): number {
  let x = 0;
  for (let i = from; i < from + PREFIX_CHARS; i++) {
    const c = i < key.length ? key.charCodeAt(i) + 1 : 0;
    if (c > 256) return NO_PREFIX;
    x = x * PREFIX_BASE + c;
  }
  return x;
}

/**
 * Rowids below this magnitude (exclusive) have their whole key in its prefix: the prefix holds
 * the key's tag and the top 40 bits of its double (sign, exponent, 28 bits of mantissa), and an
 * integer under 2^29 has no mantissa bits below those. So in a tree whose keys are all integers
 * (a rowid table's rows), two such keys are equal exactly when their prefixes are.
 */
export const ROWID_PREFIX_EXACT_LIMIT = 2 ** 29;

/** The number key's tag as a prefix digit (keyPrefix adds one to every char). */
const NUMBER_TAG_DIGIT = KEY_TAGS.number + 1;

/**
 * `keyPrefix(encodeRowidKey(rowid))` from the number, without making the key: the tag and the
 * first five of the key's double bytes (keys.ts orderedDouble), each plus one.
 */
export function rowidPrefix(rowid: number): number {
  const words = orderedDouble(rowid);
  const hi = words[0]!;
  let x = NUMBER_TAG_DIGIT;
  x = x * PREFIX_BASE + ((hi >>> 24) & 255) + 1;
  x = x * PREFIX_BASE + ((hi >>> 16) & 255) + 1;
  x = x * PREFIX_BASE + ((hi >>> 8) & 255) + 1;
  x = x * PREFIX_BASE + (hi & 255) + 1;
  return x * PREFIX_BASE + (words[1]! >>> 24) + 1;
}

/** The first index whose prefix is > `x`: upperBoundIn when prefixes decide alone (ROWID_PREFIX_EXACT_LIMIT). */
export function upperBoundPrefix(pre: Float64Array, x: number): number {
  let lo = 0;
  let hi = pre.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pre[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index whose prefix is >= `x`: lowerBoundIn when prefixes decide alone. */
export function lowerBoundPrefix(pre: Float64Array, x: number): number {
  let lo = 0;
  let hi = pre.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pre[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The page's prefixes when it is clean and every key has one; undefined otherwise. */
export function prefixesOf(p: LeafPage | BranchPage): Float64Array | undefined {
  let pre = p.prefixes;
  if (pre === undefined) return undefined; // dirty: its keys may still change
  if (pre === null) p.prefixes = pre = keyPrefixes(p.keys);
  return pre === UNSEARCHABLE ? undefined : pre;
}

/**
 * A dirty page's search hint: its keys' prefixes as they were when last computed. A dirty page's
 * keys change in place, so the hint may be stale (a key replaced in place): whatever a search by
 * hint finds must be checked against the keys themselves (BTree.getCachedRowid). Undefined when a
 * key has no prefix, and while the hint is being earned: one is computed (a pass over the keys)
 * only when a search finds as many keys as the search before it, so a page that gains or loses
 * keys between every two searches (rows inserted and read back) is searched by its keys, as it
 * was before hints.
 */
export function hintOf(p: LeafPage | BranchPage): Float64Array | undefined {
  const h = p.hint;
  if (h === UNSEARCHABLE) return undefined;
  const n = p.keys.length;
  if (h !== undefined && h.length === n) return h;
  if (p.hintKeys !== n) {
    p.hintKeys = n;
    return undefined;
  }
  const fresh = keyPrefixes(p.keys);
  p.hint = fresh;
  return fresh === UNSEARCHABLE ? undefined : fresh;
}

/** The prefixes of `keys`, or UNSEARCHABLE when one of them has none. */
function keyPrefixes(keys: readonly string[]): Float64Array {
  const pre = new Float64Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const x = keyPrefix(keys[i]!);
    if (x === NO_PREFIX) return UNSEARCHABLE;
    pre[i] = x;
  }
  return pre;
}

/** The first index whose key is > `key` (`prefix` = keyPrefix(key)). */
export function upperBoundIn(p: LeafPage | BranchPage, key: string, prefix: number): number {
  const keys = p.keys;
  const pre = prefix === NO_PREFIX ? undefined : prefixesOf(p);
  if (pre === undefined) return upperBound(keys, key);
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const x = pre[mid]!;
    if (x < prefix || (x === prefix && keys[mid]! <= key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index whose key is >= `key` (`prefix` = keyPrefix(key)). */
export function lowerBoundIn(p: LeafPage | BranchPage, key: string, prefix: number): number {
  const keys = p.keys;
  const pre = prefix === NO_PREFIX ? undefined : prefixesOf(p);
  if (pre === undefined) return lowerBound(keys, key);
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const x = pre[mid]!;
    if (x < prefix || (x === prefix && keys[mid]! < key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
