/**
 * The SQL printf()/format() function: a port of SQLite's sqlite3_str_vappendf in its
 * SQL-function mode (arguments are SQL values, converted per conversion: %d takes the int64,
 * %f the double, %s the text).
 *
 * SQLite measures width and precision in UTF-8 bytes unless the `!` flag asks for characters,
 * so this port does too. An unknown conversion character ends the output there, as in SQLite.
 * Output is bounded by `PRINTF_OUTPUT_CHARS_MAX` (SQLite reports "string or blob too big").
 */
import { DosqlError } from '../../base/errors.js';
import type { Value } from '../../base/values.js';
import { textToBlob, blobToText, toDouble, toInt64, toText, utf8Length } from './convert.js';
import { formatFloat, type FloatSpec } from './fp.js';

/** Largest printf() result, in UTF-16 code units; also bounds any single width or precision. */
export const PRINTF_OUTPUT_CHARS_MAX = 100_000_000;
/** SQLite's SQLITE_FP_PRECISION_LIMIT. */
const FP_PRECISION_LIMIT = 100_000_000;

const U64_MASK = (1n << 64n) - 1n;

class Args {
  private used = 0;
  constructor(private readonly values: readonly Value[]) {}
  private next(): Value | undefined {
    return this.used < this.values.length ? this.values[this.used++] : undefined;
  }
  int(): bigint {
    const v = this.next();
    return v === undefined ? 0n : toInt64(v);
  }
  double(): number {
    const v = this.next();
    return v === undefined ? 0 : toDouble(v);
  }
  text(): string | null {
    const v = this.next();
    return v === undefined ? null : toText(v);
  }
}

/** C's (int) cast of an int64. */
function toInt32(x: bigint): number {
  return Number(BigInt.asIntN(32, x));
}

function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) i++;
    n++;
  }
  return n;
}

/**
 * The first `n` UTF-8 bytes of s, and how many more bytes the returned text has than those n
 * (a character cut in the middle decodes as U+FFFD, as SQLite's raw bytes read back, but SQLite
 * counted only the bytes it kept when padding).
 */
function firstBytes(s: string, n: number): [string, number] {
  if (s.length * 3 <= n) return [s, 0];
  const b = textToBlob(s);
  if (b.length <= n) return [s, 0];
  const t = blobToText(b.subarray(0, n));
  return [t, utf8Length(t) - n];
}

/** The first `n` characters of s. */
function firstChars(s: string, n: number): string {
  let i = 0;
  for (let k = 0; k < n && i < s.length; k++) {
    const c = s.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
  }
  return s.slice(0, i);
}

function checkSize(n: number): void {
  if (n > PRINTF_OUTPUT_CHARS_MAX) {
    throw new DosqlError('LIMIT_EXCEEDED', `string or blob too big (printfOutputCharsMax ${PRINTF_OUTPUT_CHARS_MAX})`);
  }
}

interface Spec {
  leftJustify: boolean;
  prefix: '' | '+' | ' ';
  alternate: boolean;
  altForm2: boolean;
  zeroPad: boolean;
  thousands: boolean;
  width: number;
  precision: number;
}

function padField(body: string, units: number, spec: Spec): string {
  const pad = spec.width - units;
  if (pad <= 0) return body;
  checkSize(pad);
  return spec.leftJustify ? body + ' '.repeat(pad) : ' '.repeat(pad) + body;
}

function formatIntegerConversion(conv: string, args: Args, spec: Spec): string {
  const signed = conv === 'd' || conv === 'i' || conv === 'r';
  const base = conv === 'x' || conv === 'X' || conv === 'p' ? 16 : conv === 'o' ? 8 : 10;
  const thousands = base === 10 && conv !== 'r' ? spec.thousands : false;
  let v = args.int();
  let prefix = '';
  let longvalue: bigint;
  if (signed) {
    if (v < 0n) {
      longvalue = -v;
      prefix = '-';
    } else {
      longvalue = v;
      prefix = spec.prefix;
    }
  } else {
    longvalue = v & U64_MASK;
  }
  v = 0n;
  let alternate = spec.alternate;
  if (longvalue === 0n) alternate = false;
  let precision = spec.precision;
  if (spec.zeroPad && precision < spec.width - (prefix ? 1 : 0)) precision = spec.width - (prefix ? 1 : 0);
  checkSize(precision);
  let body = longvalue.toString(base);
  if (conv === 'X') body = body.toUpperCase();
  if (conv === 'r') {
    let x = Number(longvalue % 10n);
    if (x >= 4 || (longvalue / 10n) % 10n === 1n) x = 0;
    body += 'thstndrd'.slice(x * 2, x * 2 + 2);
  }
  if (precision > body.length) body = '0'.repeat(precision - body.length) + body;
  if (thousands) {
    const first = ((body.length - 1) % 3) + 1;
    let grouped = body.slice(0, first);
    for (let k = first; k < body.length; k += 3) grouped += ',' + body.slice(k, k + 3);
    body = grouped;
  }
  body = prefix + body;
  if (alternate) {
    if (conv === 'x' || conv === 'p') body = '0x' + body;
    else if (conv === 'X') body = '0X' + body;
    else if (conv === 'o') body = '0' + body;
  }
  return padField(body, body.length, spec);
}

function formatCharConversion(args: Args, spec: Spec): string {
  const t = args.text();
  const ch = t === null ? '\0' : t.length === 0 ? '\0' : firstChars(t, 1);
  let width = spec.width;
  let out = '';
  let count = 1;
  if (spec.precision > 1) {
    checkSize(spec.precision);
    width -= spec.precision - 1;
    if (width > 1 && !spec.leftJustify) {
      out += ' '.repeat(width - 1);
      width = 0;
    }
    count = spec.precision;
  }
  const body = ch.repeat(count);
  // The last copy is padded as a one-character field (width counted in characters).
  const pad = width - 1;
  if (pad > 0) return spec.leftJustify ? out + body + ' '.repeat(pad) : out + ' '.repeat(pad) + body;
  return out + body;
}

function formatStringConversion(args: Args, spec: Spec): string {
  let s = args.text() ?? '';
  const nul = s.indexOf('\0');
  if (nul >= 0) s = s.slice(0, nul);
  let deficit = 0;
  if (spec.precision >= 0) {
    if (spec.altForm2) s = firstChars(s, spec.precision);
    else [s, deficit] = firstBytes(s, spec.precision);
  }
  return padField(s, spec.altForm2 ? codePointLength(s) : utf8Length(s) - deficit, spec);
}

function formatEscapeConversion(conv: 'q' | 'Q' | 'w', args: Args, spec: Spec): string {
  let arg = args.text();
  const quoteChar = conv === 'w' ? '"' : "'";
  let alternate = conv === 'w' ? false : spec.alternate;
  let needQuote = 0;
  if (arg === null) {
    arg = conv === 'Q' ? 'NULL' : '(NULL)';
  } else {
    const nul = arg.indexOf('\0');
    if (nul >= 0) arg = arg.slice(0, nul);
    if (conv === 'Q') needQuote = 1;
  }
  let deficit = 0;
  if (spec.precision >= 0) {
    if (spec.altForm2) arg = firstChars(arg, spec.precision);
    else [arg, deficit] = firstBytes(arg, spec.precision);
  }
  if (alternate) {
    // eslint-disable-next-line no-control-regex
    const hasCtrl = /[\u0000-\u001f]/.test(arg);
    if (hasCtrl || conv === 'q') {
      if (conv === 'Q') needQuote = 2;
    } else {
      alternate = false;
    }
  }
  let body = '';
  for (let i = 0; i < arg.length; i++) {
    const ch = arg[i]!;
    const c = arg.charCodeAt(i);
    body += ch;
    if (ch === quoteChar) body += ch;
    else if (alternate && ch === '\\') body += '\\';
    else if (alternate && c <= 0x1f) body = body.slice(0, -1) + '\\u00' + (c >= 0x10 ? '1' : '0') + '0123456789abcdef'[c & 0xf];
  }
  if (needQuote === 1) body = `'${body}'`;
  else if (needQuote === 2) body = `unistr('${body}')`;
  return padField(body, spec.altForm2 ? codePointLength(body) : utf8Length(body) - deficit, spec);
}

function formatFloatConversion(conv: 'f' | 'e' | 'E' | 'g' | 'G', args: Args, spec: Spec): string {
  const value = args.double();
  let precision = spec.precision;
  if (precision > FP_PRECISION_LIMIT) precision = FP_PRECISION_LIMIT;
  checkSize(precision + spec.width);
  const fs: FloatSpec = { conv, ...spec, precision };
  return formatFloat(value, fs);
}

/** printf(format, ...args) as SQLite's SQL function computes it. */
export function sqlPrintf(format: string, values: readonly Value[]): string {
  const args = new Args(values);
  const fmt = format;
  const at = (k: number): string => (k < fmt.length ? fmt[k]! : '');
  let out = '';
  let i = 0;
  while (i < fmt.length) {
    const pct = fmt.indexOf('%', i);
    if (pct < 0) {
      out += fmt.slice(i);
      break;
    }
    out += fmt.slice(i, pct);
    i = pct + 1;
    if (i >= fmt.length) {
      out += '%';
      break;
    }
    const spec: Spec = {
      leftJustify: false,
      prefix: '',
      alternate: false,
      altForm2: false,
      zeroPad: false,
      thousands: false,
      width: 0,
      precision: -1,
    };
    let c = at(i);
    let done = false;
    // Each iteration consumes at least one format character.
    for (;;) {
      switch (c) {
        case '-':
          spec.leftJustify = true;
          break;
        case '+':
          spec.prefix = '+';
          break;
        case ' ':
          spec.prefix = ' ';
          break;
        case '#':
          spec.alternate = true;
          break;
        case '!':
          spec.altForm2 = true;
          break;
        case '0':
          spec.zeroPad = true;
          break;
        case ',':
          spec.thousands = true;
          break;
        case 'l':
          c = at(++i);
          if (c === 'l') c = at(++i);
          done = true;
          break;
        case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9': {
          let wx = 0;
          while (c >= '0' && c <= '9' && c !== '') {
            wx = (wx * 10 + (c.charCodeAt(0) - 48)) % 0x80000000;
            c = at(++i);
          }
          spec.width = wx;
          if (c !== '.' && c !== 'l') done = true;
          else i--;
          break;
        }
        case '*': {
          let w = toInt32(args.int());
          if (w < 0) {
            spec.leftJustify = true;
            w = w >= -2147483647 ? -w : 0;
          }
          spec.width = w;
          const n = at(i + 1);
          if (n !== '.' && n !== 'l') {
            c = at(++i);
            done = true;
          }
          break;
        }
        case '.': {
          c = at(++i);
          if (c === '*') {
            let p = toInt32(args.int());
            if (p < 0) p = p >= -2147483647 ? -p : -1;
            spec.precision = p;
            c = at(++i);
          } else {
            let px = 0;
            while (c >= '0' && c <= '9' && c !== '') {
              px = (px * 10 + (c.charCodeAt(0) - 48)) % 0x80000000;
              c = at(++i);
            }
            spec.precision = px;
          }
          if (c === 'l') i--;
          else done = true;
          break;
        }
        default:
          done = true;
      }
      if (done) break;
      c = at(++i);
      if (c === '') break;
    }
    i++; // past the conversion character
    checkSize(spec.width);
    switch (c) {
      case 'd':
      case 'i':
      case 'u':
      case 'x':
      case 'X':
      case 'o':
      case 'p':
      case 'r':
        out += formatIntegerConversion(c, args, spec);
        break;
      case 'f':
      case 'e':
      case 'E':
      case 'g':
      case 'G':
        out += formatFloatConversion(c, args, spec);
        break;
      case 'c':
        out += formatCharConversion(args, spec);
        break;
      case 's':
      case 'z':
        out += formatStringConversion(args, spec);
        break;
      case 'q':
      case 'Q':
      case 'w':
        out += formatEscapeConversion(c, args, spec);
        break;
      case '%':
        out += padField('%', 1, spec);
        break;
      case 'n':
        break;
      default:
        return out; // unknown conversion (and %T, %S outside SQLite's internals): output stops
    }
    checkSize(out.length);
  }
  return out;
}
