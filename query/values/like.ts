/**
 * LIKE and GLOB pattern matching with SQLite's rules (func.c patternCompare):
 *
 * - LIKE: `%` any sequence, `_` one character, optional ESCAPE character; case-insensitive for
 *   ASCII letters only. An ESCAPE of `%` or `_` turns that wildcard into the escape.
 * - GLOB: `*`, `?`, `[...]` classes with ranges and `^` negation (a `]` right after `[` or
 *   `[^` is literal, a `-` first or last is literal); case-sensitive.
 * - A pattern ending in a lone escape, or an unterminated `[`, matches nothing at that point.
 * - Text stops at a NUL character, as SQLite's C strings do.
 *
 * A pattern compiles once into single-character tokens plus "any sequence" tokens; matching is
 * the iterative two-pointer wildcard algorithm (resume after the last `%`), which is O(n*m) in
 * the worst case with no recursion and no backtracking blow-up. No RegExp is built.
 */
import { DosqlError } from '../../base/errors.js';
import { utf8Length } from './convert.js';

/** SQLite's default SQLITE_MAX_LIKE_PATTERN_LENGTH, in UTF-8 bytes. */
export const LIKE_PATTERN_BYTES_MAX = 50000;
/** How many compiled patterns each of the LIKE and GLOB caches keeps. */
const PATTERN_CACHE_ENTRIES_MAX = 256;

const TOKEN_ANY = 0;
const TOKEN_ONE = 1;
const TOKEN_LITERAL = 2;
const TOKEN_CLASS = 3;
const TOKEN_NEVER = 4;

interface CharClass {
  invert: boolean;
  /** Inclusive [lo, hi] pairs; single characters appear as lo === hi. */
  ranges: number[];
}

export interface PatternMatcher {
  test(text: string): boolean;
}

function codePoints(s: string): number[] {
  const nul = s.indexOf('\0');
  if (nul >= 0) s = s.slice(0, nul);
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out.push(((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000);
        i++;
        continue;
      }
    }
    out.push(c);
  }
  return out;
}

function foldAscii(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

class CompiledPattern implements PatternMatcher {
  constructor(
    private readonly kinds: number[],
    private readonly literals: number[],
    private readonly classes: (CharClass | null)[],
    private readonly noCase: boolean,
  ) {}

  private matchesChar(t: number, c: number): boolean {
    switch (this.kinds[t]) {
      case TOKEN_ONE:
        return true;
      case TOKEN_LITERAL:
        return this.literals[t] === (this.noCase ? foldAscii(c) : c);
      case TOKEN_CLASS: {
        const cls = this.classes[t]!;
        let seen = false;
        for (let k = 0; k < cls.ranges.length && !seen; k += 2) {
          seen = c >= cls.ranges[k]! && c <= cls.ranges[k + 1]!;
        }
        return seen !== cls.invert;
      }
      default:
        return false;
    }
  }

  test(text: string): boolean {
    const s = codePoints(text);
    const kinds = this.kinds;
    const m = kinds.length;
    const n = s.length;
    let p = 0;
    let i = 0;
    let starP = -1;
    let starI = 0;
    // Each step advances i, or p, or restarts from the last star with starI + 1: bounded by
    // (n + 1) * (m + 1) steps.
    while (i < n) {
      if (p < m && kinds[p] === TOKEN_ANY) {
        starP = p++;
        starI = i;
      } else if (p < m && this.matchesChar(p, s[i]!)) {
        p++;
        i++;
      } else if (starP >= 0) {
        p = starP + 1;
        i = ++starI;
      } else {
        return false;
      }
    }
    while (p < m && kinds[p] === TOKEN_ANY) p++;
    return p === m;
  }
}

function checkPatternLength(pattern: string): void {
  if (pattern.length * 3 > LIKE_PATTERN_BYTES_MAX && utf8Length(pattern) > LIKE_PATTERN_BYTES_MAX) {
    throw new DosqlError('ERROR', 'LIKE or GLOB pattern too complex');
  }
}

class Builder {
  kinds: number[] = [];
  literals: number[] = [];
  classes: (CharClass | null)[] = [];
  push(kind: number, literal = 0, cls: CharClass | null = null): void {
    if (kind === TOKEN_ANY && this.kinds[this.kinds.length - 1] === TOKEN_ANY) return;
    this.kinds.push(kind);
    this.literals.push(literal);
    this.classes.push(cls);
  }
}

/** Compile a LIKE pattern; `escape` must be one character when given. */
export function compileLike(pattern: string, escape?: string): PatternMatcher {
  checkPatternLength(pattern);
  let esc = -1;
  if (escape !== undefined) {
    const e = codePoints(escape);
    if (e.length !== 1 || escape.indexOf('\0') >= 0) {
      throw new DosqlError('ERROR', 'ESCAPE expression must be a single character');
    }
    esc = e[0]!;
  }
  const matchAll = esc === 37 ? -1 : 37; // '%'
  const matchOne = esc === 95 ? -1 : 95; // '_'
  const p = codePoints(pattern);
  const b = new Builder();
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === matchAll) b.push(TOKEN_ANY);
    else if (c === esc) {
      if (i + 1 >= p.length) {
        b.push(TOKEN_NEVER);
        break;
      }
      b.push(TOKEN_LITERAL, foldAscii(p[++i]!));
    } else if (c === matchOne) b.push(TOKEN_ONE);
    else b.push(TOKEN_LITERAL, foldAscii(c));
  }
  return new CompiledPattern(b.kinds, b.literals, b.classes, true);
}

/** Parse a GLOB class starting after '['; returns the class (or null if unterminated) and the next index. */
function parseClass(p: number[], start: number): [CharClass | null, number] {
  let i = start;
  const at = (k: number): number => (k < p.length ? p[k]! : 0);
  const ranges: number[] = [];
  let invert = false;
  let c2 = at(i++);
  if (c2 === 94) {
    invert = true;
    c2 = at(i++);
  }
  if (c2 === 93) {
    ranges.push(93, 93);
    c2 = at(i++);
  }
  let prior = 0;
  while (c2 !== 0 && c2 !== 93) {
    if (c2 === 45 && at(i) !== 93 && at(i) !== 0 && prior > 0) {
      c2 = at(i++);
      ranges.push(prior, c2);
      prior = 0;
    } else {
      ranges.push(c2, c2);
      prior = c2;
    }
    c2 = at(i++);
  }
  if (c2 === 0) return [null, p.length];
  return [{ invert, ranges }, i];
}

/** Compile a GLOB pattern. */
export function compileGlob(pattern: string): PatternMatcher {
  checkPatternLength(pattern);
  const p = codePoints(pattern);
  const b = new Builder();
  let i = 0;
  while (i < p.length) {
    const c = p[i++]!;
    if (c === 42) b.push(TOKEN_ANY);
    else if (c === 63) b.push(TOKEN_ONE);
    else if (c === 91) {
      const [cls, next] = parseClass(p, i);
      if (cls === null) {
        b.push(TOKEN_NEVER);
        break;
      }
      b.push(TOKEN_CLASS, 0, cls);
      i = next;
    } else b.push(TOKEN_LITERAL, c);
  }
  return new CompiledPattern(b.kinds, b.literals, b.classes, false);
}

const likeCache = new Map<string, PatternMatcher>();
const globCache = new Map<string, PatternMatcher>();

function cached(cache: Map<string, PatternMatcher>, key: string, make: () => PatternMatcher): PatternMatcher {
  let m = cache.get(key);
  if (m === undefined) {
    if (cache.size >= PATTERN_CACHE_ENTRIES_MAX) cache.clear();
    m = make();
    cache.set(key, m);
  }
  return m;
}

/** `text LIKE pattern [ESCAPE escape]`. */
export function like(pattern: string, text: string, escape?: string): boolean {
  const key = escape === undefined ? `N${pattern}` : `E${escape}\u0000${pattern}`;
  return cached(likeCache, key, () => compileLike(pattern, escape)).test(text);
}

/** `text GLOB pattern`. */
export function glob(pattern: string, text: string): boolean {
  return cached(globCache, pattern, () => compileGlob(pattern)).test(text);
}
