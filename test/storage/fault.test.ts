/**
 * FaultyStore: crashes at the planned write, tears it when asked, and fails reads on a schedule
 * that replays exactly from the seed.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDosqlError } from '../../base/errors.js';
import { MemoryStore } from '../../storage/memory.js';
import { FileStore } from '../../storage/file.js';
import { FaultyStore } from '../../storage/fault.js';
import type { FaultPlan } from '../../storage/fault.js';
import type { ByteStore } from '../../storage/types.js';
import { STORE_KEYS_PER_CALL_MAX } from '../../storage/types.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const keysOf = async (s: ByteStore): Promise<string[]> => (await s.list({})).map(([k]) => k);

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

function expectInjected(e: unknown, message: string): void {
  expect(isDosqlError(e, 'IO'), String(e)).toBe(true);
  expect((e as Error).message).toBe(message);
}

/** A batch of five puts k0..k4 with 64-byte values, tearing it on write `crashAtWrite`. */
async function tornRun(seed: number, inner: ByteStore = new MemoryStore()): Promise<FaultyStore> {
  const f = new FaultyStore(inner, { crashAtWrite: 2, tornWrite: true, seed });
  await f.put('before', b('ok'));
  const puts = Array.from({ length: 5 }, (_, i): [string, Uint8Array] => [`k${i}`, new Uint8Array(64).fill(i + 1)]);
  expectInjected(await errorOf(f.write({ delete: ['before'], put: puts })), 'injected crash');
  return f;
}

describe('FaultyStore', () => {
  it('passes calls through until the crash write, which is not applied', async () => {
    const f = new FaultyStore(new MemoryStore(), { crashAtWrite: 3 });
    await f.put('a', b('1'));
    await f.write({ put: [['b', b('2')]], delete: ['a'] });
    expect(f.crashed).toBe(false);
    expectInjected(await errorOf(f.put('c', b('3'))), 'injected crash');
    expect(f.crashed).toBe(true);
    expect(f.writeCount).toBe(3);
    expectInjected(await errorOf(f.put('d', b('4'))), 'injected crash');
    expectInjected(await errorOf(f.get('b')), 'injected crash');
    expectInjected(await errorOf(f.list({})), 'injected crash');
    await f.close(); // the dead process closes nothing

    const restarted = new FaultyStore(f.inner, {});
    expect(await keysOf(restarted)).toEqual(['b']);
    await restarted.put('c', b('3'));
    expect(await keysOf(restarted)).toEqual(['b', 'c']);
  });

  it('does not count writes refused by the limit checks', async () => {
    const f = new FaultyStore(new MemoryStore(), { crashAtWrite: 1 });
    const tooMany = Array.from({ length: STORE_KEYS_PER_CALL_MAX + 1 }, (_, i) => `k${i}`);
    const e = await errorOf(f.write({ delete: tooMany }));
    expect(isDosqlError(e, 'LIMIT_EXCEEDED')).toBe(true);
    expect(f.writeCount).toBe(0);
    expectInjected(await errorOf(f.put('a', b('1'))), 'injected crash');
  });

  it('tears the crash write: its deletes, a prefix of its puts, the last one truncated', async () => {
    const tornPrefixes = new Set<number>();
    for (let seed = 0; seed < 20; seed++) {
      const f = await tornRun(seed);
      const left = await f.inner.list({});
      const keys = left.map(([k]) => k);
      expect(keys, `seed ${seed}`).not.toContain('before');
      expect(keys.length, `seed ${seed}`).toBeGreaterThanOrEqual(1);
      expect(keys, `seed ${seed}`).toEqual(Array.from({ length: keys.length }, (_, i) => `k${i}`));
      for (const [k, v] of left.slice(0, -1)) expect(v, `seed ${seed} ${k}`).toEqual(new Uint8Array(64).fill(Number(k[1]) + 1));
      const [, last] = left[left.length - 1]!;
      expect(last.byteLength, `seed ${seed}`).toBeLessThan(64);
      expect(last.every((x) => x === keys.length), `seed ${seed}`).toBe(true);
      tornPrefixes.add(keys.length);
    }
    expect(tornPrefixes.size).toBeGreaterThan(1); // the seed really varies the tear
  });

  it('tears identically for the same seed', async () => {
    const one = await (await tornRun(5)).inner.list({});
    const two = await (await tornRun(5)).inner.list({});
    expect(one).toEqual(two);
  });

  it('leaves a torn write on a FileStore that a reopen then sees', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dosql-fault-'));
    try {
      const inner = await FileStore.open(dir);
      await tornRun(3, inner);
      const expected = await inner.list({});
      await inner.close();
      const reopened = await FileStore.open(dir);
      expect(await reopened.list({})).toEqual(expected);
      await reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails reads with the planned probability, deterministically per seed', async () => {
    const pattern = async (plan: FaultPlan): Promise<string> => {
      const f = new FaultyStore(new MemoryStore(), plan);
      await f.put('a', b('1'));
      let out = '';
      for (let i = 0; i < 200; i++) {
        const call = i % 3 === 0 ? f.get('a') : i % 3 === 1 ? f.getMany(['a']) : f.list({});
        const e = await errorOf(call);
        if (e !== undefined) expectInjected(e, 'injected read failure');
        out += e === undefined ? '.' : 'x';
      }
      const served = [...out].filter((c) => c === '.').length;
      expect(f.stats.reads).toBe(served); // injected failures never reach the inner store
      return out;
    };
    const a = await pattern({ readFailureProbability: 0.3, seed: 7 });
    expect(await pattern({ readFailureProbability: 0.3, seed: 7 })).toBe(a);
    expect(await pattern({ readFailureProbability: 0.3, seed: 8 })).not.toBe(a);
    const failures = [...a].filter((c) => c === 'x').length;
    expect(failures).toBeGreaterThan(30);
    expect(failures).toBeLessThan(90);
    expect(await pattern({ readFailureProbability: 0 })).toBe('.'.repeat(200));
    expect(await pattern({ readFailureProbability: 1, seed: 1 })).toBe('x'.repeat(200));
  });

  it('fails every read during an outage, and only then; writes go on', async () => {
    const f = new FaultyStore(new MemoryStore(), {});
    await f.put('a', b('1'));
    f.readOutage = true;
    for (const call of [f.get('a'), f.getMany(['a']), f.list({})]) expectInjected((await errorOf(call))!, 'injected read failure');
    await f.put('b', b('2'));
    expect(f.stats.reads).toBe(0);
    f.readOutage = false;
    expect((await f.list({})).map(([k]) => k)).toEqual(['a', 'b']);
  });

  it('closes the inner store when closed before any crash', async () => {
    const inner = new MemoryStore();
    const f = new FaultyStore(inner, {});
    await f.close();
    await f.close();
    expect(isDosqlError(await errorOf(inner.get('a')), 'CLOSED')).toBe(true);
    expect(isDosqlError(await errorOf(f.put('a', b('1'))), 'CLOSED')).toBe(true);
  });

  it('rejects an impossible plan with MISUSE', () => {
    expect(() => new FaultyStore(new MemoryStore(), { crashAtWrite: 0 })).toThrow(/crashAtWrite/);
    expect(() => new FaultyStore(new MemoryStore(), { readFailureProbability: 2 })).toThrow(/readFailureProbability/);
  });
});
