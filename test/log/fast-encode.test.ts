import { describe, expect, it } from 'vitest';
import { pack } from '../../base/codec.js';
import { Real, type Value } from '../../base/values.js';
import { MsgpackWriter } from '../../log/msgpack.js';
import { FrameEncoder, decodeFrames, encodeChangeRecord, encodeRecord } from '../../log/record.js';
import type { Change, InsertRun, LogRecord } from '../../log/types.js';
import { rng, type Rng } from '../support/random.js';

/** Strings around every msgpack header boundary, ASCII and not, with pairs and lone surrogates. */
function randomString(r: Rng): string {
  const length = r.chance(0.03)
    ? r.pick([21845, 21846, 65535, 65536])
    : r.pick([0, 1, 31, 32, 63, 64, 65, 85, 86, 255, 256, 1000, r.int(300)]);
  const alphabet = r.pick(['ascii', 'latin', 'bmp', 'astral', 'lone']);
  let s = '';
  for (let i = 0; s.length < length; i++) {
    switch (alphabet) {
      case 'ascii':
        s += String.fromCharCode(32 + r.int(95));
        break;
      case 'latin':
        s += String.fromCharCode(r.chance(0.5) ? 0x80 + r.int(0x780) : 97);
        break;
      case 'bmp':
        s += String.fromCharCode(0x800 + r.int(0xd000 - 0x800));
        break;
      case 'astral':
        s += r.chance(0.5) ? '😀' : 'a';
        break;
      default:
        s += r.chance(0.1) ? String.fromCharCode(0xd800 + r.int(0x800)) : 'b';
    }
  }
  return s.slice(0, length);
}

function randomValue(r: Rng): Value {
  switch (r.int(9)) {
    case 0:
      return null;
    case 1:
      return r.pick([0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 0x100000000, Number.MAX_SAFE_INTEGER]);
    case 2:
      return -r.pick([1, 0x20, 0x21, 0x80, 0x81, 0x8000, 0x8001, 0x80000000, 0x80000001, Number.MAX_SAFE_INTEGER]);
    case 3:
      return r.pick([0.5, -1.25, 1e300, -1e-300, Math.PI, Infinity, -Infinity]);
    case 4:
      return r.pick([2n ** 53n + 1n, -(2n ** 63n), 2n ** 63n - 1n]);
    case 5:
      return new Real(r.pick([0, -0, 2, -7, 2 ** 52]));
    case 6: {
      const b = new Uint8Array(r.chance(0.05) ? r.pick([65535, 65536]) : r.pick([0, 1, 255, 256, r.int(100)]));
      for (let i = 0; i < b.length; i++) b[i] = r.int(256);
      return b;
    }
    default:
      return randomString(r);
  }
}

function randomRow(r: Rng): Value[] {
  return Array.from({ length: r.pick([0, 1, 4, 15, 16, 17]) }, () => randomValue(r));
}

function randomChange(r: Rng): Change {
  const rowid = r.chance(0.9) ? r.int(1e6) : 2n ** 60n + BigInt(r.int(1000));
  switch (r.int(3)) {
    case 0:
      return { op: 'insert', table: r.int(300), rowid, row: randomRow(r) };
    case 1:
      return { op: 'update', table: r.int(300), rowid, before: randomRow(r), row: randomRow(r) };
    default:
      return { op: 'delete', table: r.int(300), rowid, before: randomRow(r) };
  }
}

describe('append fast path', () => {
  it('encodes a change exactly as the general encoder does', () => {
    const changes: Change[] = [
      { op: 'insert', table: 3, rowid: 7, row: [7, 'x', new Real(2), 1.5, null, new Uint8Array([1, 2]), 9007199254740993n] },
      { op: 'delete', table: 3, rowid: 8, before: [8, 'y'] },
      { op: 'update', table: 3, rowid: 9, before: [9], row: [10] },
    ];
    for (const change of changes) {
      expect(encodeChangeRecord(41, 5, change)).toEqual(encodeRecord({ kind: 'change', lsn: 41n, txn: 5n, change }));
    }
  });

  it('writes every value exactly as msgpackr does', () => {
    const r = rng(7);
    const w = new MsgpackWriter(16); // tiny arena: every unit moves while it grows
    for (let i = 0; i < 1500; i++) {
      const row = randomRow(r);
      expect(w.row(row)).toBe(true);
      const got = Buffer.from(w.finish());
      if (!got.equals(Buffer.from(pack(row)))) expect(got.toString('hex'), `seed 7 row ${i}`).toBe(Buffer.from(pack(row)).toString('hex'));
    }
  });

  it('encodes whole transactions, frame by frame, as encodeRecord does', () => {
    const seed = 11;
    const r = rng(seed);
    const e = new FrameEncoder(1 << 24, 64);
    for (let t = 0; t < 40; t++) {
      const txn = 1 + t;
      const firstLsn = 1 + t * 1000;
      const changes = Array.from({ length: r.int(20) }, () => randomChange(r));
      const records: LogRecord[] = changes.map((change, i) => ({ kind: 'change', lsn: BigInt(firstLsn + i), txn: BigInt(txn), change }));
      const hlc = r.chance(0.5) ? BigInt(r.int(1e6)) : 1_700_000_000_000n * 65536n + BigInt(r.int(65536));
      records.push({ kind: 'commit', lsn: BigInt(firstLsn + changes.length), txn: BigInt(txn), hlc, changeCount: changes.length });
      changes.forEach((c, i) => e.change(firstLsn + i, txn, c));
      e.commit(firstLsn + changes.length, txn, hlc, changes.length);
      const { bytes, ends } = e.finish();
      const expected = records.map(encodeRecord);
      let at = 0;
      expected.forEach((frame, i) => {
        at += frame.byteLength;
        expect(ends[i], `seed ${seed} txn ${t} frame ${i}`).toBe(at);
      });
      expect(Buffer.from(bytes).equals(Buffer.concat(expected)), `seed ${seed} txn ${t}`).toBe(true);
      expect(decodeFrames(bytes).end.kind).toBe('clean');
    }
  });

  it('says where each row of an insert run lies in the bytes it wrote, except for a run msgpackr wrote part of', () => {
    const r = rng(12);
    const e = new FrameEncoder(1 << 24, 64);
    for (let t = 0; t < 30; t++) {
      const width = r.pick([1, 4, 15, 16, 17]);
      const rows = Array.from({ length: 1 + r.int(40) }, () => Array.from({ length: width }, () => randomValue(r)));
      const odd = r.chance(0.2) ? r.int(rows.length) : -1;
      if (odd >= 0) rows[odd]![0] = true as unknown as Value; // not a Value: msgpackr writes this record
      const run: InsertRun = {
        op: 'insert_run',
        table: 3,
        count: rows.length,
        width,
        rowidAt: (i) => 100 + i,
        rowInto: (i, out, offset) => rows[i]!.forEach((v, c) => (out[offset + c] = v)),
      };
      e.insertRun(1, 1, run);
      const { bytes, runs } = e.finish();
      const encoded = runs.get(run);
      if (odd >= 0) {
        expect(encoded).toBeUndefined();
        continue;
      }
      expect(encoded!.bytes).toBe(bytes);
      rows.forEach((row, i) => {
        const [start, end] = [encoded!.at[2 * i]!, encoded!.at[2 * i + 1]!];
        const record = pack([100 + i, ...row]);
        expect(Buffer.from(bytes.subarray(start, end)).equals(Buffer.from(record).subarray(width + 1 < 16 ? 1 : 3))).toBe(true);
      });
    }
  });

  it('falls back to msgpackr for a row holding something that is not a Value', () => {
    const change = { op: 'insert', table: 1, rowid: 2, row: [1, true as unknown as Value, 'x'] } as Change;
    expect(encodeChangeRecord(3, 4, change)).toEqual(encodeRecord({ kind: 'change', lsn: 3n, txn: 4n, change }));
  });

  it('refuses a frame over the limit and keeps encoding after discard', () => {
    const e = new FrameEncoder(100, 64);
    e.change(1, 1, { op: 'insert', table: 1, rowid: 1, row: ['a'] });
    expect(() => e.change(2, 1, { op: 'insert', table: 1, rowid: 2, row: ['x'.repeat(200)] })).toThrow(/LIMIT|does not fit/);
    e.discard();
    e.change(5, 2, { op: 'insert', table: 1, rowid: 5, row: ['b'] });
    const { bytes, ends } = e.finish();
    expect(ends).toEqual([bytes.byteLength]);
    expect(decodeFrames(bytes).records).toEqual([{ kind: 'change', lsn: 5n, txn: 2n, change: { op: 'insert', table: 1, rowid: 5, row: ['b'] } }]);
  });
});
