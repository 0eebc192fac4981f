import { describe, expect, it } from 'vitest';
import { real, type Value } from '../../base/values.js';
import * as V from '../../query/values/index.js';
import { rng, type Rng } from '../support/random.js';
import { attempt, key, oracle, seedOr } from './oracle.js';

const SEED = seedOr(0x15011);
const ctx: V.FunctionContext = { random: () => 0n, now: () => 0 };

const KEYS = ['a', 'b', 'c', 'a b', 'x.y', 'é', 'A', '', 'k"q', '1'];
const STRINGS = ['', 'x', 'héllo', 'tab\there', 'q"uote', 'back\\slash', '\\u0041', '\\n', '😀', '[1]', '\u0001'];
const NUMBERS = ['0', '-0', '1', '-17', '1.50', '1e5', '1E+5', '-2.5e-3', '0.0', '9223372036854775807', '9223372036854775808', '-9223372036854775808', '99999999999999999999', '1e400', '3.141592653589793'];
const JSON5 = ['0x1F', '.5', '5.', '+3', 'Infinity', '-Infinity', 'NaN', "'sq'", '"a\\x41"', '"\\v"'];

function genJson(r: Rng, depth: number, json5: boolean): string {
  const ws = (): string => (r.chance(0.1) ? r.pick([' ', '\n', '\t ', json5 ? '/*c*/' : ' ']) : '');
  const k = depth > 3 ? r.int(4) : r.int(7);
  switch (k) {
    case 0:
      return r.pick(['null', 'true', 'false']);
    case 1:
      return json5 && r.chance(0.3) ? r.pick(JSON5) : r.pick(NUMBERS);
    case 2:
    case 3: {
      const s = r.pick(STRINGS);
      return s.includes('\\u') || s === '\\n' ? `"${s}"` : JSON.stringify(s);
    }
    case 4:
    case 5: {
      const n = r.int(5);
      const parts = Array.from({ length: n }, () => ws() + genJson(r, depth + 1, json5) + ws());
      return `[${parts.join(',')}${json5 && n > 0 && r.chance(0.2) ? ',' : ''}]`;
    }
    default: {
      const n = r.int(5);
      const parts = Array.from({ length: n }, () => {
        const kk = r.pick(KEYS);
        const label = json5 && /^[a-z]+$/.test(kk) && r.chance(0.3) ? kk : JSON.stringify(kk);
        return `${ws()}${label}${ws()}:${ws()}${genJson(r, depth + 1, json5)}`;
      });
      return `{${parts.join(',')}}`;
    }
  }
}

function genPath(r: Rng): string {
  let p = '$';
  const n = r.int(4);
  for (let i = 0; i < n; i++) {
    switch (r.int(6)) {
      case 0:
      case 1: {
        const kk = r.pick(KEYS);
        p += /^[a-zA-Zé1]+$/.test(kk) && r.chance(0.7) ? `.${kk}` : `.${JSON.stringify(kk)}`;
        break;
      }
      case 2:
      case 3:
        p += `[${r.int(5)}]`;
        break;
      case 4:
        p += r.pick(['[#-1]', '[#]', '[#-3]', '[#-9]']);
        break;
      default:
        p += r.pick(['', '.', '[x]', '[', '.a"', '[-1]', 'x']);
    }
  }
  return r.chance(0.03) ? p.slice(1) : p;
}

function genSqlValue(r: Rng): Value {
  switch (r.int(6)) {
    case 0:
      return null;
    case 1:
      return r.int(2001) - 1000;
    case 2:
      return real(r.pick([1.5, 2, -0.25, 1e20, 0.1, 1 / 3, -0]));
    case 3:
      return r.pick([9223372036854775807n, -9223372036854775808n]);
    default:
      return r.pick(STRINGS.concat(['{"a":1}', 'plain']));
  }
}

function check(name: string, args: Value[], failures: string[]): void {
  const sql = `SELECT ${name}(${args.map(() => '?').join(', ')})`;
  const want = key(oracle(sql, args));
  const got = key(attempt(() => V.SCALAR_FUNCTIONS[name]!.fn(args, ctx)));
  if (got !== want) failures.push(`${name}(${args.map(key).join(', ')}): got ${got} want ${want}`);
}

describe('JSON functions match SQLite', () => {
  it(`json, json_valid, json_type, json_extract on random documents and paths (seed ${SEED})`, () => {
    const r = rng(SEED);
    const failures: string[] = [];
    for (let i = 0; i < 2500; i++) {
      const json5 = r.chance(0.25);
      let doc = genJson(r, 0, json5);
      if (r.chance(0.05)) doc = doc.slice(0, Math.max(0, doc.length - 1 - r.int(3)));
      check('json', [doc], failures);
      check('json_valid', [doc], failures);
      if (r.chance(0.2)) check('json_valid', [doc, r.pick([1, 2, 3])], failures);
      check('json_type', r.chance(0.5) ? [doc] : [doc, genPath(r)], failures);
      const paths = Array.from({ length: r.chance(0.8) ? 1 : 1 + r.int(3) }, () => genPath(r));
      check('json_extract', [doc, ...paths], failures);
      check('json_array_length', r.chance(0.5) ? [doc] : [doc, genPath(r)], failures);
    }
    expect(failures.slice(0, 15), `seed ${SEED}`).toEqual([]);
  });

  it(`constructors and editors (seed ${SEED})`, () => {
    const r = rng(SEED + 1);
    const failures: string[] = [];
    for (let i = 0; i < 2500; i++) {
      const doc = genJson(r, 1, r.chance(0.1));
      const n = r.int(3);
      switch (r.int(7)) {
        case 0:
          check('json_array', Array.from({ length: r.int(4) }, () => genSqlValue(r)), failures);
          break;
        case 1: {
          const args: Value[] = [];
          for (let k = 0; k < n; k++) args.push(r.chance(0.95) ? r.pick(KEYS) : 1, genSqlValue(r));
          check('json_object', args, failures);
          break;
        }
        case 2:
          check('json_quote', [genSqlValue(r)], failures);
          break;
        case 3:
          check('json_remove', [doc, ...Array.from({ length: n }, () => genPath(r))], failures);
          break;
        case 4:
          check('json_patch', [doc, genJson(r, 1, false)], failures);
          break;
        default: {
          const name = r.pick(['json_set', 'json_insert', 'json_replace']);
          const args: Value[] = [doc];
          for (let k = 0; k <= n; k++) args.push(genPath(r), genSqlValue(r));
          check(name, args, failures);
        }
      }
    }
    expect(failures.slice(0, 15), `seed ${SEED}`).toEqual([]);
  });

  it(`-> and ->> helpers (seed ${SEED})`, () => {
    const r = rng(SEED + 2);
    const failures: string[] = [];
    for (let i = 0; i < 1500; i++) {
      const doc = genJson(r, 0, false);
      const path: Value = r.chance(0.4) ? genPath(r) : r.chance(0.5) ? r.int(6) - 2 : r.pick(KEYS.concat(['[1]', '[#-1]']));
      for (const [op, fn] of [['->', V.jsonArrow], ['->>', V.jsonArrow2]] as const) {
        const want = key(oracle(`SELECT ? ${op} ?`, [doc, path]));
        const got = key(attempt(() => fn(doc, path)));
        if (got !== want) failures.push(`${key(doc)} ${op} ${key(path)}: got ${got} want ${want}`);
      }
    }
    expect(failures.slice(0, 15), `seed ${SEED}`).toEqual([]);
  });

  it('JSON subtype arguments nest instead of quoting; aggregates', () => {
    const jctx: V.JsonFunctionContext = { ...ctx, jsonArgs: [false, true] };
    expect(V.SCALAR_FUNCTIONS['json_array']!.fn([1, '[2, 3]'], jctx)).toBe('[1,[2,3]]');
    expect(V.SCALAR_FUNCTIONS['json_array']!.fn([1, '[2, 3]'], ctx)).toBe('[1,"[2, 3]"]');
    const setCtx: V.JsonFunctionContext = { ...ctx, jsonArgs: [false, false, true] };
    expect(V.SCALAR_FUNCTIONS['json_set']!.fn(['{}', '$.a', '{"b":1}'], setCtx)).toBe('{"a":{"b":1}}');
    expect(V.JSON_SUBTYPE_FUNCTIONS.has('json_object')).toBe(true);
    const ga = V.AGGREGATES['json_group_array']!();
    for (const v of [1, null, 'x', real(2)]) ga.step([v]);
    expect(ga.final()).toBe(oracle(`SELECT json_group_array(v) FROM (SELECT 1 AS v UNION ALL SELECT NULL UNION ALL SELECT 'x' UNION ALL SELECT 2.0)`));
    const go = V.AGGREGATES['json_group_object']!();
    go.step(['a', 1]);
    go.step(['b', 'two']);
    expect(go.final()).toBe('{"a":1,"b":"two"}');
    expect(V.AGGREGATES['json_group_array']!().final()).toBe('[]');
  });

  it('malformed JSON is a DosqlError', () => {
    expect(() => V.SCALAR_FUNCTIONS['json']!.fn(['[1,2'], ctx)).toThrow(expect.objectContaining({ code: 'ERROR', message: 'malformed JSON' }));
    expect(() => V.SCALAR_FUNCTIONS['json_extract']!.fn(['{}', 'a'], ctx)).toThrow("bad JSON path: 'a'");
    expect(V.SCALAR_FUNCTIONS['json']!.fn([null], ctx)).toBe(null);
  });
});
