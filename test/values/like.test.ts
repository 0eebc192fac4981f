import { describe, expect, it } from 'vitest';
import * as V from '../../query/values/index.js';
import { rng, type Rng } from '../support/random.js';
import { key, oracle, seedOr } from './oracle.js';

const SEED = seedOr(0x11e);

function word(r: Rng, alphabet: string[], maxLen: number): string {
  let s = '';
  const n = r.int(maxLen + 1);
  for (let i = 0; i < n; i++) s += r.pick(alphabet);
  return s;
}

describe('LIKE and GLOB match SQLite', () => {
  it(`LIKE with and without ESCAPE (seed ${SEED})`, () => {
    const r = rng(SEED);
    const textChars = [...'aAbB_%xé😀\\'];
    const patChars = [...'aAbB_%%x_é😀\\'];
    const failures: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const text = word(r, textChars, 6);
      const pat = word(r, patChars, 5);
      const esc = r.chance(0.3) ? r.pick(['\\', 'x', '%', '_']) : undefined;
      const want = key(esc === undefined ? oracle('SELECT ? LIKE ?', [text, pat]) : oracle('SELECT ? LIKE ? ESCAPE ?', [text, pat, esc]));
      const got = key(V.like(pat, text, esc) ? 1 : 0);
      if (got !== want) failures.push(`${JSON.stringify(text)} LIKE ${JSON.stringify(pat)} ESCAPE ${esc}: got ${got} want ${want}`);
    }
    expect(failures.slice(0, 10), `seed ${SEED}`).toEqual([]);
  });

  it(`GLOB with classes (seed ${SEED + 1})`, () => {
    const r = rng(SEED + 1);
    const textChars = [...'abcAB]-^*?[é'];
    const patChars = [...'abAB*?[]^-c[]é'];
    const failures: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const text = word(r, textChars, 5);
      const pat = word(r, patChars, 6);
      const want = key(oracle('SELECT ? GLOB ?', [text, pat]));
      const got = key(V.glob(pat, text) ? 1 : 0);
      if (got !== want) failures.push(`${JSON.stringify(text)} GLOB ${JSON.stringify(pat)}: got ${got} want ${want}`);
    }
    expect(failures.slice(0, 10), `seed ${SEED + 1}`).toEqual([]);
  });

  it('stays linear-ish on pathological patterns', () => {
    const text = 'a'.repeat(5000);
    const pat = '%a'.repeat(40) + 'b';
    const t0 = Date.now();
    expect(V.like(pat, text)).toBe(false);
    expect(V.glob(pat.replace(/%/g, '*'), text)).toBe(false);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('rejects a bad ESCAPE and over-long patterns', () => {
    expect(() => V.like('a', 'a', 'ab')).toThrow('ESCAPE expression must be a single character');
    expect(() => V.like('a'.repeat(V.LIKE_PATTERN_BYTES_MAX + 1), 'a')).toThrow('LIKE or GLOB pattern too complex');
  });
});
