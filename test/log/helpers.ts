/** Shared helpers for the log tests: random changes and draining a read. */
import { Real, type Value } from '../../base/values.js';
import type { Change, CommittedTxn } from '../../log/types.js';
import type { Rng } from '../support/random.js';

export async function collect(it: AsyncIterable<CommittedTxn>): Promise<CommittedTxn[]> {
  const out: CommittedTxn[] = [];
  for await (const t of it) out.push(t);
  return out;
}

export function randomValue(r: Rng, blobBytesMax = 40): Value {
  switch (r.int(7)) {
    case 0:
      return null;
    case 1:
      return r.int(1_000_000) - 500_000;
    case 2:
      return r.chance(0.5) ? 9223372036854775807n - BigInt(r.int(1000)) : -9223372036854775808n + BigInt(r.int(1000));
    case 3:
      return r.chance(0.5) ? new Real(r.int(100)) : r.next() * 1000 + 0.5;
    case 4:
      return 'tëxt ☃ ' + 'x'.repeat(r.int(20));
    case 5:
      return Uint8Array.from({ length: r.int(blobBytesMax) }, () => r.int(256));
    default:
      return '';
  }
}

export function randomChange(r: Rng, blobBytesMax = 40): Change {
  const row = (): Value[] => Array.from({ length: 1 + r.int(4) }, () => randomValue(r, blobBytesMax));
  const rowid = r.int(10_000);
  switch (r.int(5)) {
    case 0:
    case 1:
      return { op: 'insert', table: 1 + r.int(3), rowid, row: row() };
    case 2:
      return { op: 'update', table: 1 + r.int(3), rowid, before: row(), row: row() };
    case 3:
      return { op: 'delete', table: 1 + r.int(3), rowid, before: row() };
    default:
      return { op: 'drop_table', table: r.int(9), name: `t${r.int(100)}` };
  }
}

export function randomChanges(r: Rng, countMax: number, blobBytesMax = 40): Change[] {
  return Array.from({ length: r.int(countMax + 1) }, () => randomChange(r, blobBytesMax));
}

/** A clock that advances `stepMs` per call, from a fixed epoch. */
export function steppingClock(startMs = 1_700_000_000_000, stepMs = 10): { clock: () => number; now: () => number } {
  let t = startMs;
  return {
    clock: () => (t += stepMs),
    now: () => t,
  };
}
