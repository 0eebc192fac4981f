import { describe, expect, it } from 'vitest';
import { Real, real, type Value } from '../../base/values.js';
import { castTo, toDouble, toInteger64, toNumeric, toText } from '../../query/values/index.js';
import { rng } from '../support/random.js';
import { genDouble, genValue, key, oracle, seedOr } from './oracle.js';

const SEED = seedOr(0x5eed01);

describe('toText of REAL matches SQLite', () => {
  it('renders the documented examples', () => {
    expect(toText(new Real(1))).toBe('1.0');
    expect(toText(0.1)).toBe('0.1');
    expect(toText(1e20)).toBe('1.0e+20');
    expect(toText(1 / 3)).toBe('0.33333333333333332');
    expect(toText(new Real(-0))).toBe('0.0');
    expect(toText(Infinity)).toBe('Inf');
    expect(toText(-Infinity)).toBe('-Inf');
  });

  it(`agrees on random doubles, powers of ten and integral reals (seed ${SEED})`, () => {
    const r = rng(SEED);
    const failures: string[] = [];
    const samples: number[] = [];
    for (let i = 0; i < 3000; i++) samples.push(genDouble(r));
    for (let e = -30; e <= 30; e++) samples.push(10 ** e, -(10 ** e), 2 ** e);
    for (const x of samples) {
      const want = oracleText(x);
      const got = toText(real(x));
      if (got !== want) failures.push(`${x}: got ${got} want ${want}`);
    }
    expect(failures.slice(0, 10), `seed ${SEED}`).toEqual([]);
  });
});

function oracleText(x: number): string {
  return oracle('SELECT CAST(? AS TEXT)', [real(x)]) as string;
}

describe('CAST and conversions match SQLite', () => {
  const types = ['INTEGER', 'REAL', 'NUMERIC', 'TEXT', 'BLOB'];
  it(`CAST(x AS type) for random values (seed ${SEED + 1})`, () => {
    const r = rng(SEED + 1);
    const failures: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const v = genValue(r);
      const type = types[i % types.length]!;
      const want = key(oracle(`SELECT CAST(? AS ${type})`, [v]));
      const got = key(castTo(v, type));
      if (got !== want) failures.push(`CAST(${key(v)} AS ${type}): got ${got} want ${want}`);
    }
    expect(failures.slice(0, 10), `seed ${SEED + 1}`).toEqual([]);
  });

  it('toNumeric, toInteger64 and toDouble agree with CAST', () => {
    const r = rng(SEED + 2);
    for (let i = 0; i < 1000; i++) {
      const v = genValue(r);
      if (v === null) continue;
      expect(key(toNumeric(v))).toBe(key(oracle('SELECT CAST(? AS NUMERIC)', [v])));
      expect(key(toInteger64(v))).toBe(key(oracle('SELECT CAST(? AS INTEGER)', [v])));
      expect(key(real(toDouble(v)))).toBe(key(oracle('SELECT CAST(? AS REAL)', [v])));
    }
  });

  it('handles the saturating edges', () => {
    expect(castTo(1e30, 'INTEGER')).toBe(9223372036854775807n);
    expect(castTo(-1e30, 'INTEGER')).toBe(-9223372036854775808n);
    expect(castTo('99999999999999999999', 'INTEGER')).toBe(9223372036854775807n);
    expect(castTo('12.9abc', 'INTEGER')).toBe(12);
    expect(toNumeric('3.0')).toBe(3);
    expect(key(toNumeric('1.5x'))).toBe(key(real(1.5)));
    expect(castTo(null as Value, 'TEXT')).toBe(null);
  });
});
