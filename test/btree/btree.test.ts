import { describe, expect, it } from 'vitest';
import { BTree, type ScanOptions } from '../../materializers/btree/btree.js';
import { PageStore } from '../../materializers/btree/page-store.js';
import { encodeKey, encodeRowidKey } from '../../materializers/btree/keys.js';
import { MemoryStore } from '../../storage/memory.js';
import { Real, type Value } from '../../base/values.js';
import { pack, unpack } from '../../base/codec.js';
import { rng, type Rng } from '../support/random.js';

const PREFIX = 't1/';
const META_KEY = 't1/meta';
const TARGET = 4096;

function newTree(cacheBytesMax?: number): { store: MemoryStore; pages: PageStore; tree: BTree } {
  const store = new MemoryStore();
  const pages = new PageStore(store, { prefix: PREFIX, cacheBytesMax });
  const tree = BTree.create(pages, { pageBytesTarget: TARGET });
  return { store, pages, tree };
}

async function checkpoint(pages: PageStore, tree: BTree, retainRetired = false): Promise<void> {
  await pages.flush(pack([tree.rootId, pages.nextPageId]), META_KEY, { retainRetired });
}

async function reopen(store: MemoryStore, cacheBytesMax?: number): Promise<{ pages: PageStore; tree: BTree }> {
  const [rootId, nextPageId] = unpack((await store.get(META_KEY))!) as [number, number];
  const pages = new PageStore(store, { prefix: PREFIX, nextPageId, cacheBytesMax });
  return { pages, tree: BTree.open(pages, rootId, { pageBytesTarget: TARGET }) };
}

/** A sorted-map model of the tree. */
class Model {
  readonly map = new Map<string, Value[]>();
  sorted(): string[] {
    return [...this.map.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
  scan(o: ScanOptions): Array<[string, Value[]]> {
    const lo = o.lo;
    const hi = o.hi;
    const keys = this.sorted().filter((k) => {
      if (lo !== undefined && ((o.loInclusive ?? true) ? k < lo : k <= lo)) return false;
      if (hi !== undefined && ((o.hiInclusive ?? true) ? k > hi : k >= hi)) return false;
      return true;
    });
    if (o.reverse) keys.reverse();
    return keys.map((k) => [k, this.map.get(k)!]);
  }
}

/** Blobs come back as Buffers (a Uint8Array subclass) from msgpack: compare them as plain bytes. */
function plain(row: Value[] | undefined): Value[] | undefined {
  return row?.map((v) => (v instanceof Uint8Array && v.constructor !== Uint8Array ? new Uint8Array(v) : v));
}

async function collect(it: AsyncIterableIterator<[string, Value[]]>): Promise<Array<[string, Value[]]>> {
  const out: Array<[string, Value[]]> = [];
  for await (const [k, row] of it) out.push([k, plain(row)!]);
  return out;
}

function randomKey(r: Rng): string {
  switch (r.int(3)) {
    case 0:
      return encodeRowidKey(r.int(3000));
    case 1:
      return encodeKey(['k' + 'x'.repeat(r.int(300)) + r.int(500)]);
    default:
      return encodeKey([r.int(50), 'p' + r.int(40)]);
  }
}

function randomRow(r: Rng, i: number): Value[] {
  const big = r.chance(0.03);
  return [i, 'v'.repeat(big ? 1500 + r.int(3000) : r.int(200)), r.chance(0.5) ? new Real(i) : null, new Uint8Array([i & 255])];
}

async function expectSameAsModel(tree: BTree, model: Model): Promise<void> {
  const all = await collect(tree.scan());
  expect(all.map(([k]) => k)).toEqual(model.sorted());
  for (const [k, row] of all) expect(row).toEqual(model.map.get(k));
  expect(await tree.count()).toBe(model.map.size);
}

/** Every page key reachable from the tree's root (including overflow pages). */
async function reachablePageKeys(pages: PageStore, rootId: number): Promise<Set<string>> {
  const out = new Set<string>();
  let level = [rootId];
  while (level.length > 0) {
    const next: number[] = [];
    const loaded = await pages.loadMany(level);
    loaded.forEach((p, i) => {
      out.add(pages.pageKey(level[i]!));
      if (p.kind === 'branch') next.push(...p.children);
      if (p.kind === 'leaf') for (const v of p.vals) if (!Array.isArray(v)) for (const id of v.o) out.add(pages.pageKey(id));
    });
    level = next;
  }
  return out;
}

function storedPageKeys(store: MemoryStore): Set<string> {
  return new Set(store.entries().map(([k]) => k).filter((k) => /^t1\/[0-9a-f]{12}$/.test(k)));
}

describe('BTree', () => {
  it('matches a sorted-map model under random operations', async () => {
    // BTREE_SEEDS=4,5,6 runs more seeds locally.
    const seeds = process.env.BTREE_SEEDS ? process.env.BTREE_SEEDS.split(',').map(Number) : [1, 2, 3];
    for (const seed of seeds) {
      try {
        const r = rng(seed);
        const { pages, tree } = newTree();
        const model = new Model();
        for (let step = 0; step < 4000; step++) {
          const op = r.int(10);
          const key = randomKey(r);
          if (op < 6) {
            const row = randomRow(r, step);
            await tree.put(key, row);
            model.map.set(key, row);
          } else if (op < 9) {
            expect(await tree.delete(key)).toBe(model.map.delete(key));
          } else {
            expect(plain(await tree.get(key))).toEqual(model.map.get(key));
          }
          if (step % 500 === 0) await tree.check();
          if (step % 1500 === 1499) await checkpoint(pages, tree);
          if (step % 97 === 0) {
            const a = randomKey(r);
            const b = randomKey(r);
            const o: ScanOptions = {
              lo: r.chance(0.8) ? (a < b ? a : b) : undefined,
              hi: r.chance(0.8) ? (a < b ? b : a) : undefined,
              loInclusive: r.chance(0.5),
              hiInclusive: r.chance(0.5),
              reverse: r.chance(0.5),
            };
            expect(await collect(tree.scan(o))).toEqual(model.scan(o));
          }
        }
        const shape = await tree.check();
        expect(shape.depth).toBeGreaterThanOrEqual(3); // branch splits and merges were exercised
        expect(shape.overflowPages).toBeGreaterThan(0);
        await expectSameAsModel(tree, model);
        // Drain to empty: merges all the way down to a root leaf.
        for (const k of model.sorted()) expect(await tree.delete(k)).toBe(true);
        await tree.check();
        expect(await tree.count()).toBe(0);
      } catch (e) {
        throw new Error(`seed ${seed}: ${(e as Error).message}`, { cause: e });
      }
    }
  });

  it('persists: flush, reopen from the meta root on a cold PageStore, same contents', async () => {
    const r = rng(11);
    const { store, pages, tree } = newTree();
    const model = new Model();
    for (let i = 0; i < 3000; i++) {
      const key = randomKey(r);
      const row = randomRow(r, i);
      await tree.put(key, row);
      model.map.set(key, row);
    }
    await checkpoint(pages, tree);
    const again = await reopen(store);
    await again.tree.check();
    await expectSameAsModel(again.tree, model);
    // Keep writing on the reopened tree, checkpoint, reopen again.
    for (let i = 0; i < 1000; i++) {
      const key = randomKey(r);
      if (r.chance(0.5)) {
        await again.tree.delete(key);
        model.map.delete(key);
      } else {
        const row = randomRow(r, i);
        await again.tree.put(key, row);
        model.map.set(key, row);
      }
    }
    await checkpoint(again.pages, again.tree);
    const third = await reopen(store);
    await third.tree.check();
    await expectSameAsModel(third.tree, model);
    // Every stored page is reachable: retired pages were deleted.
    expect(storedPageKeys(store)).toEqual(await reachablePageKeys(third.pages, third.tree.rootId));
  });

  it('is copy-on-write: persisted pages never change; retired ones are deleted at the next flush', async () => {
    const { store, pages, tree } = newTree();
    for (let i = 0; i < 2000; i++) await tree.put(encodeRowidKey(i), [i, 'row ' + i]);
    await checkpoint(pages, tree);
    const before = new Map(store.entries());
    const oldRoot = tree.rootId;
    await tree.put(encodeRowidKey(1000), [1000, 'changed']);
    await tree.delete(encodeRowidKey(5));
    expect(tree.rootId).not.toBe(oldRoot);
    expect(new Map(store.entries())).toEqual(before); // nothing written before the flush
    await checkpoint(pages, tree);
    const after = new Map(store.entries());
    let deleted = 0;
    for (const [k, v] of before) {
      if (k === META_KEY) continue;
      if (after.has(k)) expect(after.get(k)).toEqual(v);
      else deleted++;
    }
    expect(deleted).toBeGreaterThan(0);
    expect(storedPageKeys(store)).toEqual(await reachablePageKeys(pages, tree.rootId));
  });

  it('retains retired pages on request so an old root stays readable, then releases them', async () => {
    const { store, pages, tree } = newTree();
    for (let i = 0; i < 500; i++) await tree.put(encodeRowidKey(i), [i]);
    await checkpoint(pages, tree);
    const oldRoot = tree.rootId;
    for (let i = 0; i < 500; i += 2) await tree.delete(encodeRowidKey(i));
    await checkpoint(pages, tree, true);
    expect(pages.retainedPageIds.length).toBeGreaterThan(0);
    const cold = new PageStore(store, { prefix: PREFIX, nextPageId: pages.nextPageId });
    const old = BTree.open(cold, oldRoot, { pageBytesTarget: TARGET });
    expect(await old.count()).toBe(500);
    expect((await collect(old.scan())).length).toBe(500);
    pages.releasePages(pages.retainedPageIds.slice());
    await checkpoint(pages, tree);
    expect(pages.retainedPageIds.length).toBe(0);
    expect(storedPageKeys(store)).toEqual(await reachablePageKeys(pages, tree.rootId));
  });

  it('stores 3 MB rows in overflow pages and round-trips them through a flush', async () => {
    const { store, pages, tree } = newTree();
    const big = new Uint8Array(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 255;
    const text = 'é'.repeat(1024 * 1024);
    await tree.put(encodeRowidKey(1), [1, big, text]);
    await tree.put(encodeRowidKey(2), [2, 'small']);
    const fresh = (await tree.get(encodeRowidKey(1)))!;
    expect(Buffer.compare(fresh[1] as Uint8Array, big)).toBe(0);
    expect(fresh[2] === text).toBe(true);
    await checkpoint(pages, tree);
    const again = await reopen(store);
    const row = (await again.tree.get(encodeRowidKey(1)))!;
    expect(row[0]).toBe(1);
    expect(Buffer.compare(row[1] as Uint8Array, big)).toBe(0);
    expect(row[2] === text).toBe(true);
    await again.tree.check();
    // Replacing the row retires its overflow pages.
    await again.tree.put(encodeRowidKey(1), [1, 'now small']);
    await checkpoint(again.pages, again.tree);
    expect(storedPageKeys(store)).toEqual(await reachablePageKeys(again.pages, again.tree.rootId));
    expect(storedPageKeys(store).size).toBe(1);
  });

  it('refuses oversized keys and rows with LIMIT_EXCEEDED', async () => {
    const store = new MemoryStore();
    const pages = new PageStore(store, { prefix: PREFIX });
    const tree = BTree.create(pages, { pageBytesTarget: TARGET, rowBytesMax: 4 * 1024 * 1024 });
    await expect((async () => tree.put(encodeKey(['x'.repeat(tree.keyCharsMax)]), [1]))()).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    await expect((async () => tree.put(encodeRowidKey(1), [new Uint8Array(5 * 1024 * 1024)]))()).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    await tree.check();
  });

  it('gives correct results under a tiny cache budget', async () => {
    const r = rng(5);
    const { store, pages, tree } = newTree(16 * 1024);
    const model = new Model();
    for (let i = 0; i < 3000; i++) {
      const key = randomKey(r);
      const row = randomRow(r, i);
      await tree.put(key, row);
      model.map.set(key, row);
      if (i % 700 === 0) await checkpoint(pages, tree);
    }
    await checkpoint(pages, tree);
    const again = await reopen(store, 16 * 1024);
    for (let i = 0; i < 1000; i++) {
      const key = randomKey(r);
      if (r.chance(0.4)) {
        expect(await again.tree.delete(key)).toBe(model.map.delete(key));
      } else if (r.chance(0.5)) {
        const row = randomRow(r, i);
        await again.tree.put(key, row);
        model.map.set(key, row);
      } else expect(plain(await again.tree.get(key))).toEqual(model.map.get(key));
      if (i % 300 === 0) await checkpoint(again.pages, again.tree);
    }
    expect(again.pages.cachedBytes).toBeLessThanOrEqual(16 * 1024);
    expect(again.pages.stats.pageReads).toBeGreaterThan(100);
    await again.tree.check();
    await expectSameAsModel(again.tree, model);
  });

  it('reads O(depth) pages for a point lookup on a cold cache of 100k rows', async () => {
    const store = new MemoryStore();
    const pages = new PageStore(store, { prefix: PREFIX });
    const tree = BTree.create(pages);
    for (let i = 1; i <= 100_000; i++) await tree.put(encodeRowidKey(i), [i, 'name ' + i, i * 1.5]);
    await checkpoint(pages, tree);
    const [rootId, nextPageId] = unpack((await store.get(META_KEY))!) as [number, number];
    const cold = new PageStore(store, { prefix: PREFIX, nextPageId });
    const again = BTree.open(cold, rootId);
    const reads = store.stats.reads;
    expect(await again.get(encodeRowidKey(54321))).toEqual([54321, 'name 54321', 54321 * 1.5]);
    const depth = store.stats.reads - reads;
    expect(depth).toBeLessThanOrEqual(4);
    expect(cold.stats.pageReads).toBe(depth);
    // A second lookup nearby is served mostly from cache.
    await again.get(encodeRowidKey(54322));
    expect(store.stats.reads - reads).toBe(depth);
    expect(await again.count()).toBe(100_000);
  });

  it('keeps a scan correct when the tree is modified between rows', async () => {
    const { tree } = newTree();
    for (let i = 0; i < 2000; i++) await tree.put(encodeRowidKey(i), [i]);
    const seen: number[] = [];
    for await (const [, row] of tree.scan()) {
      const i = row[0] as number;
      seen.push(i);
      if (i % 2 === 0) await tree.delete(encodeRowidKey(i + 1)); // delete ahead
      if (i === 100) for (let k = 5000; k < 5100; k++) await tree.put(encodeRowidKey(k), [k]); // insert ahead
    }
    const want = [...Array(1000).keys()].map((k) => k * 2).concat([...Array(100).keys()].map((k) => 5000 + k).filter((k) => k % 2 === 0));
    expect(seen).toEqual(want);
    await tree.check();
  });

  it('drop retires every page; the next flush deletes them all (more than one batch)', async () => {
    const { store, pages, tree } = newTree();
    for (let i = 0; i < 20_000; i++) await tree.put(encodeRowidKey(i), [i, 'x'.repeat(100)]);
    await tree.put(encodeRowidKey(-1), [new Uint8Array(3 * 1024 * 1024)]);
    await checkpoint(pages, tree);
    expect(storedPageKeys(store).size).toBeGreaterThan(500);
    await tree.drop();
    await pages.flush(pack([0, pages.nextPageId]), META_KEY);
    expect(storedPageKeys(store).size).toBe(0);
    expect(store.entries().map(([k]) => k)).toEqual([META_KEY]);
    await expect(tree.get(encodeRowidKey(1))).rejects.toMatchObject({ code: 'MISUSE' });
  });
});

describe('PageStore', () => {
  it('sweeps the orphans of a flush interrupted before its meta write', async () => {
    const { store, pages, tree } = newTree();
    for (let i = 0; i < 1000; i++) await tree.put(encodeRowidKey(i), [i, 'y'.repeat(200)]);
    await checkpoint(pages, tree);
    const persisted = new Map(store.entries());
    const nextPageId = pages.nextPageId;
    for (let i = 1000; i < 3000; i++) await tree.put(encodeRowidKey(i), [i, 'y'.repeat(200)]);
    // The final batch (the one carrying the meta) fails: earlier page batches landed.
    const write = store.write.bind(store);
    store.write = async (batch) => {
      if (batch.put?.some(([k]) => k === META_KEY)) throw new Error('crash');
      return write(batch);
    };
    await expect(checkpoint(pages, tree)).rejects.toThrow('crash');
    store.write = write;
    expect(store.entries().length).toBeGreaterThan(persisted.size);
    const recovered = new PageStore(store, { prefix: PREFIX, nextPageId });
    expect(await recovered.sweepOrphans()).toBeGreaterThan(0);
    expect(new Map(store.entries())).toEqual(persisted);
    const again = await reopen(store);
    expect(await again.tree.count()).toBe(1000);
    await again.tree.check();
  });

  it('counts cache hits and misses and keeps dirty pages pinned', async () => {
    const { pages, tree } = newTree(1);
    for (let i = 0; i < 3000; i++) await tree.put(encodeRowidKey(i), [i, 'z'.repeat(50)]);
    expect(pages.stats.cacheMisses).toBe(0); // all dirty: nothing evicted, nothing read
    expect(pages.dirtyPageCount).toBeGreaterThan(10);
    await checkpoint(pages, tree);
    expect(pages.dirtyPageCount).toBe(0);
    expect(pages.stats.pageWrites).toBeGreaterThan(10);
    expect(await tree.get(encodeRowidKey(7))).toEqual([7, 'z'.repeat(50)]);
    expect(pages.stats.cacheMisses).toBeGreaterThan(0);
  });
});
