import { describe, expect, it } from 'vitest';
import { Real, type Value } from '../../base/values.js';
import { FRAME_HEADER_BYTES, decodeFrames, encodeRecord } from '../../log/record.js';
import type { Change, LogRecord, TableDef } from '../../log/types.js';

const values: Value[] = [
  null,
  0,
  -1,
  2 ** 53 - 1,
  -(2 ** 53 - 1),
  9223372036854775807n,
  -9223372036854775808n,
  9007199254740993n,
  1.5,
  -0.25,
  1e300,
  new Real(2),
  new Real(-0),
  new Real(0),
  '',
  'hello',
  'héllo wörld ☃ 𝄞 日本語',
  new Uint8Array(0),
  new Uint8Array([0, 1, 2, 255]),
];

const tableDef: TableDef = {
  id: 7,
  name: 'tëst',
  columns: [
    { name: 'id', type: 'INTEGER', affinity: 'INTEGER', notNull: true, unique: true },
    { name: 'v', type: 'VARCHAR(10)', affinity: 'TEXT', notNull: false, defaultSql: "'x'" },
  ],
  rowidColumn: 0,
  primaryKey: [],
  uniques: [[1]],
  sql: 'CREATE TABLE "tëst" (id INTEGER PRIMARY KEY, v VARCHAR(10) DEFAULT \'x\')',
};

const changes: Change[] = [
  { op: 'insert', table: 1, rowid: 1, row: values },
  { op: 'insert', table: 1, rowid: -9223372036854775808n, row: [] },
  { op: 'update', table: 2, rowid: 9223372036854775807n, before: values.slice(0, 5), row: values.slice(5) },
  { op: 'delete', table: 3, rowid: 0, before: values },
  { op: 'create_table', table: tableDef },
  { op: 'drop_table', table: 7, name: 'tëst' },
];

function roundTrip(r: LogRecord): LogRecord {
  const frame = encodeRecord(r);
  const decoded = decodeFrames(frame);
  expect(decoded.end).toEqual({ kind: 'clean' });
  expect(decoded.validBytes).toBe(frame.byteLength);
  expect(decoded.records).toHaveLength(1);
  return decoded.records[0]!;
}

describe('log record codec', () => {
  it('round-trips every change kind with every value kind', () => {
    for (const [i, change] of changes.entries()) {
      const r: LogRecord = { kind: 'change', lsn: BigInt(i + 1), txn: 3n, change };
      const back = roundTrip(r);
      expect(back).toEqual(r);
      if (back.kind === 'change' && (back.change.op === 'insert' || back.change.op === 'update')) {
        // Exact classes, not just equal-looking values.
        back.change.row.forEach((v, j) => {
          const want = (r.change as { row: Value[] }).row[j];
          expect(typeof v).toBe(typeof want);
          if (want instanceof Real) expect(Object.is((v as Real).value, want.value)).toBe(true);
          if (want instanceof Uint8Array) expect((v as Uint8Array).constructor).toBe(Uint8Array);
        });
      }
    }
  });

  it('round-trips commit records and large bigint LSNs, txn ids and HLCs', () => {
    for (const lsn of [1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 64n - 1n]) {
      const r: LogRecord = { kind: 'commit', lsn, txn: lsn, hlc: 1_700_000_000_000n * 65536n + 9n, changeCount: 12 };
      const back = roundTrip(r);
      expect(back).toEqual(r);
      expect(typeof back.lsn).toBe('bigint');
      expect(typeof back.txn).toBe('bigint');
    }
  });

  it('keeps records compact', () => {
    const commit = encodeRecord({ kind: 'commit', lsn: 123456n, txn: 4000n, hlc: 1_700_000_000_000n * 65536n, changeCount: 3 });
    expect(commit.byteLength).toBeLessThan(40);
    const insert = encodeRecord({ kind: 'change', lsn: 123456n, txn: 4000n, change: { op: 'insert', table: 3, rowid: 17, row: [17, 'abc'] } });
    expect(insert.byteLength).toBeLessThan(40);
  });

  it('decodes consecutive frames and reports torn and corrupt tails', () => {
    const records: LogRecord[] = changes.map((change, i) => ({ kind: 'change', lsn: BigInt(i + 1), txn: 1n, change }));
    const frames = records.map(encodeRecord);
    const all = new Uint8Array(frames.reduce((n, f) => n + f.byteLength, 0));
    const ends: number[] = [];
    let at = 0;
    for (const f of frames) {
      all.set(f, at);
      at += f.byteLength;
      ends.push(at);
    }
    expect(decodeFrames(all).records).toEqual(records);
    expect(decodeFrames(all).ends).toEqual(ends);
    for (let cut = 0; cut < all.byteLength; cut++) {
      const d = decodeFrames(all.subarray(0, cut));
      const whole = ends.filter((e) => e <= cut).length;
      expect(d.records).toEqual(records.slice(0, whole));
      expect(d.validBytes).toBe(whole === 0 ? 0 : ends[whole - 1]);
      expect(d.end.kind).toBe(d.validBytes === cut ? 'clean' : 'torn');
    }
    const flipped = all.slice();
    flipped[ends[2]! + FRAME_HEADER_BYTES + 1]! ^= 0x40;
    const d = decodeFrames(flipped);
    expect(d.records).toEqual(records.slice(0, 3));
    expect(d.end).toMatchObject({ kind: 'corrupt', offset: ends[2] });
  });
});
