import { describe, expect, it } from 'vitest';
import { pack, unpack } from '../../base/codec.js';
import { Real, type Value } from '../../base/values.js';
import { BTree } from '../../materializers/btree/btree.js';
import { encodeKey, encodeRowidKey } from '../../materializers/btree/keys.js';
import { PageStore, decodePage, encodePage, type Page } from '../../materializers/btree/page-store.js';
import { MemoryStore } from '../../storage/memory.js';
import { rng } from '../support/random.js';
import { rowEntries } from './entries.js';

const PREFIX = 't1/';
const META_KEY = 't1/meta';
const TARGET = 4096;

function newTree(): { store: MemoryStore; pages: PageStore; tree: BTree } {
  const store = new MemoryStore();
  const pages = new PageStore(store, { prefix: PREFIX });
  return { store, pages, tree: BTree.create(pages, { pageBytesTarget: TARGET }) };
}

async function checkpoint(pages: PageStore, tree: BTree): Promise<void> {
  await pages.flush(pack([tree.rootId, pages.nextPageId]), META_KEY);
}

async function rows(tree: BTree): Promise<Array<[string, Value[]]>> {
  const out: Array<[string, Value[]]> = [];
  for await (const e of tree.scan()) out.push(e);
  return out;
}

function row(i: number): Value[] {
  return [i, i % 7, 'name-' + i, i % 2 ? i * 0.5 : new Real(i * 0.5)];
}

describe('BTree: ascending inserts', () => {
  it('fills leaves about three quarters (not half) and keeps every bound', async () => {
    const { tree } = newTree();
    for (let i = 1; i <= 20_000; i++) await tree.put(encodeRowidKey(i), row(i));
    const shape = await tree.check();
    expect(shape.rows).toBe(20_000);
    // Bytes per leaf: what 20k rows need at 3/4 of the target, give or take a leaf's worth.
    const entryBytes = 14 + 9 + 9 + 15 + 9 + 3;
    const leavesAtThreeQuarters = Math.ceil((20_000 * entryBytes) / (0.75 * TARGET));
    expect(shape.leaves).toBeLessThanOrEqual(Math.ceil(leavesAtThreeQuarters * 1.1));
  });

  it('never modifies a persisted page through the reused write path', async () => {
    const { store, pages, tree } = newTree();
    for (let i = 1; i <= 3000; i++) await tree.put(encodeRowidKey(i), row(i));
    await checkpoint(pages, tree);
    const persisted = new Map(store.entries());
    const root = tree.rootId;
    // The next put's path was writable before the flush; it must be copied now.
    for (let i = 3001; i <= 3100; i++) await tree.put(encodeRowidKey(i), row(i));
    expect(new Map(store.entries())).toEqual(persisted);
    expect(tree.rootId).not.toBe(root);
    const old = BTree.open(new PageStore(store, { prefix: PREFIX }), root, { pageBytesTarget: TARGET });
    expect((await rows(old)).length).toBe(3000);
    // What the next checkpoint persists is every row (a page modified in place while clean would
    // not be written again).
    await checkpoint(pages, tree);
    const [rootId, nextPageId] = unpack((await store.get(META_KEY))!) as [number, number];
    const reopened = BTree.open(new PageStore(store, { prefix: PREFIX, nextPageId }), rootId, { pageBytesTarget: TARGET });
    expect((await rows(reopened)).length).toBe(3100);
    await reopened.check();
  });

  it('stays equal to a model when ascending puts interleave with other writes, flushes and scans', async () => {
    for (const seed of [1, 2, 3]) {
      const r = rng(seed);
      const { pages, tree } = newTree();
      const model = new Map<string, Value[]>();
      let next = 1;
      try {
        for (let step = 0; step < 6000; step++) {
          const op = r.int(100);
          if (op < 80) {
            const k = encodeRowidKey(next);
            await tree.put(k, row(next));
            model.set(k, row(next));
            next++;
          } else if (op < 88) {
            const i = 1 + r.int(next);
            const k = encodeRowidKey(i);
            const v = [i, 'replaced ' + 'x'.repeat(r.int(300))];
            await tree.put(k, v);
            model.set(k, v);
          } else if (op < 96) {
            const k = encodeRowidKey(1 + r.int(next));
            expect(await tree.delete(k)).toBe(model.delete(k));
          } else if (op < 98) {
            await checkpoint(pages, tree);
          } else {
            const got = await rows(tree);
            expect(got.length).toBe(model.size);
          }
          if (step % 1000 === 999) await tree.check();
        }
        const got = await rows(tree);
        const keys = [...model.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        expect(got.map(([k]) => k)).toEqual(keys);
        for (const [k, v] of got) expect(v).toEqual(model.get(k));
        await tree.check();
      } catch (e) {
        throw new Error(`seed ${seed}: ${(e as Error).message}`, { cause: e });
      }
    }
  });
});

/** Rows i in [from, to) appended in bulk: the count taken. */
function appendPacked(tree: BTree, from: number, to: number, rowOf: (i: number) => Value[] = row): number {
  return tree.appendPacked(rowEntries(to - from, (i) => encodeRowidKey(from + i), (i) => rowOf(from + i)));
}

describe('BTree: bulk appends as packed leaves', () => {
  it('holds what ascending puts hold, in leaves filled as puts fill them, through a flush and a reopen', async () => {
    const { store, pages, tree } = newTree();
    const byPut = newTree().tree;
    for (let i = 1; i <= 200; i++) {
      await tree.put(encodeRowidKey(i), row(i));
      await byPut.put(encodeRowidKey(i), row(i));
    }
    const taken = appendPacked(tree, 201, 20_001);
    expect(taken).toBeGreaterThan(19_700);
    for (let i = 201 + taken; i <= 20_000; i++) await tree.put(encodeRowidKey(i), row(i));
    for (let i = 201; i <= 20_000; i++) await byPut.put(encodeRowidKey(i), row(i));
    expect(await tree.count()).toBe(20_000);
    expect(await tree.get(encodeRowidKey(777))).toEqual(row(777));
    expect(await rows(tree)).toEqual(await rows(byPut));
    const [packed, put] = [await tree.check(), await byPut.check()];
    expect(packed.rows).toBe(20_000);
    expect(Math.abs(packed.leaves - put.leaves)).toBeLessThanOrEqual(put.leaves * 0.05);
    await checkpoint(pages, tree);
    const [rootId, nextPageId] = unpack((await store.get(META_KEY))!) as [number, number];
    const reopened = BTree.open(new PageStore(store, { prefix: PREFIX, nextPageId }), rootId, { pageBytesTarget: TARGET });
    expect(await rows(reopened)).toEqual(await rows(byPut));
    await reopened.check();
  });

  it('keeps every bound when puts, deletes and flushes follow on its leaves, dirty or clean', async () => {
    const { pages, tree } = newTree();
    const model = new Map<string, Value[]>();
    let next = 1;
    const r = rng(11);
    for (let i = 0; i < 300; i++, next++) {
      await tree.put(encodeRowidKey(next), row(next));
      model.set(encodeRowidKey(next), row(next));
    }
    for (let round = 0; round < 30; round++) {
      const n = 50 + r.int(2000);
      const taken = appendPacked(tree, next, next + n);
      for (let i = next; i < next + n; i++) {
        if (i >= next + taken) await tree.put(encodeRowidKey(i), row(i));
        model.set(encodeRowidKey(i), row(i));
      }
      next += n;
      for (let k = 0; k < 40; k++) {
        const i = 1 + r.int(next - 1);
        const key = encodeRowidKey(i);
        if (r.chance(0.5)) expect(await tree.delete(key)).toBe(model.delete(key));
        else {
          const v = [i, 'rewritten ' + 'y'.repeat(r.int(200))];
          await tree.put(key, v);
          model.set(key, v);
        }
      }
      if (r.chance(0.3)) await checkpoint(pages, tree);
      await tree.check();
    }
    const got = await rows(tree);
    expect(got.map(([k]) => k)).toEqual([...model.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    for (const [k, v] of got) expect(v).toEqual(model.get(k));
  });

  it('takes nothing from a lone root leaf or for less than a leaf, and stops at a row that needs overflow pages', async () => {
    const { tree } = newTree();
    expect(appendPacked(tree, 1, 5_000)).toBe(0); // the root is a leaf
    for (let i = 1; i <= 300; i++) await tree.put(encodeRowidKey(i), row(i));
    expect(appendPacked(tree, 301, 310)).toBe(0); // too few to try
    expect(appendPacked(tree, 301, 340)).toBe(0); // not a leaf's worth
    const big = (i: number): Value[] => (i === 2_000 ? [i, 'x'.repeat(TARGET)] : row(i));
    const taken = appendPacked(tree, 301, 5_000, big);
    expect(taken).toBeGreaterThan(0);
    expect(taken).toBeLessThanOrEqual(2_000 - 301);
    for (let i = 301 + taken; i < 5_000; i++) await tree.put(encodeRowidKey(i), big(i));
    expect(await tree.get(encodeRowidKey(2_000))).toEqual(big(2_000));
    expect(await tree.count()).toBe(4_999);
    await tree.check();
  });
});

describe('page encoding', () => {
  it('writes leaves and branches exactly as msgpackr does, and decodes them back', () => {
    const leaf: Page = {
      kind: 'leaf',
      keys: [encodeRowidKey(1), encodeKey(['é😀', null]), encodeKey([new Uint8Array([0, 255])])],
      vals: [row(1), [null, 2n ** 62n, new Uint8Array(300), 'x'.repeat(70)], { o: [12, 2 ** 40], n: 5_000_000 }],
      bytes: 0,
      n: 3,
    };
    const branch: Page = { kind: 'branch', keys: [encodeRowidKey(5), encodeRowidKey(9)], children: [1, 70000, 2 ** 33], bytes: 0, n: -1 };
    for (const p of [leaf, branch]) {
      const expected = pack(p.kind === 'leaf' ? [0, p.keys, p.vals, p.n] : [1, p.keys, p.children, p.n]);
      const got = encodePage(p);
      expect(Buffer.from(got).equals(Buffer.from(expected))).toBe(true);
      const back = decodePage(got, 1) as typeof p;
      expect(back.keys).toEqual(p.keys);
      expect(unpack(Buffer.from(got))).toEqual(unpack(expected));
    }
  });
});
