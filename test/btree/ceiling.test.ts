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

  // Seeks in key order reuse the leaf (and position) of the last one; puts and deletes between
  // them must not leave a stale answer.
  it('stays right for ascending seeks interleaved with puts and deletes', async () => {
    const r = rng(8);
    const tree = BTree.create(new PageStore(new MemoryStore(), { prefix: 'c/' }), { pageBytesTarget: 4096 });
    const present = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      await tree.put(encodeRowidKey(i * 3), [i]);
      present.add(i * 3);
    }
    for (let round = 0; round < 20; round++) {
      for (let at = r.int(50); at < 6000; at += 1 + r.int(12)) {
        const expected = [...present].filter((n) => n >= at).sort((a, b) => a - b)[0];
        const hit = tree.ceilingCached(encodeRowidKey(at));
        expect(hit === undefined ? undefined : (hit as [string, unknown[]])[1][0], `round ${round} at ${at}`).toBe(expected === undefined ? undefined : expected / 3);
        if (r.int(8) === 0) {
          const n = r.int(2000) * 3;
          if (present.delete(n)) await tree.delete(encodeRowidKey(n));
          else {
            await tree.put(encodeRowidKey(n), [n / 3]);
            present.add(n);
          }
        }
      }
    }
  });
});
