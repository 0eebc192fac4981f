import { describe, expect, it } from 'vitest';
import * as zlib from 'node:zlib';
import { crc32, crc32Range } from '../../storage/crc32.js';
import { rng } from '../support/random.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('crc32', () => {
  it('matches the standard check values', () => {
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(ascii('a'))).toBe(0xe8b7be43);
    expect(crc32(ascii('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
    expect(crc32(new Uint8Array(32))).toBe(0x190a55ad);
  });

  it('continues a running checksum through seed', () => {
    const all = ascii('hello, incremental world');
    for (let cut = 0; cut <= all.length; cut++) {
      expect(crc32(all.subarray(cut), crc32(all.subarray(0, cut)))).toBe(crc32(all));
    }
  });

  it('agrees with zlib on random inputs of every small length (seeded)', () => {
    const zlibCrc = (zlib as unknown as { crc32?: (b: Uint8Array) => number }).crc32;
    if (!zlibCrc) return; // zlib.crc32 arrived in Node 20.15 / 22.2
    const seed = 99;
    const r = rng(seed);
    for (let n = 0; n < 300; n++) {
      const bytes = Uint8Array.from({ length: n }, () => r.int(256));
      expect(crc32(bytes), `seed ${seed} length ${n}`).toBe(zlibCrc(bytes));
    }
  });

  it('of a range equals that of the subarray, at every offset and length (seeded)', () => {
    const seed = 7;
    const r = rng(seed);
    const all = Uint8Array.from({ length: 64 }, () => r.int(256));
    for (let start = 0; start <= all.length; start++) {
      for (let end = start; end <= all.length; end += 1 + r.int(5)) {
        expect(crc32Range(all, start, end), `seed ${seed} [${start}, ${end})`).toBe(crc32(all.slice(start, end)));
      }
    }
  });
});
