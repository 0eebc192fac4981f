import { describe, expect, it } from 'vitest';
import { BTree, NOT_CACHED, PageStore, encodeRowidKey } from '../../materializers/btree/index.js';
import { MemoryStore } from '../../storage/memory.js';
import { rng } from '../support/random.js';

describe('BTree.ceiling', () => {
  it('finds the first key at or after a bound, across leaves, like a scan', async () => {
    const r = rng(7);
    const tree = BTree.create(new PageStore(new MemoryStore(), { prefix: 'c/' }), { pageBytesTarget: 4096 });
    const keys: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const k = encodeRowidKey(r.int(100_000) * 2);
      await tree.put(k, [i]);
      keys.push(k);
    }
    const sorted = [...new Set(keys)].sort();
    for (let probe = 0; probe < 500; probe++) {
      const lo = encodeRowidKey(r.int(200_010));
      const expected = sorted.find((k) => k >= lo);
      const hit = tree.ceilingCached(lo);
      expect(hit).not.toBe(NOT_CACHED);
      expect(hit === undefined ? undefined : (hit as [string, unknown])[0]).toBe(expected);
      expect((await tree.ceiling(lo))?.[0]).toBe(expected);
    }
    expect(tree.ceilingCached('\uffff')).toBeUndefined();
    expect((tree.ceilingCached('') as [string, unknown])[0]).toBe(sorted[0]);
  });
});
