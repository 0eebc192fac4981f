/** SortedKeys (storage/sorted-keys.ts) lists exactly the present keys, in order, whatever the order of writes and reads. */
import { describe, expect, it } from 'vitest';
import { SortedKeys } from '../../storage/sorted-keys.js';
import { rng } from '../support/random.js';

describe('SortedKeys', () => {
  for (const seed of [1, 2, 3]) {
    it(`matches a sorted set under random adds, removes and reads (seed ${seed})`, () => {
      const r = rng(seed);
      const keys = new SortedKeys(['b05', 'b10']);
      const present = new Set(['b05', 'b10']);
      for (let step = 0; step < 5000; step++) {
        // A narrow key space, so keys are removed and added back between reads.
        const k = `${'abc'[r.int(3)]}${String(r.int(40)).padStart(2, '0')}`;
        const op = r.int(10);
        if (op < 5 && !present.has(k)) {
          keys.add(k);
          present.add(k);
        } else if (op < 8 && present.has(k)) {
          keys.remove(k);
          present.delete(k);
        } else if (op === 9) {
          expect(keys.sorted()).toEqual([...present].sort());
        }
      }
      expect(keys.sorted()).toEqual([...present].sort());
    });
  }
});
