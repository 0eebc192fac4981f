import { describe, expect, it } from 'vitest';
import type { Value } from '../../base/values.js';
import * as V from '../../query/values/index.js';
import { rng, type Rng } from '../support/random.js';
import { attempt, genDouble, genValue, key, oracle, seedOr } from './oracle.js';

const SEED = seedOr(0x9f);
const CONVERSIONS = ['d', 'i', 'u', 'x', 'X', 'o', 'f', 'e', 'E', 'g', 'G', 's', 'z', 'c', 'q', 'Q', 'w', '%', 'r', 'n'];

function genSpec(r: Rng): string {
  let s = '%';
  const flags = ['-', '+', ' ', '#', '!', '0', ','];
  for (let k = r.int(3); k > 0; k--) s += r.pick(flags);
  if (r.chance(0.4)) s += String(r.int(25));
  else if (r.chance(0.1)) s += '*';
  if (r.chance(0.5)) s += '.' + (r.chance(0.1) ? '*' : String(r.int(22)));
  if (r.chance(0.1)) s += 'll';
  return s + r.pick(CONVERSIONS);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Blobs that are not valid UTF-8 are left out: SQLite pads and cuts their raw bytes. */
function genArg(r: Rng): Value {
  const v = r.chance(0.4) ? V.add(0, genDouble(r)) : genValue(r);
  if (v instanceof Uint8Array) {
    try {
      strictUtf8.decode(v);
    } catch {
      return 'blob';
    }
  }
  return v;
}

describe('printf matches SQLite', () => {
  it(`random single conversions (seed ${SEED})`, () => {
    const r = rng(SEED);
    const failures: string[] = [];
    for (let i = 0; i < 4000; i++) {
      const fmt = `<${genSpec(r)}>` + (r.chance(0.2) ? genSpec(r) : '');
      // A '*' takes its width or precision from an argument: keep those small.
      const args = fmt.includes('*') ? [r.int(40) - 20, r.int(30) - 5, genArg(r)] : [genArg(r), genArg(r), genArg(r)];
      const want = key(oracle('SELECT printf(?, ?, ?, ?)', [fmt, ...args]));
      let got = key(attempt(() => V.SCALAR_FUNCTIONS['printf']!.fn([fmt, ...args], ctx)));
      // Our message also names the limit constant.
      if (got.startsWith('error:string or blob too big')) got = 'error:string or blob too big';
      if (got !== want) failures.push(`printf(${JSON.stringify(fmt)}, ${args.map(key).join(', ')}): got ${got} want ${want}`);
    }
    expect(failures.slice(0, 10), `seed ${SEED}`).toEqual([]);
  });

  it('documented examples', () => {
    expect(V.sqlPrintf('%d %s %.2f %5.1e|%-4d|%04d', [42, 'x', 3.14159, 12345.678, 7, -7])).toBe('42 x 3.14 1.2e+04|7   |-007');
    expect(V.sqlPrintf('%q %Q %Q', ["it's", "it's", null])).toBe("it''s 'it''s' NULL");
    expect(V.sqlPrintf('%x %X %o %c %%', [255, 255, 8, 'hello'])).toBe('ff FF 10 h %');
  });
});

const ctx: V.FunctionContext = { random: () => 0n, now: () => 0 };
