import { describe, expect, it } from 'vitest';
import { decodeKey, encodeKey, encodeRowidKey, writeRowidKey } from '../../materializers/btree/keys.js';
import { MsgpackWriter } from '../../log/msgpack.js';
import { INT64_MAX, INT64_MIN, Real, type Value } from '../../base/values.js';
import { rng, type Rng } from '../support/random.js';

/** SQLite's order of values, computed independently of the encoding (exact for int64). */
function compareValues(a: Value, b: Value): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 1) return compareNumbers(a as number | bigint | Real, b as number | bigint | Real);
  if (ra === 2) return compareText(a as string, b as string);
  if (ra === 3) return compareBytes(a as Uint8Array, b as Uint8Array);
  return 0;
}

function rank(v: Value): number {
  if (v === null) return 0;
  if (typeof v === 'string') return 2;
  if (v instanceof Uint8Array) return 3;
  return 1;
}

/** A number as (integer part, fraction in [0,1)), or ±Infinity. */
function exact(v: number | bigint | Real): [bigint, number] | number {
  if (typeof v === 'bigint') return [v, 0];
  const d = v instanceof Real ? v.value : v;
  if (!Number.isFinite(d)) return d;
  const fl = Math.floor(d);
  return [BigInt(fl), d - fl];
}

function compareNumbers(a: number | bigint | Real, b: number | bigint | Real): number {
  const ea = exact(a);
  const eb = exact(b);
  if (typeof ea === 'number' || typeof eb === 'number') {
    const da = typeof ea === 'number' ? ea : 0;
    const db = typeof eb === 'number' ? eb : 0;
    return da === db ? 0 : da < db ? -1 : 1;
  }
  if (ea[0] !== eb[0]) return ea[0] < eb[0] ? -1 : 1;
  return Math.sign(ea[1] - eb[1]);
}

function compareText(a: string, b: string): number {
  const ca = [...a].map((c) => c.codePointAt(0)!);
  const cb = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) if (ca[i] !== cb[i]) return ca[i]! - cb[i]!;
  return ca.length - cb.length;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function compareTuples(a: Value[], b: Value[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareValues(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

const EDGE: Value[] = [
  null,
  0,
  new Real(0),
  new Real(-0),
  1,
  new Real(1),
  -1,
  2,
  2.5,
  3,
  -2.5,
  Infinity,
  -Infinity,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  -Number.MIN_VALUE,
  9007199254740991,
  -9007199254740991,
  9007199254740992n,
  9007199254740993n,
  -9007199254740992n,
  -9007199254740993n,
  9007199254740992,
  new Real(9007199254740992),
  9007199254740994,
  INT64_MAX,
  INT64_MIN,
  INT64_MAX - 1n,
  INT64_MIN + 1n,
  9223372036854775808, // 2^63 as a REAL: above INT64_MAX
  -9223372036854775808, // -2^63 as a REAL: equal to INT64_MIN
  1e300,
  '',
  'a',
  'ab',
  'b',
  '\u0000',
  'a\u0000',
  'a\u0000b',
  '\u0001',
  '\uffff',
  '\ufffe',
  '\ue000',
  '\u{10000}',
  '\u{10ffff}',
  'x\u{1f600}y',
  'x\uffffy',
  new Uint8Array([]),
  new Uint8Array([0]),
  new Uint8Array([0, 0]),
  new Uint8Array([0, 1]),
  new Uint8Array([1]),
  new Uint8Array([255]),
  new Uint8Array([255, 0]),
];

function randomValue(r: Rng): Value {
  switch (r.int(9)) {
    case 0:
      return null;
    case 1:
      return r.int(21) - 10;
    case 2:
      return (r.next() - 0.5) * 20;
    case 3:
      return r.pick(EDGE);
    case 4: {
      const chars = ['a', 'b', '\u0000', '\u0001', '\uffff', '\ue000', '\u{10000}', '\u{1f600}', 'é'];
      let s = '';
      for (let i = r.int(4); i > 0; i--) s += r.pick(chars);
      return s;
    }
    case 5: {
      const b = new Uint8Array(r.int(4));
      for (let i = 0; i < b.length; i++) b[i] = r.pick([0, 1, 127, 128, 255]);
      return b;
    }
    case 6:
      return BigInt(r.int(2000) - 1000) + r.pick([INT64_MAX - 1000n, 9007199254740992n, -9007199254740992n]);
    case 7:
      return new Real(r.int(5) - 2);
    default:
      return r.int(3) - 1 + r.pick([0, 0.5]);
  }
}

function normalize(v: Value): Value {
  if (typeof v === 'bigint' && v >= -9007199254740991n && v <= 9007199254740991n) return Number(v);
  return v;
}

describe('encodeKey', () => {
  it('orders edge values like SQLite (all pairs)', () => {
    const keys = EDGE.map((v) => encodeKey([normalize(v)]));
    for (let i = 0; i < EDGE.length; i++) {
      for (let j = 0; j < EDGE.length; j++) {
        const want = Math.sign(compareValues(normalize(EDGE[i]!), normalize(EDGE[j]!)));
        const got = keys[i]! < keys[j]! ? -1 : keys[i]! > keys[j]! ? 1 : 0;
        if (got !== want) throw new Error(`order of ${String(EDGE[i])} vs ${String(EDGE[j])}: got ${got}, want ${want}`);
      }
    }
  });

  it('treats integer and real alike: 1 == 1.0, -0.0 == 0, 2 < 2.5 < 3', () => {
    expect(encodeKey([1])).toBe(encodeKey([new Real(1)]));
    expect(encodeKey([new Real(-0)])).toBe(encodeKey([0]));
    expect(encodeKey([2]) < encodeKey([2.5])).toBe(true);
    expect(encodeKey([2.5]) < encodeKey([3])).toBe(true);
    expect(encodeKey([9007199254740993n]) > encodeKey([9007199254740992n])).toBe(true);
  });

  it('delimits components: (a,b) < (ab,"") and prefixes sort first', () => {
    expect(encodeKey(['a', 'b']) < encodeKey(['ab', ''])).toBe(true);
    expect(encodeKey(['a']) < encodeKey(['a', null])).toBe(true);
    expect(encodeKey([new Uint8Array([1]), 5]) < encodeKey([new Uint8Array([1, 0]), 0])).toBe(true);
  });

  it('orders random tuples like the reference comparator', () => {
    const seed = 20240611;
    const r = rng(seed);
    const tuples: Value[][] = [];
    for (let i = 0; i < 600; i++) {
      const t: Value[] = [];
      for (let k = 1 + r.int(3); k > 0; k--) t.push(normalize(randomValue(r)));
      tuples.push(t);
    }
    const keys = tuples.map((t) => encodeKey(t));
    for (let i = 0; i < tuples.length; i++) {
      for (let j = i + 1; j < tuples.length; j++) {
        const want = Math.sign(compareTuples(tuples[i]!, tuples[j]!));
        const got = keys[i]! < keys[j]! ? -1 : keys[i]! > keys[j]! ? 1 : 0;
        if (got !== want) throw new Error(`seed ${seed}: tuples ${i} and ${j} ordered ${got}, want ${want}`);
      }
    }
  });

  it('round-trips through decodeKey', () => {
    const r = rng(7);
    for (let i = 0; i < 500; i++) {
      const t: Value[] = [];
      for (let k = 1 + r.int(3); k > 0; k--) t.push(normalize(randomValue(r)));
      const back = decodeKey(encodeKey(t));
      expect(back.length).toBe(t.length);
      for (let k = 0; k < t.length; k++) expect(compareValues(back[k]!, t[k]!)).toBe(0);
    }
  });

  it('decodes integers as INTEGER and non-integral numbers as REAL', () => {
    expect(decodeKey(encodeKey([42]))).toEqual([42]);
    expect(decodeKey(encodeKey([INT64_MAX]))).toEqual([INT64_MAX]);
    expect(decodeKey(encodeKey([INT64_MIN]))).toEqual([INT64_MIN]);
    expect(decodeKey(encodeKey([9007199254740993n]))).toEqual([9007199254740993n]);
    expect(decodeKey(encodeKey([2.5]))).toEqual([2.5]);
    expect(decodeKey(encodeKey([1e300]))).toEqual([1e300]);
    expect(decodeKey(encodeKey([new Real(2)]))).toEqual([2]); // documented: 2.0 reads back as 2
    expect(decodeKey(encodeKey(['a\u0000\uffff\u{1f600}', new Uint8Array([0, 255])]))).toEqual([
      'a\u0000\uffff\u{1f600}',
      new Uint8Array([0, 255]),
    ]);
  });

  it('maps lone surrogates to U+FFFD, as UTF-8 storage would', () => {
    expect(encodeKey(['a\ud800'])).toBe(encodeKey(['a\ufffd']));
  });

  it('encodeRowidKey equals encodeKey([rowid])', () => {
    for (const v of [0, 1, -1, 123456789, 9007199254740991, -9007199254740991, INT64_MAX, INT64_MIN, 9007199254740993n]) {
      expect(encodeRowidKey(v)).toBe(encodeKey([v]));
    }
  });

  it('writeRowidKey writes the msgpack of encodeRowidKey, without the string', () => {
    const r = rng(77);
    const rowids: Array<number | bigint> = [0, -0, 1, -1, 127, 128, 255, 256, 2 ** 31, -(2 ** 31), 2 ** 53 - 1, -(2 ** 53 - 1), INT64_MAX, INT64_MIN, 2n ** 53n + 1n];
    for (let i = 0; i < 500; i++) rowids.push(r.int(2) ? r.int(2 ** 31) - 2 ** 30 : Math.round((r.next() - 0.5) * 2 ** 53));
    const ours = new MsgpackWriter();
    const theirs = new MsgpackWriter();
    for (const rowid of rowids) {
      const key = encodeRowidKey(rowid);
      expect(writeRowidKey(rowid, ours)).toBe(key.length);
      theirs.string(key);
      expect(Buffer.from(ours.finish()).equals(Buffer.from(theirs.finish()))).toBe(true);
    }
  });

  it('emits only valid UTF-16 (keys survive msgpack)', () => {
    const r = rng(3);
    for (let i = 0; i < 300; i++) {
      const k = encodeKey([normalize(randomValue(r)), normalize(randomValue(r))]);
      expect(/[\ud800-\udfff]/.test(k.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))).toBe(false);
    }
  });
});
