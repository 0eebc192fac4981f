/**
 * The append-only run of a transaction's table overlay (see query/txn.ts): rows inserted in
 * ascending key order, as a bulk load inserts them, kept in arrays grown by push instead of one
 * map entry each.
 *
 * What a row costs here is what a load of many rows notices, in time and in garbage collection
 * (every pending row survives until COMMIT): its rowid, in a packed array, and its column values,
 * the very array its `Change` logs (nothing writes to either once inserted). A table keyed by
 * rowid stores no key at all: its keys order as its rowids, so the run is searched by rowid and a
 * key is encoded only when a reader asks for one. Tables clustered by a PRIMARY KEY keep the key.
 *
 * Stored records (`[rowid, ...columns]`) are built when read: readers of pending rows are few in a
 * bulk load, and each gets its own array.
 */
import { assert } from '../base/errors.js';
import { int, nullRow, type Value } from '../base/values.js';
import { decodeKey, encodeRowidKey } from '../materializers/btree/index.js';
import { lowerBound } from '../storage/memory.js';

export class AppendRun {
  /** Rowids of the rows, same order as `rows`; ascending when `byRowid`. */
  private readonly rowids: Array<number | bigint> = [];
  /** Column values of the rows (shared with their Changes, never modified). */
  private readonly rows: Value[][] = [];
  /** Row keys, ascending, when not `byRowid`; empty otherwise. */
  private readonly keys: string[] = [];

  /** `byRowid`: the table's row key is its rowid's (no PRIMARY KEY other than the rowid). */
  constructor(readonly byRowid: boolean) {}

  get length(): number {
    return this.rows.length;
  }

  /** Whether a row goes after the last one: its rowid (or key, `key` given when not byRowid) is larger. */
  follows(rowid: number | bigint, key: string | undefined): boolean {
    const n = this.rows.length;
    if (n === 0) return true;
    return this.byRowid ? rowid > this.rowids[n - 1]! : key! > this.keys[n - 1]!;
  }

  /** Appends a row; the caller checked `follows`. */
  push(rowid: number | bigint, row: Value[], key: string | undefined): void {
    this.rowids.push(rowid);
    this.rows.push(row);
    if (!this.byRowid) this.keys.push(key!);
  }

  /** Keeps the first `length` rows (rollback to a mark). */
  truncate(length: number): void {
    assert(Number.isInteger(length) && length >= 0 && length <= this.rows.length, 'a run is only ever cut shorter');
    this.rowids.length = length;
    this.rows.length = length;
    if (!this.byRowid) this.keys.length = length;
  }

  keyAt(i: number): string {
    return this.byRowid ? encodeRowidKey(this.rowids[i]!) : this.keys[i]!;
  }

  rowidAt(i: number): number | bigint {
    return this.rowids[i]!;
  }

  /** The stored record `[rowid, ...columns]` of row i, a fresh array. */
  recordAt(i: number): Value[] {
    return stored(this.rowids[i]!, this.rows[i]!);
  }

  /** Position of the row with this key, or -1. */
  indexOf(key: string): number {
    const n = this.rows.length;
    if (n === 0) return -1;
    if (!this.byRowid) {
      const i = lowerBound(this.keys, key);
      return i < n && this.keys[i] === key ? i : -1;
    }
    const rowid = rowidOfKey(key);
    if (rowid === undefined || rowid < this.rowids[0]! || rowid > this.rowids[n - 1]!) return -1;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.rowids[mid]! < rowid) lo = mid + 1;
      else hi = mid;
    }
    // == on purpose: a rowid is a number when safe, a bigint otherwise, and the two kinds meet here.
    return lo < n && this.rowids[lo] == rowid ? lo : -1;
  }

  /** Position of the first row whose key is >= `key` (> when `exclusive`). */
  lowerBound(key: string, exclusive: boolean): number {
    let lo = 0;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const k = this.keyAt(mid);
      if (k < key || (exclusive && k === key)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The stored record `[rowid, ...row]`, a new array. */
export function stored(rowid: number | bigint, row: readonly Value[]): Value[] {
  // Packed and of its exact size (see nullRow): it lives in the overlay until COMMIT.
  const rec = nullRow(row.length + 1);
  rec[0] = rowid;
  for (let i = 0; i < row.length; i++) rec[i + 1] = row[i]!;
  return rec;
}

/** The rowid a rowid table's key stands for; undefined for a key no rowid has. */
function rowidOfKey(key: string): number | bigint | undefined {
  const values = decodeKey(key);
  if (values.length !== 1) return undefined;
  const v = values[0];
  if (typeof v === 'bigint') return int(v);
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}
