/**
 * The append-only run of a transaction's table overlay (see query/txn.ts): rows inserted in
 * ascending key order, as a bulk load inserts them, kept column by column instead of as one map
 * entry, one array and one `Change` each.
 *
 * What a row costs here is what a load of many rows notices, in time and in garbage collection:
 * every pending row survives until COMMIT, and each young collection copies what survives. So a
 * row leaves no object of its own behind. Its cells go into two typed arrays, row by row: a tag
 * and, for numbers, the double itself (REAL boxes are unboxed; a number is exact in a double).
 * Only text, blobs and bigints are kept as references, per column. The garbage collector never
 * scans or copies the typed arrays' contents. A table keyed by rowid stores no key at all: its
 * keys order as its rowids, so the run is searched by rowid and a key is encoded only when a
 * reader asks for one. Tables clustered by a PRIMARY KEY keep the key.
 *
 * The transaction logs such rows as `RunSlice`s of the run (an `InsertRun` each: log/types.ts),
 * so no `Change` exists per row either; the log and the materializers read the rows back one at
 * a time at COMMIT. Stored records (`[rowid, ...columns]`) are built when read: readers of
 * pending rows are few in a bulk load, and each gets its own array.
 */
import { assert } from '../base/errors.js';
import { Real, int, nullRow, type Value } from '../base/values.js';
import type { MsgpackWriter } from '../log/msgpack.js';
import type { InsertRun } from '../log/types.js';
import { decodeKey, encodeRowidKey } from '../materializers/btree/index.js';
import { lowerBound } from '../storage/memory.js';

/** A cell's kind in `AppendRun.tags`. */
const CELL_NULL = 0;
/** A plain number, its value in `nums`. */
const CELL_NUMBER = 1;
/** A REAL box (values.ts): its double in `nums`, boxed again when read. */
const CELL_REAL = 2;
/** Text, blob or bigint: kept in the column's `refs`. */
const CELL_REF = 3;
/** Rows the cell arrays first have room for; they double when full. */
const RUN_ROWS_INITIAL = 64;

export class AppendRun {
  /** Rowids of the rows, in row order; ascending when `byRowid`. */
  private readonly rowids: Array<number | bigint> = [];
  /** Row keys, ascending, when not `byRowid`; empty otherwise. */
  private readonly keys: string[] = [];
  /** Cell kinds (CELL_*), row-major: row i's cells are [i * width, (i + 1) * width). */
  private tags = new Uint8Array(0);
  /** Cell numbers, where tags say CELL_NUMBER or CELL_REAL; same layout as `tags`. */
  private nums = new Float64Array(0);
  /** Per column, the CELL_REF values by row (NULL in the rows before, see setRef); undefined until one is needed. */
  private readonly refs: Array<Value[] | undefined>;
  private rowCount = 0;

  /**
   * `byRowid`: the table's row key is its rowid's (no PRIMARY KEY other than the rowid).
   * `width`: values per row; rows of another width (after ALTER TABLE) do not go in (`follows`).
   */
  constructor(
    readonly byRowid: boolean,
    readonly width: number,
  ) {
    this.refs = new Array<Value[] | undefined>(width).fill(undefined);
  }

  get length(): number {
    return this.rowCount;
  }

  /** Whether a row goes after the last one: its width fits and its rowid (or key, `key` given when not byRowid) is larger. */
  follows(rowid: number | bigint, key: string | undefined, row: readonly Value[]): boolean {
    if (row.length !== this.width) return false;
    const n = this.rowCount;
    if (n === 0) return true;
    return this.byRowid ? rowid > this.rowids[n - 1]! : key! > this.keys[n - 1]!;
  }

  /** Appends a row; the caller checked `follows`. The run keeps its values, not `row`. */
  push(rowid: number | bigint, row: readonly Value[], key: string | undefined): void {
    const w = this.width;
    assert(row.length === w, 'a run holds rows of one width');
    const i = this.rowCount;
    if ((i + 1) * w > this.tags.length) this.grow();
    const tags = this.tags;
    const nums = this.nums;
    for (let c = 0, at = i * w; c < w; c++, at++) {
      const v = row[c]!;
      if (typeof v === 'number') {
        tags[at] = CELL_NUMBER;
        nums[at] = v;
      } else if (v === null) tags[at] = CELL_NULL;
      else if (v instanceof Real) {
        tags[at] = CELL_REAL;
        nums[at] = v.value;
      } else {
        tags[at] = CELL_REF;
        this.setRef(c, i, v);
      }
    }
    this.rowids.push(rowid);
    if (!this.byRowid) this.keys.push(key!);
    this.rowCount = i + 1;
  }

  /** Keeps the first `length` rows (rollback to a mark). */
  truncate(length: number): void {
    assert(Number.isInteger(length) && length >= 0 && length <= this.rowCount, 'a run is only ever cut shorter');
    this.rowCount = length;
    this.rowids.length = length;
    if (!this.byRowid) this.keys.length = length;
    for (const r of this.refs) if (r !== undefined && r.length > length) r.length = length;
  }

  keyAt(i: number): string {
    return this.byRowid ? encodeRowidKey(this.rowids[i]!) : this.keys[i]!;
  }

  rowidAt(i: number): number | bigint {
    return this.rowids[i]!;
  }

  /** Writes row i's values into `out` from `offset` on. */
  rowInto(i: number, out: Value[], offset: number): void {
    assert(i >= 0 && i < this.rowCount, 'a row of the run');
    const base = i * this.width;
    for (let c = 0; c < this.width; c++) out[offset + c] = this.cell(base + c, c, i);
  }

  /** Row i as `[rowid, ...columns]` with `w`, from its cells (InsertRun.writeRecord). */
  writeRecord(i: number, w: MsgpackWriter): boolean {
    assert(i >= 0 && i < this.rowCount, 'a row of the run');
    const width = this.width;
    w.arrayHeader(width + 1);
    const rowid = this.rowids[i]!;
    if (typeof rowid === 'number') w.number(rowid);
    else if (!w.value(rowid)) return false;
    const tags = this.tags;
    const nums = this.nums;
    for (let c = 0, at = i * width; c < width; c++, at++) {
      switch (tags[at]) {
        case CELL_NUMBER:
          w.number(nums[at]!);
          break;
        case CELL_REAL:
          w.real(nums[at]!);
          break;
        case CELL_NULL:
          w.value(null);
          break;
        default:
          if (!w.value(this.refs[c]![i]!)) return false;
      }
    }
    return true;
  }

  /** The stored record `[rowid, ...columns]` of row i, a fresh array. */
  recordAt(i: number): Value[] {
    const rec = nullRow(this.width + 1);
    rec[0] = this.rowids[i]!;
    this.rowInto(i, rec, 1);
    return rec;
  }

  private setRef(column: number, row: number, v: Value): void {
    const refs = (this.refs[column] ??= []);
    // Filled up to the row, never holed: a far index would turn the array into a dictionary.
    while (refs.length < row) refs.push(null);
    refs[row] = v;
  }

  private cell(at: number, column: number, row: number): Value {
    switch (this.tags[at]) {
      case CELL_NULL:
        return null;
      case CELL_NUMBER:
        return this.nums[at]!;
      case CELL_REAL:
        return new Real(this.nums[at]!);
      default:
        return this.refs[column]![row]!;
    }
  }

  /** Doubles the room for cells (typed arrays have a fixed length). */
  private grow(): void {
    const rows = Math.max(RUN_ROWS_INITIAL, this.rowCount * 2);
    const tags = new Uint8Array(rows * this.width);
    const nums = new Float64Array(rows * this.width);
    tags.set(this.tags);
    nums.set(this.nums);
    this.tags = tags;
    this.nums = nums;
  }

  /** Position of the row with this key, or -1. */
  indexOf(key: string): number {
    const n = this.rowCount;
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
    let hi = this.rowCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const k = this.keyAt(mid);
      if (k < key || (exclusive && k === key)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * Rows [from, to) of a run, inserted into `table` one after another with nothing logged between
 * them: what the transaction logs instead of an insert Change per row (log/types.ts InsertRun).
 * The transaction extends `to` as rows follow, and cuts it back on rollback to a mark.
 */
export class RunSlice implements InsertRun {
  readonly op = 'insert_run';
  constructor(
    readonly table: number,
    readonly run: AppendRun,
    readonly from: number,
    public to: number,
  ) {
    assert(from >= 0 && from < to, 'a slice holds at least one row');
  }

  get count(): number {
    return this.to - this.from;
  }

  get width(): number {
    return this.run.width;
  }

  rowidAt(i: number): number | bigint {
    return this.run.rowidAt(this.from + i);
  }

  rowInto(i: number, out: Value[], offset: number): void {
    this.run.rowInto(this.from + i, out, offset);
  }

  writeRecord(i: number, w: MsgpackWriter): boolean {
    return this.run.writeRecord(this.from + i, w);
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
