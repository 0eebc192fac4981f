import { describe, expect, it } from 'vitest';
import { pack, unpack } from '../../base/codec.js';
import { Real, type Value } from '../../base/values.js';
import { BTree } from '../../materializers/btree/btree.js';
import { encodeKey, encodeRowidKey } from '../../materializers/btree/keys.js';
import { PageStore, decodePage, encodePage, type Page } from '../../materializers/btree/page-store.js';
import { MemoryStore } from '../../storage/memory.js';
import { rng } from '../support/random.js';

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
