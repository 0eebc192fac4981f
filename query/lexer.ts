/**
 * The SQL tokenizer, following SQLite's tokenizer (tokenize.c) rule for rule.
 *
 * `tokenize` turns the whole text into an array of tokens in one pass over the characters (a
 * switch on the char code, no regular expressions), ending with one `eof` token. Whitespace and
 * comments (`-- ...` to end of line, `/* ... *\/`, an unterminated block comment running to the end
 * as in SQLite) are dropped.
 *
 * Malformed input does not throw here: it becomes an `illegal` token that the parser reports when
 * it reaches it (`unrecognized token: "'abc"`), so the first error in reading order is the one
 * reported, as SQLite does.
 *
 * Token kinds:
 * - `id`: a bare word; `kw` holds it upper-cased when it is one of SQLite's keywords. Whether a
 *   keyword may serve as a name is the parser's decision (SQLite's fallback rule).
 * - `qid`: a quoted identifier ("x", [x], `x`); `text` is the unquoted name.
 * - `string`: '...' with '' escapes; `text` is the unescaped value.
 * - `blob`: X'hex'; `value` is the bytes. `integer` / `float`: `value` is the number as a `Value`
 *   (an integer literal past int64 is a REAL, as in SQLite). `param`: `text` is as written.
 * - `op`: punctuation and operators; `text` is the operator.
 */
import { DosqlError, type ErrorPosition } from '../base/errors.js';
import { INT64_MAX, int, real, type Value } from '../base/values.js';

/** SQLite's SQLITE_MAX_SQL_LENGTH default: longer SQL text is rejected before tokenizing. */
export const SQL_TEXT_CHARS_MAX = 1_000_000;

export type TokenType = 'id' | 'qid' | 'string' | 'blob' | 'integer' | 'float' | 'param' | 'op' | 'illegal' | 'eof';

export interface Token {
  type: TokenType;
  /** See the module header: the name, unescaped string, operator or the text as written. */
  text: string;
  /** 0-based offset of the token's first character. */
  pos: number;
  /** Offset just past the token's last character. */
  end: number;
  /** For `id` tokens that are SQLite keywords: the keyword upper-cased; otherwise null. */
  kw: string | null;
  /** Literal value for integer, float and blob tokens; the error message for `illegal` ones. */
  value: Value;
}

/** All of SQLite's keywords (sqlite.org/lang_keywords.html). */
export const KEYWORDS: ReadonlySet<string> = new Set(
  (
    'ABORT ACTION ADD AFTER ALL ALTER ALWAYS ANALYZE AND AS ASC ATTACH AUTOINCREMENT BEFORE BEGIN ' +
    'BETWEEN BY CASCADE CASE CAST CHECK COLLATE COLUMN COMMIT CONFLICT CONSTRAINT CREATE CROSS CURRENT ' +
    'CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP DATABASE DEFAULT DEFERRABLE DEFERRED DELETE DESC ' +
    'DETACH DISTINCT DO DROP EACH ELSE END ESCAPE EXCEPT EXCLUDE EXCLUSIVE EXISTS EXPLAIN FAIL FILTER ' +
    'FIRST FOLLOWING FOR FOREIGN FROM FULL GENERATED GLOB GROUP GROUPS HAVING IF IGNORE IMMEDIATE IN ' +
    'INDEX INDEXED INITIALLY INNER INSERT INSTEAD INTERSECT INTO IS ISNULL JOIN KEY LAST LEFT LIKE ' +
    'LIMIT MATCH MATERIALIZED NATURAL NO NOT NOTHING NOTNULL NULL NULLS OF OFFSET ON OR ORDER OTHERS ' +
    'OUTER OVER PARTITION PLAN PRAGMA PRECEDING PRIMARY QUERY RAISE RANGE RECURSIVE REFERENCES REGEXP ' +
    'REINDEX RELEASE RENAME REPLACE RESTRICT RETURNING RIGHT ROLLBACK ROW ROWS SAVEPOINT SELECT SET ' +
    'TABLE TEMP TEMPORARY THEN TIES TO TRANSACTION TRIGGER UNBOUNDED UNION UNIQUE UPDATE USING VACUUM ' +
    'VALUES VIEW VIRTUAL WHEN WHERE WINDOW WITH WITHOUT'
  ).split(' '),
);

/** Longest keyword (CURRENT_TIMESTAMP): longer words skip the keyword lookup. */
const KEYWORD_CHARS_MAX = 17;

/** 1-based line and column of a 0-based offset (columns in UTF-16 code units). */
export function positionAt(sql: string, offset: number): ErrorPosition {
  const end = Math.max(0, Math.min(offset, sql.length));
  let line = 1;
  let lineStart = 0;
  for (let i = sql.indexOf('\n'); i !== -1 && i < end; i = sql.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: end - lineStart + 1, offset: end };
}

/** Characters SQLite accepts inside identifiers: ASCII letters, digits, `_`, `$`, and all non-ASCII. */
function isIdChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 36 || c >= 0x80
  );
}

function isIdStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 0x80;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isHexDigit(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11;
}

function tok(type: TokenType, text: string, pos: number, end: number, kw: string | null, value: Value): Token {
  return { type, text, pos, end, kw, value };
}

function illegal(sql: string, pos: number, end: number, message?: string): Token {
  const text = sql.slice(pos, end);
  return tok('illegal', text, pos, end, null, message ?? `unrecognized token: "${text}"`);
}

/** Tokenize all of `sql`; the last token is always `eof`. Throws only LIMIT_EXCEEDED (text too long). */
export function tokenize(sql: string): Token[] {
  if (sql.length > SQL_TEXT_CHARS_MAX) {
    throw new DosqlError(
      'LIMIT_EXCEEDED',
      `statement too long: ${sql.length} characters, SQL_TEXT_CHARS_MAX is ${SQL_TEXT_CHARS_MAX}`,
    );
  }
  const out: Token[] = [];
  const n = sql.length;
  let i = 0;
  // Each iteration consumes at least one character, so the loop is bounded by the text length.
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    const start = i;
    if (isIdStart(c)) {
      if ((c === 120 || c === 88) && sql.charCodeAt(i + 1) === 39) {
        const t = lexBlob(sql, i);
        out.push(t);
        i = t.end;
        continue;
      }
      i++;
      while (i < n && isIdChar(sql.charCodeAt(i))) i++;
      const text = sql.slice(start, i);
      let kw: string | null = null;
      if (text.length >= 2 && text.length <= KEYWORD_CHARS_MAX) {
        const upper = text.toUpperCase();
        if (KEYWORDS.has(upper)) kw = upper;
      }
      out.push(tok('id', text, start, i, kw, null));
      continue;
    }
    if (isDigit(c) || (c === 46 && isDigit(sql.charCodeAt(i + 1)))) {
      const t = lexNumber(sql, i);
      out.push(t);
      i = t.end;
      continue;
    }
    switch (c) {
      case 39: // '
      case 34: // "
      case 96: {
        // `
        const t = lexQuoted(sql, i, c, c);
        out.push(t);
        i = t.end;
        continue;
      }
      case 91: {
        // [
        const t = lexQuoted(sql, i, 93, 0);
        out.push(t);
        i = t.end;
        continue;
      }
      case 45: // -
        if (sql.charCodeAt(i + 1) === 45) {
          const nl = sql.indexOf('\n', i + 2);
          i = nl === -1 ? n : nl + 1;
          continue;
        }
        if (sql.charCodeAt(i + 1) === 62) {
          const len = sql.charCodeAt(i + 2) === 62 ? 3 : 2;
          out.push(tok('op', len === 3 ? '->>' : '->', i, i + len, null, null));
          i += len;
          continue;
        }
        break;
      case 47: // /
        if (sql.charCodeAt(i + 1) === 42) {
          const close = sql.indexOf('*/', i + 2);
          i = close === -1 ? n : close + 2;
          continue;
        }
        break;
      case 63: // ?
      case 58: // :
      case 64: // @
      case 36: {
        // $
        const t = lexParam(sql, i, c);
        out.push(t);
        i = t.end;
        continue;
      }
    }
    const op = lexOperator(sql, i, c);
    if (op === '') {
      out.push(illegal(sql, i, i + 1));
      i++;
    } else {
      out.push(tok('op', op, i, i + op.length, null, null));
      i += op.length;
    }
  }
  out.push(tok('eof', '', n, n, null, null));
  return out;
}

/** The operator starting at `i`, or '' for a character SQLite does not know. */
function lexOperator(sql: string, i: number, c: number): string {
  const d = sql.charCodeAt(i + 1);
  switch (c) {
    case 40:
      return '(';
    case 41:
      return ')';
    case 59:
      return ';';
    case 44:
      return ',';
    case 46:
      return '.';
    case 43:
      return '+';
    case 45:
      return '-';
    case 42:
      return '*';
    case 47:
      return '/';
    case 37:
      return '%';
    case 38:
      return '&';
    case 126:
      return '~';
    case 61:
      return d === 61 ? '==' : '=';
    case 60:
      return d === 61 ? '<=' : d === 62 ? '<>' : d === 60 ? '<<' : '<';
    case 62:
      return d === 61 ? '>=' : d === 62 ? '>>' : '>';
    case 33:
      return d === 61 ? '!=' : '';
    case 124:
      return d === 124 ? '||' : '|';
    default:
      return '';
  }
}

/** A quoted string or identifier; `close` ends it, doubled `close` escapes it. */
function lexQuoted(sql: string, start: number, close: number, open: number): Token {
  const n = sql.length;
  let i = start + 1;
  let escaped = false;
  for (;;) {
    const j = sql.indexOf(String.fromCharCode(close), i);
    if (j === -1) return illegal(sql, start, n);
    if (close !== 93 && sql.charCodeAt(j + 1) === close) {
      escaped = true;
      i = j + 2;
      continue;
    }
    let text = sql.slice(start + 1, j);
    if (escaped) {
      const q = String.fromCharCode(close);
      text = text.split(q + q).join(q);
    }
    const type: TokenType = open === 39 ? 'string' : 'qid';
    return tok(type, text, start, j + 1, null, null);
  }
}

function lexBlob(sql: string, start: number): Token {
  const n = sql.length;
  let i = start + 2;
  while (i < n && isHexDigit(sql.charCodeAt(i))) i++;
  const digits = i - start - 2;
  if (sql.charCodeAt(i) !== 39 || digits % 2 !== 0) {
    // SQLite swallows up to the closing quote (or the end) as one unrecognized token.
    while (i < n && sql.charCodeAt(i) !== 39) i++;
    return illegal(sql, start, Math.min(n, i + 1));
  }
  const bytes = new Uint8Array(digits / 2);
  for (let k = 0; k < bytes.length; k++) {
    bytes[k] = parseInt(sql.substr(start + 2 + 2 * k, 2), 16);
  }
  return tok('blob', sql.slice(start, i + 1), start, i + 1, null, bytes);
}

function lexNumber(sql: string, start: number): Token {
  const n = sql.length;
  let i = start;
  const c1 = sql.charCodeAt(i + 1);
  if (sql.charCodeAt(i) === 48 && (c1 === 120 || c1 === 88) && isHexDigit(sql.charCodeAt(i + 2))) {
    i += 2;
    while (i < n && isHexDigit(sql.charCodeAt(i))) i++;
    if (i < n && isIdChar(sql.charCodeAt(i))) return illegalNumber(sql, start, i);
    const text = sql.slice(start, i);
    const digits = text.slice(2).replace(/^0+/, '');
    if (digits.length > 16) return illegal(sql, start, i, `hex literal too big: ${text}`);
    const v = digits === '' ? 0n : BigInt.asIntN(64, BigInt('0x' + digits));
    return tok('integer', text, start, i, null, int(v));
  }
  let isFloat = false;
  while (i < n && isDigit(sql.charCodeAt(i))) i++;
  if (sql.charCodeAt(i) === 46) {
    isFloat = true;
    i++;
    while (i < n && isDigit(sql.charCodeAt(i))) i++;
  }
  const e = sql.charCodeAt(i);
  if (e === 101 || e === 69) {
    const s = sql.charCodeAt(i + 1);
    if (isDigit(s) || ((s === 43 || s === 45) && isDigit(sql.charCodeAt(i + 2)))) {
      isFloat = true;
      i += 2;
      while (i < n && isDigit(sql.charCodeAt(i))) i++;
    }
  }
  if (i < n && isIdChar(sql.charCodeAt(i))) return illegalNumber(sql, start, i);
  const text = sql.slice(start, i);
  if (isFloat) return tok('float', text, start, i, null, real(Number(text)));
  if (text.length <= 15) return tok('integer', text, start, i, null, Number(text));
  const big = BigInt(text);
  if (big > INT64_MAX) return tok('float', text, start, i, null, real(Number(text)));
  return tok('integer', text, start, i, null, int(big));
}

/** SQLite makes a number followed by identifier characters (`12abc`) one unrecognized token. */
function illegalNumber(sql: string, start: number, i: number): Token {
  const n = sql.length;
  while (i < n && isIdChar(sql.charCodeAt(i))) i++;
  return illegal(sql, start, i);
}

function lexParam(sql: string, start: number, c: number): Token {
  const n = sql.length;
  let i = start + 1;
  if (c === 63) {
    while (i < n && isDigit(sql.charCodeAt(i))) i++;
    return tok('param', sql.slice(start, i), start, i, null, null);
  }
  while (i < n && isIdChar(sql.charCodeAt(i))) i++;
  if (i === start + 1) return illegal(sql, start, i);
  return tok('param', sql.slice(start, i), start, i, null, null);
}
