/**
 * A write transaction's private state: the changes it will log, and an overlay of them that its own
 * reads see, on top of the committed B-trees.
 *
 * Nothing reaches the materializers before commit: a transaction collects `Change`s; at COMMIT the
 * database appends them to the log and applies the committed transaction to the table store
 * through the same `apply` path that recovery uses, so incremental upkeep and replay cannot drift.
 * Until then the overlay answers this transaction's reads: per table, a map from row key to the
 * stored record or a tombstone, and per UNIQUE constraint a map from constrained values to rowid.
 * Rows inserted in ascending key order above every key the table's overlay already holds (a bulk
 * load) go to an append-only run beside the map instead (query/overlay-run.ts), with one undo
 * record per statement rather than a map entry and an undo record per row, and logged as slices
 * of the run (`RunSlice`, an InsertRun to the log) rather than a Change per row: a slice grows as
 * rows follow it, and a rollback to a mark cuts it back to where it ended then. The map shadows
 * the run: a later write of a key in the run goes to the map.
 *
 * Statement atomicity: each statement opens a mark; an error rolls the overlay, the change list and
 * the pending catalog back to the mark, so a failing statement leaves nothing half-applied. The
 * same marks give SAVEPOINTs later.
 *
 * Automatic rowids: SQLite gives a row inserted without a rowid max(rowid now in the table) + 1,
 * so a deleted largest rowid is reused and negative rowids count. For a table keyed by rowid that
 * max is the last key of its rows tree merged with the overlay: read once (one reverse seek) and
 * then kept per table in `liveMax` as rows are inserted, so a bulk insert does no seek per row; a
 * delete of the cached max, or a rollback to a mark, forgets it and the next use reads it again.
 * Tables clustered by another PRIMARY KEY keep the rowid high-water mark (`maxRowid`): finding
 * their largest hidden rowid would be a full scan.
 *
 * Size: a transaction lives in memory until COMMIT (overlay, change list, then one encoded log
 * buffer), so its pending rows are bounded: each write adds its rows' estimated encoded bytes to
 * `pendingBytes`, and a write that would take it past `bytesMax` throws LIMIT_EXCEEDED before
 * changing anything. The statement fails and rolls back as any failing statement does; the
 * transaction keeps what came before and can still commit. Without the bound, one large enough
 * transaction would exhaust a Durable Object's memory instead of failing.
 *
 * The statement fast path (DmlPlan.runSync) reads through `getRowCached`, `uniqueOwnerCached` and
 * `knownMaxRowid`, which answer from the overlay and cached pages only and never start a read:
 * the path declines instead, and the async path that follows reads what it needs.
 */
import { DosqlError, assert } from '../base/errors.js';
import type { Value } from '../base/values.js';
import type { Change, PendingChange, TableDef } from '../log/types.js';
import { NOT_CACHED, encodeRowidKey } from '../materializers/btree/index.js';
import { inRange, rowKey, uniqueKey, type KeyRange, type TableStore } from '../materializers/tables.js';
import { rowBytes } from '../materializers/btree/page-store.js';
import { AppendRun, RunSlice, stored } from './overlay-run.js';

/** Pending rows of a table `knownMaxRowid` still looks through to learn its largest rowid. */
const LEARN_MAX_OVERLAY_ROWS_MAX = 64;

/**
 * Default bound on a transaction's pending changes, in estimated encoded bytes (rows as the log
 * will write them, see `changeBytes`). In memory a pending row takes several times its encoded
 * size, so this is about a gigabyte of heap: room for bulk loads of millions of rows in Node.
 * A Durable Object's 128 MB isolate needs far less (server/limits.ts sets its own).
 */
export const TRANSACTION_BYTES_MAX = 256 * 1024 * 1024;
/** Estimated bytes of a change record beyond its rows: op, LSN, txn id, table, rowid, framing. */
const CHANGE_RECORD_BYTES = 32;

/** Rows per chunk when `scanChunks` batches merged rows (a leaf holds about as many). */
const SCAN_BATCH_ROWS = 64;

/**
 * `[rowid, ...columns]` as this layer reads it. Committed records carry more after the columns
 * (the version's commit LSN and time, see materializers/tables.ts); `columnsOf` cuts them off.
 */
export type StoredRow = Value[];

/** The column values of a stored record, without its rowid or version fields. */
export function columnsOf(def: TableDef, rec: StoredRow): Value[] {
  return rec.slice(1, 1 + def.columns.length);
}

interface TableOverlay {
  table: number;
  /** Row key -> stored row, or null for a row deleted by this transaction. Shadows the run. */
  rows: Map<string, StoredRow | null>;
  /** Largest key ever set in `rows` (kept over rollbacks: only ever too large), or undefined. */
  rowsKeyMax: string | undefined;
  /** The append-only run (see the module header): ascending keys, each above `rowsKeyMax`. */
  run: AppendRun;
  /** `Txn.markSeq` when the run's length and `maxRowid` were last saved for undo. */
  savedAt: number;
  /** Per UNIQUE constraint: constrained-values key -> rowid, or null when freed. */
  uniques: Array<Map<string, number | bigint | null>>;
  maxRowid: number | bigint;
  /** Sorted keys of `rows`, rebuilt lazily for scans. */
  sorted?: string[];
}

type Undo =
  | { kind: 'row'; overlay: TableOverlay; key: string; prev: StoredRow | null | undefined }
  | { kind: 'unique'; map: Map<string, number | bigint | null>; key: string; prev: number | bigint | null | undefined }
  | { kind: 'run'; overlay: TableOverlay; length: number; maxRowid: number | bigint }
  | { kind: 'create'; name: string }
  | { kind: 'drop'; def: TableDef }
  | { kind: 'alter'; id: number; prev: TableDef | undefined }
  | { kind: 'recreate'; name: string; prev: TableDef; renamed: string };

/**
 * The undo entries, as a stack that keeps its slots when it shrinks. Every statement pushes an
 * entry and drops it when it succeeds (Txn.release); an array truncated to length 0 gives up its
 * backing store, and the next push allocates room for 17 again: 150 bytes per statement of a
 * bulk insert, for nothing.
 */
class UndoStack {
  private readonly items: Array<Undo | undefined> = [];
  /** Entries in use: items[0, length). */
  length = 0;

  push(u: Undo): void {
    this.items[this.length++] = u;
  }

  pop(): Undo {
    assert(this.length > 0, 'undo stack empty');
    const u = this.items[--this.length]!;
    this.items[this.length] = undefined;
    return u;
  }

  /** Drops the entries above `length`, keeping the slots. */
  truncate(length: number): void {
    while (this.length > length) this.items[--this.length] = undefined;
  }
}

export interface TxnMark {
  undo: number;
  changes: number;
  /** Where the run slice logged last ended at the mark (`RunSlice.to`); -1 when the last change was not one. */
  sliceTo: number;
  /** `pendingBytes` at the mark. */
  bytes: number;
}

export class Txn {
  readonly changes: PendingChange[] = [];
  private readonly overlays = new Map<number, TableOverlay>();
  private readonly undo = new UndoStack();
  /** Tables created by this transaction, by lower-cased name. */
  private readonly created = new Map<string, TableDef>();
  /** Ids of committed tables dropped by this transaction. */
  private readonly dropped = new Map<string, TableDef>();
  /** New definitions this transaction gave committed tables, by id. */
  private readonly altered = new Map<number, TableDef>();
  private nextTableId: number;
  /** Open savepoints, innermost last. */
  readonly savepoints: Array<{ name: string; mark: TxnMark }> = [];
  /** Begun by a SAVEPOINT: its outermost RELEASE commits it. */
  readonly fromSavepoint: boolean;
  /**
   * For a concurrent transaction (db.transaction): committed data is read as of this LSN, so the
   * transaction sees one consistent state however many commits land meanwhile. Undefined for the
   * connection's transactions, which run alone and read the latest state.
   */
  readonly snapshot: bigint | undefined;
  readonly isolation: Isolation;
  /** What a SERIALIZABLE transaction read, validated at commit (see TableStore.validate). */
  private readonly readKeys = new Set<string>();
  private readonly readRanges: ReadRange[] = [];
  /** Per table id: the largest rowid of a live row as this transaction sees it, null when none. */
  private readonly liveMax = new Map<number, number | bigint | null>();
  /**
   * Moves at every mark, release and rollback: an overlay whose `savedAt` is behind it saves its
   * run length and maxRowid (one undo record) before its next change.
   */
  private markSeq = 0;
  /** Estimated encoded bytes of the changes so far (see the module header). */
  private pendingBytes = 0;
  /** Bound on `pendingBytes` (TRANSACTION_BYTES_MAX unless the database sets another). */
  readonly bytesMax: number;

  constructor(
    private readonly tables: TableStore,
    options: {
      snapshot?: bigint;
      isolation?: Isolation;
      fromSavepoint?: boolean;
      /** `knownMaxRowids` of the transaction that committed the state this one starts from. */
      maxRowids?: ReadonlyMap<number, number | bigint | null>;
      /** Bound on the estimated bytes of pending changes (default TRANSACTION_BYTES_MAX). */
      bytesMax?: number;
    } = {},
  ) {
    this.bytesMax = options.bytesMax ?? TRANSACTION_BYTES_MAX;
    this.nextTableId = tables.catalog.nextTableId;
    this.snapshot = options.snapshot;
    this.isolation = options.isolation ?? 'serializable';
    this.fromSavepoint = options.fromSavepoint ?? false;
    assert(options.maxRowids === undefined || this.snapshot === undefined, 'known rowid maxima seed only transactions on the latest state');
    if (options.maxRowids) for (const [table, max] of options.maxRowids) this.liveMax.set(table, max);
  }

  /**
   * The largest live rowids this transaction knows, per table. Once it commits they are the
   * committed maxima, and stay so until the next commit: the database seeds its next
   * transaction with them, so that autocommit inserts do not seek the maximum every time.
   */
  knownMaxRowids(): ReadonlyMap<number, number | bigint | null> {
    assert(this.snapshot === undefined, 'only transactions on the latest state know current maxima');
    return this.liveMax;
  }

  /** The keys this transaction wrote and (when SERIALIZABLE) read, for commit-time validation. */
  readsAndWrites(): AccessSet {
    const writes: string[] = [];
    for (const [table, o] of this.overlays) {
      for (const key of o.rows.keys()) writes.push(`${table}:${key}`);
      for (let i = 0; i < o.run.length; i++) {
        const key = o.run.keyAt(i);
        if (!o.rows.has(key)) writes.push(`${table}:${key}`);
      }
      o.uniques.forEach((m, i) => {
        for (const key of m.keys()) writes.push(`${table}#${i}:${key}`);
      });
    }
    const tracked = this.isolation === 'serializable';
    return { writes, reads: tracked ? [...this.readKeys] : [], ranges: tracked ? this.readRanges : [] };
  }

  private noteRead(def: TableDef, key: string): void {
    if (this.snapshot !== undefined && this.isolation === 'serializable') this.readKeys.add(`${def.id}:${key}`);
  }

  /** The committed tables this transaction reads through (time travel reads them directly). */
  get store(): TableStore {
    return this.tables;
  }

  get isEmpty(): boolean {
    return this.changes.length === 0;
  }

  /** True when this transaction created or dropped tables (plans compiled now must not be cached). */
  get hasSchemaChanges(): boolean {
    return this.created.size > 0 || this.dropped.size > 0 || this.altered.size > 0;
  }

  mark(): TxnMark {
    this.markSeq++;
    const last = this.changes[this.changes.length - 1];
    return { undo: this.undo.length, changes: this.changes.length, sliceTo: last instanceof RunSlice ? last.to : -1, bytes: this.pendingBytes };
  }

  /**
   * The statement that opened `mark` succeeded: nothing will roll back to inside it any more
   * (ROLLBACK discards the whole transaction), so its undo entries can go. Keeps a bulk insert's
   * memory to the rows themselves.
   */
  release(mark: TxnMark): void {
    this.undo.truncate(mark.undo);
    this.markSeq++;
  }

  rollbackTo(mark: TxnMark): void {
    while (this.undo.length > mark.undo) this.revert(this.undo.pop());
    this.changes.length = mark.changes;
    // The run slice logged last may have grown since the mark: it ends where it did then.
    const last = this.changes[this.changes.length - 1];
    if (last instanceof RunSlice) last.to = mark.sliceTo;
    this.pendingBytes = mark.bytes;
    this.markSeq++;
  }

  // --- schema -----------------------------------------------------------------------------------

  table(name: string): TableDef | undefined {
    const key = name.toLowerCase();
    const created = this.created.get(key);
    if (created) return created;
    if (this.dropped.has(key)) return undefined;
    // ALTER TABLE RENAME in this transaction: the new name finds the altered definition, the old
    // one finds nothing.
    for (const d of this.altered.values()) if (d.name.toLowerCase() === key) return d;
    const def = this.tables.catalog.table(name);
    if (def && this.altered.has(def.id)) return undefined;
    return def;
  }

  /**
   * Give a table a new definition (CREATE or DROP INDEX, triggers, ALTER TABLE). Refused for a table this transaction
   * already wrote to: its overlay was laid out for the old definition.
   */
  alterTable(def: TableDef): void {
    if (this.overlays.has(def.id) && !sameLayout(this.tableList().find((t) => t.id === def.id), def)) {
      throw new DosqlError('ERROR', `cannot change the indexes of ${def.name} after writing to it in the same transaction`);
    }
    const key = def.name.toLowerCase();
    const created = [...this.created.values()].find((d) => d.id === def.id);
    if (created) {
      const oldKey = created.name.toLowerCase();
      this.undo.push({ kind: 'recreate', name: oldKey, prev: created, renamed: key });
      this.created.delete(oldKey);
      this.created.set(key, def);
    } else {
      this.undo.push({ kind: 'alter', id: def.id, prev: this.altered.get(def.id) });
      this.altered.set(def.id, def);
    }
    this.changes.push({ op: 'alter_table', table: def });
  }

  /**
   * True when reads of this table see exactly the committed current trees (no pending writes, no
   * snapshot, not created here): then secondary indexes, which hold the committed state, apply.
   */
  readsCurrentTrees(def: TableDef): boolean {
    return this.snapshot === undefined && !this.overlays.has(def.id) && !this.isNew(def) && !this.altered.has(def.id);
  }

  /** Every table this transaction sees, in creation order. */
  tableList(): TableDef[] {
    const committed = this.tables.catalog
      .tables()
      .filter((t) => !this.dropped.has(t.name.toLowerCase()))
      .map((t) => this.altered.get(t.id) ?? t);
    return [...committed, ...this.created.values()];
  }

  allocateTableId(): number {
    return this.nextTableId++;
  }

  createTable(def: TableDef): void {
    const key = def.name.toLowerCase();
    assert(this.table(def.name) === undefined, 'createTable of an existing name');
    this.created.set(key, def);
    this.undo.push({ kind: 'create', name: key });
    this.changes.push({ op: 'create_table', table: def });
  }

  dropTable(def: TableDef): void {
    const key = def.name.toLowerCase();
    if (this.created.get(key) === def) {
      this.created.delete(key);
      this.undo.push({ kind: 'drop', def });
    } else {
      this.dropped.set(key, def);
      this.undo.push({ kind: 'drop', def });
    }
    this.changes.push({ op: 'drop_table', table: def.id, name: def.name });
  }

  // --- rows ---------------------------------------------------------------------------------------

  /**
   * The row stored under `key` as this transaction sees it. Synchronous when the answer is in
   * memory (the overlay, or cached pages), a promise otherwise: callers check before awaiting,
   * which keeps point lookups and inserts free of promise overhead.
   */
  getRow(def: TableDef, key: string): StoredRow | undefined | Promise<StoredRow | undefined> {
    const o = this.overlays.get(def.id);
    if (o !== undefined) {
      const hit = overlayRow(o, key);
      if (hit !== undefined) return hit ?? undefined;
    }
    if (this.isNew(def)) return undefined;
    if (this.snapshot !== undefined) {
      this.noteRead(def, key);
      return this.tables.getAsOf(def, key, this.snapshot);
    }
    const tree = this.tables.table(def.id).rows;
    const cached = tree.getCached(key);
    return cached === NOT_CACHED ? tree.get(key) : cached;
  }

  /**
   * `getRow` that never starts a read: NOT_CACHED when the answer needs a page that is not in
   * memory, or when this is a concurrent transaction (its reads go through the versioned path
   * and note what they read). The statement fast path declines on NOT_CACHED; nothing is left
   * in flight behind it.
   */
  getRowCached(def: TableDef, key: string): StoredRow | undefined | typeof NOT_CACHED {
    const o = this.overlays.get(def.id);
    if (o !== undefined) {
      const hit = overlayRow(o, key);
      if (hit !== undefined) return hit ?? undefined;
    }
    if (this.isNew(def)) return undefined;
    if (this.snapshot !== undefined) return NOT_CACHED;
    return this.tables.table(def.id).rows.getCached(key);
  }

  /**
   * `getRowCached(def, encodeRowidKey(rowid))` for a rowid table, with `rowid` an integer under
   * ROWID_PREFIX_EXACT_LIMIT: the committed tree is searched by number (BTree.getCachedRowid).
   * The overlay, keyed by strings, takes the string path.
   */
  getRowCachedByRowid(def: TableDef, rowid: number): StoredRow | undefined | typeof NOT_CACHED {
    assert(def.primaryKey.length === 0, 'a rowid table');
    if (this.overlays.has(def.id)) return this.getRowCached(def, encodeRowidKey(rowid));
    if (this.isNew(def)) return undefined;
    if (this.snapshot !== undefined) return NOT_CACHED;
    return this.tables.table(def.id).rows.getCachedRowid(rowid);
  }

  /** `uniqueOwner` from memory only: NOT_CACHED when it needs a page read (see getRowCached). */
  uniqueOwnerCached(def: TableDef, constraint: number, key: string): number | bigint | undefined | typeof NOT_CACHED {
    const hit = this.overlays.get(def.id)?.uniques[constraint]!.get(key);
    if (hit !== undefined) return hit ?? undefined;
    if (this.isNew(def)) return undefined;
    if (this.snapshot !== undefined) return NOT_CACHED;
    const row = this.tables.table(def.id).uniques[constraint]!.getCached(key);
    if (row === NOT_CACHED) return NOT_CACHED;
    return row ? (row[0] as number | bigint) : undefined;
  }

  /**
   * True when `rowid` is above the largest rowid this transaction knows the table to hold (see
   * knownMaxRowid), so that no row can hold it and an insert need not look for one.
   */
  aboveKnownMax(def: TableDef, rowid: number | bigint): boolean {
    const max = this.knownMaxRowid(def);
    return max !== undefined && (max === null || rowid > max);
  }

  /**
   * `currentMaxRowid` when it is already known, else undefined (it would need a reverse seek).
   * Never starts the seek: one left in flight could store a stale maximum after later inserts.
   */
  knownMaxRowid(def: TableDef): number | bigint | null | undefined {
    if (def.primaryKey.length !== 0 || this.snapshot !== undefined) return undefined;
    const known = this.liveMax.get(def.id);
    return known !== undefined ? known : this.learnMaxRowidCached(def);
  }

  /**
   * The largest rowid learned without a read, while this transaction has changed at most
   * LEARN_MAX_OVERLAY_ROWS_MAX rows of the table: the committed tree's last key (when the
   * rightmost pages are cached and this transaction has not touched that row) against the rows it
   * wrote. Kept in liveMax from then on.
   */
  private learnMaxRowidCached(def: TableDef): number | bigint | null | undefined {
    const o = this.overlays.get(def.id);
    if (o !== undefined && overlaySize(o) > LEARN_MAX_OVERLAY_ROWS_MAX) return undefined;
    let max: number | bigint | null = null;
    if (!this.isNew(def)) {
      const last = this.tables.table(def.id).rows.lastCached();
      if (last === NOT_CACHED) return undefined;
      if (last !== undefined) {
        const rowid = last[0] as number | bigint;
        if (o !== undefined && overlayRow(o, rowKey(def, rowid, last)) !== undefined) return undefined; // deleted or replaced here
        max = rowid;
      }
    }
    if (o) max = largestPendingRowid(o, max);
    this.liveMax.set(def.id, max);
    return max;
  }

  /** Rowid holding these UNIQUE values, if any row (committed or pending) does. */
  async uniqueOwner(def: TableDef, constraint: number, key: string): Promise<number | bigint | undefined> {
    const hit = this.overlays.get(def.id)?.uniques[constraint]!.get(key);
    if (hit !== undefined) return hit ?? undefined;
    if (this.isNew(def)) return undefined;
    if (this.snapshot !== undefined && this.isolation === 'serializable') this.readKeys.add(`${def.id}#${constraint}:${key}`);
    const row = await this.tables.table(def.id).uniques[constraint]!.get(key);
    return row ? (row[0] as number | bigint) : undefined;
  }

  /**
   * The largest rowid ever given in this table (committed or pending): the rowid high-water mark
   * that AUTOINCREMENT and tables clustered by a non-rowid PRIMARY KEY allocate above.
   */
  maxRowid(def: TableDef): number | bigint {
    const o = this.overlays.get(def.id);
    if (o) return o.maxRowid;
    return this.isNew(def) ? 0 : this.tables.table(def.id).maxRowid;
  }

  /**
   * The largest rowid among the rows this transaction sees, null for an empty table, for a table
   * keyed by rowid and a transaction reading the latest state (see the module header).
   * Synchronous once known.
   */
  currentMaxRowid(def: TableDef): number | bigint | null | Promise<number | bigint | null> {
    assert(def.primaryKey.length === 0 && this.snapshot === undefined, 'currentMaxRowid needs a rowid table and the latest state');
    const known = this.liveMax.get(def.id);
    if (known !== undefined) return known;
    return this.readMaxRowid(def);
  }

  private async readMaxRowid(def: TableDef): Promise<number | bigint | null> {
    const o = this.overlays.get(def.id);
    let best = o ? largestPendingRowid(o, null) : null;
    if (!this.isNew(def)) {
      // Committed keys this transaction replaced or deleted are decided by the overlay, counted
      // above; past them, the first committed key from the top is the committed maximum.
      const skipMax = o ? overlaySize(o) : 0;
      let skipped = 0;
      for await (const [key, rec] of this.tables.table(def.id).rows.scan({ reverse: true })) {
        if (o !== undefined && overlayRow(o, key) !== undefined) {
          assert(++skipped <= skipMax, 'reverse scan skipped more keys than the overlay holds');
          continue;
        }
        if (best === null || (rec[0] as number | bigint) > best) best = rec[0] as number | bigint;
        break;
      }
    }
    this.liveMax.set(def.id, best);
    return best;
  }

  /** Rows in key order within [lo, hi] bounds, merging committed rows with this txn's changes. */
  async *scan(def: TableDef, range: KeyRange = {}): AsyncGenerator<StoredRow> {
    const o = this.overlays.get(def.id);
    if (this.snapshot !== undefined && this.isolation === 'serializable' && !this.isNew(def)) this.readRanges.push({ table: def.id, ...range });
    const base = this.isNew(def)
      ? emptyScan()
      : this.snapshot !== undefined
        ? this.tables.scanAsOfEntries(def, range, this.snapshot)
        : this.tables.table(def.id).rows.scan(range);
    if (!o || overlaySize(o) === 0) {
      for await (const [, row] of base) yield row;
      return;
    }
    // The overlay is snapshotted so that writes made while the scan runs (UPDATE) do not disturb it.
    const { keys, rows } = overlayEntries(o, range);
    let i = 0;
    for await (const [key, row] of base) {
      while (i < keys.length && keys[i]! < key) {
        if (rows[i]) yield rows[i]!;
        i++;
      }
      if (i < keys.length && keys[i] === key) {
        if (rows[i]) yield rows[i]!;
        i++;
        continue;
      }
      yield row;
    }
    for (; i < keys.length; i++) if (rows[i]) yield rows[i]!;
  }

  /**
   * `scan` in chunks of rows, for readers of many rows: with no overlay rows to merge and no
   * snapshot, a chunk is a leaf of the committed tree (one await per leaf instead of two async
   * generator steps per row); otherwise `scan`'s rows, batched.
   */
  async *scanChunks(def: TableDef, range: KeyRange = {}): AsyncGenerator<StoredRow[]> {
    const o = this.overlays.get(def.id);
    if (this.snapshot === undefined && !this.isNew(def) && (!o || overlaySize(o) === 0)) {
      for await (const chunk of this.tables.table(def.id).rows.scanChunks(range)) yield chunk.rows;
      return;
    }
    let batch: StoredRow[] = [];
    for await (const row of this.scan(def, range)) {
      batch.push(row);
      if (batch.length >= SCAN_BATCH_ROWS) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  }

  insertRow(def: TableDef, rowid: number | bigint, row: Value[]): void {
    this.charge(changeBytes(row));
    const o = this.overlay(def);
    const appended = this.putRow(o, def, rowid, row);
    for (let i = 0; i < def.uniques.length; i++) {
      const k = uniqueKey(def, i, row);
      if (k !== undefined) this.setUnique(o.uniques[i]!, k, rowid);
    }
    if (rowid > o.maxRowid) {
      this.save(o);
      o.maxRowid = rowid;
    }
    const live = this.liveMax.get(def.id);
    if (live === null || (live !== undefined && rowid > live)) this.liveMax.set(def.id, rowid);
    if (appended) this.logAppended(def, o.run);
    else this.changes.push({ op: 'insert', table: def.id, rowid, row });
  }

  /** Logs the row just appended to `run`: the slice logged last grows by it, or a new one starts. */
  private logAppended(def: TableDef, run: AppendRun): void {
    const at = run.length - 1;
    const last = this.changes[this.changes.length - 1];
    if (last instanceof RunSlice && last.run === run && last.to === at) last.to = at + 1;
    else this.changes.push(new RunSlice(def.id, run, at, at + 1));
  }

  deleteRow(def: TableDef, rowid: number | bigint, before: Value[]): void {
    this.charge(changeBytes(before));
    const o = this.overlay(def);
    this.removeRow(def, o, rowid, before);
    if (this.liveMax.get(def.id) === rowid) this.liveMax.delete(def.id);
    this.changes.push({ op: 'delete', table: def.id, rowid, before });
  }

  updateRow(def: TableDef, rowid: number | bigint, before: Value[], row: Value[]): void {
    this.charge(changeBytes(before, row));
    const o = this.overlay(def);
    this.removeRow(def, o, rowid, before);
    this.putRow(o, def, rowid, row);
    for (let i = 0; i < def.uniques.length; i++) {
      const k = uniqueKey(def, i, row);
      if (k !== undefined) this.setUnique(o.uniques[i]!, k, rowid);
    }
    this.changes.push({ op: 'update', table: def.id, rowid, before, row });
  }

  /** Counts a write's bytes, or throws LIMIT_EXCEEDED before it changes anything. */
  private charge(bytes: number): void {
    const total = this.pendingBytes + bytes;
    if (total > this.bytesMax) {
      throw new DosqlError(
        'LIMIT_EXCEEDED',
        `transaction too large: its changes would take about ${total} bytes; the limit (transactionBytesMax) is ${this.bytesMax}. Commit in smaller transactions`,
      );
    }
    this.pendingBytes = total;
  }

  private removeRow(def: TableDef, o: TableOverlay, rowid: number | bigint, before: Value[]): void {
    this.setRow(o, rowKey(def, rowid, before), null);
    for (let i = 0; i < def.uniques.length; i++) {
      const k = uniqueKey(def, i, before);
      if (k !== undefined) this.setUnique(o.uniques[i]!, k, null);
    }
  }

  private isNew(def: TableDef): boolean {
    return this.created.size > 0 && this.created.get(def.name.toLowerCase())?.id === def.id;
  }

  private overlay(def: TableDef): TableOverlay {
    let o = this.overlays.get(def.id);
    if (!o) {
      o = {
        table: def.id,
        rows: new Map(),
        rowsKeyMax: undefined,
        run: new AppendRun(def.primaryKey.length === 0, def.columns.length),
        savedAt: -1,
        uniques: def.uniques.map(() => new Map()),
        maxRowid: this.isNew(def) ? 0 : this.tables.table(def.id).maxRowid,
      };
      this.overlays.set(def.id, o);
    }
    return o;
  }

  /**
   * Writes a row: appended to the run when its key is above every key of the overlay (true then),
   * else into the map.
   */
  private putRow(o: TableOverlay, def: TableDef, rowid: number | bigint, row: Value[]): boolean {
    const run = o.run;
    const key = run.byRowid ? undefined : rowKey(def, rowid, row);
    if (run.follows(rowid, key, row) && (o.rowsKeyMax === undefined || (key ?? encodeRowidKey(rowid)) > o.rowsKeyMax)) {
      this.save(o);
      run.push(rowid, row, key);
      return true;
    }
    this.setRow(o, key ?? rowKey(def, rowid, row), stored(rowid, row));
    return false;
  }

  private setRow(o: TableOverlay, key: string, row: StoredRow | null): void {
    const prev = o.rows.get(key);
    if (prev === undefined) o.sorted = undefined;
    this.undo.push({ kind: 'row', overlay: o, key, prev });
    o.rows.set(key, row);
    if (o.rowsKeyMax === undefined || key > o.rowsKeyMax) o.rowsKeyMax = key;
  }

  /** Saves the run length and maxRowid of `o` once per mark, before they change. */
  private save(o: TableOverlay): void {
    if (o.savedAt === this.markSeq) return;
    o.savedAt = this.markSeq;
    this.undo.push({ kind: 'run', overlay: o, length: o.run.length, maxRowid: o.maxRowid });
  }

  private setUnique(map: Map<string, number | bigint | null>, key: string, rowid: number | bigint | null): void {
    this.undo.push({ kind: 'unique', map, key, prev: map.get(key) });
    map.set(key, rowid);
  }

  private revert(u: Undo): void {
    switch (u.kind) {
      case 'row':
        this.liveMax.delete(u.overlay.table);
        if (u.prev === undefined) {
          u.overlay.rows.delete(u.key);
          u.overlay.sorted = undefined;
        } else u.overlay.rows.set(u.key, u.prev);
        return;
      case 'unique':
        if (u.prev === undefined) u.map.delete(u.key);
        else u.map.set(u.key, u.prev);
        return;
      case 'run':
        this.liveMax.delete(u.overlay.table);
        u.overlay.run.truncate(u.length);
        u.overlay.maxRowid = u.maxRowid;
        return;
      case 'alter':
        if (u.prev) this.altered.set(u.id, u.prev);
        else this.altered.delete(u.id);
        return;
      case 'recreate':
        this.created.delete(u.renamed);
        this.created.set(u.name, u.prev);
        return;
      case 'create':
        this.created.delete(u.name);
        return;
      case 'drop': {
        const key = u.def.name.toLowerCase();
        if (this.dropped.get(key) === u.def) this.dropped.delete(key);
        else this.created.set(key, u.def);
        return;
      }
    }
  }
}

/** Definitions under which the same overlay stays valid (a rename, new SQL text or triggers). */
function sameLayout(a: TableDef | undefined, b: TableDef): boolean {
  if (!a) return false;
  const shape = (d: TableDef): string => JSON.stringify([d.columns.length, d.rowidColumn, d.primaryKey, d.uniques, (d.indexes ?? []).map((x) => x.columns)]);
  return shape(a) === shape(b);
}

export type Isolation = 'serializable' | 'snapshot';

/** A key range a transaction scanned, with its table id. */
export interface ReadRange extends KeyRange {
  table: number;
}

/** Keys are `<tableId>:<row key>` for rows and `<tableId>#<n>:<values key>` for UNIQUE entries. */
export interface AccessSet {
  writes: string[];
  reads: string[];
  ranges: ReadRange[];
}

export type { KeyRange };

/** Estimated encoded bytes of a change record holding these rows (one image, or two for an update). */
function changeBytes(first: readonly Value[], second?: readonly Value[]): number {
  return CHANGE_RECORD_BYTES + rowBytes(first) + (second === undefined ? 0 : rowBytes(second));
}

/** The overlay's entry for `key`: a stored row, null (deleted here) or undefined (untouched). */
function overlayRow(o: TableOverlay, key: string): StoredRow | null | undefined {
  const hit = o.rows.get(key);
  if (hit !== undefined) return hit;
  const i = o.run.indexOf(key);
  return i < 0 ? undefined : o.run.recordAt(i);
}

/** Entries in the overlay, counting a key in both the map and the run twice (an upper bound). */
function overlaySize(o: TableOverlay): number {
  return o.rows.size + o.run.length;
}

/**
 * The overlay's keys within `r`, ascending and distinct, with their entries: the map's merged with
 * the run's, the map's entry winning for a key in both.
 */
function overlayEntries(o: TableOverlay, r: KeyRange): { keys: string[]; rows: Array<StoredRow | null> } {
  if (!o.sorted) o.sorted = [...o.rows.keys()].sort();
  const mapped = o.sorted.filter((k) => inRange(k, r));
  const keys: string[] = [];
  const rows: Array<StoredRow | null> = [];
  const run = o.run;
  let j = r.lo === undefined ? 0 : run.lowerBound(r.lo, r.loInclusive === false);
  let runKey = j < run.length ? run.keyAt(j) : undefined;
  let i = 0;
  for (;;) {
    if (runKey !== undefined && !inRange(runKey, r)) runKey = undefined;
    const mapKey = i < mapped.length ? mapped[i] : undefined;
    if (mapKey === undefined && runKey === undefined) break;
    if (runKey === undefined || (mapKey !== undefined && mapKey <= runKey)) {
      keys.push(mapKey!);
      rows.push(o.rows.get(mapKey!)!);
      i++;
      if (mapKey !== runKey) continue;
    } else {
      keys.push(runKey);
      rows.push(run.recordAt(j));
    }
    j++;
    runKey = j < run.length ? run.keyAt(j) : undefined;
  }
  return { keys, rows };
}

/** The largest rowid among `from` and the rows the overlay holds (deleted rows aside). */
function largestPendingRowid(o: TableOverlay, from: number | bigint | null): number | bigint | null {
  let max = from;
  const consider = (rowid: number | bigint): void => {
    if (max === null || rowid > max) max = rowid;
  };
  for (const row of o.rows.values()) if (row) consider(row[0] as number | bigint);
  // By rowid, the run ascends: its largest row the map does not shadow is the first from the end.
  const run = o.run;
  for (let i = run.length - 1; i >= 0; i--) {
    if (o.rows.has(run.keyAt(i))) continue;
    consider(run.rowidAt(i));
    if (run.byRowid) break;
  }
  return max;
}

async function* emptyScan(): AsyncGenerator<[string, Value[]]> {}
