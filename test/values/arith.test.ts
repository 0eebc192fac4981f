import { describe, expect, it } from 'vitest';
import type { Value } from '../../base/values.js';
import * as V from '../../query/values/index.js';
import { rng } from '../support/random.js';
import { attempt, genValue, key, oracle, seedOr } from './oracle.js';

const SEED = seedOr(0xa21);

const BINARY: [string, (a: Value, b: Value) => Value][] = [
  ['+', V.add],
  ['-', V.sub],
  ['*', V.mul],
  ['/', V.div],
  ['%', V.mod],
  ['&', V.bitAnd],
  ['|', V.bitOr],
  ['<<', V.shiftLeft],
  ['>>', V.shiftRight],
  ['||', V.concat],
];

describe('arithmetic matches SQLite', () => {
  it(`binary operators over random operand pairs (seed ${SEED})`, () => {
    const r = rng(SEED);
    const failures: string[] = [];
    for (let i = 0; i < 6000; i++) {
      const [op, fn] = BINARY[i % BINARY.length]!;
      const a = genValue(r);
      const b = r.chance(0.2) ? (r.int(130) - 65) : genValue(r);
      const want = key(oracle(`SELECT ?1 ${op} ?2`, [a, b]));
      const got = key(attempt(() => fn(a, b)));
      if (got !== want) failures.push(`${key(a)} ${op} ${key(b)}: got ${got} want ${want}`);
    }
    expect(failures.slice(0, 10), `seed ${SEED}`).toEqual([]);
  });

  it(`unary minus and ~ (seed ${SEED + 1})`, () => {
    const r = rng(SEED + 1);
    const failures: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const a = genValue(r);
      for (const [op, fn] of [['-', V.negate], ['~', V.bitNot]] as const) {
        const want = key(oracle(`SELECT ${op}(?1)`, [a]));
        const got = key(fn(a));
        if (got !== want) failures.push(`${op}${key(a)}: got ${got} want ${want}`);
      }
    }
    expect(failures.slice(0, 10), `seed ${SEED + 1}`).toEqual([]);
  });

  it('documented edges', () => {
    expect(V.add(9223372036854775807n, 1)).toBe(9223372036854775808);
    expect(V.div(7, 2)).toBe(3);
    expect(V.div(-7, 2)).toBe(-3);
    expect(V.div(1, 0)).toBe(null);
    expect(V.mod(1, 0)).toBe(null);
    expect(V.add(null, 1)).toBe(null);
    expect(V.add('12', '3')).toBe(15);
  });
});
