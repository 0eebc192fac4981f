/**
 * SQLite's JSON functions (json1, lang_json.html) over JSON text, following json.c of SQLite
 * 3.53 where results are observable: minified output that keeps numbers and string escapes
 * exactly as written (so '1.50' stays '1.50' and '\u0041' stays escaped), JSON5 input accepted
 * and rendered as canonical JSON, duplicate object labels kept (lookups take the first),
 * json_extract returning SQL values (INTEGER, REAL, TEXT unescaped, 1/0 for true/false).
 *
 * How it works: text is parsed into a small tree (`JNode`) whose leaves keep their canonical
 * JSON text; paths are walked step by step exactly like jsonLookupStep (so a malformed path is
 * only reported when the walk reaches the bad part, as in SQLite), and the edit functions
 * (json_set / insert / replace / remove) mutate a fresh parse.
 *
 * What SQLite does that this cannot: JSON "subtypes". SQLite marks the result of json(),
 * json_array() etc. so that json_array(json('[1]')) nests the array instead of quoting text.
 * `Value` carries no subtype, so the caller passes which arguments are JSON in
 * `ctx.jsonArgs` (see `JsonFunctionContext`); without it, text arguments are SQL strings.
 * JSONB (BLOB) inputs and outputs are not supported: a BLOB argument is read as UTF-8 JSON text.
 */
import { DosqlError } from '../../base/errors.js';
import { Real, int, real, storageClass, type Value } from '../../base/values.js';
import type { Aggregate } from './aggregates.js';
import { toInt64, toText } from './convert.js';
import { atof, atoi64, formatFloat } from './fp.js';
import type { FunctionContext, ScalarFunction } from './functions.js';

/** Deepest nesting of arrays and objects accepted, as SQLite's JSON_MAX_DEPTH. */
export const JSON_DEPTH_MAX = 1000;

/** A function context that can say which arguments carry SQLite's JSON subtype. */
export interface JsonFunctionContext extends FunctionContext {
  /** jsonArgs[i] true: argument i is JSON text produced by a JSON function (not an SQL string). */
  jsonArgs?: readonly boolean[];
}

/** Functions whose result always carries the JSON subtype (json_extract only for containers). */
export const JSON_SUBTYPE_FUNCTIONS: ReadonlySet<string> = new Set([
  'json', 'json_array', 'json_object', 'json_set', 'json_insert', 'json_replace', 'json_remove',
  'json_patch', 'json_quote', 'json_group_array', 'json_group_object', '->',
]);

type JNode =
  | { k: 'null' | 'true' | 'false' }
  | { k: 'integer' | 'real'; raw: string }
  | { k: 'text'; raw: string } // the JSON-escaped body, without quotes
  | { k: 'array'; items: JNode[] }
  | { k: 'object'; keys: string[]; values: JNode[] }; // keys are escaped bodies too

function malformed(): DosqlError {
  return new DosqlError('ERROR', 'malformed JSON');
}

function tooDeep(): DosqlError {
  return new DosqlError('ERROR', 'JSON nested too deep');
}

// ---------------------------------------------------------------------------------------------
// Parsing JSON text (RFC 8259 plus the JSON5 extensions SQLite accepts)

const HEX = /^[0-9a-fA-F]$/;

class Parser {
  i = 0;
  /** Set when the text used any JSON5 extension (json_valid's default rejects those). */
  json5 = false;

  constructor(private readonly z: string) {}

  fail(): never {
    throw malformed();
  }

  /** Skip whitespace and comments; JSON5 forms set json5. */
  ws(): void {
    const z = this.z;
    for (;;) {
      const c = z[this.i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') this.i++;
      else if (c === '\v' || c === '\f' || c === '\u00a0' || c === '\ufeff' || c === '\u2028' || c === '\u2029') {
        this.json5 = true;
        this.i++;
      } else if (c === '/' && z[this.i + 1] === '*') {
        const end = z.indexOf('*/', this.i + 2);
        if (end < 0) this.fail();
        this.json5 = true;
        this.i = end + 2;
      } else if (c === '/' && z[this.i + 1] === '/') {
        let k = this.i + 2;
        while (k < z.length && z[k] !== '\n' && z[k] !== '\r' && z[k] !== '\u2028' && z[k] !== '\u2029') k++;
        this.json5 = true;
        this.i = k;
      } else return;
    }
  }

  document(): JNode {
    this.ws();
    const v = this.value(0);
    this.ws();
    if (this.i < this.z.length) this.fail();
    return v;
  }

  value(depth: number): JNode {
    const z = this.z;
    const c = z[this.i];
    // SQLite reports nesting past JSON_DEPTH_MAX while parsing as plain malformed JSON.
    if ((c === '{' || c === '[') && depth >= JSON_DEPTH_MAX) this.fail();
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"' || c === "'") return { k: 'text', raw: this.string() };
    for (const word of ['null', 'true', 'false'] as const) {
      if (z.startsWith(word, this.i) && !isIdentChar(z[this.i + word.length])) {
        this.i += word.length;
        return { k: word };
      }
    }
    return this.number();
  }

  object(depth: number): JNode {
    const keys: string[] = [];
    const values: JNode[] = [];
    this.i++;
    for (;;) {
      this.ws();
      if (this.z[this.i] === '}') {
        if (keys.length > 0) this.json5 = true; // trailing comma
        this.i++;
        return { k: 'object', keys, values };
      }
      const c = this.z[this.i];
      if (c === '"' || c === "'") keys.push(this.string());
      else keys.push(this.identifier());
      this.ws();
      if (this.z[this.i] !== ':') this.fail();
      this.i++;
      this.ws();
      values.push(this.value(depth + 1));
      this.ws();
      if (this.z[this.i] === ',') {
        this.i++;
        continue;
      }
      if (this.z[this.i] !== '}') this.fail();
      this.i++;
      return { k: 'object', keys, values };
    }
  }

  array(depth: number): JNode {
    const items: JNode[] = [];
    this.i++;
    for (;;) {
      this.ws();
      if (this.z[this.i] === ']') {
        if (items.length > 0) this.json5 = true;
        this.i++;
        return { k: 'array', items };
      }
      items.push(this.value(depth + 1));
      this.ws();
      if (this.z[this.i] === ',') {
        this.i++;
        continue;
      }
      if (this.z[this.i] !== ']') this.fail();
      this.i++;
      return { k: 'array', items };
    }
  }

  /** An unquoted JSON5 object key (ECMAScript identifier, approximated). */
  identifier(): string {
    const start = this.i;
    const first = this.z[this.i];
    if (first === undefined || !isIdentStart(first)) this.fail();
    while (this.i < this.z.length && isIdentChar(this.z[this.i])) this.i++;
    this.json5 = true;
    return this.z.slice(start, this.i);
  }

  /** A quoted string; returns its canonical escaped body. */
  string(): string {
    const z = this.z;
    const q = z[this.i]!;
    if (q === "'") this.json5 = true;
    let out = '';
    let k = this.i + 1;
    for (;;) {
      if (k >= z.length) this.fail();
      const c = z[k]!;
      if (c === q) break;
      if (c === '\\') {
        const e = z[k + 1];
        if (e === undefined) this.fail();
        if ('"\\/bfnrt'.includes(e)) {
          out += '\\' + e;
          k += 2;
        } else if (e === 'u') {
          const h = z.slice(k + 2, k + 6);
          if (h.length !== 4 || ![...h].every((x) => HEX.test(x))) this.fail();
          out += '\\u' + h;
          k += 6;
        } else {
          this.json5 = true;
          if (e === "'") out += "'";
          else if (e === 'v') out += '\\u000b';
          else if (e === '0' && !isDigit(z[k + 2])) out += '\\u0000';
          else if (e === 'x') {
            const h = z.slice(k + 2, k + 4);
            if (h.length !== 2 || ![...h].every((x) => HEX.test(x))) this.fail();
            out += '\\u00' + h;
            k += 2;
          } else if (e === '\r' && z[k + 2] === '\n') k++;
          else if (e === '\n' || e === '\r' || e === '\u2028' || e === '\u2029') {
            // a line continuation: nothing is added
          } else this.fail();
          k += 2;
        }
        continue;
      }
      if (c === '"') out += '\\"';
      else if (c < ' ') {
        this.json5 = true;
        out += controlEscape(c.charCodeAt(0));
      } else out += c;
      k++;
    }
    this.i = k + 1;
    return out;
  }

  number(): JNode {
    const z = this.z;
    const start = this.i;
    let k = this.i;
    let sign = '';
    if (z[k] === '-' || z[k] === '+') {
      if (z[k] === '+') this.json5 = true;
      else sign = '-';
      k++;
    }
    const rest = z.slice(k);
    const word = /^(Infinity|inf)(?![A-Za-z0-9_$])/i.exec(rest) ?? null;
    if (word !== null && /^(infinity|inf)$/i.test(word[0])) {
      this.json5 = true;
      this.i = k + word[0].length;
      return { k: 'real', raw: sign + '9e999' };
    }
    if (/^nan(?![A-Za-z0-9_$])/i.test(rest) && start === k) {
      this.json5 = true;
      this.i = k + 3;
      return { k: 'null' };
    }
    const hex = /^0[xX][0-9a-fA-F]+/.exec(rest);
    if (hex !== null) {
      this.json5 = true;
      this.i = k + hex[0].length;
      const v = BigInt(hex[0]);
      return { k: 'integer', raw: sign + v.toString() };
    }
    const m = /^(\d*)(\.(\d*))?([eE][+-]?\d+)?/.exec(rest)!;
    const intPart = m[1]!;
    const frac = m[3];
    const exp = m[4] ?? '';
    if (intPart === '' && (frac === undefined || frac === '')) this.fail();
    if (m[0].length === 0) this.fail();
    if (intPart.length > 1 && intPart[0] === '0') this.fail();
    this.i = k + m[0].length;
    if (m[2] === undefined && exp === '') return { k: 'integer', raw: sign + intPart };
    let raw = sign + (intPart === '' ? '0' : intPart);
    if (intPart === '' || frac === '') this.json5 = true;
    if (m[2] !== undefined) raw += '.' + (frac === '' ? '0' : frac);
    return { k: 'real', raw: raw + exp };
  }
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function isIdentStart(c: string): boolean {
  return /[A-Za-z_$]/.test(c) || c.charCodeAt(0) > 0x7f;
}

function isIdentChar(c: string | undefined): boolean {
  return c !== undefined && (/[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) > 0x7f);
}

function controlEscape(c: number): string {
  switch (c) {
    case 8:
      return '\\b';
    case 9:
      return '\\t';
    case 10:
      return '\\n';
    case 12:
      return '\\f';
    case 13:
      return '\\r';
    default:
      return '\\u00' + c.toString(16).padStart(2, '0');
  }
}

/** The text of a JSON argument: TEXT as is, BLOB as UTF-8, numbers by their text. */
function parseText(z: string): { node: JNode; json5: boolean } {
  const p = new Parser(z);
  const node = p.document();
  return { node, json5: p.json5 };
}

/** Parse argument i of a JSON function; null for SQL NULL. */
function parseArg(v: Value): JNode | null {
  if (v === null) return null;
  return parseText(toText(v)!).node;
}

// ---------------------------------------------------------------------------------------------
// Rendering

/** jsonAppendString: an SQL string as a JSON string literal. */
export function jsonQuoteText(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 34 || c === 92) out += '\\' + s[i];
    else if (c < 32) out += controlEscape(c);
    else out += s[i];
  }
  return out + '"';
}

function render(n: JNode): string {
  switch (n.k) {
    case 'null':
    case 'true':
    case 'false':
      return n.k;
    case 'integer':
    case 'real':
      return n.raw;
    case 'text':
      return `"${n.raw}"`;
    case 'array':
      return `[${n.items.map(render).join(',')}]`;
    case 'object':
      return `{${n.keys.map((k, i) => `"${k}":${render(n.values[i]!)}`).join(',')}}`;
  }
}

const REAL_SPEC = {
  conv: 'g', precision: 17, width: 0, leftJustify: false, prefix: '', alternate: false,
  altForm2: true, zeroPad: true, thousands: false,
} as const;

/** jsonAppendSqlValue / jsonFunctionArgToBlob: an SQL value as a JSON node. */
function nodeOfValue(v: Value, isJson: boolean): JNode {
  switch (storageClass(v)) {
    case 'null':
      return { k: 'null' };
    case 'integer':
      return { k: 'integer', raw: String(v) };
    case 'real': {
      const x = v instanceof Real ? v.value : (v as number);
      return { k: 'real', raw: formatFloat(x, REAL_SPEC) };
    }
    case 'text':
      if (isJson) return parseText(v as string).node;
      return { k: 'text', raw: jsonQuoteText(v as string).slice(1, -1) };
    case 'blob':
      throw new DosqlError('ERROR', 'JSON cannot hold BLOB values');
  }
}

function unescapeBody(raw: string): string {
  if (!raw.includes('\\')) return raw;
  return raw.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_m, e: string) => {
    switch (e[0]) {
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'u':
        return String.fromCharCode(parseInt(e.slice(1), 16));
      default:
        return e;
    }
  });
}

/** jsonReturnFromBlob: a node as an SQL value (containers as JSON text). */
function sqlValueOf(n: JNode): Value {
  switch (n.k) {
    case 'null':
      return null;
    case 'true':
      return 1;
    case 'false':
      return 0;
    case 'integer': {
      const a = atoi64(n.raw);
      if (a.rc === 0) return int(a.value);
      if (a.rc === 3 && n.raw[0] === '-') return int(a.value);
      return real(atof(n.raw).value);
    }
    case 'real':
      return real(atof(n.raw).value);
    case 'text':
      return unescapeBody(n.raw);
    default:
      return render(n);
  }
}

function typeName(n: JNode): string {
  return n.k;
}

// ---------------------------------------------------------------------------------------------
// Paths (jsonLookupStep)

const NOTFOUND = 'notfound';
const PATHERROR = 'patherror';
const NOTARRAY = 'notarray';

type Edit = { mode: 'none' } | { mode: 'del' } | { mode: 'ins' | 'repl' | 'set'; node: JNode };

interface Found {
  node: JNode;
}

type LookupResult = Found | typeof NOTFOUND | typeof PATHERROR | typeof NOTARRAY;

/** Build the structure a missing path tail creates (jsonCreateEditSubstructure). */
function substructure(tail: string, node: JNode, depth: number): JNode | typeof NOTFOUND | typeof PATHERROR | typeof NOTARRAY {
  if (tail === '') return node;
  if (depth >= JSON_DEPTH_MAX) throw new DosqlError('ERROR', 'JSON path too deep');
  const root: JNode = tail[0] === '.' ? { k: 'object', keys: [], values: [] } : { k: 'array', items: [] };
  const holder = { root };
  const r = lookup(holder, 'root', tail, { mode: 'ins', node }, depth + 1);
  return typeof r === 'string' ? r : holder.root;
}

/**
 * Walk `path` (after the '$') from parent[key], applying `edit` at the end. A holder object
 * with a key lets edits replace the node in place.
 */
function lookup(parent: Record<string | number, JNode> | JNode[], key: string | number, path: string, edit: Edit, depth: number): LookupResult {
  const cur = (parent as Record<string | number, JNode>)[key]!;
  if (path === '') return { node: cur };
  if (depth >= JSON_DEPTH_MAX) throw new DosqlError('ERROR', 'JSON path too deep');
  if (path[0] === '.') {
    let i: number;
    let rawKey: string;
    if (path[1] === '"') {
      for (i = 2; i < path.length && path[i] !== '"'; i++) if (path[i] === '\\' && i + 1 < path.length) i++;
      if (i >= path.length) return PATHERROR;
      rawKey = path.slice(2, i);
      i++;
    } else {
      for (i = 1; i < path.length && path[i] !== '.' && path[i] !== '['; i++);
      rawKey = path.slice(1, i);
      if (rawKey === '') return PATHERROR;
    }
    if (cur.k !== 'object') return NOTFOUND;
    const want = unescapeBody(rawKey);
    const at = cur.keys.findIndex((k) => unescapeBody(k) === want);
    const tail = path.slice(i);
    if (at >= 0) {
      if (tail === '' && edit.mode === 'del') {
        cur.keys.splice(at, 1);
        cur.values.splice(at, 1);
        return { node: cur };
      }
      if (tail === '') return finish(cur.values, at, edit);
      return lookup(cur.values, at, tail, edit, depth + 1);
    }
    if (edit.mode === 'ins' || edit.mode === 'set') {
      const sub = substructure(tail, edit.node, depth);
      if (typeof sub === 'string') return sub;
      cur.keys.push(rawKey.includes('\\') ? rawKey : jsonQuoteText(rawKey).slice(1, -1));
      cur.values.push(sub);
      return { node: sub };
    }
    return NOTFOUND;
  }
  if (path[0] === '[') {
    if (cur.k !== 'array') return NOTFOUND;
    let i = 1;
    let kk = 0;
    while (isDigit(path[i])) {
      if (kk < 0xffffffff) kk = kk * 10 + path.charCodeAt(i) - 48;
      i++;
    }
    if (i < 2 || path[i] !== ']') {
      if (path[1] !== '#') return PATHERROR;
      kk = cur.items.length;
      i = 2;
      if (path[2] === '-' && isDigit(path[3])) {
        let nn = 0;
        i = 3;
        do {
          if (nn < 0xffffffff) nn = nn * 10 + path.charCodeAt(i) - 48;
          i++;
        } while (isDigit(path[i]));
        if (nn > kk) return NOTFOUND;
        kk -= nn;
      }
      if (path[i] !== ']') return PATHERROR;
    }
    const tail = path.slice(i + 1);
    if (kk < cur.items.length) {
      if (tail === '' && edit.mode === 'del') {
        cur.items.splice(kk, 1);
        return { node: cur };
      }
      if (tail === '') return finish(cur.items, kk, edit);
      return lookup(cur.items, kk, tail, edit, depth + 1);
    }
    if (kk > cur.items.length) return NOTFOUND;
    if (edit.mode === 'ins' || edit.mode === 'set') {
      const sub = substructure(tail, edit.node, depth);
      if (typeof sub === 'string') return sub;
      cur.items.push(sub);
      return { node: sub };
    }
    return NOTFOUND;
  }
  return PATHERROR;
}

/** The path ended at an existing element: apply a replace/set there. */
function finish(container: JNode[], at: number, edit: Edit): LookupResult {
  if (edit.mode === 'repl' || edit.mode === 'set') container[at] = edit.node;
  return { node: container[at]! };
}

function badPath(path: string, r: LookupResult): DosqlError {
  if (r === NOTARRAY) return new DosqlError('ERROR', `not an array element: '${path.replace(/'/g, "''")}'`);
  return new DosqlError('ERROR', `bad JSON path: '${path.replace(/'/g, "''")}'`);
}

/** Look a path up in a parsed document: the node, or null when not found; throws on a bad path. */
function find(doc: JNode, path: string): JNode | null {
  if (path[0] !== '$') throw badPath(path, PATHERROR);
  const r = lookup({ root: doc }, 'root', path.slice(1), { mode: 'none' }, 0);
  if (r === NOTFOUND) return null;
  if (typeof r === 'string') throw badPath(path, r);
  return r.node;
}

/** cText: sqlite3_value_text with C-string semantics. */
function cText(v: Value): string | null {
  const t = toText(v);
  if (t === null) return null;
  const nul = t.indexOf('\0');
  return nul < 0 ? t : t.slice(0, nul);
}

// ---------------------------------------------------------------------------------------------
// The functions

function isJsonArg(ctx: FunctionContext, i: number): boolean {
  return (ctx as JsonFunctionContext).jsonArgs?.[i] === true;
}

function jsonFn(args: Value[]): Value {
  const n = parseArg(args[0]!);
  return n === null ? null : render(n);
}

function jsonValid(args: Value[]): Value {
  const v = args[0]!;
  let flags = 1;
  if (args.length === 2) {
    if (args[1] === null) return null;
    flags = Number(BigInt.asIntN(32, toInt64(args[1]!)));
    if (flags < 1 || flags > 15) throw new DosqlError('ERROR', 'FLAGS parameter to json_valid() must be between 1 and 15');
  }
  if (v === null) return null;
  if (v instanceof Uint8Array && (flags & 3) === 0) return 0;
  try {
    const r = parseText(toText(v)!);
    if (r.json5) return flags & 2 ? 1 : 0;
    return flags & 3 ? 1 : 0;
  } catch (e) {
    if (e instanceof DosqlError) return 0;
    throw e;
  }
}

/** json_extract and the -> / ->> operators. */
function extract(args: Value[], mode: 'extract' | 'json' | 'sql'): Value {
  if (args.length < 2) return null;
  const doc = parseArg(args[0]!);
  if (doc === null) return null;
  const parts: string[] = [];
  for (let i = 1; i < args.length; i++) {
    const pv = args[i]!;
    let path = cText(pv);
    if (path === null) return null;
    const shown = path;
    if (path[0] !== '$') {
      if (mode === 'extract') throw badPath(path, PATHERROR);
      if (storageClass(pv) === 'integer') path = `$[${path[0] === '-' ? '#' : ''}${path}]`;
      else if (/^[A-Za-z0-9_]*$/.test(path)) path = `$.${path}`;
      else if (path[0] === '[' && path.length >= 3 && path.endsWith(']')) path = `$${path}`;
      else path = `$."${path}"`;
    }
    const r = lookup({ root: doc }, 'root', path.slice(1), { mode: 'none' }, 0);
    if (r === NOTFOUND) {
      if (args.length === 2) return null;
      parts.push('null');
      continue;
    }
    if (typeof r === 'string') throw badPath(shown, r);
    if (args.length === 2) return mode === 'json' ? render(r.node) : sqlValueOf(r.node);
    parts.push(render(r.node));
  }
  return `[${parts.join(',')}]`;
}

/** `a -> path`: the element as JSON text (NULL when absent). */
export function jsonArrow(a: Value, path: Value): Value {
  return extract([a, path], 'json');
}

/** `a ->> path`: the element as an SQL value (NULL when absent). */
export function jsonArrow2(a: Value, path: Value): Value {
  return extract([a, path], 'sql');
}

function jsonType(args: Value[]): Value {
  const doc = parseArg(args[0]!);
  if (doc === null) return null;
  if (args.length === 1) return typeName(doc);
  const path = cText(args[1]!);
  if (path === null) return null;
  const n = find(doc, path);
  return n === null ? null : typeName(n);
}

function jsonArrayLength(args: Value[]): Value {
  const doc = parseArg(args[0]!);
  if (doc === null) return null;
  let n: JNode | null = doc;
  if (args.length === 2) {
    const path = cText(args[1]!);
    if (path === null) return null;
    const r = lookup({ root: doc }, 'root', path[0] === '$' ? path.slice(1) : '@', { mode: 'none' }, 0);
    if (r === NOTFOUND) return null;
    if (typeof r === 'string') throw badPath(path, r);
    n = r.node;
  }
  return n.k === 'array' ? n.items.length : 0;
}

function jsonArray(args: Value[], ctx: FunctionContext): Value {
  return render({ k: 'array', items: args.map((a, i) => nodeOfValue(a, isJsonArg(ctx, i))) });
}

function jsonObject(args: Value[], ctx: FunctionContext): Value {
  if (args.length % 2 === 1) throw new DosqlError('ERROR', 'json_object() requires an even number of arguments');
  const keys: string[] = [];
  const values: JNode[] = [];
  for (let i = 0; i < args.length; i += 2) {
    if (typeof args[i] !== 'string') throw new DosqlError('ERROR', 'json_object() labels must be TEXT');
    keys.push(jsonQuoteText(args[i] as string).slice(1, -1));
    values.push(nodeOfValue(args[i + 1]!, isJsonArg(ctx, i + 1)));
  }
  return render({ k: 'object', keys, values });
}

function jsonEdit(name: string, mode: 'ins' | 'repl' | 'set'): ScalarFunction['fn'] {
  return (args, ctx) => {
    if (args.length % 2 === 0) throw new DosqlError('ERROR', `json_${name}() needs an odd number of arguments`);
    const holder = { root: parseArg(args[0]!) };
    if (holder.root === null) return null;
    for (let i = 1; i < args.length - 1; i += 2) {
      if (args[i] === null) continue;
      const path = cText(args[i]!)!;
      if (path[0] !== '$') throw badPath(path, PATHERROR);
      const node = nodeOfValue(args[i + 1]!, isJsonArg(ctx, i + 1));
      if (path.length === 1) {
        if (mode !== 'ins') holder.root = node;
        continue;
      }
      const r = lookup(holder as { root: JNode }, 'root', path.slice(1), { mode, node }, 0);
      if (r === NOTFOUND) continue;
      if (typeof r === 'string') throw badPath(path, r);
    }
    return render(holder.root);
  };
}

function jsonRemove(args: Value[]): Value {
  const holder = { root: parseArg(args[0]!) };
  if (holder.root === null) return null;
  for (let i = 1; i < args.length; i++) {
    const path = cText(args[i]!);
    if (path === null) return null;
    if (path[0] !== '$') throw badPath(path, PATHERROR);
    if (path.length === 1) return null;
    const r = lookup(holder as { root: JNode }, 'root', path.slice(1), { mode: 'del' }, 0);
    if (r === NOTFOUND) continue;
    if (typeof r === 'string') throw badPath(path, r);
  }
  return render(holder.root);
}

/** RFC 7396 merge patch, as jsonMergePatch. */
function mergePatch(target: JNode, patch: JNode, depth: number): JNode {
  if (depth > JSON_DEPTH_MAX) throw tooDeep();
  if (patch.k !== 'object') return patch;
  const out: JNode = target.k === 'object' ? target : { k: 'object', keys: [], values: [] };
  for (let i = 0; i < patch.keys.length; i++) {
    const key = unescapeBody(patch.keys[i]!);
    const pv = patch.values[i]!;
    const at = out.keys.findIndex((k) => unescapeBody(k) === key);
    if (pv.k === 'null') {
      if (at >= 0) {
        out.keys.splice(at, 1);
        out.values.splice(at, 1);
      }
    } else if (at >= 0) {
      out.values[at] = mergePatch(out.values[at]!, pv, depth + 1);
    } else {
      out.keys.push(patch.keys[i]!);
      out.values.push(mergePatch({ k: 'null' }, pv, depth + 1));
    }
  }
  return out;
}

function jsonPatch(args: Value[]): Value {
  const target = parseArg(args[0]!);
  const patch = parseArg(args[1]!);
  if (target === null || patch === null) return null;
  return render(mergePatch(target, patch, 0));
}

function jsonQuote(args: Value[], ctx: FunctionContext): Value {
  const v = args[0]!;
  if (v instanceof Uint8Array) return 'null';
  return render(nodeOfValue(v, isJsonArg(ctx, 0)));
}

const scalar = (minArgs: number, maxArgs: number, fn: ScalarFunction['fn']): ScalarFunction => ({
  minArgs,
  maxArgs,
  deterministic: true,
  fn,
});

/** The JSON scalar functions, to merge into SCALAR_FUNCTIONS. */
export const JSON_FUNCTIONS: Record<string, ScalarFunction> = {
  json: scalar(1, 1, jsonFn),
  json_valid: scalar(1, 2, jsonValid),
  json_type: scalar(1, 2, jsonType),
  json_extract: scalar(1, -1, (a) => extract(a, 'extract')),
  json_array: scalar(0, -1, jsonArray),
  json_object: scalar(0, -1, jsonObject),
  json_array_length: scalar(1, 2, jsonArrayLength),
  json_insert: scalar(1, -1, jsonEdit('insert', 'ins')),
  json_replace: scalar(1, -1, jsonEdit('replace', 'repl')),
  json_set: scalar(1, -1, jsonEdit('set', 'set')),
  json_remove: scalar(1, -1, jsonRemove),
  json_patch: scalar(2, 2, jsonPatch),
  json_quote: scalar(1, 1, jsonQuote),
};

/**
 * json_group_array(X) / json_group_object(K, V). Aggregate steps cannot see subtypes either:
 * every text argument is an SQL string here.
 */
function groupArray(): Aggregate {
  const items: JNode[] = [];
  return {
    step: (args) => {
      items.push(nodeOfValue(args[0]!, false));
    },
    final: () => render({ k: 'array', items }),
  };
}

function groupObject(): Aggregate {
  const keys: string[] = [];
  const values: JNode[] = [];
  return {
    step: (args) => {
      const k = args[0]!;
      if (k === null) return;
      keys.push(jsonQuoteText(toText(k)!).slice(1, -1));
      values.push(nodeOfValue(args[1]!, false));
    },
    final: () => render({ k: 'object', keys, values }),
  };
}

/** The JSON aggregates, to merge into AGGREGATES. */
export const JSON_AGGREGATES: Record<string, () => Aggregate> = {
  json_group_array: groupArray,
  json_group_object: groupObject,
};
