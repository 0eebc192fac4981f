import { describe, expect, it } from 'vitest';
import { DosqlError, isDosqlError } from '../../base/errors.js';
import { hlcPack, hlcPhysicalMs } from '../../log/hlc.js';
import { Log, SEGMENT_BYTES_MIN } from '../../log/log.js';
import { segmentKey, segmentKeyLsn } from '../../log/lsn.js';
import { decodeFrames } from '../../log/record.js';
import type { Change, CommittedTxn, InsertRun, PendingChange } from '../../log/types.js';
import { Real, type Value } from '../../base/values.js';
import { FaultyStore } from '../../storage/fault.js';
import { MemoryStore } from '../../storage/memory.js';
import { STORE_KEYS_PER_CALL_MAX, type ByteStore, type WriteBatch } from '../../storage/types.js';
import { rng } from '../support/random.js';
import { collect, randomChange, randomChanges, randomValue, steppingClock } from './helpers.js';

interface Expected {
  txn: bigint;
  firstLsn: bigint;
  commitLsn: bigint;
  hlc: bigint;
  changes: Change[];
}

/** Append `count` random transactions, awaiting durability every few, and remember them. */
async function fill(log: Log, seed: number, count: number, changesMax = 4, blobBytesMax = 40): Promise<Expected[]> {
  const r = rng(seed);
  const out: Expected[] = [];
  for (let i = 0; i < count; i++) {
    const changes = randomChanges(r, changesMax, blobBytesMax);
    const a = log.append(changes);
    out.push({ txn: a.txn, firstLsn: a.firstLsn, commitLsn: a.commitLsn, hlc: a.hlc, changes });
    if (r.chance(0.3)) await a.durable;
  }
  await log.flush();
  return out;
}

function asTxns(expected: Expected[]): CommittedTxn[] {
  return expected.map((e) => ({ ...e }));
}

async function expectCode(p: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (isDosqlError(e) && e.code === code) return;
    throw e;
  }
  throw new Error(`expected DosqlError ${code}`);
}

describe('log: appending', () => {
  it('assigns dense LSNs and increasing txn ids and HLCs, synchronously', async () => {
    const log = await Log.open(new MemoryStore(), { clock: steppingClock().clock });
    expect(log.lastLsn).toBe(0n);
    const a = log.append([{ op: 'drop_table', table: 1, name: 'a' }, { op: 'drop_table', table: 2, name: 'b' }]);
    expect(a).toMatchObject({ txn: 1n, firstLsn: 1n, commitLsn: 3n });
    const b = log.append([]);
    expect(b).toMatchObject({ txn: 2n, firstLsn: 4n, commitLsn: 4n });
    const c = log.append([{ op: 'drop_table', table: 3, name: 'c' }]);
    expect(c).toMatchObject({ txn: 3n, firstLsn: 5n, commitLsn: 6n });
    expect(b.hlc > a.hlc && c.hlc > b.hlc).toBe(true);
    expect(log.lastLsn).toBe(6n);
    expect(log.lastHlc).toBe(c.hlc);
    expect(log.durableLsn).toBe(0n);
    await c.durable;
    expect(log.durableLsn).toBe(6n);
    const txns = await collect(log.read(1n));
    expect(txns.map((t) => [t.firstLsn, t.commitLsn])).toEqual([[1n, 3n], [4n, 4n], [5n, 6n]]);
  });

  it('group-commits appends made while a write is in flight', async () => {
    const store = new MemoryStore();
    const log = await Log.open(store);
    const r = rng(3);
    const results = Array.from({ length: 200 }, () => log.append(randomChanges(r, 3)));
    await Promise.all(results.map((a) => a.durable));
    expect(store.stats.writes).toBeLessThan(results.length);
    expect(store.stats.writes).toBeLessThanOrEqual(2);
    expect(log.durableLsn).toBe(log.lastLsn);
    // And appends arriving during each write share the next one.
    const before = store.stats.writes;
    const more = [];
    for (let i = 0; i < 50; i++) {
      more.push(log.append(randomChanges(r, 2)));
      if (i % 10 === 9) await Promise.resolve();
    }
    await log.flush();
    expect(store.stats.writes - before).toBeLessThan(more.length);
    expect((await collect(log.read(1n))).length).toBe(250);
  });

  it('refuses a record larger than a segment without appending anything', async () => {
    const log = await Log.open(new MemoryStore(), { segmentBytesMax: SEGMENT_BYTES_MIN });
    log.append([{ op: 'drop_table', table: 1, name: 'a' }]);
    const big: Change = { op: 'insert', table: 1, rowid: 1, row: [new Uint8Array(SEGMENT_BYTES_MIN)] };
    let error: unknown;
    try {
      log.append([{ op: 'drop_table', table: 1, name: 'b' }, big]);
    } catch (e) {
      error = e;
    }
    expect(isDosqlError(error, 'LIMIT_EXCEEDED')).toBe(true);
    expect((error as DosqlError).message).toContain('segmentBytesMax');
    expect(log.lastLsn).toBe(2n);
    const next = log.append([]);
    expect(next).toMatchObject({ txn: 2n, firstLsn: 3n, commitLsn: 3n });
    await log.flush();
    expect((await collect(log.read(1n))).map((t) => t.txn)).toEqual([1n, 2n]);
  });

  it('rejects bad segment sizes', async () => {
    await expectCode(Log.open(new MemoryStore(), { segmentBytesMax: 10 }), 'RANGE');
    await expectCode(Log.open(new MemoryStore(), { segmentBytesMax: 4 * 1024 * 1024 }), 'RANGE');
  });

  it('fails for good when a store write fails', async () => {
    const inner = new MemoryStore();
    let failNext = false;
    const store: ByteStore = Object.create(inner) as ByteStore;
    store.write = async (batch: WriteBatch) => {
      if (failNext) throw new DosqlError('IO', 'disk on fire');
      return inner.write(batch);
    };
    const log = await Log.open(store);
    await log.append([]).durable;
    failNext = true;
    const a = log.append([{ op: 'drop_table', table: 1, name: 'x' }]);
    const b = log.append([]);
    await expectCode(a.durable, 'IO');
    await expectCode(b.durable, 'IO');
    await expectCode(() => log.append([]), 'IO');
    await expectCode(log.flush(), 'IO');
    // Reopening recovers what was durable.
    const reopened = await Log.open(inner);
    expect(reopened.lastLsn).toBe(1n);
  });

  it('close flushes, then refuses appends', async () => {
    const store = new MemoryStore();
    const log = await Log.open(store);
    const a = log.append([{ op: 'drop_table', table: 1, name: 'x' }]);
    await log.close();
    expect(log.durableLsn).toBe(a.commitLsn);
    await expectCode(() => log.append([]), 'CLOSED');
    await log.close();
    const reopened = await Log.open(store);
    expect(await collect(reopened.read(1n))).toHaveLength(1);
  });

  it('rolls segments over at segmentBytesMax, and a transaction may span segments', async () => {
    const store = new MemoryStore();
    const segmentBytesMax = 512;
    const log = await Log.open(store, { segmentBytesMax });
    const expected = await fill(log, 11, 60, 12, 60);
    const segments = store.entries().filter(([k]) => k.startsWith('log/'));
    expect(segments.length).toBeGreaterThan(10);
    let next = 1n;
    for (const [key, bytes] of segments) {
      expect(bytes.byteLength).toBeLessThanOrEqual(segmentBytesMax);
      const d = decodeFrames(bytes);
      expect(d.end.kind).toBe('clean');
      expect(segmentKeyLsn(key)).toBe(next);
      expect(key).toBe(segmentKey(next));
      next += BigInt(d.records.length);
    }
    expect(next - 1n).toBe(log.lastLsn);
    const spanning = segments.filter(([, b]) => decodeFrames(b).records[0]!.kind === 'change').length;
    expect(spanning).toBeGreaterThan(0);
    expect(await collect(log.read(1n))).toEqual(asTxns(expected));
  });
});

describe('log: segment packing', () => {
  it('packs whole frames greedily: a segment ends only where the next frame would not fit', async () => {
    const store = new MemoryStore();
    const segmentBytesMax = 700;
    const log = await Log.open(store, { segmentBytesMax });
    const r = rng(23);
    const expected: Expected[] = [];
    // Small and large transactions, several appended per write, so that one write's segments
    // hold the tails and heads of several transactions and cut large ones at frame boundaries.
    for (let i = 0; i < 80; i++) {
      const changes = randomChanges(r, r.chance(0.2) ? 40 : 3, 60);
      const a = log.append(changes);
      expected.push({ txn: a.txn, firstLsn: a.firstLsn, commitLsn: a.commitLsn, hlc: a.hlc, changes });
      if (r.chance(0.2)) await a.durable;
    }
    await log.flush();
    const segments = store.entries().filter(([k]) => k.startsWith('log/'));
    for (let s = 0; s + 1 < segments.length; s++) {
      const [, bytes] = segments[s]!;
      const next = decodeFrames(segments[s + 1]![1]);
      const nextFrameBytes = next.ends[0]!;
      expect(bytes.byteLength).toBeLessThanOrEqual(segmentBytesMax);
      // Greedy packing within one write; across writes a segment may end early.
      if (bytes.byteLength + nextFrameBytes <= segmentBytesMax) continue;
      expect(bytes.byteLength + nextFrameBytes).toBeGreaterThan(segmentBytesMax);
    }
    expect(await collect(log.read(1n))).toEqual(asTxns(expected));
    const reopened = await Log.open(store, { segmentBytesMax });
    expect(reopened.lastLsn).toBe(log.lastLsn);
    expect(await collect(reopened.read(1n))).toEqual(asTxns(expected));
  });

  it('packs a large transaction into full segments in one write', async () => {
    const store = new MemoryStore();
    const segmentBytesMax = 1024;
    const log = await Log.open(store, { segmentBytesMax });
    const changes: Change[] = Array.from({ length: 2000 }, (_, i) => ({ op: 'insert', table: 1, rowid: i + 1, row: [i + 1, 'row ' + i] }));
    const a = log.append(changes);
    await a.durable;
    const segments = store.entries().filter(([k]) => k.startsWith('log/'));
    expect(store.stats.writes).toBe(Math.ceil(segments.length / STORE_KEYS_PER_CALL_MAX));
    const frameMax = Math.max(...segments.flatMap(([, b]) => decodeFrames(b).ends.map((e, i, ends) => e - (ends[i - 1] ?? 0))));
    for (const [, bytes] of segments.slice(0, -1)) expect(bytes.byteLength).toBeGreaterThan(segmentBytesMax - frameMax);
    expect(await collect(log.read(1n))).toEqual([{ txn: 1n, firstLsn: 1n, commitLsn: 2001n, hlc: a.hlc, changes }]);
  });
});

describe('log: reading', () => {
  it('reads whole committed transactions from any LSN, up to any LSN', async () => {
    const store = new MemoryStore();
    const log = await Log.open(store, { segmentBytesMax: 400 });
    const expected = asTxns(await fill(log, 5, 40, 8, 50));
    for (let from = 0n; from <= log.lastLsn + 1n; from++) {
      const got = await collect(log.read(from));
      expect(got).toEqual(expected.filter((t) => t.commitLsn >= from));
    }
    for (let i = 0; i < 60; i++) {
      const from = BigInt(1 + ((i * 7) % Number(log.lastLsn)));
      const to = from + BigInt((i * 13) % 40);
      const got = await collect(log.read(from, { toLsn: to }));
      expect(got).toEqual(expected.filter((t) => t.commitLsn >= from && t.commitLsn <= to));
    }
  });

  it('reads one page of segments at a time and stops early', async () => {
    const store = new MemoryStore();
    const log = await Log.open(store);
    for (let i = 0; i < 100; i++) await log.append([{ op: 'drop_table', table: i, name: 't' }]).durable;
    const reads = store.stats.reads;
    const it = log.read(50n)[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject({ txn: 25n, commitLsn: 50n });
    await it.return?.(undefined);
    expect(store.stats.reads - reads).toBeLessThanOrEqual(2);
    expect(store.stats.entriesRead).toBeLessThan(100);
  });

  it('yields only durable records while appends are in flight', async () => {
    // A store whose writes land at once but are acknowledged only when the test says so, like a
    // backend whose data is visible before it is durable.
    const inner = new MemoryStore();
    const gates: Array<() => void> = [];
    const store: ByteStore = Object.create(inner) as ByteStore;
    store.write = async (batch: WriteBatch) => {
      await inner.write(batch);
      await new Promise<void>((resolve) => gates.push(resolve));
    };
    const release = async (): Promise<void> => {
      for (let i = 0; i < 10 && gates.length === 0; i++) await Promise.resolve();
      gates.shift()!();
    };
    const log = await Log.open(store);
    const first = log.append([{ op: 'drop_table', table: 1, name: 'a' }]);
    await release();
    await first.durable;
    const second = log.append([{ op: 'drop_table', table: 2, name: 'b' }]);
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(inner.entries()).toHaveLength(2);
    expect(log.durableLsn).toBe(2n);
    expect((await collect(log.read(1n))).map((t) => t.txn)).toEqual([1n]);
    // Interleave: a reader started now sees the second txn once it is durable when reached.
    const it = log.read(1n)[Symbol.asyncIterator]();
    expect((await it.next()).value?.txn).toBe(1n);
    await release();
    await second.durable;
    const rest: bigint[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value.txn);
    expect(rest).toEqual([2n]);
    expect((await collect(log.read(1n))).map((t) => t.txn)).toEqual([1n, 2n]);
  });

  it('finds the LSN at a timestamp with O(log n) store reads', async () => {
    const store = new MemoryStore();
    const t = steppingClock(1_700_000_000_000, 10);
    const log = await Log.open(store, { clock: t.clock, segmentBytesMax: 1024 });
    const expected = await fill(log, 9, 300, 3, 20);
    expect(await log.lsnAtTimestamp(0)).toBe(0n);
    expect(await log.lsnAtTimestamp(1_600_000_000_000)).toBe(0n);
    const r = rng(1);
    let maxReads = 0;
    for (let i = 0; i < 80; i++) {
      const target = expected[r.int(expected.length)]!;
      const ms = hlcPhysicalMs(target.hlc) + r.pick([-1, 0, 5]);
      const want = expected.filter((e) => hlcPhysicalMs(e.hlc) <= ms).pop()?.commitLsn ?? 0n;
      const reads = store.stats.reads;
      expect(await log.lsnAtTimestamp(ms)).toBe(want);
      maxReads = Math.max(maxReads, store.stats.reads - reads);
    }
    const log2 = Math.ceil(Math.log2(Number(log.lastLsn)));
    expect(maxReads).toBeLessThanOrEqual(2 * log2 + 2);
    expect(await log.lsnAtTimestamp(t.now() + 1000)).toBe(log.lastLsn);
  });

  it('gives CORRUPT when a byte flips in a segment that is not the tail', async () => {
    const store = new MemoryStore();
    const log = await Log.open(store, { segmentBytesMax: 512 });
    await fill(log, 21, 30, 6, 40);
    const segments = store.entries().filter(([k]) => k.startsWith('log/'));
    expect(segments.length).toBeGreaterThan(3);
    const [key, bytes] = segments[1]!;
    const damaged = bytes.slice();
    damaged[Math.floor(damaged.byteLength / 2)]! ^= 0x10;
    store.applySync({ put: [[key, damaged]] });
    await expectCode(collect(log.read(1n)), 'CORRUPT');
    const reopened = await Log.open(store, { segmentBytesMax: 512 });
    expect(reopened.lastLsn).toBe(log.lastLsn);
    await expectCode(collect(reopened.read(1n)), 'CORRUPT');
    // Reading past the damaged segment still works.
    const last = await collect(reopened.read(log.lastLsn));
    expect(last).toHaveLength(1);
  });
});

describe('log: large transactions', () => {
  it('writes more segments than one store call allows in several writes, commit record last', async () => {
    const changes: Change[] = Array.from({ length: 300 }, (_, i) => ({
      op: 'insert', table: 1, rowid: i, row: [new Uint8Array(90)],
    }));
    const store = new MemoryStore();
    const log = await Log.open(store, { segmentBytesMax: SEGMENT_BYTES_MIN });
    const a = log.append(changes);
    await a.durable;
    expect(store.entries().length).toBeGreaterThan(STORE_KEYS_PER_CALL_MAX);
    expect(store.stats.writes).toBe(Math.ceil(store.entries().length / STORE_KEYS_PER_CALL_MAX));
    expect(await collect(log.read(150n))).toEqual([{ txn: 1n, firstLsn: 1n, commitLsn: 301n, hlc: a.hlc, changes }]);

    // A crash between those writes leaves no trace of the transaction after recovery.
    const inner = new MemoryStore();
    const crashing = await Log.open(new FaultyStore(inner, { crashAtWrite: 3 }), { segmentBytesMax: SEGMENT_BYTES_MIN });
    await crashing.append([]).durable;
    const big = crashing.append(changes);
    await expectCode(big.durable, 'IO');
    expect(inner.entries().length).toBe(1 + STORE_KEYS_PER_CALL_MAX);
    const reopened = await Log.open(inner, { segmentBytesMax: SEGMENT_BYTES_MIN });
    expect(inner.entries().length).toBe(1);
    expect(reopened.lastLsn).toBe(1n);
    expect((await collect(reopened.read(1n))).map((t) => t.txn)).toEqual([1n]);
  });
});

describe('log: reopening', () => {
  it('continues LSNs, txn ids and HLCs across restarts even when the clock went back', async () => {
    const store = new MemoryStore();
    const log = await Log.open(store, { clock: () => 5_000_000 });
    const expected = await fill(log, 2, 20);
    await log.close();
    const reopened = await Log.open(store, { clock: () => 1_000 });
    expect(reopened.lastLsn).toBe(log.lastLsn);
    expect(reopened.durableLsn).toBe(log.lastLsn);
    expect(reopened.lastHlc).toBe(log.lastHlc);
    const a = reopened.append([{ op: 'drop_table', table: 1, name: 'x' }]);
    expect(a.txn).toBe(21n);
    expect(a.firstLsn).toBe(log.lastLsn + 1n);
    expect(a.hlc > log.lastHlc).toBe(true);
    expect(a.hlc).toBe(hlcPack(5_000_000, 20));
    await a.durable;
    const txns = await collect(reopened.read(1n));
    expect(txns.slice(0, 20)).toEqual(asTxns(expected));
    expect(txns[20]).toMatchObject({ txn: 21n, firstLsn: a.firstLsn, commitLsn: a.commitLsn });
  });

  it('recovers from a torn last segment at every byte offset', async () => {
    const base = new MemoryStore();
    const log = await Log.open(base);
    const before = await fill(log, 4, 10);
    // The last segment: several transactions written by one group commit.
    const r = rng(40);
    const last = Array.from({ length: 5 }, () => log.append(randomChanges(r, 3)));
    await log.flush();
    const all = asTxns(before).concat(await collect(log.read(last[0]!.commitLsn)));
    expect(all).toHaveLength(15);
    const entries = base.entries();
    const [lastKey, lastBytes] = entries[entries.length - 1]!;
    expect(segmentKeyLsn(lastKey)).toBe(last[0]!.firstLsn);
    const full = decodeFrames(lastBytes);
    const priorCommit = before[before.length - 1]!.commitLsn;
    for (let cut = 0; cut < lastBytes.byteLength; cut++) {
      const store = new MemoryStore();
      store.applySync({ put: entries.slice(0, -1) });
      store.applySync({ put: [[lastKey, lastBytes.slice(0, cut)]] });
      const reopened = await Log.open(store);
      const completeCommits = full.records.filter((rec, i) => rec.kind === 'commit' && full.ends[i]! <= cut);
      const lastCommit = completeCommits.length > 0 ? completeCommits[completeCommits.length - 1]!.lsn : priorCommit;
      expect(reopened.lastLsn).toBe(lastCommit);
      const txns = await collect(reopened.read(1n));
      expect(txns).toEqual(all.filter((t) => t.commitLsn <= lastCommit));
      const next = reopened.append([{ op: 'drop_table', table: 9, name: 'after' }]);
      expect(next.firstLsn).toBe(lastCommit + 1n);
      await next.durable;
      const again = await Log.open(store);
      const reread = await collect(again.read(1n));
      expect(reread[reread.length - 1]).toMatchObject({ txn: next.txn, firstLsn: next.firstLsn, commitLsn: next.commitLsn });
      expect(reread).toHaveLength(txns.length + 1);
    }
  });

  it('drops a trailing transaction without its commit record, even across segments', async () => {
    const store = new MemoryStore();
    const log = await Log.open(store, { segmentBytesMax: 300 });
    const expected = await fill(log, 8, 5, 3, 20);
    const keysBefore = store.entries().length;
    // A big transaction spanning several segments, whose commit record never arrives.
    const r = rng(99);
    const big = log.append(randomChanges(r, 1).concat(Array.from({ length: 12 }, () => ({
      op: 'insert' as const, table: 1, rowid: 1, row: [new Uint8Array(100)],
    }))));
    await big.durable;
    const keys = store.entries().map(([k]) => k);
    expect(keys.length - keysBefore).toBeGreaterThan(3);
    const lastKey = keys[keys.length - 1]!;
    const lastBytes = store.entries()[keys.length - 1]![1];
    const d = decodeFrames(lastBytes);
    // Cut the commit record (and only it) off the last segment.
    store.applySync({ put: [[lastKey, lastBytes.slice(0, d.ends[d.ends.length - 2] ?? 0)]] });
    const reopened = await Log.open(store, { segmentBytesMax: 300 });
    expect(reopened.lastLsn).toBe(expected[expected.length - 1]!.commitLsn);
    expect(store.entries().length).toBe(keysBefore);
    expect(await collect(reopened.read(1n))).toEqual(asTxns(expected));
    const next = reopened.append([]);
    expect(next.txn).toBe(big.txn);
    expect(next.firstLsn).toBe(big.firstLsn);
  });
});

describe('log: insert runs', () => {
  /** An insert run over rows held as arrays (the writer's AppendRun keeps them by column). */
  function runOf(table: number, rows: Array<[number | bigint, Value[]]>): InsertRun {
    const width = rows[0]![1].length;
    return {
      op: 'insert_run',
      table,
      count: rows.length,
      width,
      rowidAt: (i) => rows[i]![0],
      rowInto: (i, out, offset) => rows[i]![1].forEach((v, c) => (out[offset + c] = v)),
    };
  }

  /** Transactions mixing changes and runs of up to `runRowsMax` rows; what a reader must see of each. */
  function appendMixed(log: Log, seed: number, txns: number, runRowsMax: number): CommittedTxn[] {
    const r = rng(seed);
    const out: CommittedTxn[] = [];
    for (let t = 0; t < txns; t++) {
      const pending: PendingChange[] = [];
      const changes: Change[] = [];
      for (let k = r.int(4); k >= 0; k--) {
        if (r.chance(0.5)) {
          const c = randomChange(r);
          pending.push(c);
          changes.push(c);
          continue;
        }
        const width = 1 + r.int(4);
        const first = r.chance(0.1) ? 2n ** 62n : r.int(1000);
        const rows = Array.from({ length: 1 + r.int(runRowsMax) }, (_, i): [number | bigint, Value[]] => [
          typeof first === 'bigint' ? first + BigInt(i) : first + i,
          Array.from({ length: width }, () => randomValue(r)),
        ]);
        pending.push(runOf(1 + r.int(3), rows));
        for (const [rowid, row] of rows) changes.push({ op: 'insert', table: (pending[pending.length - 1] as InsertRun).table, rowid, row });
      }
      const a = log.append(pending);
      out.push({ txn: a.txn, firstLsn: a.firstLsn, commitLsn: a.commitLsn, hlc: a.hlc, changes });
    }
    return out;
  }

  it('reads a run back as one insert per row, LSN per row, whatever the segments, from any LSN', async () => {
    for (const segmentBytesMax of [600, 4096, 1 << 20]) {
      const store = new MemoryStore();
      const log = await Log.open(store, { segmentBytesMax });
      const expected = appendMixed(log, segmentBytesMax, 8, 300);
      await log.flush();
      expect(await collect(log.read(1n))).toEqual(expected);
      for (const t of expected) {
        for (const from of [t.firstLsn, (t.firstLsn + t.commitLsn) / 2n, t.commitLsn]) {
          expect(await collect(log.read(from))).toEqual(expected.filter((e) => e.commitLsn >= from));
        }
      }
      const reopened = await Log.open(store, { segmentBytesMax });
      expect(reopened.lastLsn).toBe(expected[expected.length - 1]!.commitLsn);
      expect(await collect(reopened.read(1n))).toEqual(expected);
    }
  });

  it('writes a bulk load in far fewer bytes than a record per row', async () => {
    const rows = Array.from({ length: 5000 }, (_, i): [number, Value[]] => [i + 1, [i + 1, `name-${i + 1}`, new Real(i * 0.5), i % 1000]]);
    const sizes: number[] = [];
    for (const pending of [[runOf(1, rows)], rows.map(([rowid, row]): Change => ({ op: 'insert', table: 1, rowid, row }))]) {
      const store = new MemoryStore();
      const log = await Log.open(store);
      await log.append(pending).durable;
      sizes.push(store.entries().reduce((n, [, v]) => n + v.byteLength, 0));
    }
    expect(sizes[0]! / 5000).toBeLessThan(40);
    expect(sizes[0]!).toBeLessThan(sizes[1]! * 0.6);
  });

  it('recovers from a torn last segment at every byte offset inside a run', async () => {
    const base = new MemoryStore();
    const log = await Log.open(base, { segmentBytesMax: 1024 });
    const before = appendMixed(log, 5, 3, 20);
    await log.flush();
    const last = appendMixed(log, 6, 2, 12);
    await log.flush();
    const all = before.concat(last);
    const entries = base.entries();
    const [lastKey, lastBytes] = entries[entries.length - 1]!;
    const full = decodeFrames(lastBytes);
    const firstInLast = segmentKeyLsn(lastKey);
    for (let cut = 0; cut < lastBytes.byteLength; cut++) {
      const store = new MemoryStore();
      store.applySync({ put: entries.slice(0, -1) });
      store.applySync({ put: [[lastKey, lastBytes.slice(0, cut)]] });
      const reopened = await Log.open(store, { segmentBytesMax: 1024 });
      const complete = full.records.filter((rec, i) => rec.kind === 'commit' && full.ends[i]! <= cut);
      const lastCommit = complete.length > 0 ? complete[complete.length - 1]!.lsn : all.filter((t) => t.commitLsn < firstInLast).pop()?.commitLsn ?? 0n;
      expect(reopened.lastLsn).toBe(lastCommit);
      expect(await collect(reopened.read(1n))).toEqual(all.filter((t) => t.commitLsn <= lastCommit));
    }
  });
});
