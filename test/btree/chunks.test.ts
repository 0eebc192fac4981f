/** scanChunks gives exactly what scan gives, a leaf at a time, including across changes mid-scan. */
import { describe, expect, it } from 'vitest';
import type { Value } from '../../base/values.js';
import { BTree, PageStore, encodeRowidKey } from '../../materializers/btree/index.js';
import { MemoryStore } from '../../storage/memory.js';
import { rng } from '../support/random.js';

async function rowsOf(tree: BTree, opts: Parameters<BTree['scanChunks']>[0]): Promise<Array<[string, Value[]]>> {
  const out: Array<[string, Value[]]> = [];
  for await (const { keys, rows } of tree.scanChunks(opts)) keys.forEach((k, i) => out.push([k, rows[i]!]));
  return out;
}

describe('BTree.scanChunks', () => {
  it('equals scan over random bounds, overflow rows included (seeded)', async () => {
    const seed = 11;
    const r = rng(seed);
    const tree = BTree.create(new PageStore(new MemoryStore(), { prefix: 'c/' }), { pageBytesTarget: 4096 });
    for (let i = 0; i < 4000; i++) await tree.put(encodeRowidKey(r.int(20_000)), i % 97 === 0 ? ['x'.repeat(3000)] : [i]);
    for (let probe = 0; probe < 200; probe++) {
      const a = encodeRowidKey(r.int(21_000));
      const b = encodeRowidKey(r.int(21_000));
      const opts = { lo: r.chance(0.1) ? undefined : a < b ? a : b, hi: r.chance(0.1) ? undefined : a < b ? b : a, loInclusive: r.chance(0.5), hiInclusive: r.chance(0.5) };
      const want: Array<[string, Value[]]> = [];
      for await (const e of tree.scan(opts)) want.push(e);
      expect(await rowsOf(tree, opts), `seed ${seed} probe ${probe}`).toEqual(want);
    }
  });

  it('re-seeks after its last key when the tree changes while a chunk is out', async () => {
    const tree = BTree.create(new PageStore(new MemoryStore(), { prefix: 'c/' }), { pageBytesTarget: 4096 });
    for (let i = 0; i < 2000; i += 2) await tree.put(encodeRowidKey(i), [i]);
    const seen: number[] = [];
    for await (const { rows } of tree.scanChunks()) {
      for (const row of rows) seen.push(row[0] as number);
      const last = rows[rows.length - 1]![0] as number;
      // Rows after the chunk appear; rows before it do not come back.
      if (last < 1990) await tree.put(encodeRowidKey(last + 1), [last + 1]);
      await tree.put(encodeRowidKey(-1 - last), [-1 - last]);
    }
    expect(seen).toEqual([...seen].sort((x, y) => x - y));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((v) => v % 2 === 0).length).toBe(1000);
    expect(seen.some((v) => v % 2 === 1)).toBe(true);
    expect(seen.every((v) => v >= 0)).toBe(true);
  });
});
