/**
 * Decimal <-> double conversion exactly as SQLite 3.53 does it, so that REAL values render and
 * parse to the same text and the same doubles SQLite produces.
 *
 * SQLite does not use the C library here: it converts with 64x64->128-bit multiplications
 * against a table of 96-bit powers of ten (after Russ Cox's fpfmt). The result is usually, but
 * not always, the correctly rounded one, and REAL-to-text keeps 18 digits before it rounds to
 * 15 or 17, so a JavaScript `toPrecision` would differ in the last digit now and then. We
 * therefore port the integer arithmetic itself, with BigInt standing in for u64, and keep fast
 * paths only where the answer is provably identical (small mantissas and exponents, where a
 * single IEEE operation is already correctly rounded).
 *
 * Exposes: `atof` (sqlite3AtoF: parse with status bits), `atoi64` (sqlite3Atoi64), `fpDecode`
 * (sqlite3FpDecode: digits of a double) and `formatFloat` (the %f/%e/%g branch of SQLite's
 * printf, also used for REAL -> TEXT as "%!.17g").
 */
import { assert } from '../../base/errors.js';

const M64 = (1n << 64n) - 1n;
const M32 = 0xffffffffn;
const BIT63 = 1n << 63n;
const BIT52 = 1n << 52n;
const POWERS_OF_TEN_FIRST = -348;
const POWERS_OF_TEN_LAST = 347;

const A_BASE: readonly bigint[] = [
  0x8000000000000000n, 0xa000000000000000n, 0xc800000000000000n, 0xfa00000000000000n,
  0x9c40000000000000n, 0xc350000000000000n, 0xf424000000000000n, 0x9896800000000000n,
  0xbebc200000000000n, 0xee6b280000000000n, 0x9502f90000000000n, 0xba43b74000000000n,
  0xe8d4a51000000000n, 0x9184e72a00000000n, 0xb5e620f480000000n, 0xe35fa931a0000000n,
  0x8e1bc9bf04000000n, 0xb1a2bc2ec5000000n, 0xde0b6b3a76400000n, 0x8ac7230489e80000n,
  0xad78ebc5ac620000n, 0xd8d726b7177a8000n, 0x878678326eac9000n, 0xa968163f0a57b400n,
  0xd3c21bcecceda100n, 0x84595161401484a0n, 0xa56fa5b99019a5c8n,
];
const A_SCALE: readonly bigint[] = [
  0x8049a4ac0c5811aen, 0xcf42894a5dce35ean, 0xa76c582338ed2621n, 0x873e4f75e2224e68n,
  0xda7f5bf590966848n, 0xb080392cc4349decn, 0x8e938662882af53en, 0xe65829b3046b0afan,
  0xba121a4650e4ddebn, 0x964e858c91ba2655n, 0xf2d56790ab41c2a2n, 0xc428d05aa4751e4cn,
  0x9e74d1b791e07e48n, 0xccccccccccccccccn, 0xcecb8f27f4200f3an, 0xa70c3c40a64e6c51n,
  0x86f0ac99b4e8dafdn, 0xda01ee641a708de9n, 0xb01ae745b101e9e4n, 0x8e41ade9fbebc27dn,
  0xe5d3ef282a242e81n, 0xb9a74a0637ce2ee1n, 0x95f83d0a1fb69cd9n, 0xf24a01a73cf2dccfn,
  0xc3b8358109e84f07n, 0x9e19db92b4e31ba9n,
];
const A_SCALE_LO: readonly bigint[] = [
  0x205b896dn, 0x52064cadn, 0xaf2af2b8n, 0x5a7744a7n, 0xaf39a475n, 0xbd8d794en, 0x547eb47bn,
  0x0cb4a5a3n, 0x92f34d62n, 0x3a6a07f9n, 0xfae27299n, 0xaa97e14cn, 0x775ea265n, 0xccccccccn,
  0x00000000n, 0x999090b6n, 0x69a028bbn, 0xe80e6f48n, 0x5ec05dd0n, 0x14588f14n, 0x8f1668c9n,
  0x6d953e2cn, 0x4abdaf10n, 0xbc633b39n, 0x0a862f81n, 0x6c07a2c2n,
];

/** The top 64 bits of 10^p (normalized) and the next 32 bits. */
function powerOfTen(p: number): [bigint, bigint] {
  assert(p >= POWERS_OF_TEN_FIRST && p <= POWERS_OF_TEN_LAST, 'power of ten in table range');
  let g: number;
  let n: number;
  if (p < 0) {
    if (p === -1) return [A_SCALE[13]!, A_SCALE_LO[13]!];
    g = Math.trunc(p / 27);
    n = p % 27;
    if (n !== 0) {
      g--;
      n += 27;
    }
  } else if (p < 27) {
    return [A_BASE[p]!, 0n];
  } else {
    g = Math.trunc(p / 27);
    n = p % 27;
  }
  const s = A_SCALE[g + 13]!;
  const sLo = A_SCALE_LO[g + 13]!;
  if (n === 0) return [s, sLo];
  // Multiply160: upper 96 bits of (s<<32 | sLo) * aBase[n].
  let r = s * A_BASE[n]!;
  r += (sLo * A_BASE[n]!) >> 32n;
  let x = (r >> 64n) & M64;
  let lo = (r >> 32n) & M32;
  if ((x & BIT63) === 0n) {
    x = ((x << 1n) | ((lo >> 31n) & 1n)) & M64;
    lo = ((lo << 1n) | 1n) & M32;
  }
  return [x, lo];
}

const pwr10to2 = (p: number): number => (p * 108853) >> 15;
const pwr2to10 = (p: number): number => (p * 78913) >> 18;

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

function bitsToDouble(m: bigint): number {
  u64[0] = m;
  return f64[0]!;
}

function doubleToBits(r: number): bigint {
  f64[0] = r;
  return u64[0]!;
}

const EXACT_POWERS_OF_TEN = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

/** The double closest (as SQLite computes it) to d * 10^p, for an unsigned 64-bit d > 0. */
export function fp10Convert(d: bigint, p: number): number {
  if (d <= 9007199254740991n && p >= -22 && p <= 22) {
    // One correctly rounded IEEE operation on exact operands: what the table method yields too.
    const x = Number(d);
    return p >= 0 ? x * EXACT_POWERS_OF_TEN[p]! : x / EXACT_POWERS_OF_TEN[-p]!;
  }
  return fp10ConvertSlow(d, p);
}

function fp10ConvertSlow(d: bigint, p: number): number {
  if (p < POWERS_OF_TEN_FIRST) return 0;
  if (p > POWERS_OF_TEN_LAST) return Infinity;
  const b = bitLength(d);
  const lp = pwr10to2(p);
  let e = 53 - b - lp;
  if (e > 1074) {
    if (e >= 1130) return 0;
    e = 1074;
  }
  const s = BigInt(-(e - (64 - b) + lp + 3));
  let [pwr10h, pwr10l] = powerOfTen(p);
  if (pwr10l !== 0n) {
    pwr10h = (pwr10h + 1n) & M64;
    pwr10l = ~pwr10l & M32;
  }
  const x = (d << BigInt(64 - b)) & M64;
  const prod = x * pwr10h;
  let hi = prod >> 64n;
  const lo = prod & M64;
  const mid1 = lo >> 32n;
  let sticky = 1n;
  if ((hi & ((1n << s) - 1n)) === 0n) {
    const mid2 = ((x * (pwr10l << 32n)) >> 64n >> 32n) & M32;
    sticky = ((mid1 - mid2) & M32) > 1n ? 1n : 0n;
    if (mid1 < mid2) hi = (hi - 1n) & M64;
  }
  let u = (hi >> s) | sticky;
  if (u >= (1n << 55n) - 2n) {
    u = (u >> 1n) | (u & 1n);
    e -= 1;
  }
  let m = (u + 1n + ((u >> 2n) & 1n)) >> 2n;
  if (e <= -972) return Infinity;
  if ((m & BIT52) !== 0n) m = (m & ~BIT52) | (BigInt(1075 - e) << 52n);
  return bitsToDouble(m);
}

/** r = m * 2^e (m normalized with bit 63 set) as D * 10^P with at least n digits in D. */
function fp2Convert10(m: bigint, e: number, n: number): [bigint, number] {
  const p = n - 1 - pwr2to10(e + 63);
  const [pow] = powerOfTen(p);
  let h = (m * pow) >> 64n;
  if (n === 18) {
    h >>= BigInt(-(e + pwr10to2(p) + 2));
    return [(h + ((h << 1n) & 2n)) >> 1n, -p];
  }
  return [h >> BigInt(-(e + pwr10to2(p) + 1)), -p];
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** sqlite3AtoF's status: > 0 when the whole text is a number (see `atof`). */
export interface AtofResult {
  value: number;
  /**
   * mState bits (1: some prefix is a number, 2: has '.' or exponent, 4: exactly zero, 8: many
   * digits); negative (0xfffffff0 | bits) when text follows the number; 0 when no prefix parses.
   */
  rc: number;
}

const U64_LIMIT = (M64 - 9n) / 10n;
const NUMBER_ACCUMULATE_MAX = 1e14; // keeps sNum * 10 + 9 below 2^53

/**
 * Port of sqlite3AtoF: leading/trailing whitespace ignored, [+-]digits[.digits][e[+-]digits],
 * at most ~19 significant digits contribute. A NUL character ends the text, as in C.
 */
export function atof(z: string): AtofResult {
  const len = z.length;
  let i = 0;
  const at = (k: number): number => (k < len ? z.charCodeAt(k) : 0);
  let neg = false;
  let sNum = 0; // mantissa while small
  let sBig: bigint | null = null; // mantissa once past NUMBER_ACCUMULATE_MAX
  let d = 0;
  let mState = 0;
  const pushDigit = (v: number): void => {
    if (sBig === null) {
      sNum = sNum * 10 + v;
      if (sNum >= NUMBER_ACCUMULATE_MAX) sBig = BigInt(sNum);
    } else {
      sBig = sBig * 10n + BigInt(v);
    }
  };
  const sBelowLimit = (): boolean => sBig === null || sBig < U64_LIMIT;

  while (isSpace(at(i))) i++;
  let c = at(i);
  if (c === 45 || c === 43) {
    neg = c === 45;
    i++;
    c = at(i);
  }
  if (isDigit(c)) {
    mState = 1;
    while (isDigit(at(i))) {
      pushDigit(at(i) - 48);
      i++;
      if (!sBelowLimit()) {
        mState = 9;
        while (isDigit(at(i))) {
          i++;
          d++;
        }
        break;
      }
    }
  }
  if (at(i) === 46) {
    i++;
    if (isDigit(at(i))) {
      mState |= 1;
      do {
        if (sBelowLimit()) {
          pushDigit(at(i) - 48);
          d--;
        } else {
          mState = 11;
        }
        i++;
      } while (isDigit(at(i)));
    } else if (mState === 0) {
      return { value: 0, rc: 0 };
    }
    mState |= 2;
  } else if (mState === 0) {
    return { value: 0, rc: 0 };
  }
  c = at(i);
  if (c === 101 || c === 69) {
    const ePos = i;
    i++;
    let esign = 1;
    if (at(i) === 45) {
      esign = -1;
      i++;
    } else if (at(i) === 43) {
      i++;
    }
    if (isDigit(at(i))) {
      let exp = 0;
      mState |= 2;
      while (isDigit(at(i))) {
        exp = exp < 10000 ? exp * 10 + (at(i) - 48) : 10000;
        i++;
      }
      d += esign * exp;
    } else {
      i = ePos; // leave the 'e' as trailing text
    }
  }
  let value: number;
  const s = sBig ?? BigInt(sNum);
  if (s === 0n) {
    value = 0;
    mState |= 4;
  } else {
    value = fp10Convert(s, d);
  }
  if (neg) value = -value;
  while (isSpace(at(i))) i++;
  if (at(i) === 0) return { value, rc: mState };
  return { value, rc: 0xfffffff0 | mState };
}

/** sqlite3Atoi64's result: value (saturated) and rc (-1 none, 0 ok, 1 trailing text, 2 too big, 3 = 2^63). */
export interface Atoi64Result {
  value: bigint;
  rc: number;
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
const POW63_DIGITS = '9223372036854775808';

/** Port of sqlite3Atoi64 over the whole string (decimal only, no hex). */
export function atoi64(z: string): Atoi64Result {
  const len = z.length;
  let i = 0;
  while (i < len && isSpace(z.charCodeAt(i))) i++;
  let neg = false;
  if (i < len) {
    const c = z.charCodeAt(i);
    if (c === 45) {
      neg = true;
      i++;
    } else if (c === 43) {
      i++;
    }
  }
  const start = i;
  while (i < len && z.charCodeAt(i) === 48) i++;
  const digitsStart = i;
  while (i < len && isDigit(z.charCodeAt(i))) i++;
  const nDigits = i - digitsStart;
  let rc = 0;
  if (nDigits === 0 && start === digitsStart) {
    rc = -1;
  } else if (i < len) {
    for (let j = i; j < len; j++) {
      if (!isSpace(z.charCodeAt(j))) {
        rc = 1;
        break;
      }
    }
  }
  if (nDigits < 19) {
    let u = nDigits === 0 ? 0n : BigInt(z.slice(digitsStart, i));
    if (neg) u = -u;
    return { value: u, rc };
  }
  const cmp = nDigits > 19 ? 1 : compareDigits(z.slice(digitsStart, i), POW63_DIGITS);
  if (cmp < 0) {
    const u = BigInt(z.slice(digitsStart, i));
    return { value: neg ? -u : u, rc };
  }
  if (cmp > 0) return { value: neg ? INT64_MIN : INT64_MAX, rc: 2 };
  return neg ? { value: INT64_MIN, rc } : { value: INT64_MAX, rc: 3 };
}

function compareDigits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The significant digits of a double: value = 0.z * 10^iDP, sign apart. */
export interface FpDecoded {
  sign: '+' | '-';
  /** Significant digits, no trailing zeros (except "0" for zero). */
  z: string;
  /** Position of the decimal point relative to z. */
  iDP: number;
  /** 0: finite, 1: infinity, 2: NaN. */
  isSpecial: 0 | 1 | 2;
}

/** Port of sqlite3FpDecode (see its contract for iRound/mxRound). */
export function fpDecode(r: number, iRound: number, mxRound: number): FpDecoded {
  assert(mxRound > 0, 'mxRound positive');
  let sign: '+' | '-' = '+';
  if (r < 0) {
    sign = '-';
    r = -r;
  } else if (r === 0) {
    return { sign: '+', z: '0', iDP: 1, isSpecial: 0 };
  }
  let v = doubleToBits(r);
  let e = Number((v >> 52n) & 0x7ffn);
  if (e === 0x7ff) return { sign, z: '', iDP: 0, isSpecial: v !== 0x7ff0000000000000n ? 2 : 1 };
  v &= 0x000fffffffffffffn;
  if (e === 0) {
    const nn = 64 - bitLength(v);
    v <<= BigInt(nn);
    e = -1074 - nn;
  } else {
    v = (v << 11n) | BIT63;
    e -= 1086;
  }
  const [dv, exp] = fp2Convert10(v, e, iRound <= 0 || iRound >= 18 ? 18 : iRound + 1);
  assert(dv > 0n, 'decoded mantissa positive');
  const z = dv.toString().split('').map((ch) => ch.charCodeAt(0) - 48);
  let n = z.length;
  let iDP = n + exp;
  if (iRound <= 0) {
    iRound = iDP - iRound;
    if (iRound === 0 && z[0]! >= 5) {
      iRound = 1;
      z.unshift(0);
      n++;
      iDP++;
    }
  }
  if (iRound > 0 && (iRound < n || n > mxRound)) {
    if (iRound > mxRound) iRound = mxRound;
    if (iRound === 17) iRound = shortenSeventeen(z, n, exp, r) ?? iRound;
    n = iRound;
    if ((z[iRound] ?? 0) >= 5) {
      let j = iRound - 1;
      for (;;) {
        z[j]!++;
        if (z[j]! <= 9) break;
        z[j] = 0;
        if (j === 0) {
          z.unshift(1);
          n++;
          iDP++;
          break;
        }
        j--;
      }
    }
  }
  assert(n > 0, 'at least one digit');
  while (n > 1 && z[n - 1] === 0) n--;
  let digits = '';
  for (let k = 0; k < n; k++) digits += String.fromCharCode(48 + z[k]!);
  return { sign, z: digits, iDP, isSpecial: 0 };
}

/** The "%!.17g" round-trip reduction of sqlite3FpDecode: a shorter digit count, or null. */
function shortenSeventeen(z: number[], n: number, exp: number, r: number): number | null {
  const dig = (k: number): number => z[k] ?? -1;
  if (dig(15) === 9 && dig(14) === 9) {
    let jj = 14;
    while (jj > 0 && dig(jj - 1) === 9) jj--;
    let v2 = 1n;
    if (jj > 0) {
      v2 = 0n;
      for (let kk = 0; kk < jj; kk++) v2 = v2 * 10n + BigInt(z[kk]!);
      v2++;
    }
    return r === fp10Convert(v2, exp + n - jj) ? jj + 1 : null;
  }
  const iDP = n + exp;
  if (iDP >= n || (dig(15) === 0 && dig(14) === 0 && dig(13) === 0)) {
    let jj = 13;
    while (jj > 1 && dig(jj - 1) === 0) jj--;
    let v2 = 0n;
    for (let kk = 0; kk < jj; kk++) v2 = v2 * 10n + BigInt(z[kk]!);
    return r === fp10Convert(v2, exp + n - jj) ? jj + 1 : null;
  }
  return null;
}

/** Flags of one printf conversion that matter to floating point rendering. */
export interface FloatSpec {
  conv: 'f' | 'e' | 'E' | 'g' | 'G';
  precision: number; // -1 = default
  width: number;
  leftJustify: boolean;
  prefix: '' | '+' | ' ';
  alternate: boolean; // '#'
  altForm2: boolean; // '!'
  zeroPad: boolean;
  thousands: boolean; // ','
}

/** Port of the etFLOAT/etEXP/etGENERIC branch of sqlite3_str_vappendf. */
export function formatFloat(value: number, spec: FloatSpec): string {
  let precision = spec.precision < 0 ? 6 : spec.precision;
  let xtype: 'f' | 'e' | 'g' = spec.conv === 'f' ? 'f' : spec.conv === 'e' || spec.conv === 'E' ? 'e' : 'g';
  const expChar = spec.conv === 'E' || spec.conv === 'G' ? 'E' : 'e';
  let iRound: number;
  if (xtype === 'f') iRound = -precision;
  else if (xtype === 'g') {
    if (precision === 0) precision = 1;
    iRound = precision;
  } else iRound = precision + 1;
  const s = fpDecode(value, iRound, spec.altForm2 ? 20 : 16);
  let z = s.z;
  let iDP = s.iDP;
  if (s.isSpecial === 2) return pad(spec.zeroPad ? 'null' : 'NaN', spec.width, spec.leftJustify);
  if (s.isSpecial === 1) {
    if (spec.zeroPad) {
      z = '9';
      iDP = 1000;
    } else {
      const t = s.sign === '-' ? '-Inf' : spec.prefix ? `${spec.prefix}Inf` : 'Inf';
      return pad(t, spec.width, spec.leftJustify);
    }
  }
  let prefix = '';
  if (s.sign === '-') {
    prefix = spec.alternate && !spec.prefix && xtype === 'f' && iDP <= iRound ? '' : '-';
  } else {
    prefix = spec.prefix;
  }
  let flagRtz: boolean;
  if (xtype === 'g') {
    precision--;
    flagRtz = !spec.alternate;
    const exp = iDP - 1;
    if (exp < -4 || exp > precision) {
      xtype = 'e';
    } else {
      precision = precision - exp;
      xtype = 'f';
    }
  } else {
    flagRtz = spec.altForm2;
  }
  let e2 = xtype === 'e' ? 0 : iDP - 1;
  const flagDp = precision > 0 || spec.alternate || spec.altForm2;
  const n = z.length;
  let out = prefix;
  let j = 0;
  if (e2 < 0) {
    out += '0';
  } else if (spec.thousands) {
    for (; e2 >= 0; e2--) {
      out += j < n ? z[j++] : '0';
      if (e2 % 3 === 0 && e2 > 1) out += ',';
    }
  } else {
    j = Math.min(e2 + 1, n);
    out += z.slice(0, j);
    e2 -= j;
    if (e2 >= 0) {
      out += '0'.repeat(e2 + 1);
      e2 = -1;
    }
  }
  if (flagDp) out += '.';
  if (e2 < -1 && precision > 0) {
    const nn = Math.min(-1 - e2, precision);
    out += '0'.repeat(nn);
    precision -= nn;
  }
  if (precision > 0) {
    const nn = Math.min(n - j, precision);
    if (nn > 0) {
      out += z.slice(j, j + nn);
      precision -= nn;
    }
    if (precision > 0 && !flagRtz) out += '0'.repeat(precision);
  }
  if (flagRtz && flagDp) {
    let end = out.length;
    while (out.charCodeAt(end - 1) === 48) end--;
    out = out.slice(0, end);
    if (out.endsWith('.')) out = spec.altForm2 ? out + '0' : out.slice(0, -1);
  }
  if (xtype === 'e') {
    let exp = iDP - 1;
    out += expChar;
    if (exp < 0) {
      out += '-';
      exp = -exp;
    } else {
      out += '+';
    }
    if (exp >= 100) {
      out += String(Math.floor(exp / 100));
      exp %= 100;
    }
    out += String(Math.floor(exp / 10)) + String(exp % 10);
  }
  if (out.length < spec.width) {
    const nPad = spec.width - out.length;
    if (spec.leftJustify) out += ' '.repeat(nPad);
    else if (!spec.zeroPad) out = ' '.repeat(nPad) + out;
    else out = prefix + '0'.repeat(nPad) + out.slice(prefix.length);
  }
  return out;
}

function pad(t: string, width: number, left: boolean): string {
  if (t.length >= width) return t;
  return left ? t + ' '.repeat(width - t.length) : ' '.repeat(width - t.length) + t;
}

const REAL_TEXT_SPEC: FloatSpec = {
  conv: 'g',
  precision: 17,
  width: 0,
  leftJustify: false,
  prefix: '',
  alternate: false,
  altForm2: true,
  zeroPad: false,
  thousands: false,
};

/** REAL -> TEXT as SQLite renders it ("%!.17g" with its round-trip shortening). */
export function realToText(r: number): string {
  return formatFloat(r, REAL_TEXT_SPEC);
}
