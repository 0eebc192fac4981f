/**
 * Point lookups by rowid number (BTree.getCachedRowid, search.ts rowidPrefix): the prefix of a
 * small integer's key is the whole key, so these lookups answer exactly what the lookup by key
 * string answers, on dirty, clean, packed and uncached pages.
 */
import { describe, expect, it } from 'vitest';
import { pack, unpack } from '../../base/codec.js';
import type { Value } from '../../base/values.js';
import { BTree, NOT_CACHED } from '../../materializers/btree/btree.js';
import { encodeRowidKey } from '../../materializers/btree/keys.js';
import { PageStore } from '../../materializers/btree/page-store.js';
import { keyPrefix, ROWID_PREFIX_EXACT_LIMIT, rowidPrefix } from '../../materializers/btree/search.js';
import { MemoryStore } from '../../storage/memory.js';
import { rng } from '../support/random.js';
import { rowEntries } from './entries.js';

const PREFIX = 't1/';
const META_KEY = 't1/meta';
const TARGET = 4096;
const LIMIT = ROWID_PREFIX_EXACT_LIMIT;

/** Integers around every magnitude that matters: zero, byte edges, the limit, beyond it. */
function edgeRowids(): number[] {
  const out = [0, 1, 2, 255, 256, 65_535, 65_536, 100_000, LIMIT / 2, LIMIT - 2, LIMIT - 1, LIMIT, LIMIT + 1, 2 ** 40, 2 ** 53 - 1];
  return [...out, ...out.map((x) => -x)];
}

describe('rowid prefixes', () => {
  it('are the prefixes of the rowids\' keys', () => {
    const r = rng(21);
    const xs = [...edgeRowids(), ...Array.from({ length: 20_000 }, () => (r.int(2 * LIMIT) - LIMIT) * (r.chance(0.1) ? 8 : 1))];
    for (const x of xs) expect(rowidPrefix(x), String(x)).toBe(keyPrefix(encodeRowidKey(x)));
    expect(rowidPrefix(-0)).toBe(rowidPrefix(0));
  });

  it('differ for different rowids under the limit, so they decide equality alone', () => {
    const r = rng(22);
    for (let i = 0; i < 20_000; i++) {
      const x = r.int(2 * LIMIT - 1) - (LIMIT - 1);
      const near = [x - 1, x + 1].filter((y) => Math.abs(y) < LIMIT);
      for (const y of near) expect(rowidPrefix(y)).not.toBe(rowidPrefix(x));
    }
    // Past the limit they stop deciding: neighbours share a prefix.
    expect(rowidPrefix(2 ** 40)).toBe(rowidPrefix(2 ** 40 + 1));
  });
});

function row(i: number): Value[] {
  return [i, `name-${i}`, i * 0.5];
}

/** Every probe answers as the string lookup does; returns how many the tree held. */
function expectSameAnswers(tree: BTree, probes: number[]): number {
  let found = 0;
  for (const x of probes) {
    const byString = tree.getCached(encodeRowidKey(x));
    const byNumber = tree.getCachedRowid(x);
    expect(byNumber, String(x)).toEqual(byString);
    if (Array.isArray(byNumber)) found++;
  }
  return found;
}

describe('BTree.getCachedRowid', () => {
  it('answers what getCached answers on dirty, clean, packed and cold pages', async () => {
    const r = rng(23);
    const store = new MemoryStore();
    const pages = new PageStore(store, { prefix: PREFIX });
    const tree = BTree.create(pages, { pageBytesTarget: TARGET });
    // Keys of every magnitude, large ones (whose prefixes tie) included, and gaps.
    const keys = new Set<number>(edgeRowids());
    while (keys.size < 6_000) keys.add(r.int(40_000) - 20_000);
    for (let i = 0; i < 500; i++) keys.add(2 ** 40 + r.int(1000));
    const sorted = [...keys].sort((a, b) => a - b);
    for (const x of sorted) await tree.put(encodeRowidKey(x), row(x));
    for (let i = 0; i < 300; i++) await tree.delete(encodeRowidKey(sorted[r.int(sorted.length)]!));
    const probes = [...sorted, ...sorted.map((x) => x + 1), ...sorted.map((x) => x - 1)];
    const small = probes.filter((x) => Math.abs(x) < LIMIT);

    const dirty = expectSameAnswers(tree, small);
    await pages.flush(pack([tree.rootId, pages.nextPageId]), META_KEY);
    expect(expectSameAnswers(tree, small)).toBe(dirty); // clean pages: searched by prefix
    expect(dirty).toBeGreaterThan(5_000);
    // A few writes after the checkpoint: dirty paths from the root over clean pages beside them.
    for (let i = 0; i < 20; i++) await tree.put(encodeRowidKey(sorted[r.int(sorted.length)]! + 1), row(-i));
    expectSameAnswers(tree, small);
    await pages.flush(pack([tree.rootId, pages.nextPageId]), META_KEY);

    // Packed leaves (a bulk load past the last key), looked up before and after they decode.
    const loaded = await loadedSmallTree();
    for (let round = 0; round < 2; round++) expectSameAnswers(loaded.tree, loaded.probes);

    // Cold pages: both lookups say NOT_CACHED, and agree once the pages are read.
    const [rootId, nextPageId] = unpack((await store.get(META_KEY))!) as [number, number];
    const cold = BTree.open(new PageStore(store, { prefix: PREFIX, nextPageId }), rootId, { pageBytesTarget: TARGET });
    expect(cold.getCachedRowid(sorted[10]!)).toBe(NOT_CACHED);
    for (const x of small.slice(0, 500)) await cold.get(encodeRowidKey(x));
    expectSameAnswers(cold, small);
  });
});

/** A tree whose right part is bulk-loaded as packed leaves, keyed by small rowids. */
async function loadedSmallTree(): Promise<{ tree: BTree; probes: number[] }> {
  const store = new MemoryStore();
  const pages = new PageStore(store, { prefix: PREFIX });
  const tree = BTree.create(pages, { pageBytesTarget: TARGET });
  for (let x = 1; x <= 500; x++) await tree.put(encodeRowidKey(x), row(x));
  const taken = tree.appendPacked(rowEntries(5_000, (i) => encodeRowidKey(501 + i), (i) => row(501 + i)));
  expect(taken).toBeGreaterThan(4_000);
  for (let x = 501 + taken; x <= 5_500; x++) await tree.put(encodeRowidKey(x), row(x));
  await pages.flush(pack([tree.rootId, pages.nextPageId]), META_KEY);
  return { tree, probes: Array.from({ length: 5_600 }, (_, i) => i - 50) };
}

describe('BTree.getCachedRowid on clean leaves laid out flat (row-cells.ts)', () => {
  /** A flushed tree of rows 1..count, `rowAt` giving each row. */
  async function cleanTree(count: number, rowAt: (x: number) => Value[]): Promise<{ tree: BTree; pages: PageStore }> {
    const pages = new PageStore(new MemoryStore(), { prefix: PREFIX });
    const tree = BTree.create(pages, { pageBytesTarget: TARGET });
    for (let x = 1; x <= count; x++) await tree.put(encodeRowidKey(x), rowAt(x));
    await pages.flush(pack([tree.rootId, pages.nextPageId]), META_KEY);
    return { tree, pages };
  }

  it('answers what getCached answers when widths vary and rows overflow, and returns copies', async () => {
    // Rows written before an ADD COLUMN are shorter; every 97th row is too big for a leaf.
    const rowAt = (x: number): Value[] => (x % 97 === 0 ? [x, 'x'.repeat(2_000)] : x % 5 === 0 ? [x, `name-${x}`] : row(x));
    const { tree } = await cleanTree(3_000, rowAt);
    const probes = Array.from({ length: 3_100 }, (_, i) => i - 50);
    for (let round = 0; round < 2; round++) expectSameAnswers(tree, probes); // building the cells, then reading them
    expect(tree.getCachedRowid(97)).toBe(NOT_CACHED);
    const uniform = await cleanTree(3_000, row);
    expect(expectSameAnswers(uniform.tree, probes)).toBe(3_000);
    const got = uniform.tree.getCachedRowid(42) as Value[];
    got[1] = 'changed';
    expect(uniform.tree.getCachedRowid(42)).toEqual(row(42));
  });

  it('charge their memory to the page cache, once per leaf', async () => {
    const { tree, pages } = await cleanTree(3_000, row);
    const before = pages.cachedBytes;
    tree.getCachedRowid(1);
    const charged = pages.cachedBytes - before;
    expect(charged).toBeGreaterThan(0);
    expect(charged % (3 * 8)).toBe(0); // cells of 3-value rows, 8 bytes each
    tree.getCachedRowid(2);
    expect(pages.cachedBytes - before).toBe(charged);
    for (let x = 1; x <= 3_000; x++) tree.getCachedRowid(x);
    expect(pages.cachedBytes - before).toBe(3_000 * 3 * 8);
  });

  it('see a page modified after a checkpoint, not the cells of the page it copied', async () => {
    const { tree, pages } = await cleanTree(3_000, row);
    for (let x = 1; x <= 3_000; x++) tree.getCachedRowid(x);
    await tree.put(encodeRowidKey(7), [7, 'new', 1]);
    expect(tree.getCachedRowid(7)).toEqual([7, 'new', 1]); // a dirty copy: read through its rows
    await pages.flush(pack([tree.rootId, pages.nextPageId]), META_KEY);
    expect(tree.getCachedRowid(7)).toEqual([7, 'new', 1]); // clean again: cells built anew
    expect(tree.getCachedRowid(8)).toEqual(row(8));
  });
});

describe('BTree.getCachedRowid on dirty pages (search hints, search.ts hintOf)', () => {
  it('answers what getCached answers through inserts, updates, deletes, splits and merges', async () => {
    const r = rng(25);
    const pages = new PageStore(new MemoryStore(), { prefix: PREFIX });
    const tree = BTree.create(pages, { pageBytesTarget: TARGET });
    const KEYS = 8_000;
    for (let x = 0; x < KEYS; x += 2) await tree.put(encodeRowidKey(x), row(x));
    await pages.flush(pack([tree.rootId, pages.nextPageId]), META_KEY);
    const probes = Array.from({ length: KEYS + 20 }, (_, i) => i - 10);
    let found = expectSameAnswers(tree, probes);
    expect(found).toBe(KEYS / 2);
    for (let step = 0; step < 40; step++) {
      // Each batch changes pages whose hints the last check computed: keys added and removed in
      // place, runs deleted (leaves merge or borrow, separators are replaced), rows replaced.
      for (let k = 0; k < 120; k++) {
        const x = r.int(KEYS);
        const op = r.int(10);
        if (op < 6) await tree.put(encodeRowidKey(x), [x, `v${step}-${k}`, step]);
        else if (op < 9) await tree.delete(encodeRowidKey(x));
        else for (let y = x; y < Math.min(x + 40, KEYS); y++) await tree.delete(encodeRowidKey(y));
      }
      found = expectSameAnswers(tree, probes);
      if (step % 7 === 6) await pages.flush(pack([tree.rootId, pages.nextPageId]), META_KEY);
    }
    expect(found).toBeGreaterThan(1_000);
  });
});
