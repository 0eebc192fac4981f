import { describe, expect, it } from 'vitest';
import type { Value } from '../../base/values.js';
import * as V from '../../query/values/index.js';
import { rng, type Rng } from '../support/random.js';
import { attempt, genValue, key, oracle, seedOr } from './oracle.js';

const SEED = seedOr(0xf17);
const ctx: V.FunctionContext = { random: () => 0x0123456789abcdefn, now: () => 0 };

/** name -> argument counts to try. */
const DETERMINISTIC: Record<string, number[]> = {
  abs: [1], coalesce: [2, 3], ifnull: [2], nullif: [2], iif: [2, 3], length: [1], octet_length: [1],
  lower: [1], upper: [1], substr: [2, 3], substring: [2, 3], trim: [1, 2], ltrim: [1, 2], rtrim: [1, 2],
  replace: [3], instr: [2], round: [1, 2], hex: [1], unhex: [1, 2], quote: [1], typeof: [1],
  min: [2, 3], max: [2, 3], zeroblob: [1], char: [0, 1, 3], unicode: [1], sign: [1], likely: [1],
  unlikely: [1], likelihood: [2], like: [2, 3], glob: [2], concat: [1, 3], concat_ws: [2, 4],
};

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function genArg(r: Rng, name: string): Value {
  if (r.chance(0.25)) return r.int(20) - 8;
  if (name === 'zeroblob') return r.int(10) - 2;
  if (name === 'unhex' && r.chance(0.5)) return r.pick(['', '0a', 'ABcd', '1', 'a b', '12 34', 'zz', '0x1F', '--aa']);
  if (name === 'char') return r.pick([65, 0x1f600, -1, 0x110000, 0xe9, 0]);
  const v = genValue(r);
  if (v instanceof Uint8Array) {
    try {
      strictUtf8.decode(v);
    } catch {
      return 'bytes';
    }
  }
  return v;
}

describe('scalar functions match SQLite', () => {
  it(`deterministic functions on random arguments (seed ${SEED})`, () => {
    const r = rng(SEED);
    const failures: string[] = [];
    const names = Object.keys(DETERMINISTIC);
    for (let i = 0; i < 5000; i++) {
      const name = names[i % names.length]!;
      const n = r.pick(DETERMINISTIC[name]!);
      const args = Array.from({ length: n }, () => genArg(r, name));
      if (name === 'likelihood') args[1] = 0.5;
      if (name === 'like' && n === 3 && typeof args[2] !== 'string') args[2] = '\\';
      // likelihood() wants a literal probability, checked when SQLite compiles the call.
      const params = name === 'likelihood' ? args.slice(0, 1) : args;
      const sql = `SELECT ${name}(${params.map(() => '?').join(', ')}${name === 'likelihood' ? ', 0.5' : ''})`;
      const want = key(oracle(sql, params));
      const got = key(attempt(() => V.SCALAR_FUNCTIONS[name]!.fn(args, ctx)));
      if (got !== want) failures.push(`${name}(${args.map(key).join(', ')}): got ${got} want ${want}`);
    }
    expect(failures.slice(0, 12), `seed ${SEED}`).toEqual([]);
  });

  it('abs of the smallest integer is an error; random and randomblob use the context', () => {
    expect(() => V.SCALAR_FUNCTIONS['abs']!.fn([-9223372036854775808n], ctx)).toThrow('integer overflow');
    const x = V.SCALAR_FUNCTIONS['random']!.fn([], { ...ctx, random: () => -1n });
    expect(x).toBe(-9223372036854775807n);
    const b = V.SCALAR_FUNCTIONS['randomblob']!.fn([3], ctx) as Uint8Array;
    expect([...b]).toEqual([0xef, 0xcd, 0xab]);
    expect(V.SCALAR_FUNCTIONS['random']!.deterministic).toBe(false);
  });

  it('round() agrees on many reals', () => {
    const r = rng(SEED + 1);
    for (let i = 0; i < 1500; i++) {
      const x = V.add(0, (r.next() - 0.5) * 10 ** r.int(12)) as Value;
      const n = r.int(8);
      expect(key(V.SCALAR_FUNCTIONS['round']!.fn([x, n], ctx)), `round(${key(x)}, ${n})`).toBe(
        key(oracle('SELECT round(?, ?)', [x, n])),
      );
    }
  });
});
