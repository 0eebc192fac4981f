/**
 * Packed leaves (materializers/btree/packed-leaf.ts) answer what the decoded page answers, and the
 * reader they use (log/msgpack-reader.ts) decodes what msgpackr decodes.
 */
import { describe, expect, it } from 'vitest';
import { pack, unpack } from '../../base/codec.js';
import { Real, type Value } from '../../base/values.js';
import { MsgpackReader, UNSUPPORTED } from '../../log/msgpack-reader.js';
import { encodeKey, encodeRowidKey, writeRowidKey } from '../../materializers/btree/index.js';
import { LOOKUPS_PACKED_MAX, NOT_INLINE, PackedLeaf, PAST_LEAF, UNPACKED, valuesBytes } from '../../materializers/btree/packed-leaf.js';
import { LeafBuilder } from '../../materializers/btree/leaf-builder.js';
import { rowEntries } from './entries.js';
import { decodePage, encodePage, keyBytes, leafBytes, rowBytes, type LeafPage, type LeafValue } from '../../materializers/btree/page-store.js';
import { keyPrefix, NO_PREFIX, PREFIX_CHARS } from '../../materializers/btree/search.js';
import { lowerBound } from '../../storage/memory.js';
import { rng, type Rng } from '../support/random.js';

const TEXT_CHARS = ['a', 'z', '0', '\0', '\x7f', '\x80', '\xff', '\u0100', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\uffff', '\ud83d\ude00'];

function randomText(r: Rng, maxChars: number): string {
  return Array.from({ length: r.int(maxChars + 1) }, () => TEXT_CHARS[r.int(TEXT_CHARS.length)]!).join('');
}

function randomValue(r: Rng): Value {
  switch (r.int(12)) {
    case 0:
      return null;
    case 1:
      return r.int(256) - 128;
    case 2:
      return [0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1][r.int(11)]! * (r.chance(0.3) ? -1 : 1);
    case 3:
      return (r.int(2_000_001) - 1_000_000) / 8;
    case 4:
      return new Real(r.int(1000) - 500);
    case 5:
      return [-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n, -(2n ** 60n)][r.int(4)]!;
    case 6:
      return Uint8Array.from({ length: [0, 3, 255, 256, 300][r.int(5)]! }, (_, i) => (i * 37) & 0xff);
    case 7:
      return randomText(r, 40);
    case 8:
      return 'x'.repeat([15, 16, 17, 63, 64, 65, 300][r.int(7)]!);
    default:
      return `name-${r.int(1_000_000)}`;
  }
}

/** Values as comparable plain data: msgpackr gives Buffers, the reader Uint8Arrays. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return { blob: Array.from(v) };
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

function randomKey(r: Rng): string {
  switch (r.int(5)) {
    case 0:
      return encodeKey([r.int(200_000) - 100_000]);
    case 1:
      return encodeKey([r.int(1000) / 7]);
    case 2: // text keys, some with chars that have no prefix
      return encodeKey([randomText(r, 8)]);
    case 3: // long keys that share their first 12 chars: equality needs the bytes
      return encodeKey([`shared-prefix-${r.int(50)}`, r.int(3)]);
    default:
      return encodeKey([`k${r.int(300)}`]);
  }
}

function randomLeaf(r: Rng, keys: string[]): LeafPage {
  const vals: LeafValue[] = keys.map(() =>
    r.chance(0.05) ? { o: [r.int(1000) + 1, r.int(1000) + 1], n: 12_345 } : Array.from({ length: r.int(7) }, () => randomValue(r)),
  );
  const page: LeafPage = { kind: 'leaf', keys, vals, bytes: 0, n: r.chance(0.5) ? -1 : r.int(100_000) };
  page.bytes = leafBytes(page);
  return page;
}

/** A random leaf of `keysMin` + up to `keysMax` - 1 sorted keys, and its packed form. */
function randomPacked(r: Rng, keysMax: number, keysMin = 0): { keys: string[]; page: LeafPage; packed: PackedLeaf } {
  const keys = [...new Set(Array.from({ length: keysMin + r.int(keysMax) }, () => randomKey(r)))].sort();
  const page = randomLeaf(r, keys);
  return { keys, page, packed: PackedLeaf.fromStored(encodePage(page))! };
}

/** Keys to look for in a page of `keys`: each of them, random others, and each one char longer and shorter. */
function probesNear(r: Rng, keys: string[]): string[] {
  return [...keys, ...Array.from({ length: 60 }, () => randomKey(r)), ...keys.map((k) => k + '\0'), ...keys.map((k) => k.slice(0, -1))];
}

/** What a lookup of `key` in the decoded page returns. */
function expected(page: LeafPage, key: string): unknown {
  const j = lowerBound(page.keys, key);
  if (j === page.keys.length || page.keys[j] !== key) return undefined;
  const v = page.vals[j]!;
  return Array.isArray(v) ? v : NOT_INLINE;
}

describe('MsgpackReader', () => {
  it('decodes rows exactly as msgpackr does', () => {
    const r = rng(71);
    const reader = new MsgpackReader();
    for (let i = 0; i < 3000; i++) {
      const row = Array.from({ length: r.int(9) }, () => randomValue(r));
      const bytes = pack(['pad', row, 7]);
      reader.reset(bytes, 5); // after the fixarray header and the 'pad' fixstr
      const got = reader.row();
      expect(got).not.toBe(UNSUPPORTED);
      expect(plain(got)).toEqual(plain((unpack(bytes) as unknown[])[1]));
      expect(bytes[reader.pos]).toBe(7);
    }
  });

  it('answers UNSUPPORTED for what is not a SQL value', () => {
    const reader = new MsgpackReader();
    for (const v of [{ a: 1 }, [1, [2]], true, 1.5e300 /* fine */, new Uint8Array(0)]) {
      const got = reader.reset(pack([v])).row();
      if (typeof v === 'number' || v instanceof Uint8Array) expect(got).not.toBe(UNSUPPORTED);
      else expect(got).toBe(UNSUPPORTED);
    }
  });
});

describe('PackedLeaf', () => {
  it('looks up every key, and no other, as the decoded page does, without decoding the page', () => {
    const r = rng(72);
    for (let round = 0; round < 300; round++) {
      const { keys, page, packed } = randomPacked(r, 90);
      expect(packed).toBeInstanceOf(PackedLeaf);
      let unpacked = false;
      let answered = 0;
      const probes = probesNear(r, keys);
      for (const key of probes) {
        const got = packed.lookup(key, keyPrefix(key));
        if (got === UNPACKED) {
          unpacked = true; // a page or key without prefixes, or a hot page: search the arrays, as BTree does
          continue;
        }
        answered++;
        expect(plain(got), JSON.stringify(key)).toEqual(plain(expected(page, key)));
      }
      // Keys that all have prefixes are answered from the bytes alone, until the page is hot.
      const indexable = keys.every((k) => keyPrefix(k) !== NO_PREFIX && keyPrefix(k, PREFIX_CHARS) !== NO_PREFIX);
      if (indexable) expect(answered).toBe(Math.min(probes.length, LOOKUPS_PACKED_MAX));
      expect(packed.packed).toBe(!unpacked);
      expect(packed.bytes).toBe(page.bytes);
      expect(packed.n).toBe(page.n);
      expect(plain(packed.keys)).toEqual(plain(page.keys));
      expect(plain(packed.vals)).toEqual(plain(page.vals));
      expect(packed.packed).toBe(false);
    }
  });

  it('seeks the first key at or above any key, as the decoded page does', () => {
    const r = rng(75);
    for (let round = 0; round < 200; round++) {
      const { keys, page, packed } = randomPacked(r, 90);
      for (const lo of [...probesNear(r, keys), '', '\uffff']) {
        const got = packed.ceiling(lo, keyPrefix(lo));
        if (got === UNPACKED) continue;
        const j = lowerBound(page.keys, lo);
        const v = page.vals[j];
        const want = j === keys.length ? PAST_LEAF : Array.isArray(v) ? [page.keys[j], v] : NOT_INLINE;
        expect(plain(got), JSON.stringify(lo)).toEqual(plain(want));
      }
    }
  });

  it('hands out writable copies that match the page and share nothing with it', () => {
    const r = rng(73);
    for (let round = 0; round < 100; round++) {
      const { keys, page, packed } = randomPacked(r, 60, 1);
      const copy = packed.fresh();
      expect(copy).not.toBeInstanceOf(PackedLeaf);
      expect(plain(copy.keys)).toEqual(plain(page.keys));
      expect(plain(copy.vals)).toEqual(plain(page.vals));
      expect([copy.bytes, copy.n]).toEqual([page.bytes, page.n]);
      copy.keys.pop();
      expect(packed.count).toBe(keys.length);
      expect(packed.keys.length).toBe(keys.length);
    }
  });

  it('is what decodePage returns for a stored leaf; a clean page refuses writes', () => {
    const page = randomLeaf(rng(74), [encodeKey([1]), encodeKey([2])]);
    const decoded = decodePage(encodePage(page), 1);
    expect(decoded).toBeInstanceOf(PackedLeaf);
    expect(() => {
      (decoded as LeafPage).keys = [];
    }).toThrow();
  });
});

describe('valuesBytes', () => {
  it('estimates encoded values as rowBytes estimates them as arrays', () => {
    const r = rng(77);
    for (let round = 0; round < 500; round++) {
      const row = Array.from({ length: r.int(9) }, () => randomValue(r));
      const bytes = pack(row);
      const header = row.length < 16 ? 1 : 3;
      expect(valuesBytes(bytes, header, bytes.length)).toBe(rowBytes(row) - 3);
      expect(valuesBytes(bytes, header, bytes.length + 1)).toBe(-1); // the values do not end there
    }
  });
});

describe('LeafBuilder', () => {
  it('writes the bytes a checkpoint writes for the same leaf, and its exact byte estimate', () => {
    const r = rng(76);
    const builder = new LeafBuilder();
    for (let round = 0; round < 200; round++) {
      const keys = [...new Set(Array.from({ length: 1 + r.int(80) }, () => randomKey(r)))].sort();
      const page = randomLeaf(r, keys);
      page.vals = page.vals.map((v) => (Array.isArray(v) ? v : [null]));
      page.n = -1;
      page.bytes = leafBytes(page);
      const entries = rowEntries(keys.length, (i) => keys[i]!, (i) => page.vals[i] as Value[]);
      for (let i = 0; i < keys.length; i++) expect(builder.add(entries, i, Infinity, Infinity)).toBe(true);
      const built = builder.take();
      expect(Buffer.from(built.stored!).equals(Buffer.from(encodePage(page)))).toBe(true);
      expect([built.count, built.bytes, built.n, built.lastKey]).toEqual([keys.length, page.bytes, -1, keys[keys.length - 1]]);
      // Looked up from its bytes, as a leaf read from the store is.
      const indexable = keys.every((k) => keyPrefix(k) !== NO_PREFIX && keyPrefix(k, PREFIX_CHARS) !== NO_PREFIX);
      for (const key of keys.slice(0, LOOKUPS_PACKED_MAX)) {
        const got = built.lookup(key, keyPrefix(key));
        if (got !== UNPACKED) expect(plain(got)).toEqual(plain(expected(page, key)));
      }
      expect(built.packed).toBe(indexable);
    }
  });

  it('writes the same page from keys written by their owner (writeKey) as from keys made (keyAt)', () => {
    const r = rng(78);
    const builder = new LeafBuilder();
    for (let round = 0; round < 50; round++) {
      const start = r.int(2) ? r.int(1000) : Math.round((r.next() - 0.5) * 2 ** 40);
      let next = start;
      const rowids = Array.from({ length: 1 + r.int(60) }, () => (next += 1 + r.int(3)));
      const rows = rowids.map((id) => [id, `v${id}`, r.next()]);
      const made = rowEntries(rowids.length, (i) => encodeRowidKey(rowids[i]!), (i) => rows[i]!);
      const written = rowEntries(made.count, made.keyAt, (i) => rows[i]!, (i, w) => writeRowidKey(rowids[i]!, w));
      const pages = [made, written].map((entries) => {
        for (let i = 0; i < entries.count; i++) expect(builder.add(entries, i, 100, 120)).toBe(true);
        expect(builder.firstKey).toBe(encodeRowidKey(rowids[0]!));
        return builder.take();
      });
      expect(Buffer.from(pages[1]!.stored!).equals(Buffer.from(pages[0]!.stored!))).toBe(true);
      expect([pages[1]!.bytes, pages[1]!.lastKey]).toEqual([pages[0]!.bytes, pages[0]!.lastKey]);
      // A key over the bound is refused as a made one is, and leaves the page as it was.
      expect(builder.add(written, 0, 10, Infinity)).toBe(false);
      expect(builder.count).toBe(0);
    }
  });

  it('refuses a row it cannot write and keeps the page as it was', () => {
    const builder = new LeafBuilder();
    const rows: Value[][] = [[1, 'a'], [2, { not: 'a value' } as unknown as Value], [3, 'c'], [4, 'd'.repeat(100)], [5, 'e']];
    const entries = rowEntries(rows.length, (i) => encodeKey([i]), (i) => rows[i]!);
    const added = rows.map((_, i) => builder.add(entries, i, 100, 60));
    expect(added).toEqual([true, false, true, false, true]); // not a Value; over the entry bound
    const built = builder.take();
    expect(plain(built.keys)).toEqual([encodeKey([0]), encodeKey([2]), encodeKey([4])]);
    expect(plain(built.vals)).toEqual([[1, 'a'], [3, 'c'], [5, 'e']]);
  });

  it('builds a dirty page: modified in place once decoded, until a checkpoint freezes it', () => {
    const builder = new LeafBuilder();
    const entries = rowEntries(3, (i) => encodeKey([i + 1]), (i) => [i + 1]);
    for (let i = 0; i < 3; i++) builder.add(entries, i, Infinity, Infinity);
    const built = builder.take();
    expect(built.prefixes).toBeUndefined();
    built.keys.push(encodeKey([4]));
    built.vals.push([4]);
    built.bytes += keyBytes(encodeKey([4])) + rowBytes([4]);
    expect(built.packed).toBe(false);
    expect(built.bytes).toBe(leafBytes({ kind: 'leaf', keys: built.keys, vals: built.vals, bytes: 0, n: -1 }));
    built.prefixes = null; // what PageStore does when a checkpoint makes the page clean
    expect(() => {
      built.bytes = 0;
    }).toThrow();
  });
});
