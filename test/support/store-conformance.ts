/**
 * The ByteStore conformance suite: one set of behaviours every backend must show through the
 * interface, MemoryStore being the reference. It is a function rather than a test file so that
 * both runtimes use the same cases: test/storage/conformance.test.ts runs it in Node on the memory,
 * file and fault-injecting stores, and test/workers/store.test.ts runs it inside workerd on
 * DurableObjectStore.
 *
 * It imports nothing from Node (FileStore and `node:fs` do not load in workerd), so the caller
 * supplies the store: `withStore(f)` opens a fresh, empty one, runs `f` on it and cleans up.
 */
import { describe, expect, it } from 'vitest';
import { isDosqlError } from '../../base/errors.js';
import { STORE_ENTRY_BYTES_MAX, STORE_KEY_BYTES_MAX, STORE_KEYS_PER_CALL_MAX } from '../../storage/types.js';
import type { ByteStore } from '../../storage/types.js';
import { rng } from './random.js';

/** Open a fresh, empty store, run `f` on it, then close and discard it (even when `f` throws). */
export type WithStore = (f: (store: ByteStore) => Promise<void>) => Promise<void>;

const enc = new TextEncoder();
const dec = new TextDecoder();
const b = (s: string): Uint8Array => enc.encode(s);
const text = (v: Uint8Array | undefined): string | undefined => (v === undefined ? undefined : dec.decode(v));
const keysOf = (entries: Array<[string, Uint8Array]>): string[] => entries.map(([k]) => k);

/** Expect `p` to reject with a DosqlError of `code`. */
export async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isDosqlError(e) ? e.code : e).toBe(code);
}

/** Declare the suite `ByteStore conformance: <name>`, each case on its own store from `withStore`. */
export function describeByteStoreConformance(name: string, withStore: WithStore): void {
  describe(`ByteStore conformance: ${name}`, () => {
    for (const [title, body] of CASES) it(title, () => withStore(body));
  });
}

const CASES: Array<[string, (store: ByteStore) => Promise<void>]> = [
  [
    'gets what was put, undefined for a missing key, the latest of overwrites',
    async (store) => {
      expect(await store.get('a')).toBeUndefined();
      await store.put('a', b('1'));
      await store.put('b', b('2'));
      await store.put('a', b('3'));
      expect(text(await store.get('a'))).toBe('3');
      expect(text(await store.get('b'))).toBe('2');
      await store.delete('a');
      await store.delete('never-there');
      expect(await store.get('a')).toBeUndefined();
      await store.put('empty', new Uint8Array(0));
      expect(await store.get('empty')).toEqual(new Uint8Array(0));
    },
  ],
  [
    'getMany returns only the keys that exist',
    async (store) => {
      await store.write({ put: [['x', b('1')], ['y', b('2')]] });
      const got = await store.getMany(['x', 'missing', 'y']);
      expect([...got.keys()].sort()).toEqual(['x', 'y']);
      expect(text(got.get('y'))).toBe('2');
      expect((await store.getMany([])).size).toBe(0);
    },
  ],
  [
    'lists by prefix, [start, end), limit and reverse',
    async (store) => {
      const keys = ['a', 'ab', 'abc', 'abd', 'b', 'ba', 'c'];
      await store.write({ put: keys.map((k) => [k, b(k.toUpperCase())]) });
      expect(keysOf(await store.list({}))).toEqual(keys);
      expect(text((await store.list({}))[2]![1])).toBe('ABC');
      expect(keysOf(await store.list({ prefix: 'ab' }))).toEqual(['ab', 'abc', 'abd']);
      expect(keysOf(await store.list({ start: 'abc', end: 'ba' }))).toEqual(['abc', 'abd', 'b']);
      expect(keysOf(await store.list({ start: 'abc', end: 'ba', reverse: true }))).toEqual(['b', 'abd', 'abc']);
      expect(keysOf(await store.list({ limit: 2 }))).toEqual(['a', 'ab']);
      expect(keysOf(await store.list({ reverse: true, limit: 2 }))).toEqual(['c', 'ba']);
      expect(keysOf(await store.list({ prefix: 'ab', reverse: true, limit: 2 }))).toEqual(['abd', 'abc']);
      expect(keysOf(await store.list({ prefix: 'a', start: 'abc', end: 'abd' }))).toEqual(['abc']);
      expect(await store.list({ start: 'x' })).toEqual([]);
      expect(await store.list({ start: 'c', end: 'a' })).toEqual([]);
      expect(await store.list({ limit: 0 })).toEqual([]);
      expect(await store.list({ prefix: 'zz' })).toEqual([]);
    },
  ],
  [
    'applies a batch as deletes then puts, later puts of a key winning',
    async (store) => {
      await store.put('k', b('old'));
      await store.write({ delete: ['k'], put: [['k', b('new')]] });
      expect(text(await store.get('k'))).toBe('new');
      await store.write({ put: [['d', b('1')], ['d', b('2')]], delete: ['k'] });
      expect(text(await store.get('d'))).toBe('2');
      expect(await store.get('k')).toBeUndefined();
      expect(keysOf(await store.list({}))).toEqual(['d']);
    },
  ],
  [
    'accepts exactly STORE_KEYS_PER_CALL_MAX keys and refuses one more, writing nothing',
    async (store) => {
      const keys = Array.from({ length: STORE_KEYS_PER_CALL_MAX + 1 }, (_, i) => `k${String(i).padStart(4, '0')}`);
      const max = keys.slice(0, STORE_KEYS_PER_CALL_MAX);
      await store.write({ put: max.map((k) => [k, b(k)]) });
      expect((await store.getMany(max)).size).toBe(STORE_KEYS_PER_CALL_MAX);
      await expectCode(store.getMany(keys), 'LIMIT_EXCEEDED');
      await expectCode(store.write({ put: keys.map((k) => [k, b('changed')]) }), 'LIMIT_EXCEEDED');
      await expectCode(store.write({ delete: max, put: [['extra', b('x')]] }), 'LIMIT_EXCEEDED');
      const all = await store.list({});
      expect(keysOf(all)).toEqual(max);
      expect(all.every(([k, v]) => text(v) === k)).toBe(true);
      // The largest mixed batch: half the keys deleted and half put in one atomic write.
      const half = STORE_KEYS_PER_CALL_MAX / 2;
      await store.write({ delete: max.slice(0, half), put: max.slice(half).map((k) => [k, b('mixed')]) });
      const mixed = await store.list({});
      expect(keysOf(mixed)).toEqual(max.slice(half));
      expect(mixed.every(([, v]) => text(v) === 'mixed')).toBe(true);
    },
  ],
  [
    'accepts an entry of exactly STORE_ENTRY_BYTES_MAX and refuses one byte more',
    async (store) => {
      const value = new Uint8Array(STORE_ENTRY_BYTES_MAX - 1).fill(7);
      await store.put('k', value);
      const got = await store.get('k');
      expect(got?.byteLength).toBe(STORE_ENTRY_BYTES_MAX - 1);
      expect(got?.[0]).toBe(7);
      await expectCode(store.put('kk', value), 'LIMIT_EXCEEDED');
      await expectCode(store.write({ put: [['a', b('1')], ['kk', value]] }), 'LIMIT_EXCEEDED');
      expect(keysOf(await store.list({}))).toEqual(['k']);
      await expectCode(store.put('x'.repeat(STORE_KEY_BYTES_MAX + 1), b('')), 'LIMIT_EXCEEDED');
      await expectCode(store.delete('x'.repeat(STORE_KEY_BYTES_MAX + 1)), 'LIMIT_EXCEEDED');
    },
  ],
  [
    'stores only the bytes of a view, not its whole buffer',
    async (store) => {
      const big = new Uint8Array(1024 * 1024).fill(1);
      await store.put('view', big.subarray(10, 13));
      expect(await store.get('view')).toEqual(new Uint8Array([1, 1, 1]));
      // Three 1 MiB buffers behind three-byte views: each stored entry is three bytes.
      await store.write({ put: [['v1', big.subarray(0, 3)], ['v2', big.subarray(3, 6)], ['v3', big.subarray(6, 9)]] });
      expect((await store.getMany(['v1', 'v2', 'v3'])).get('v3')?.byteLength).toBe(3);
    },
  ],
  [
    'throws CLOSED after close, and close is idempotent',
    async (store) => {
      await store.put('a', b('1'));
      await store.close();
      await store.close();
      await expectCode(store.get('a'), 'CLOSED');
      await expectCode(store.getMany(['a']), 'CLOSED');
      await expectCode(store.list({}), 'CLOSED');
      await expectCode(store.put('a', b('2')), 'CLOSED');
      await expectCode(store.delete('a'), 'CLOSED');
    },
  ],
  [
    'counts reads, entries read, writes and bytes written',
    async (store) => {
      await store.write({ put: [['a', b('12')], ['b', b('345')]] });
      await store.delete('b');
      await store.get('a');
      await store.get('missing');
      await store.getMany(['a', 'b']);
      await store.list({});
      expect(store.stats).toEqual({ reads: 4, entriesRead: 3, writes: 2, bytesWritten: 5 });
    },
  ],
  [
    'matches a model under random batches (seeded)',
    async (store) => {
      const seed = 1234;
      const r = rng(seed);
      const model = new Map<string, string>();
      const key = (): string => `k${r.int(60)}`;
      for (let i = 0; i < 150; i++) {
        const del = Array.from({ length: r.int(4) }, key);
        const put = Array.from({ length: r.int(6) }, (): [string, string] => [key(), `v${i}-${r.int(1000)}`]);
        await store.write({ delete: del, put: put.map(([k, v]) => [k, b(v)]) });
        for (const k of del) model.delete(k);
        for (const [k, v] of put) model.set(k, v);
        if (i % 25 === 0) {
          const expected = [...model.entries()].sort(([x], [y]) => (x < y ? -1 : 1));
          const got = (await store.list({})).map(([k, v]) => [k, text(v)]);
          expect(got, `seed ${seed} step ${i}`).toEqual(expected);
        }
      }
      const start = 'k2';
      const end = 'k5';
      const expected = [...model.keys()].filter((k) => k >= start && k < end).sort().reverse().slice(0, 7);
      expect(keysOf(await store.list({ start, end, reverse: true, limit: 7 })), `seed ${seed}`).toEqual(expected);
    },
  ],
];
