/**
 * SQLite's core scalar functions (lang_corefunc.html), ported from func.c so that argument
 * conversions and edge cases agree: functions read their arguments the way the C API would
 * (sqlite3_value_text / _int64 / _double), text is measured in characters and BLOBs in bytes,
 * and a NUL character ends text where SQLite's C strings would.
 *
 * The table is keyed by lower-case name. Argument-count checking is the caller's job
 * (minArgs/maxArgs, -1 = any). `deterministic: false` marks functions whose result may change
 * between calls with the same arguments (random...), which the planner must not fold.
 * Randomness and time are injected through FunctionContext, never read from globals.
 * Errors a user can cause throw DosqlError('ERROR', message) with SQLite's message.
 */
import { DosqlError } from '../../base/errors.js';
import { INT64_MAX, INT64_MIN, Real, int, real, storageClass, type Value } from '../../base/values.js';
import { compareValues, isTruthy, type Collation } from './compare.js';
import {
  blobToText,
  numericAffinityOfText,
  realResult,
  textToBlob,
  toDouble,
  toInt64,
  toText,
  utf8Length,
} from './convert.js';
import { atof, formatFloat, type FloatSpec } from './fp.js';
import { glob, like } from './like.js';
import { sqlPrintf } from './printf.js';
import { DATETIME_FUNCTIONS } from './datetime.js';
import { JSON_FUNCTIONS } from './json.js';

export interface FunctionContext {
  /** 64 random bits (any bigint; the low 64 bits are used). */
  random: () => bigint;
  /** Current time in milliseconds since the epoch. */
  now: () => number;
  /** Collation of the call (for min/max/nullif); BINARY when absent. */
  collation?: Collation;
}

export interface ScalarFunction {
  minArgs: number;
  /** -1 = any number. */
  maxArgs: number;
  deterministic: boolean;
  fn: (args: Value[], ctx: FunctionContext) => Value;
}

/**
 * Largest string or BLOB a function may return, in bytes: SQLITE_LIMIT_LENGTH as better-sqlite3
 * sets it, i.e. V8's maximum string length (2^29 - 24), which also bounds a JS engine's strings.
 * substr() without a length uses it as the length, as SQLite does.
 */
export const RESULT_BYTES_MAX = 536_870_888;

function tooBig(): DosqlError {
  return new DosqlError('LIMIT_EXCEEDED', `string or blob too big (resultBytesMax ${RESULT_BYTES_MAX})`);
}

/** sqlite3_value_text with C-string semantics: text up to its first NUL. */
function cText(v: Value): string | null {
  const t = toText(v);
  if (t === null) return null;
  const nul = t.indexOf('\0');
  return nul < 0 ? t : t.slice(0, nul);
}

function codePoints(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) out.push(ch.codePointAt(0)!);
  return out;
}

function mapAscii(s: string, lower: boolean): string {
  return lower ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s.replace(/[a-z]+/g, (m) => m.toUpperCase());
}

const HEX_DIGITS = '0123456789ABCDEF';

function hexOf(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += HEX_DIGITS[b >> 4]! + HEX_DIGITS[b & 15]!;
  return out;
}

/** Bytes of a value as sqlite3_value_blob sees them. */
function bytesOf(v: Value): Uint8Array {
  if (v === null) return new Uint8Array(0);
  if (v instanceof Uint8Array) return v;
  return textToBlob(toText(v)!);
}

function abs(args: Value[]): Value {
  const v = args[0]!;
  if (v === null) return null;
  if (typeof v === 'bigint') {
    if (v === INT64_MIN) throw new DosqlError('ERROR', 'integer overflow');
    return v < 0n ? int(-v) : v;
  }
  if (typeof v === 'number' && Number.isSafeInteger(v)) return Math.abs(v);
  return real(Math.abs(toDouble(v)));
}

function length(args: Value[]): Value {
  const v = args[0]!;
  if (v === null) return null;
  if (v instanceof Uint8Array) return v.length;
  if (typeof v !== 'string') return toText(v)!.length;
  const t = cText(v)!;
  let n = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < t.length) i++;
    n++;
  }
  return n;
}

function octetLength(args: Value[]): Value {
  const v = args[0]!;
  if (v === null) return null;
  if (v instanceof Uint8Array) return v.length;
  return utf8Length(toText(v)!);
}

/** substr(X, P1 [, P2]): port of func.c substrFunc. */
function substr(args: Value[]): Value {
  const x = args[0]!;
  if (x === null) return null;
  let p1 = toInt64(args[1]!);
  let p2: bigint;
  if (args.length === 3) {
    p2 = toInt64(args[2]!);
    if (p2 === 0n && args[2] === null) return null;
  } else {
    p2 = BigInt(RESULT_BYTES_MAX);
  }
  if (p1 === 0n && args[1] === null) return null;
  const isBlob = x instanceof Uint8Array;
  if (isBlob && x.length === 0) return null; // sqlite3_value_blob gives no pointer for an empty BLOB
  const chars = isBlob ? null : codePoints(cText(x)!);
  const len = BigInt(isBlob ? x.length : chars!.length);
  if (p1 < 0n) {
    p1 += len;
    if (p1 < 0n) {
      p2 = p2 < 0n ? 0n : p2 + p1;
      p1 = 0n;
    }
  } else if (p1 > 0n) {
    p1--;
  } else if (p2 > 0n) {
    p2--;
  }
  if (p2 < 0n) {
    if (p2 < -p1) p2 = p1;
    else p2 = -p2;
    p1 -= p2;
  }
  if (isBlob) {
    if (p1 >= len) return new Uint8Array(0);
    if (p2 > len - p1) p2 = len - p1;
    return x.slice(Number(p1), Number(p1 + p2));
  }
  if (p1 >= len) return '';
  const end = p1 + p2 > len ? len : p1 + p2;
  return String.fromCodePoint(...chars!.slice(Number(p1), Number(end)));
}

function trimWith(flags: 1 | 2 | 3): (args: Value[]) => Value {
  return (args) => {
    if (args[0] === null) return null;
    const s = toText(args[0]!)!;
    let set: string[];
    if (args.length === 1) set = [' '];
    else {
      const cs = cText(args[1]!);
      if (cs === null) return null;
      set = [...cs];
    }
    if (set.length === 0) return s;
    let start = 0;
    let end = s.length;
    if (flags & 1) {
      for (;;) {
        const hit = set.find((c) => start + c.length <= end && s.startsWith(c, start));
        if (hit === undefined) break;
        start += hit.length;
      }
    }
    if (flags & 2) {
      for (;;) {
        const hit = set.find((c) => end - c.length >= start && s.startsWith(c, end - c.length));
        if (hit === undefined) break;
        end -= hit.length;
      }
    }
    return s.slice(start, end);
  };
}

function replace(args: Value[]): Value {
  // Lengths are byte counts (embedded NULs included); a pattern starting with NUL counts as empty.
  const s = toText(args[0]!);
  if (s === null) return null;
  const pattern = toText(args[1]!);
  if (pattern === null) return null;
  if (pattern === '' || pattern.charCodeAt(0) === 0) return s;
  const rep = toText(args[2]!);
  if (rep === null) return null;
  const out = s.split(pattern).join(rep);
  if (out.length > RESULT_BYTES_MAX) throw tooBig();
  return out;
}

function indexOfBytes(h: Uint8Array, n: Uint8Array): number {
  outer: for (let i = 0; i + n.length <= h.length; i++) {
    for (let k = 0; k < n.length; k++) if (h[i + k] !== n[k]) continue outer;
    return i;
  }
  return -1;
}

function instr(args: Value[]): Value {
  const h = args[0]!;
  const n = args[1]!;
  if (h === null || n === null) return null;
  if (h instanceof Uint8Array && n instanceof Uint8Array) {
    if (n.length === 0) return 1;
    return indexOfBytes(h, n) + 1;
  }
  // instr compares whole byte strings (embedded NULs included), counting characters.
  const hs = toText(h)!;
  const ns = toText(n)!;
  if (ns === '') return 1;
  const at = hs.indexOf(ns);
  if (at < 0) return 0;
  return codePoints(hs.slice(0, at)).length + 1;
}

const ROUND_SPEC: Omit<FloatSpec, 'precision'> = {
  conv: 'f',
  width: 0,
  leftJustify: false,
  prefix: '',
  alternate: false,
  altForm2: true,
  zeroPad: false,
  thousands: false,
};

function round(args: Value[]): Value {
  let n = 0n;
  if (args.length === 2) {
    if (args[1] === null) return null;
    n = toInt64(args[1]!);
    if (n > 30n) n = 30n;
    if (n < 0n) n = 0n;
  }
  if (args[0] === null) return null;
  let r = toDouble(args[0]!);
  if (r < -4503599627370496 || r > 4503599627370496) {
    // already integral
  } else if (n === 0n) {
    r = Math.trunc(r + (r < 0 ? -0.5 : 0.5));
  } else {
    r = atof(formatFloat(r, { ...ROUND_SPEC, precision: Number(n) })).value;
  }
  return realResult(r);
}

function unhex(args: Value[]): Value {
  const zHex = args[0] === null ? null : cText(args[0]!);
  const pass = args.length === 2 ? (args[1] === null ? null : cText(args[1]!)) : '';
  if (zHex === null || pass === null) return null;
  const isHex = (c: string): boolean => /^[0-9a-fA-F]$/.test(c);
  const passChars = new Set(pass);
  const out: number[] = [];
  const chars = [...zHex];
  let i = 0;
  while (i < chars.length) {
    while (!isHex(chars[i]!)) {
      if (!passChars.has(chars[i]!)) return null;
      i++;
      if (i >= chars.length) return new Uint8Array(out);
    }
    const c = chars[i++]!;
    const d = chars[i++];
    if (d === undefined || !isHex(d)) return null;
    out.push(parseInt(c + d, 16));
  }
  return new Uint8Array(out);
}

const QUOTE_REAL_SPEC: FloatSpec = {
  conv: 'g',
  precision: 17,
  width: 0,
  leftJustify: false,
  prefix: '',
  alternate: false,
  altForm2: true,
  zeroPad: true,
  thousands: false,
};

/** quote(X): an SQL literal for X (REALs with 17 digits, so they round-trip). */
export function quoteValue(v: Value): string {
  switch (storageClass(v)) {
    case 'null':
      return 'NULL';
    case 'integer':
      return String(v);
    case 'real':
      return formatFloat(v instanceof Real ? v.value : (v as number), QUOTE_REAL_SPEC);
    case 'blob':
      return `X'${hexOf(v as Uint8Array)}'`;
    case 'text':
      return `'${cText(v)!.replace(/'/g, "''")}'`;
  }
}

function minMax(isMax: boolean): (args: Value[], ctx: FunctionContext) => Value {
  return (args, ctx) => {
    let best = 0;
    for (let i = 0; i < args.length; i++) {
      if (args[i] === null) return null;
      if (i === 0) continue;
      const cmp = compareValues(args[best]!, args[i]!, ctx.collation);
      // SQLite: min takes a later equal value, max keeps the earlier one.
      if (isMax ? cmp < 0 : cmp >= 0) best = i;
    }
    return args[best]!;
  };
}

function random(_args: Value[], ctx: FunctionContext): Value {
  let r = BigInt.asIntN(64, ctx.random());
  if (r < 0n) r = -(r & INT64_MAX);
  return int(r);
}

function randomBytes(n: number, ctx: FunctionContext): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 8) {
    let r = BigInt.asUintN(64, ctx.random());
    for (let k = i; k < Math.min(n, i + 8); k++) {
      out[k] = Number(r & 0xffn);
      r >>= 8n;
    }
  }
  return out;
}

function blobSize(v: Value, min: bigint): number {
  let n = toInt64(v);
  if (n < min) n = min;
  if (n > BigInt(RESULT_BYTES_MAX)) throw tooBig();
  return Number(n);
}

function charFn(args: Value[]): Value {
  const bytes: number[] = [];
  for (const a of args) {
    let x = toInt64(a);
    if (x < 0n || x > 0x10ffffn) x = 0xfffdn;
    const c = Number(x & 0x1fffffn);
    if (c < 0x80) bytes.push(c);
    else if (c < 0x800) bytes.push(0xc0 + ((c >> 6) & 0x1f), 0x80 + (c & 0x3f));
    else if (c < 0x10000) bytes.push(0xe0 + ((c >> 12) & 0x0f), 0x80 + ((c >> 6) & 0x3f), 0x80 + (c & 0x3f));
    else bytes.push(0xf0 + ((c >> 18) & 0x07), 0x80 + ((c >> 12) & 0x3f), 0x80 + ((c >> 6) & 0x3f), 0x80 + (c & 0x3f));
  }
  return blobToText(new Uint8Array(bytes));
}

function unicode(args: Value[]): Value {
  const t = args[0] === null ? null : cText(args[0]!);
  if (t === null || t === '') return null;
  return t.codePointAt(0)!;
}

function sign(args: Value[]): Value {
  let v: Value = args[0]!;
  if (typeof v === 'string') v = numericAffinityOfText(v, false);
  if (v === null || typeof v === 'string' || v instanceof Uint8Array) return null;
  const x = toDouble(v);
  return x < 0 ? -1 : x > 0 ? 1 : 0;
}

function likeFn(args: Value[]): Value {
  const [p, s, e] = args;
  if (p instanceof Uint8Array || s instanceof Uint8Array) return 0; // SQLITE_LIKE_DOESNT_MATCH_BLOBS
  let escape: string | undefined;
  if (args.length === 3) {
    const et = cText(e!);
    if (et === null) return null;
    escape = et;
    if ([...et].length !== 1) throw new DosqlError('ERROR', 'ESCAPE expression must be a single character');
  }
  const pt = cText(p!);
  const st = cText(s!);
  if (pt === null || st === null) return null;
  return like(pt, st, escape) ? 1 : 0;
}

function globFn(args: Value[]): Value {
  const [p, s] = args;
  if (p instanceof Uint8Array || s instanceof Uint8Array) return 0;
  const pt = cText(p!);
  const st = cText(s!);
  if (pt === null || st === null) return null;
  return glob(pt, st) ? 1 : 0;
}

function concatWs(sep: string, args: Value[]): string {
  const parts: string[] = [];
  for (const a of args) if (a !== null) parts.push(toText(a)!);
  return parts.join(sep);
}

const pure = (minArgs: number, maxArgs: number, fn: ScalarFunction['fn']): ScalarFunction => ({
  minArgs,
  maxArgs,
  deterministic: true,
  fn,
});

const iif = pure(2, 3, (a) => (isTruthy(a[0]!) ? a[1]! : a.length === 3 ? a[2]! : null));

export const SCALAR_FUNCTIONS: Record<string, ScalarFunction> = {
  abs: pure(1, 1, abs),
  coalesce: pure(2, -1, (a) => a.find((v) => v !== null) ?? null),
  ifnull: pure(2, 2, (a) => (a[0] !== null ? a[0]! : a[1]!)),
  nullif: pure(2, 2, (a, ctx) => (compareValues(a[0]!, a[1]!, ctx.collation) !== 0 ? a[0]! : null)),
  iif,
  if: iif,
  length: pure(1, 1, length),
  octet_length: pure(1, 1, octetLength),
  lower: pure(1, 1, (a) => (a[0] === null ? null : mapAscii(toText(a[0]!)!, true))),
  upper: pure(1, 1, (a) => (a[0] === null ? null : mapAscii(toText(a[0]!)!, false))),
  substr: pure(2, 3, substr),
  substring: pure(2, 3, substr),
  trim: pure(1, 2, trimWith(3)),
  ltrim: pure(1, 2, trimWith(1)),
  rtrim: pure(1, 2, trimWith(2)),
  replace: pure(3, 3, replace),
  instr: pure(2, 2, instr),
  round: pure(1, 2, round),
  hex: pure(1, 1, (a) => hexOf(bytesOf(a[0]!))),
  unhex: pure(1, 2, unhex),
  quote: pure(1, 1, (a) => quoteValue(a[0]!)),
  typeof: pure(1, 1, (a) => storageClass(a[0]!)),
  printf: pure(0, -1, (a) => (a.length === 0 || a[0] === null ? null : sqlPrintf(cText(a[0]!)!, a.slice(1)))),
  format: pure(0, -1, (a) => (a.length === 0 || a[0] === null ? null : sqlPrintf(cText(a[0]!)!, a.slice(1)))),
  min: pure(2, -1, minMax(false)),
  max: pure(2, -1, minMax(true)),
  random: { minArgs: 0, maxArgs: 0, deterministic: false, fn: random },
  randomblob: {
    minArgs: 1,
    maxArgs: 1,
    deterministic: false,
    fn: (a, ctx) => randomBytes(blobSize(a[0]!, 1n), ctx),
  },
  zeroblob: pure(1, 1, (a) => new Uint8Array(blobSize(a[0]!, 0n))),
  char: pure(0, -1, charFn),
  unicode: pure(1, 1, unicode),
  sign: pure(1, 1, sign),
  likely: pure(1, 1, (a) => a[0]!),
  unlikely: pure(1, 1, (a) => a[0]!),
  likelihood: pure(2, 2, (a) => a[0]!),
  like: pure(2, 3, likeFn),
  glob: pure(2, 2, globFn),
  concat: pure(1, -1, (a) => concatWs('', a)),
  concat_ws: pure(2, -1, (a) => (a[0] === null ? null : concatWs(toText(a[0]!)!, a.slice(1)))),
  ...DATETIME_FUNCTIONS,
  ...JSON_FUNCTIONS,
};
