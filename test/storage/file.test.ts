/**
 * FileStore durability: what survives a reopen, how a torn tail is cut away, how damage inside
 * committed data is refused, and that compaction keeps the content while shrinking the file.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDosqlError } from '../../base/errors.js';
import { FILE_STORE_DATA_NAME, FileStore } from '../../storage/file.js';
import type { FileStoreOptions } from '../../storage/file.js';
import { rng } from '../support/random.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const b = (s: string): Uint8Array => enc.encode(s);

async function dump(store: FileStore): Promise<Array<[string, string]>> {
  return (await store.list({})).map(([k, v]) => [k, dec.decode(v)]);
}

async function openError(dir: string): Promise<unknown> {
  return FileStore.open(dir).then(
    async (s) => {
      await s.close();
      return undefined;
    },
    (e: unknown) => e,
  );
}

describe('FileStore', () => {
  let dir: string;
  let file: string;
  const open: FileStore[] = [];
  const openStore = async (options?: FileStoreOptions): Promise<FileStore> => {
    const s = await FileStore.open(dir, options);
    open.push(s);
    return s;
  };

  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'dosql-file-')), 'nested', 'store');
    file = join(dir, FILE_STORE_DATA_NAME);
  });

  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    rmSync(join(dir, '..', '..'), { recursive: true, force: true });
  });

  /** Three acknowledged batches; returns the file size after each. */
  async function threeBatches(store: FileStore): Promise<number[]> {
    const sizes: number[] = [];
    await store.write({ put: [['a', b('1')], ['b', b('2')]] });
    sizes.push(statSync(file).size);
    await store.write({ delete: ['a'], put: [['c', b('3')]] });
    sizes.push(statSync(file).size);
    await store.write({ put: [['b', b('22')], ['d', b('4')]] });
    sizes.push(statSync(file).size);
    return sizes;
  }
  const afterThree: Array<[string, string]> = [['b', '22'], ['c', '3'], ['d', '4']];

  it('creates the directory and reopens with every acknowledged write, closed or not', async () => {
    const s1 = await openStore();
    await threeBatches(s1);
    // No close: a second open sees what a crash right now would leave.
    const s2 = await openStore();
    expect(await dump(s2)).toEqual(afterThree);
    expect(s2.truncatedBytes).toBe(0);
    await s1.close();
    await s2.close();
    const s3 = await openStore();
    expect(await dump(s3)).toEqual(afterThree);
  });

  it('serializes concurrent writes in call order and makes them all durable', async () => {
    const s = await openStore();
    const writes: Array<Promise<void>> = [];
    for (let i = 0; i < 300; i++) {
      writes.push(s.put(`k${i % 50}`, b(`v${i}`)));
      if (i % 7 === 0) writes.push(s.delete(`k${(i + 3) % 50}`));
    }
    await Promise.all(writes);
    const expected = await dump(s);
    expect(expected.find(([k]) => k === 'k49')).toEqual(['k49', 'v299']);
    const again = await openStore();
    expect(await dump(again)).toEqual(expected);
  });

  it('cuts garbage appended after the last record and keeps the valid prefix', async () => {
    const s = await openStore();
    const sizes = await threeBatches(s);
    await s.close();
    appendFileSync(file, Buffer.alloc(37, 0xff));
    const r = await openStore();
    expect(r.truncatedBytes).toBe(37);
    expect(statSync(file).size).toBe(sizes[2]);
    expect(await dump(r)).toEqual(afterThree);
    await r.put('e', b('5'));
    await r.close();
    expect(await dump(await openStore())).toEqual([...afterThree, ['e', '5']]);
  });

  it('drops a torn last record (cut short, bad checksum, or zero-filled) as a whole batch', async () => {
    const s = await openStore();
    const sizes = await threeBatches(s);
    await s.close();
    const afterTwo: Array<[string, string]> = [['b', '2'], ['c', '3']];

    truncateSync(file, sizes[2]! - 3); // the last append cut short
    const r1 = await openStore();
    expect(await dump(r1)).toEqual(afterTwo);
    expect(statSync(file).size).toBe(sizes[1]);
    await r1.write({ put: [['b', b('22')], ['d', b('4')]] });
    await r1.close();

    const bytes = readFileSync(file);
    bytes[bytes.length - 1]! ^= 0x01; // the last record damaged inside
    writeFileSync(file, bytes);
    const r2 = await openStore();
    expect(await dump(r2)).toEqual(afterTwo);
    await r2.close();

    appendFileSync(file, Buffer.alloc(4096)); // file grown, data never written
    const r3 = await openStore();
    expect(r3.truncatedBytes).toBe(4096);
    expect(await dump(r3)).toEqual(afterTwo);
  });

  it('recovers exactly the batches that fit before any cut point (seeded)', async () => {
    const seed = 4242;
    const r = rng(seed);
    const s = await openStore();
    const model = new Map<string, string>();
    const snapshots: Array<{ size: number; content: Array<[string, string]> }> = [
      { size: statSync(file).size, content: [] },
    ];
    for (let i = 0; i < 30; i++) {
      const del = Array.from({ length: r.int(3) }, () => `k${r.int(20)}`);
      const put = Array.from({ length: 1 + r.int(4) }, (): [string, string] => [`k${r.int(20)}`, `v${i}`.repeat(1 + r.int(30))]);
      await s.write({ delete: del, put: put.map(([k, v]) => [k, b(v)]) });
      for (const k of del) model.delete(k);
      for (const [k, v] of put) model.set(k, v);
      snapshots.push({ size: statSync(file).size, content: [...model.entries()].sort(([x], [y]) => (x < y ? -1 : 1)) });
    }
    await s.close();
    const full = readFileSync(file);
    for (let trial = 0; trial < 25; trial++) {
      const cut = snapshots[0]!.size + r.int(full.length - snapshots[0]!.size + 1);
      writeFileSync(file, full.subarray(0, cut));
      const expected = snapshots.filter((x) => x.size <= cut).at(-1)!;
      const reopened = await FileStore.open(dir);
      expect(await dump(reopened), `seed ${seed} cut ${cut}`).toEqual(expected.content);
      expect(reopened.fileBytes, `seed ${seed} cut ${cut}`).toBe(expected.size);
      await reopened.close();
    }
  });

  it('throws CORRUPT for a damaged record with committed data after it', async () => {
    const s = await openStore();
    const sizes = await threeBatches(s);
    await s.close();
    const bytes = readFileSync(file);
    const middle = Math.floor((sizes[0]! + sizes[1]!) / 2);
    bytes[middle]! ^= 0x40;
    writeFileSync(file, bytes);
    const e = await openError(dir);
    expect(isDosqlError(e, 'CORRUPT'), String(e)).toBe(true);
    expect(statSync(file).size).toBe(sizes[2]); // nothing was cut
  });

  it('throws CORRUPT for a file that is not a store', async () => {
    await openStore().then((s) => s.close());
    writeFileSync(file, 'definitely not a store file');
    const e = await openError(dir);
    expect(isDosqlError(e, 'CORRUPT'), String(e)).toBe(true);
  });

  it('compacts automatically past the garbage ratio, keeping content and shrinking the file', async () => {
    const s = await openStore(); // defaults: ratio 0.5, files over 4 MiB
    const big = new Uint8Array(1024 * 1024);
    for (let i = 0; i < 12; i++) {
      big.fill(i);
      await s.write({ put: [['big', big], [`small${i % 3}`, b(`s${i}`)]] });
    }
    expect(s.fileBytes).toBeLessThan(4 * 1024 * 1024);
    expect(statSync(file).size).toBe(s.fileBytes);
    const got = await s.get('big');
    expect(got?.byteLength).toBe(big.byteLength);
    expect(got?.every((x) => x === 11)).toBe(true);
    const content = await dump(s);
    expect(content.filter(([k]) => k.startsWith('small'))).toEqual([['small0', 's9'], ['small1', 's10'], ['small2', 's11']]);
    await s.close();
    expect(await dump(await openStore())).toEqual(content);
  });

  it('compact() rewrites only live entries; reads during it stay correct; no temp file is left', async () => {
    const s = await openStore({ compactGarbageRatio: 1 });
    for (let round = 0; round < 20; round++) {
      await s.write({ put: Array.from({ length: 50 }, (_, i): [string, Uint8Array] => [`k${i}`, b(`r${round}-${'x'.repeat(100)}`)]) });
    }
    await s.write({ delete: ['k0', 'k1'] });
    const before = await dump(s);
    const sizeBefore = s.fileBytes;
    expect(s.deadBytes).toBeGreaterThan(sizeBefore * 0.9);
    const compacting = s.compact();
    const readDuring = s.get('k7');
    const writeDuring = s.put('k7', b('during'));
    expect(dec.decode(await readDuring)).toMatch(/^r19-/);
    await compacting;
    await writeDuring;
    expect(s.fileBytes).toBeLessThan(sizeBefore / 10);
    expect(s.deadBytes).toBeLessThan(200); // only the k7 put superseded by the write queued behind the compaction
    const after = await dump(s);
    expect(after).toEqual(before.map(([k, v]) => [k, k === 'k7' ? 'during' : v]));
    expect(existsSync(file + '.tmp')).toBe(false);
    await s.close();
    expect(await dump(await openStore())).toEqual(after);
  });

  it('deletes a stale compaction temp file on open', async () => {
    const s = await openStore();
    await s.put('a', b('1'));
    await s.close();
    writeFileSync(file + '.tmp', 'half a compaction');
    const r = await openStore();
    expect(existsSync(file + '.tmp')).toBe(false);
    expect(await dump(r)).toEqual([['a', '1']]);
  });

  it('refuses writes with IO after an append fails, and reopening recovers', async () => {
    const s = await openStore();
    await s.put('a', b('1'));
    // Break the file handle underneath the store to make the next append fail.
    await (s as unknown as { handle: { close(): Promise<void> } }).handle.close();
    const e1 = await s.put('b', b('2')).catch((e: unknown) => e);
    expect(isDosqlError(e1, 'IO'), String(e1)).toBe(true);
    const e2 = await s.put('c', b('3')).catch((e: unknown) => e);
    expect(isDosqlError(e2, 'IO'), String(e2)).toBe(true);
    expect(await dump(await openStore())).toEqual([['a', '1']]);
  });

  it('rejects bad options with MISUSE', async () => {
    const e = await FileStore.open(dir, { compactGarbageRatio: 0 }).catch((x: unknown) => x);
    expect(isDosqlError(e, 'MISUSE')).toBe(true);
  });
});
