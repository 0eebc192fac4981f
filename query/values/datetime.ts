/**
 * SQLite's date and time functions (lang_datefunc.html), ported from date.c of SQLite 3.53 so
 * that parsing, modifiers and rounding agree to the millisecond.
 *
 * How it works: every time value becomes a `DateTime` that, like SQLite's, carries up to three
 * views of the same instant — `iJD` (the Julian day times 86 400 000, an integer number of
 * milliseconds), Y/M/D and h/m/s — each with a validity flag, and each view is computed from
 * another on demand with SQLite's own integer and double arithmetic (the Meeus formulas with
 * C truncation). Working in integer milliseconds of Julian day is what makes e.g.
 * '12:00:00.9999' and '+1.0005 seconds' round the way SQLite rounds.
 *
 * Determinism: 'now' reads `ctx.now()` (milliseconds since the Unix epoch), never the system
 * clock. The local time zone is UTC by definition: 'localtime' and 'utc' run SQLite's
 * algorithm against a zone with offset zero, so they normalize the value exactly as SQLite
 * does on a UTC host but never shift it. This keeps results independent of where the
 * engine runs (a Worker has no meaningful local zone anyway).
 *
 * All functions are registered `deterministic: false` because any of them may read 'now';
 * invalid input gives NULL, as in SQLite.
 */
import { real, type Value } from '../../base/values.js';
import { toText } from './convert.js';
import { atof, formatFloat } from './fp.js';
import type { FunctionContext, ScalarFunction } from './functions.js';

/** The Julian day of 1970-01-01 00:00:00, in milliseconds (SQLite's 21086676*10000000). */
const UNIX_EPOCH_JD_MS = 210866760000000;
/** The Julian day of 1970-01-01 00:00:00, in seconds. */
const UNIX_EPOCH_JD_S = 210866760000;
/** Milliseconds in a day. */
const DAY_MS = 86400000;
/** The largest valid iJD: 9999-12-31 23:59:59.999, in milliseconds of Julian day. */
const JD_MS_MAX = 464269060799999;
/** The range localtime_r handles directly (1970-01-01 .. 2038-01-18), in ms of Julian day. */
const LOCALTIME_JD_MS_MIN = 210866760000000;
const LOCALTIME_JD_MS_MAX = 213014145600000;

interface DateTime {
  iJD: number;
  Y: number;
  M: number;
  D: number;
  h: number;
  m: number;
  tz: number;
  s: number;
  validJD: boolean;
  validYMD: boolean;
  validHMS: boolean;
  nFloor: number;
  rawS: boolean;
  isError: boolean;
  useSubsec: boolean;
  isUtc: boolean;
  isLocal: boolean;
}

function blank(): DateTime {
  return {
    iJD: 0, Y: 0, M: 0, D: 0, h: 0, m: 0, tz: 0, s: 0,
    validJD: false, validYMD: false, validHMS: false, nFloor: 0,
    rawS: false, isError: false, useSubsec: false, isUtc: false, isLocal: false,
  };
}

function reset(p: DateTime): void {
  Object.assign(p, blank());
}

const idiv = (a: number, b: number): number => Math.trunc(a / b);

function isDigitAt(z: string, i: number): boolean {
  const c = z.charCodeAt(i);
  return c >= 48 && c <= 57;
}

/** sqlite3Isspace: space, \t, \n, \v, \f, \r. */
function isSpaceAt(z: string, i: number): boolean {
  const c = z.charCodeAt(i);
  return c === 32 || (c >= 9 && c <= 13);
}

const DIGIT_MAX: Record<string, number> = { a: 12, b: 14, c: 24, d: 31, e: 59, f: 14712 };

/**
 * getDigits: each spec is "N min maxCode sep" (sep '' for the last); returns the values parsed
 * before the first failure.
 */
function getDigits(z: string, at: number, format: string): number[] {
  const out: number[] = [];
  let i = at;
  for (let f = 0; f < format.length; f += 4) {
    let n = format.charCodeAt(f) - 48;
    const min = format.charCodeAt(f + 1) - 48;
    const max = DIGIT_MAX[format[f + 2]!]!;
    const sep = format[f + 3] ?? '';
    let val = 0;
    while (n-- > 0) {
      if (!isDigitAt(z, i)) return out;
      val = val * 10 + z.charCodeAt(i) - 48;
      i++;
    }
    if (val < min || val > max || (sep !== '' && z[i] !== sep)) return out;
    out.push(val);
    i++;
  }
  return out;
}

/** parseTimezone: returns true on a parse error; a missing zone is not an error. */
function parseTimezone(z: string, at: number, p: DateTime): boolean {
  let i = at;
  while (isSpaceAt(z, i)) i++;
  p.tz = 0;
  const c = z[i];
  let sgn: number;
  if (c === '-') sgn = -1;
  else if (c === '+') sgn = 1;
  else if (c === 'Z' || c === 'z') {
    i++;
    p.isLocal = false;
    p.isUtc = true;
    while (isSpaceAt(z, i)) i++;
    return i < z.length;
  } else return c !== undefined;
  i++;
  const d = getDigits(z, i, '20b:20e');
  if (d.length !== 2) return true;
  i += 5;
  p.tz = sgn * (d[1]! + d[0]! * 60);
  if (p.tz === 0) {
    p.isLocal = false;
    p.isUtc = true;
  }
  while (isSpaceAt(z, i)) i++;
  return i < z.length;
}

/** parseHhMmSs: HH:MM[:SS[.FFF]] then an optional zone; true on error. */
function parseHhMmSs(z: string, at: number, p: DateTime): boolean {
  let i = at;
  const hm = getDigits(z, i, '20c:20e');
  if (hm.length !== 2) return true;
  i += 5;
  let s = 0;
  let ms = 0;
  if (z[i] === ':') {
    i++;
    const sd = getDigits(z, i, '20e');
    if (sd.length !== 1) return true;
    s = sd[0]!;
    i += 2;
    if (z[i] === '.' && isDigitAt(z, i + 1)) {
      let scale = 1;
      i++;
      while (isDigitAt(z, i)) {
        ms = ms * 10 + z.charCodeAt(i) - 48;
        scale *= 10;
        i++;
      }
      ms /= scale;
      if (ms > 0.999) ms = 0.999;
    }
  }
  p.validJD = false;
  p.rawS = false;
  p.validHMS = true;
  p.h = hm[0]!;
  p.m = hm[1]!;
  p.s = s + ms;
  return parseTimezone(z, i, p);
}

function datetimeError(p: DateTime): void {
  reset(p);
  p.isError = true;
}

/** computeJD: from Y/M/D (default 2000-01-01) and h/m/s, Meeus page 61. */
function computeJD(p: DateTime): void {
  if (p.validJD) return;
  let Y = 2000;
  let M = 1;
  let D = 1;
  if (p.validYMD) {
    Y = p.Y;
    M = p.M;
    D = p.D;
  }
  if (Y < -4713 || Y > 9999 || p.rawS) {
    datetimeError(p);
    return;
  }
  if (M <= 2) {
    Y--;
    M += 12;
  }
  const A = idiv(Y + 4800, 100);
  const B = 38 - A + idiv(A, 4);
  const X1 = idiv(36525 * (Y + 4716), 100);
  const X2 = idiv(306001 * (M + 1), 10000);
  p.iJD = Math.trunc((X1 + X2 + D + B - 1524.5) * DAY_MS);
  p.validJD = true;
  if (p.validHMS) {
    p.iJD += p.h * 3600000 + p.m * 60000 + Math.trunc(p.s * 1000 + 0.5);
    if (p.tz) {
      p.iJD -= p.tz * 60000;
      p.validYMD = false;
      p.validHMS = false;
      p.tz = 0;
      p.isUtc = true;
      p.isLocal = false;
    }
  }
}

/** computeFloor: days past the end of the month, for the 'floor' modifier. */
function computeFloor(p: DateTime): void {
  if (p.D <= 28) p.nFloor = 0;
  else if ((1 << p.M) & 0x15aa) p.nFloor = 0;
  else if (p.M !== 2) p.nFloor = p.D === 31 ? 1 : 0;
  else if (p.Y % 4 !== 0 || (p.Y % 100 === 0 && p.Y % 400 !== 0)) p.nFloor = p.D - 28;
  else p.nFloor = p.D - 29;
}

function parseYyyyMmDd(z: string, p: DateTime): boolean {
  let i = 0;
  let neg = false;
  if (z[0] === '-') {
    i++;
    neg = true;
  }
  const ymd = getDigits(z, i, '40f-21a-21d');
  if (ymd.length !== 3) return true;
  i += 10;
  while (isSpaceAt(z, i) || z[i] === 'T') i++;
  if (!parseHhMmSs(z, i, p)) {
    // got the time
  } else if (i >= z.length) {
    p.validHMS = false;
  } else {
    return true;
  }
  p.validJD = false;
  p.validYMD = true;
  p.Y = neg ? -ymd[0]! : ymd[0]!;
  p.M = ymd[1]!;
  p.D = ymd[2]!;
  computeFloor(p);
  if (p.tz) computeJD(p);
  return false;
}

function clearYMD_HMS_TZ(p: DateTime): void {
  p.validYMD = false;
  p.validHMS = false;
  p.tz = 0;
}

function setToCurrent(ctx: FunctionContext, p: DateTime): boolean {
  p.iJD = Math.round(ctx.now()) + UNIX_EPOCH_JD_MS;
  if (p.iJD > 0) {
    p.validJD = true;
    p.isUtc = true;
    p.isLocal = false;
    clearYMD_HMS_TZ(p);
    return false;
  }
  return true;
}

function setRawDateNumber(p: DateTime, r: number): void {
  p.s = r;
  p.rawS = true;
  if (r >= 0 && r < 5373484.5) {
    p.iJD = Math.trunc(r * 86400000 + 0.5);
    p.validJD = true;
  }
}

function eqi(a: string, b: string): boolean {
  return a.length === b.length && a.toLowerCase() === b;
}

/** True on a parse error. */
function parseDateOrTime(ctx: FunctionContext, z: string, p: DateTime): boolean {
  if (!parseYyyyMmDd(z, p)) return false;
  if (!parseHhMmSs(z, 0, p)) return false;
  if (eqi(z, 'now')) return setToCurrent(ctx, p);
  const r = atof(z);
  if (r.rc > 0) {
    setRawDateNumber(p, r.value);
    return false;
  }
  if (eqi(z, 'subsec') || eqi(z, 'subsecond')) {
    p.useSubsec = true;
    return setToCurrent(ctx, p);
  }
  return true;
}

function validJulianDay(iJD: number): boolean {
  return iJD >= 0 && iJD <= JD_MS_MAX;
}

function computeYMD(p: DateTime): void {
  if (p.validYMD) return;
  if (!p.validJD) {
    p.Y = 2000;
    p.M = 1;
    p.D = 1;
  } else if (!validJulianDay(p.iJD)) {
    datetimeError(p);
    return;
  } else {
    const Z = idiv(p.iJD + 43200000, DAY_MS);
    const alpha = Math.trunc((Z + 32044.75) / 36524.25) - 52;
    const A = Z + 1 + alpha - idiv(alpha + 100, 4) + 25;
    const B = A + 1524;
    const C = Math.trunc((B - 122.1) / 365.25);
    const D = idiv(36525 * (C & 32767), 100);
    const E = Math.trunc((B - D) / 30.6001);
    const X1 = Math.trunc(30.6001 * E);
    p.D = B - D - X1;
    p.M = E < 14 ? E - 1 : E - 13;
    p.Y = p.M > 2 ? C - 4716 : C - 4715;
  }
  p.validYMD = true;
}

function computeHMS(p: DateTime): void {
  if (p.validHMS) return;
  computeJD(p);
  const dayMs = (p.iJD + 43200000) % DAY_MS;
  p.s = (dayMs % 60000) / 1000;
  const dayMin = idiv(dayMs, 60000);
  p.m = dayMin % 60;
  p.h = idiv(dayMin, 60);
  p.rawS = false;
  p.validHMS = true;
}

function computeYMD_HMS(p: DateTime): void {
  computeYMD(p);
  computeHMS(p);
}

/**
 * toLocaltime with the local zone fixed at UTC: date.c's algorithm (including its mapping of
 * years outside 1970..2037 into an equivalent year, which matters for values in an error
 * state) with gmtime standing in for localtime_r.
 */
function toLocaltime(p: DateTime): void {
  computeJD(p);
  let t: number;
  let iYearDiff = 0;
  if (p.iJD < LOCALTIME_JD_MS_MIN || p.iJD > LOCALTIME_JD_MS_MAX) {
    const x: DateTime = { ...p };
    computeYMD_HMS(x);
    iYearDiff = 2000 + (x.Y % 4) - x.Y;
    x.Y += iYearDiff;
    x.validJD = false;
    computeJD(x);
    t = idiv(x.iJD, 1000) - UNIX_EPOCH_JD_S;
  } else {
    t = idiv(p.iJD, 1000) - UNIX_EPOCH_JD_S;
  }
  const gm = blank();
  gm.iJD = (t + UNIX_EPOCH_JD_S) * 1000;
  gm.validJD = true;
  computeYMD_HMS(gm);
  p.Y = gm.Y - iYearDiff;
  p.M = gm.M;
  p.D = gm.D;
  p.h = gm.h;
  p.m = gm.m;
  p.s = Math.trunc(gm.s) + (p.iJD % 1000) * 0.001;
  p.validYMD = true;
  p.validHMS = true;
  p.validJD = false;
  p.rawS = false;
  p.tz = 0;
  p.isError = false;
}

/** 'NNN unit' transforms: name, limit (a C float), seconds per unit. */
const XFORMS: readonly { name: string; limit: number; seconds: number }[] = [
  { name: 'second', limit: Math.fround(4.6427e14), seconds: 1 },
  { name: 'minute', limit: Math.fround(7.7379e12), seconds: 60 },
  { name: 'hour', limit: Math.fround(1.2897e11), seconds: 3600 },
  { name: 'day', limit: Math.fround(5373485.0), seconds: 86400 },
  { name: 'month', limit: Math.fround(176546.0), seconds: 2592000 },
  { name: 'year', limit: Math.fround(14713.0), seconds: 31536000 },
];

function autoAdjustDate(p: DateTime): void {
  if (!p.rawS || p.validJD) {
    p.rawS = false;
  } else if (p.s >= -UNIX_EPOCH_JD_S && p.s <= 253402300799) {
    const r = p.s * 1000 + UNIX_EPOCH_JD_MS;
    clearYMD_HMS_TZ(p);
    p.iJD = Math.trunc(r + 0.5);
    p.validJD = true;
    p.rawS = false;
  }
}

/** Normalize a month that ran outside 1..12 into the year (C integer division). */
function carryMonths(p: DateTime): void {
  const x = p.M > 0 ? idiv(p.M - 1, 12) : idiv(p.M - 12, 12);
  p.Y += x;
  p.M -= x * 12;
}

/** parseModifier: true on error. `idx` is the argument position (1 = first modifier). */
function parseModifier(z: string, p: DateTime, idx: number): boolean {
  const lower = z.toLowerCase();
  switch (lower[0]) {
    case 'a':
      if (lower === 'auto') {
        if (idx > 1) return true;
        autoAdjustDate(p);
        return false;
      }
      return true;
    case 'c':
      if (lower === 'ceiling') {
        computeJD(p);
        clearYMD_HMS_TZ(p);
        p.nFloor = 0;
        return false;
      }
      return true;
    case 'f':
      if (lower === 'floor') {
        computeJD(p);
        p.iJD -= p.nFloor * DAY_MS;
        clearYMD_HMS_TZ(p);
        return false;
      }
      return true;
    case 'j':
      if (lower === 'julianday') {
        if (idx > 1) return true;
        if (p.validJD && p.rawS) {
          p.rawS = false;
          return false;
        }
      }
      return true;
    case 'l':
      if (lower === 'localtime') {
        if (!p.isLocal) toLocaltime(p);
        p.isUtc = false;
        p.isLocal = true;
        return false;
      }
      return true;
    case 'u':
      if (lower === 'unixepoch' && p.rawS) {
        if (idx > 1) return true;
        const r = p.s * 1000 + UNIX_EPOCH_JD_MS;
        if (r >= 0 && r < 464269060800000) {
          clearYMD_HMS_TZ(p);
          p.iJD = Math.trunc(r + 0.5);
          p.validJD = true;
          p.rawS = false;
          return false;
        }
        return true;
      }
      if (lower === 'utc') {
        if (!p.isUtc) {
          // With a zero offset the guess loop of date.c converges at once on the same instant.
          computeJD(p);
          const iJD = p.iJD;
          reset(p);
          p.iJD = iJD;
          p.validJD = true;
          p.isUtc = true;
          p.isLocal = false;
        }
        return false;
      }
      return true;
    case 'w':
      return weekday(lower, p);
    case 's':
      return startOf(lower, p);
    default:
      if (/^[-+0-9]/.test(z)) return numericModifier(z, p);
      return true;
  }
}

function weekday(lower: string, p: DateTime): boolean {
  if (!lower.startsWith('weekday ')) return true;
  const a = atof(lower.slice(8));
  const r = a.value;
  if (!(a.rc > 0 && r >= 0 && r < 7 && Math.trunc(r) === r)) return true;
  computeYMD_HMS(p);
  p.tz = 0;
  p.validJD = false;
  computeJD(p);
  let Z = idiv(p.iJD + 129600000, DAY_MS) % 7;
  if (Z > r) Z -= 7;
  p.iJD += (r - Z) * DAY_MS;
  clearYMD_HMS_TZ(p);
  return false;
}

function startOf(lower: string, p: DateTime): boolean {
  if (!lower.startsWith('start of ')) {
    if (lower === 'subsec' || lower === 'subsecond') {
      p.useSubsec = true;
      return false;
    }
    return true;
  }
  if (!p.validJD && !p.validYMD && !p.validHMS) return true;
  computeYMD(p);
  p.validHMS = true;
  p.h = 0;
  p.m = 0;
  p.s = 0;
  p.rawS = false;
  p.tz = 0;
  p.validJD = false;
  const what = lower.slice(9);
  if (what === 'month') {
    p.D = 1;
    return false;
  }
  if (what === 'year') {
    p.M = 1;
    p.D = 1;
    return false;
  }
  return what !== 'day';
}

/** '±NNN unit', '±HH:MM[:SS.FFF]' and '±YYYY-MM-DD[ HH:MM[:SS.FFF]]'. */
function numericModifier(z: string, p: DateTime): boolean {
  const z0 = z[0];
  let n = 1;
  for (; n < z.length; n++) {
    if (z[n] === ':' || isSpaceAt(z, n)) break;
    if (z[n] === '-') {
      if (n === 5 && getDigits(z, 1, '40f').length === 1) break;
      if (n === 6 && getDigits(z, 1, '50f').length === 1) break;
    }
  }
  const a = atof(z.slice(0, n));
  if (a.rc <= 0) return true;
  let r = a.value;
  let z2 = z;
  let n2 = n;
  if (z[n] === '-') {
    if (z0 !== '+' && z0 !== '-') return true;
    let ymd: number[];
    let zz = z;
    if (n === 5) {
      ymd = getDigits(z, 1, '40f-20a-20d');
      if (ymd.length !== 3) return true;
    } else {
      ymd = getDigits(z, 1, '50f-20a-20d');
      if (ymd.length !== 3) return true;
      zz = z.slice(1);
    }
    const [Y, M] = ymd as [number, number, number];
    let D = ymd[2]!;
    if (M >= 12 || D >= 31) return true;
    computeYMD_HMS(p);
    p.validJD = false;
    if (z0 === '-') {
      p.Y -= Y;
      p.M -= M;
      D = -D;
    } else {
      p.Y += Y;
      p.M += M;
    }
    carryMonths(p);
    computeFloor(p);
    computeJD(p);
    p.validHMS = false;
    p.validYMD = false;
    p.iJD += D * DAY_MS;
    if (zz.length <= 11) return false;
    if (isSpaceAt(zz, 11) && getDigits(zz, 12, '20c:20e').length === 2) {
      z2 = zz.slice(12);
      n2 = 2;
    } else {
      return true;
    }
  }
  if (z2[n2] === ':') {
    let at = 0;
    if (!isDigitAt(z2, 0)) at = 1;
    const tx = blank();
    if (parseHhMmSs(z2, at, tx)) return true;
    computeJD(tx);
    tx.iJD -= 43200000;
    const day = idiv(tx.iJD, DAY_MS);
    tx.iJD -= day * DAY_MS;
    if (z0 === '-') tx.iJD = -tx.iJD;
    computeJD(p);
    clearYMD_HMS_TZ(p);
    p.iJD += tx.iJD;
    return false;
  }
  let rest = z.slice(n);
  let k = 0;
  while (isSpaceAt(rest, k)) k++;
  rest = rest.slice(k);
  let len = rest.length;
  if (len < 3 || len > 10) return true;
  if (rest[len - 1] === 's' || rest[len - 1] === 'S') len--;
  const unit = rest.slice(0, len).toLowerCase();
  computeJD(p);
  const rounder = r < 0 ? -0.5 : 0.5;
  p.nFloor = 0;
  let rc = true;
  for (let i = 0; i < XFORMS.length; i++) {
    const xf = XFORMS[i]!;
    if (xf.name !== unit || !(r > -xf.limit && r < xf.limit)) continue;
    if (i === 4) {
      computeYMD_HMS(p);
      p.M += Math.trunc(r);
      carryMonths(p);
      computeFloor(p);
      p.validJD = false;
      r -= Math.trunc(r);
    } else if (i === 5) {
      computeYMD_HMS(p);
      p.Y += Math.trunc(r);
      computeFloor(p);
      p.validJD = false;
      r -= Math.trunc(r);
    }
    computeJD(p);
    p.iJD += Math.trunc(r * 1000 * xf.seconds + rounder);
    rc = false;
    break;
  }
  clearYMD_HMS_TZ(p);
  return rc;
}

/** sqlite3_value_text with C-string semantics (text ends at a NUL). */
function cText(v: Value): string | null {
  const t = toText(v);
  if (t === null) return null;
  const nul = t.indexOf('\0');
  return nul < 0 ? t : t.slice(0, nul);
}

/** isDate: the DateTime for (time value, modifiers...), or null when SQLite returns NULL. */
function isDate(args: readonly Value[], ctx: FunctionContext): DateTime | null {
  const p = blank();
  if (args.length === 0) return setToCurrent(ctx, p) ? null : p;
  const v0 = args[0]!;
  if (typeof v0 === 'number' || typeof v0 === 'bigint' || (v0 !== null && typeof v0 === 'object' && !(v0 instanceof Uint8Array))) {
    const d = typeof v0 === 'object' ? v0.value : Number(v0);
    setRawDateNumber(p, d);
  } else {
    const z = cText(v0);
    if (z === null || parseDateOrTime(ctx, z, p)) return null;
  }
  for (let i = 1; i < args.length; i++) {
    const z = cText(args[i]!);
    if (z === null || parseModifier(z, p, i)) return null;
  }
  computeJD(p);
  if (p.isError || !validJulianDay(p.iJD)) return null;
  if (args.length === 1 && p.validYMD && p.D > 28) p.validYMD = false;
  return p;
}

/** C's "%0Nd" / "%Nd". */
function pad(n: number, width: number, zero = true): string {
  const neg = n < 0;
  let s = String(Math.abs(n));
  const w = neg ? width - 1 : width;
  if (zero) {
    while (s.length < w) s = '0' + s;
    return neg ? '-' + s : s;
  }
  s = (neg ? '-' : '') + s;
  while (s.length < width) s = ' ' + s;
  return s;
}

function fmt(value: number, conv: 'f' | 'g', precision: number, width = 0): string {
  return formatFloat(value, {
    conv, precision, width, leftJustify: false, prefix: '', alternate: false, altForm2: false,
    zeroPad: width > 0, thousands: false,
  });
}

/** The four-digit year with its sign, as datetime() and date() write it. */
function yearText(Y: number): string {
  const a = Math.abs(Y);
  const digits = String(Math.trunc(a / 1000) % 10) + String(Math.trunc(a / 100) % 10) + String(Math.trunc(a / 10) % 10) + String(a % 10);
  return Y < 0 ? '-' + digits : digits;
}

function two(n: number): string {
  return String(Math.trunc(n / 10) % 10) + String(n % 10);
}

function secondsText(x: DateTime): string {
  if (x.useSubsec) {
    const s = Math.trunc(1000 * x.s + 0.5);
    return two(Math.trunc(s / 1000)) + '.' + String(Math.trunc(s / 100) % 10) + two(s % 100);
  }
  return two(Math.trunc(x.s));
}

function dateText(x: DateTime): string {
  computeYMD(x);
  return `${yearText(x.Y)}-${two(x.M)}-${two(x.D)}`;
}

function timeText(x: DateTime): string {
  computeHMS(x);
  return `${two(x.h)}:${two(x.m)}:${secondsText(x)}`;
}

function datetimeText(x: DateTime): string {
  computeYMD_HMS(x);
  return `${dateText(x)} ${timeText(x)}`;
}

function daysAfterJan01(x: DateTime): number {
  const jan01: DateTime = { ...x, validJD: false, M: 1, D: 1 };
  computeJD(jan01);
  return idiv(x.iJD - jan01.iJD + 43200000, DAY_MS);
}

function daysAfterMonday(x: DateTime): number {
  return idiv(x.iJD + 43200000, DAY_MS) % 7;
}

function daysAfterSunday(x: DateTime): number {
  return idiv(x.iJD + 129600000, DAY_MS) % 7;
}

/** The Thursday of x's ISO week, with its Y/M/D computed (for %G %g %V). */
function isoThursday(x: DateTime): DateTime {
  const y: DateTime = { ...x };
  y.iJD += (3 - daysAfterMonday(x)) * DAY_MS;
  y.validYMD = false;
  computeYMD(y);
  return y;
}

function unixSeconds(x: DateTime): number {
  return idiv(x.iJD, 1000) - UNIX_EPOCH_JD_S;
}

/** strftime: null when the format has an unknown conversion (SQLite returns NULL). */
function strftime(fmtText: string, x: DateTime): string | null {
  computeJD(x);
  computeYMD_HMS(x);
  let out = '';
  for (let i = 0; i < fmtText.length; i++) {
    const ch = fmtText[i]!;
    if (ch !== '%') {
      out += ch;
      continue;
    }
    i++;
    const cf = fmtText[i];
    switch (cf) {
      case 'd':
      case 'e':
        out += pad(x.D, 2, cf === 'd');
        break;
      case 'f':
        out += fmt(Math.min(x.s, 59.999), 'f', 3, 6);
        break;
      case 'F':
        out += `${pad(x.Y, 4)}-${pad(x.M, 2)}-${pad(x.D, 2)}`;
        break;
      case 'G':
      case 'g': {
        const y = isoThursday(x);
        out += cf === 'g' ? pad(y.Y % 100, 2) : pad(y.Y, 4);
        break;
      }
      case 'H':
      case 'k':
        out += pad(x.h, 2, cf === 'H');
        break;
      case 'I':
      case 'l': {
        let h = x.h;
        if (h > 12) h -= 12;
        if (h === 0) h = 12;
        out += pad(h, 2, cf === 'I');
        break;
      }
      case 'j':
        out += pad(daysAfterJan01(x) + 1, 3);
        break;
      case 'J':
        out += fmt(x.iJD / DAY_MS, 'g', 16);
        break;
      case 'm':
        out += pad(x.M, 2);
        break;
      case 'M':
        out += pad(x.m, 2);
        break;
      case 'p':
      case 'P':
        out += x.h >= 12 ? (cf === 'p' ? 'PM' : 'pm') : cf === 'p' ? 'AM' : 'am';
        break;
      case 'R':
        out += `${pad(x.h, 2)}:${pad(x.m, 2)}`;
        break;
      case 's':
        out += x.useSubsec ? fmt((x.iJD - UNIX_EPOCH_JD_MS) / 1000, 'f', 3) : String(unixSeconds(x));
        break;
      case 'S':
        out += pad(Math.trunc(x.s), 2);
        break;
      case 'T':
        out += `${pad(x.h, 2)}:${pad(x.m, 2)}:${pad(Math.trunc(x.s), 2)}`;
        break;
      case 'u':
      case 'w': {
        const c = daysAfterSunday(x);
        out += c === 0 && cf === 'u' ? '7' : String(c);
        break;
      }
      case 'U':
        out += pad(idiv(daysAfterJan01(x) - daysAfterSunday(x) + 7, 7), 2);
        break;
      case 'V':
        out += pad(idiv(daysAfterJan01(isoThursday(x)), 7) + 1, 2);
        break;
      case 'W':
        out += pad(idiv(daysAfterJan01(x) - daysAfterMonday(x) + 7, 7), 2);
        break;
      case 'Y':
        out += pad(x.Y, 4);
        break;
      case '%':
        out += '%';
        break;
      default:
        return null;
    }
  }
  return out;
}

/** timediff(A, B): '+YYYY-MM-DD HH:MM:SS.SSS' to add to B to reach A. */
function timediff(args: Value[], ctx: FunctionContext): Value {
  const d1 = isDate([args[0]!], ctx);
  if (d1 === null) return null;
  const d2 = isDate([args[1]!], ctx);
  if (d2 === null) return null;
  computeYMD_HMS(d1);
  computeYMD_HMS(d2);
  let sign: string;
  let Y: number;
  let M: number;
  const recompute = (): void => {
    d2.validJD = false;
    computeJD(d2);
  };
  const loopMax = 24; // at most a couple of month steps are ever needed
  if (d1.iJD >= d2.iJD) {
    sign = '+';
    Y = d1.Y - d2.Y;
    if (Y) {
      d2.Y = d1.Y;
      recompute();
    }
    M = d1.M - d2.M;
    if (M < 0) {
      Y--;
      M += 12;
    }
    if (M !== 0) {
      d2.M = d1.M;
      recompute();
    }
    for (let k = 0; d1.iJD < d2.iJD && k < loopMax; k++) {
      M--;
      if (M < 0) {
        M = 11;
        Y--;
      }
      d2.M--;
      if (d2.M < 1) {
        d2.M = 12;
        d2.Y--;
      }
      recompute();
    }
    d1.iJD -= d2.iJD;
  } else {
    sign = '-';
    Y = d2.Y - d1.Y;
    if (Y) {
      d2.Y = d1.Y;
      recompute();
    }
    M = d2.M - d1.M;
    if (M < 0) {
      Y--;
      M += 12;
    }
    if (M !== 0) {
      d2.M = d1.M;
      recompute();
    }
    for (let k = 0; d1.iJD > d2.iJD && k < loopMax; k++) {
      M--;
      if (M < 0) {
        M = 11;
        Y--;
      }
      d2.M++;
      if (d2.M > 12) {
        d2.M = 1;
        d2.Y++;
      }
      recompute();
    }
    d1.iJD = d2.iJD - d1.iJD;
  }
  d1.iJD += 148699540800000;
  clearYMD_HMS_TZ(d1);
  computeYMD_HMS(d1);
  return `${sign}${pad(Y, 4)}-${pad(M, 2)}-${pad(d1.D - 1, 2)} ${pad(d1.h, 2)}:${pad(d1.m, 2)}:${fmt(d1.s, 'f', 3, 6)}`;
}

type DateFn = (args: Value[], ctx: FunctionContext) => Value;

const withDate =
  (render: (x: DateTime) => Value): DateFn =>
  (args, ctx) => {
    const x = isDate(args, ctx);
    return x === null ? null : render(x);
  };

const julianday = withDate((x) => {
  computeJD(x);
  return real(x.iJD / DAY_MS);
});

const unixepoch = withDate((x) => {
  computeJD(x);
  return x.useSubsec ? real((x.iJD - UNIX_EPOCH_JD_MS) / 1000) : unixSeconds(x);
});

const date = withDate(dateText);
const time = withDate(timeText);
const datetime = withDate(datetimeText);

function strftimeFn(args: Value[], ctx: FunctionContext): Value {
  if (args.length === 0) return null;
  const f = cText(args[0]!);
  if (f === null) return null;
  const x = isDate(args.slice(1), ctx);
  return x === null ? null : strftime(f, x);
}

const dateFunction = (minArgs: number, maxArgs: number, fn: DateFn): ScalarFunction => ({
  minArgs,
  maxArgs,
  deterministic: false,
  fn,
});

/** The date and time functions, to merge into SCALAR_FUNCTIONS. */
export const DATETIME_FUNCTIONS: Record<string, ScalarFunction> = {
  julianday: dateFunction(0, -1, julianday),
  unixepoch: dateFunction(0, -1, unixepoch),
  date: dateFunction(0, -1, date),
  time: dateFunction(0, -1, time),
  datetime: dateFunction(0, -1, datetime),
  strftime: dateFunction(0, -1, strftimeFn),
  timediff: dateFunction(2, 2, timediff),
  current_time: dateFunction(0, 0, (_a, ctx) => time([], ctx)),
  current_date: dateFunction(0, 0, (_a, ctx) => date([], ctx)),
  current_timestamp: dateFunction(0, 0, (_a, ctx) => datetime([], ctx)),
};
