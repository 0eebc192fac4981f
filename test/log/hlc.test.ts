import { describe, expect, it } from 'vitest';
import { HLC_LOGICAL_BITS, HLC_LOGICAL_MAX, HybridClock, hlcLogical, hlcPack, hlcPhysicalMs } from '../../log/hlc.js';
import { rng } from '../support/random.js';

function clockFrom(times: number[]): () => number {
  let i = 0;
  return () => times[Math.min(i++, times.length - 1)]!;
}

describe('hybrid logical clock', () => {
  it('packs physical ms above a 16-bit logical counter', () => {
    expect(HLC_LOGICAL_BITS).toBe(16);
    const h = hlcPack(1_700_000_000_123, 42);
    expect(h).toBe(1_700_000_000_123n * 65536n + 42n);
    expect(hlcPhysicalMs(h)).toBe(1_700_000_000_123);
    expect(hlcLogical(h)).toBe(42);
  });

  it('orders packed values like (physical, logical) pairs', () => {
    const r = rng(7);
    for (let i = 0; i < 2000; i++) {
      const a = [r.int(5) + 1_700_000_000_000, r.int(3) === 0 ? HLC_LOGICAL_MAX : r.int(4)] as const;
      const b = [r.int(5) + 1_700_000_000_000, r.int(3) === 0 ? HLC_LOGICAL_MAX : r.int(4)] as const;
      const pairOrder = a[0] !== b[0] ? Math.sign(a[0] - b[0]) : Math.sign(a[1] - b[1]);
      const ha = hlcPack(a[0], a[1]);
      const hb = hlcPack(b[0], b[1]);
      expect(ha < hb ? -1 : ha > hb ? 1 : 0).toBe(pairOrder);
    }
  });

  it('follows the wall clock when it moves forward', () => {
    const c = new HybridClock(clockFrom([1000, 1005, 1010]));
    expect(c.now()).toBe(hlcPack(1000, 0));
    expect(c.now()).toBe(hlcPack(1005, 0));
    expect(c.now()).toBe(hlcPack(1010, 0));
  });

  it('stays strictly increasing when the clock stalls, goes backwards or jumps', () => {
    const c = new HybridClock(clockFrom([1000, 1000, 1000, 500, 400, 5000, 4999, 5000, 5001, NaN, -3]));
    const stamps = Array.from({ length: 11 }, () => c.now());
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]! > stamps[i - 1]!).toBe(true);
    expect(stamps.slice(0, 5)).toEqual([0, 1, 2, 3, 4].map((l) => hlcPack(1000, l)));
    expect(stamps[5]).toBe(hlcPack(5000, 0));
    expect(stamps[7]).toBe(hlcPack(5000, 2));
    expect(stamps[8]).toBe(hlcPack(5001, 0));
    expect(c.last()).toBe(stamps[10]);
  });

  it('advances the physical part when the logical counter would overflow', () => {
    const c = new HybridClock(() => 1000);
    let prev = c.now();
    for (let i = 0; i < HLC_LOGICAL_MAX + 5; i++) {
      const h = c.now();
      if (!(h > prev)) throw new Error(`hlc went from ${prev} to ${h}`);
      prev = h;
    }
    expect(hlcPhysicalMs(prev)).toBe(1001);
    expect(hlcLogical(prev)).toBe(4);
  });

  it('is monotonic under a random clock', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const r = rng(seed);
      let wall = 1_700_000_000_000;
      const c = new HybridClock(() => {
        wall += r.pick([0, 0, 1, -5, 3, 10_000, -10_000]);
        return wall;
      });
      let prev = 0n;
      for (let i = 0; i < 500; i++) {
        const h = c.now();
        if (!(h > prev)) throw new Error(`seed ${seed}: hlc went from ${prev} to ${h}`);
        prev = h;
      }
    }
  });

  it('survives a restart: observing the last stamp keeps later stamps above it', () => {
    const before = new HybridClock(() => 2000);
    before.now();
    before.now();
    const last = before.now();
    const after = new HybridClock(() => 1500); // the restarted machine's clock is behind
    after.observe(last);
    expect(after.last()).toBe(last);
    expect(after.now()).toBe(hlcPack(2000, 3));
    after.observe(hlcPack(10, 0)); // an older stamp changes nothing
    expect(after.now()).toBe(hlcPack(2000, 4));
  });
});
