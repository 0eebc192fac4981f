/** Numeric-prefix search (materializers/btree/search.ts) answers exactly what string search does. */
import { describe, expect, it } from 'vitest';
import { encodeKey } from '../../materializers/btree/index.js';
import type { LeafPage } from '../../materializers/btree/page-store.js';
import { NO_PREFIX, keyPrefix, lowerBoundIn, upperBoundIn } from '../../materializers/btree/search.js';
import { lowerBound } from '../../storage/memory.js';
import { rng } from '../support/random.js';

function randomKey(r: ReturnType<typeof rng>): string {
  switch (r.int(4)) {
    case 0:
      return encodeKey([r.int(2_000_000) - 1_000_000]);
    case 1:
      return encodeKey([r.int(1000) / 7]);
    case 2: // short text near the 255/256 boundary, including chars that have no prefix
      return Array.from({ length: r.int(8) }, () => String.fromCharCode([0, 1, 254, 255, 256, 300, 97][r.int(7)]!)).join('');
    default:
      return encodeKey([`k${r.int(500)}`, r.int(3)]);
  }
}

describe('numeric-prefix search', () => {
  it('orders prefixes as the keys order', () => {
    const r = rng(11);
    for (let i = 0; i < 20_000; i++) {
      const a = randomKey(r);
      const b = randomKey(r);
      const pa = keyPrefix(a);
      const pb = keyPrefix(b);
      if (pa === NO_PREFIX || pb === NO_PREFIX) continue;
      if (pa < pb) expect(a < b, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(true);
      if (pa > pb) expect(a > b).toBe(true);
      if (a === b) expect(pa).toBe(pb);
    }
  });

  it('finds the same bounds as string search on clean and dirty pages', () => {
    const r = rng(12);
    for (let round = 0; round < 200; round++) {
      const keys = [...new Set(Array.from({ length: 1 + r.int(120) }, () => randomKey(r)))].sort();
      const clean: LeafPage = { kind: 'leaf', keys, vals: keys.map(() => []), bytes: 0, n: -1, prefixes: null };
      const dirty: LeafPage = { kind: 'leaf', keys, vals: keys.map(() => []), bytes: 0, n: -1 };
      for (let probe = 0; probe < 40; probe++) {
        const k = r.int(3) === 0 ? keys[r.int(keys.length)]! : randomKey(r);
        const lower = lowerBound(keys, k);
        const upper = keys.filter((x) => x <= k).length;
        for (const page of [clean, dirty]) {
          expect(lowerBoundIn(page, k, keyPrefix(k))).toBe(lower);
          expect(upperBoundIn(page, k, keyPrefix(k))).toBe(upper);
        }
      }
    }
  });
});
