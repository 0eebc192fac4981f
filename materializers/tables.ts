/**
 * The table materializer: every table (and each of its UNIQUE constraints) as a B+ tree, kept equal
 * to a replay of the log.
 *
 * Row layout. A table's rows live in one tree keyed by the order-preserving encoding of either the
 * rowid (tables without a PRIMARY KEY, or with an INTEGER PRIMARY KEY, which aliases the rowid) or
 * the PRIMARY KEY columns (composite or non-integer keys: the rows are clustered by that key, as in
 * SQLite's WITHOUT ROWID tables, and keep a hidden rowid beside them). A stored record is
 * `[rowid, ...columns]`, so the rowid never needs decoding from a key.
 *
 * UNIQUE constraints each get a tree from the encoded constrained values to `[rowid]`. A row with a
 * NULL in a constrained column has no entry there: in SQL, NULLs never collide.
 *
 * Versions. Every past state stays readable (time travel) without replaying the log, the way
 * temporal tables keep a current table and a history table:
 *
 *   current  key                      -> [rowid, ...columns, fromLsn, fromHlc]
 *   history  key + hex16(toLsn)       -> [rowid, ...columns, fromLsn, fromHlc, toLsn, toHlc]
 *
 * A version is valid for fromLsn <= L < toLsn (the commit that wrote it, the one that replaced or
 * deleted it). An update or delete moves the replaced version to history. A read AS OF L seeks
 * the history to the first version of that key ending after L, which decides when there is one,
 * and otherwise looks at the current version (visible when fromLsn <= L): one seek for a row
 * changed since L, two for one unchanged, whatever the length of the log; a table with no row
 * changed since L is read as it is now (see getAsOf). Scans skip from key to key in the history
 * the same way. Helpers on history keys and records are in history.ts.
 *
 * History blocks (history-blocks.ts) lay the same versions out by time as well: for a table keyed
 * by rowid, checkpoints copy each chunk of 64 rowids' versions into blocks of time, so the versions
 * visible at an old LSN lie together. A read AS OF an LSN some block holds reads the block; later
 * LSNs read history and the current rows as above.
 *
 * Persistence. All trees share one PageStore (copy-on-write pages, see btree/). A checkpoint
 * flushes the dirty pages and then writes one meta record holding the roots, the catalog, the
 * largest rowid per table and `appliedLsn`; the meta write is the atomic commit point. Meta
 * records alternate between two checksummed slots; opening takes the newest valid one.
 */
import { DosqlError, assert } from '../base/errors.js';
import { pack, unpack } from '../base/codec.js';
import { int, nullRow, type Value } from '../base/values.js';
import type { ByteStore } from '../storage/types.js';
import { crc32 } from '../storage/crc32.js';
import type { AppliedTxn, Change, EncodedRun, InsertRun, IndexDef, Lsn, TableDef } from '../log/types.js';
import { MsgpackWriter } from '../log/msgpack.js';
import { BTree, NOT_CACHED, PageStore, ROW_ARRAY_BYTES, encodeKey, encodeRowidKey, rowBytes, valueBytes, valuesBytes, writeRowidKey, type PackedEntries } from './btree/index.js';
import { Catalog, type CatalogState } from './catalog.js';
import { NO_BLOCK, getInBlocks, getInBlocksCached, noteEnded, scanWithBlocks, writeBlocks, type BlockTrees } from './history-blocks.js';
import type { Materializer } from './types.js';
import {
  HISTORY_KEY_END,
  LSN_SUFFIX_CHARS,
  ceiling,
  currentVisible,
  historyAsCurrent,
  historyBegunBy,
  historyFrom,
  historyKey,
  historyRange,
  historyTo,
  inRange,
  isVersionOf,
  rowKeyOf,
  toLsn,
  visibleHistoryBatches,
  type EntryBatch,
  type KeyRange,
} from './history.js';
import { countDeletedPrefixes, countInsertedPrefixes, emptyDistinct, needsReplan, type TableStats } from './stats.js';

/**
 * Store keys of the two checkpoint slots. Checkpoints alternate between them and each record
 * carries a crc32, so a torn checkpoint write leaves the previous checkpoint readable (the page
 * store deletes pages only after a meta is durable).
 */
export const META_KEYS = ['tbl-meta-0', 'tbl-meta-1'] as const;
/** Prefix of page keys. */
const PAGE_PREFIX = 'tbl/';

export interface TableStoreOptions {
  /** Byte budget of the decoded-page cache (estimated bytes). */
  cacheBytesMax?: number;
}

/** Per-table physical state: its trees and the rowid high-water mark. */
export interface TableTrees extends BlockTrees {
  rows: BTree;
  /** Replaced and deleted versions, keyed by row key + hex16(toLsn); see the module header. */
  history: BTree;
  /** Whether rows are keyed by rowid, so history blocks (history-blocks.ts) chunk them. */
  chunked: boolean;
  /** One tree per `TableDef.uniques` entry, same order. */
  uniques: BTree[];
  /** One tree per `TableDef.indexes` entry, same order: indexed values + row key -> [row key]. */
  indexes: BTree[];
  /**
   * Per index, the entries of replaced versions: indexed values + row key + hex16(toLsn) ->
   * [row key, toLsn], so reads AS OF a past LSN can use the index too.
   */
  indexHistory: BTree[];
  /** Largest rowid ever stored (SQLite picks max + 1 for the next insert); 0 when empty. */
  maxRowid: number | bigint;
  /**
   * An LSN at or after the last commit that inserted, updated or deleted a row of the table, so
   * that a read AS OF an LSN at or after it reads the current rows (see getAsOf). Not persisted:
   * after opening, the checkpoint's LSN stands in (too late is safe, only slower).
   */
  changedLsn: Lsn;
  /** Rows in `rows` (planner statistics, see stats.ts). */
  rowCount: number;
  /** Row count the cached plans were made with; `statsVersion` moves when it drifts. */
  plannedRows: number;
  /** Per index, same order: distinct values of each prefix of its columns; undefined if unknown. */
  indexDistinct: Array<number[] | undefined>;
}

interface MetaRecord {
  appliedLsn: bigint;
  /** The page store's id counter at the checkpoint: ids at or above it are orphans. */
  nextPageId: number;
  /** Catalog with its versions inline (older checkpoints); newer ones keep versions in a tree. */
  catalog: CatalogState;
  /** Root of the tree of catalog versions (position -> [packed version]); see checkpoint. */
  catalogRoot?: number;
  tables: Array<{ id: number; root: number; history: number; blocks?: number; blockEndMax?: number | bigint; uniques: number[]; indexes?: number[]; indexHistory?: number[]; maxRowid: number | bigint; rowCount?: number; indexDistinct?: Array<number[] | null> }>;
}

export { inRange, type EntryBatch, type KeyRange } from './history.js';

export class TableStore implements Materializer {
  readonly name = 'tables';
  appliedLsn: Lsn;
  checkpointLsn: Lsn;
  readonly catalog: Catalog;
  private readonly trees = new Map<number, TableTrees>();

  /**
   * Keep pages that checkpoints retire instead of deleting them: set once the database has
   * branches, whose base checkpoints still point at them (garbage collection is future work).
   */
  retainPages = false;

  /** Open snapshot LSNs of concurrent transactions, with how many transactions use each. */
  private readonly snapshots = new Map<Lsn, number>();
  /** Last commit LSN that wrote each key, while snapshots are open (see openSnapshot). */
  private readonly recentWrites = new Map<string, Lsn>();
  /** The same notes in commit order, to drop the old ones. */
  private readonly recentLog: Array<[Lsn, string]> = [];

  /** Slot the next checkpoint writes: the one not holding the current checkpoint. */
  private nextSlot: number;

  /** Catalog versions by position, so the checkpoint record stays small however much DDL ran. */
  private readonly catalogTree: BTree;

  private constructor(
    private readonly pages: PageStore,
    meta: MetaRecord | undefined,
    currentSlot: number,
    catalogState: CatalogState | undefined,
  ) {
    this.nextSlot = 1 - currentSlot;
    this.appliedLsn = meta?.appliedLsn ?? 0n;
    this.checkpointLsn = this.appliedLsn;
    this.catalog = new Catalog(catalogState);
    this.catalogTree = meta?.catalogRoot === undefined ? BTree.create(pages) : BTree.open(pages, meta.catalogRoot);
    for (const t of meta?.tables ?? []) {
      this.trees.set(t.id, {
        rows: BTree.open(pages, t.root),
        history: BTree.open(pages, t.history),
        blocks: t.blocks === undefined ? BTree.create(pages) : BTree.open(pages, t.blocks),
        blockEndMax: t.blockEndMax === undefined ? 0n : toLsn(t.blockEndMax),
        endedByChunk: new Map(),
        found: new Map(),
        chunked: this.catalog.tableById(t.id)?.primaryKey.length === 0,
        uniques: t.uniques.map((r) => BTree.open(pages, r)),
        indexes: (t.indexes ?? []).map((r) => BTree.open(pages, r)),
        indexHistory: (t.indexHistory ?? []).map((r) => BTree.open(pages, r)),
        maxRowid: t.maxRowid,
        changedLsn: this.appliedLsn,
        rowCount: t.rowCount ?? -1,
        plannedRows: t.rowCount ?? 0,
        indexDistinct: (t.indexes ?? []).map((_, i) => t.indexDistinct?.[i] ?? undefined),
      });
    }
  }

  static async open(store: ByteStore, options: TableStoreOptions = {}): Promise<TableStore> {
    const slots = await store.getMany([...META_KEYS]);
    let meta: MetaRecord | undefined;
    let slot = 1;
    META_KEYS.forEach((key, i) => {
      const m = decodeMeta(slots.get(key));
      if (m && (!meta || m.appliedLsn > meta.appliedLsn)) {
        meta = m;
        slot = i;
      }
    });
    const pages = new PageStore(store, { prefix: PAGE_PREFIX, nextPageId: meta?.nextPageId, cacheBytesMax: options.cacheBytesMax });
    // Pages written by a checkpoint that crashed before its meta record are garbage.
    await pages.sweepOrphans();
    const tables = new TableStore(pages, meta, slot, await loadCatalog(pages, meta));
    // Checkpoints from before statistics carry no row count; the tree's root has it.
    for (const t of tables.trees.values()) if (t.rowCount < 0) t.rowCount = t.plannedRows = await t.rows.count();
    return tables;
  }

  /**
   * Moves whenever some table's row count drifted a factor from what plans were made with
   * (stats.ts): cached plans compiled before are recompiled.
   */
  statsVersion = 0;

  /** Statistics of a committed table for the planner; undefined for a table without trees. */
  stats(def: TableDef): TableStats | undefined {
    const t = this.trees.get(def.id);
    const committed = this.catalog.tableById(def.id);
    if (!t || !committed) return undefined;
    const indexDistinct = new Map<string, readonly number[] | undefined>();
    (committed.indexes ?? []).forEach((x, i) => indexDistinct.set(x.name.toLowerCase(), t.indexDistinct[i]));
    return { rows: t.rowCount, indexDistinct };
  }

  private countRows(t: TableTrees, delta: number): void {
    t.rowCount += delta;
    assert(t.rowCount >= 0, 'row count below zero');
    if (needsReplan(t.rowCount, t.plannedRows)) {
      t.plannedRows = t.rowCount;
      this.statsVersion++;
    }
  }

  /** The trees of a current table; throws if the table has none (a bug, not user input). */
  table(id: number): TableTrees {
    const t = this.trees.get(id);
    // The message is built only on failure: this runs several times per statement.
    if (t === undefined) assert(false, `no trees for table ${id}`);
    return t;
  }

  // --- versioned reads ----------------------------------------------------------------------

  /**
   * The version of the row under `key` that was current at `lsn` (current-record layout), or
   * NOT_CACHED when a page would have to be read (`getAsOf` then). See `getAsOf` for the order.
   */
  getAsOfCached(def: TableDef, key: string, lsn: Lsn): Value[] | undefined | typeof NOT_CACHED {
    const t = this.table(def.id);
    if (t.changedLsn <= lsn) return t.rows.getCached(key);
    if (lsn < t.blockEndMax) {
      const b = getInBlocksCached(t, key, lsn);
      if (b !== NO_BLOCK) return b;
    }
    const e = t.history.ceilingCached(historyKey(key, lsn + 1n));
    if (e === NOT_CACHED) return NOT_CACHED;
    if (e && isVersionOf(e[0], key)) return historyBegunBy(e[1], lsn) ? historyAsCurrent(e[1]) : undefined;
    const cur = t.rows.getCached(key);
    if (cur === NOT_CACHED) return NOT_CACHED;
    return cur && currentVisible(cur, lsn) ? cur : undefined;
  }

  /**
   * The version of the row under `key` that was current at `lsn` (current-record layout).
   *
   * A table no row of which changed after `lsn` reads as it is now: one seek. Otherwise the
   * history comes first: the row's first version ending after `lsn`, when there is one, decides
   * alone (visible if it had begun by then; if not, the row did not exist at `lsn`, and any later
   * version, the current one included, began later still). Only a row with no such version needs
   * the current tree, and then its current version is the one, if it had begun by `lsn`. So a
   * read of a row changed since costs one seek, as does any read of a table unchanged since.
   */
  async getAsOf(def: TableDef, key: string, lsn: Lsn): Promise<Value[] | undefined> {
    const t = this.table(def.id);
    if (t.changedLsn <= lsn) return t.rows.get(key);
    if (lsn < t.blockEndMax) {
      const b = await getInBlocks(t.blocks, key, lsn);
      if (b !== NO_BLOCK) return b;
    }
    let e = ceiling(t.history, historyKey(key, lsn + 1n));
    if (e instanceof Promise) e = await e;
    if (e && isVersionOf(e[0], key)) return historyBegunBy(e[1], lsn) ? historyAsCurrent(e[1]) : undefined;
    const cur = await t.rows.get(key);
    return cur && currentVisible(cur, lsn) ? cur : undefined;
  }

  /** Rows of a key range as they were at `lsn`, in key order. */
  async *scanAsOf(def: TableDef, range: KeyRange, lsn: Lsn): AsyncGenerator<Value[]> {
    for await (const { rows } of this.scanAsOfChunks(def, range, lsn)) yield* rows;
  }

  /** `scanAsOf` with each row's key. */
  async *scanAsOfEntries(def: TableDef, range: KeyRange, lsn: Lsn): AsyncGenerator<[string, Value[]]> {
    for await (const { keys, rows } of this.scanAsOfChunks(def, range, lsn, true)) {
      for (let i = 0; i < keys.length; i++) yield [keys[i]!, rows[i]!];
    }
  }

  /**
   * `scanAsOf` in chunks of rows, with their keys when `withKeys` (otherwise `keys` may be empty
   * or not: collecting them is work a scan of many rows notices): the current rows a leaf at a time
   * (BTree.scanChunks), merged with the visible history versions, which never share a key with a
   * visible current row (a current version visible at `lsn` means every older version ended by
   * then). Chunks are never empty.
   */
  async *scanAsOfChunks(def: TableDef, range: KeyRange, lsn: Lsn, withKeys = false): AsyncGenerator<EntryBatch> {
    const t = this.table(def.id);
    if (t.changedLsn <= lsn) {
      // No row changed since: every current row is visible, and no history version is.
      for await (const chunk of t.rows.scanChunks(range)) if (chunk.rows.length) yield { keys: chunk.keys, rows: chunk.rows };
      return;
    }
    if (lsn < t.blockEndMax) {
      yield* scanWithBlocks(t.blocks, range, lsn, withKeys, (r) => historyAndCurrentBatches(t, r, lsn, withKeys));
      return;
    }
    yield* historyAndCurrentBatches(t, range, lsn, withKeys);
  }

  // --- concurrent transactions -------------------------------------------------------------------

  /**
   * Concurrent transactions read at a snapshot LSN and are validated at commit against what was
   * committed after it. While any snapshot is open, every applied change notes its keys here
   * (`<tableId>:<row key>`, `<tableId>#<n>:<unique key>`) with its commit LSN; the notes older
   * than the oldest open snapshot are dropped, so memory is bounded by the writes made during
   * the longest-running transaction.
   */
  openSnapshot(lsn: Lsn): void {
    this.snapshots.set(lsn, (this.snapshots.get(lsn) ?? 0) + 1);
  }

  closeSnapshot(lsn: Lsn): void {
    const n = this.snapshots.get(lsn) ?? 0;
    if (n <= 1) this.snapshots.delete(lsn);
    else this.snapshots.set(lsn, n - 1);
    if (this.snapshots.size === 0) {
      this.recentWrites.clear();
      this.recentLog.length = 0;
      return;
    }
    const oldest = [...this.snapshots.keys()].reduce((a, b) => (a < b ? a : b));
    let drop = 0;
    while (drop < this.recentLog.length && this.recentLog[drop]![0] <= oldest) {
      const [lsnAt, key] = this.recentLog[drop]!;
      if (this.recentWrites.get(key) === lsnAt) this.recentWrites.delete(key);
      drop++;
    }
    this.recentLog.splice(0, drop);
  }

  /**
   * Commit-time validation of a transaction that read at `snapshot`: CONFLICT when a transaction
   * committed after it wrote a key it also wrote (lost update: both levels), read, or that falls
   * in a range it scanned (SERIALIZABLE only: write skew, phantoms).
   */
  validate(access: { writes: string[]; reads: string[]; ranges: Array<KeyRange & { table: number }> }, snapshot: Lsn): void {
    for (const key of access.writes) this.checkUnchanged(key, snapshot, 'wrote');
    for (const key of access.reads) this.checkUnchanged(key, snapshot, 'read');
    if (access.ranges.length === 0) return;
    for (let i = this.recentLog.length - 1; i >= 0 && this.recentLog[i]![0] > snapshot; i--) {
      const key = this.recentLog[i]![1];
      const colon = key.indexOf(':');
      const table = key.slice(0, colon);
      if (table.includes('#')) continue;
      const rowKey = key.slice(colon + 1);
      for (const r of access.ranges) {
        if (String(r.table) === table && inRange(rowKey, r)) throw conflict('a row in a range it read');
      }
    }
  }

  private checkUnchanged(key: string, snapshot: Lsn, what: string): void {
    const at = this.recentWrites.get(key);
    if (at !== undefined && at > snapshot) throw conflict(`a row it ${what}`);
  }

  private noteWrite(key: string, lsn: Lsn): void {
    this.recentWrites.set(key, lsn);
    this.recentLog.push([lsn, key]);
  }

  /** Note a change's keys for open snapshots (nothing to do when none is open). */
  private noteChange(c: Change, lsn: Lsn): void {
    if (this.snapshots.size === 0 || c.op === 'create_table' || c.op === 'drop_table' || c.op === 'alter_table') return;
    const def = this.def(c.table);
    for (const row of c.op === 'update' ? [c.before, c.row] : [c.op === 'delete' ? c.before : c.row]) this.noteRow(def, c.rowid, row, lsn);
  }

  /** The keys a row version occupies, as written at `lsn` (for open snapshots' validation). */
  private noteRow(def: TableDef, rowid: number | bigint, row: Value[], lsn: Lsn): void {
    this.noteWrite(`${def.id}:${rowKey(def, rowid, row)}`, lsn);
    for (let i = 0; i < def.uniques.length; i++) {
      const k = uniqueKey(def, i, row);
      if (k !== undefined) this.noteWrite(`${def.id}#${i}:${k}`, lsn);
    }
  }

  /**
   * Every version of the rows in a key range that was current at some point in [fromLsn, toLsn],
   * oldest first per key, as `[rowid, ...columns, fromLsn, fromHlc, toLsn | null, toHlc | null]`.
   */
  async *versions(def: TableDef, range: KeyRange, fromLsn: Lsn, to: Lsn): AsyncGenerator<Value[]> {
    const t = this.table(def.id);
    const overlaps = (rec: Value[]): boolean => historyFrom(rec) <= to && (rec[rec.length - 2] === null || historyTo(rec) > fromLsn);
    const hist = historyRange(t.history, range);
    const cur = mapKeys(t.rows.scan(range), (k) => k + HISTORY_KEY_END, (v) => [...v, null, null]);
    for await (const [, rec] of mergeByKey(hist, cur)) if (overlaps(rec)) yield rec;
  }

  async apply(txn: AppliedTxn): Promise<void> {
    if (txn.commitLsn <= this.appliedLsn) return;
    const version: Version = [int(txn.commitLsn), int(txn.hlc)];
    let changedTable = -1;
    for (const change of txn.changes) {
      const writesRows = change.op === 'insert' || change.op === 'update' || change.op === 'delete' || change.op === 'insert_run';
      if (writesRows && change.table !== changedTable) {
        changedTable = change.table;
        this.table(changedTable).changedLsn = txn.commitLsn;
      }
      if (change.op === 'insert_run') {
        await this.putRun(change, txn.commitLsn, version, txn.encodedRuns?.get(change));
        continue;
      }
      this.noteChange(change, txn.commitLsn);
      // Inserts and updates on cached pages complete synchronously; await only what needs I/O.
      const pending =
        change.op === 'insert'
          ? this.putRow(change.table, change.rowid, change.row, version)
          : change.op === 'update'
            ? this.applyUpdate(change, txn.commitLsn, version)
            : this.applyChange(change, txn.commitLsn, version);
      if (pending) await pending;
    }
    this.appliedLsn = txn.commitLsn;
  }

  async checkpoint(): Promise<void> {
    if (this.appliedLsn === this.checkpointLsn) return;
    await this.writeHistoryBlocks();
    for (const [i, v] of this.catalog.takeChanged()) await this.catalogTree.put(encodeRowidKey(i), [pack(v)]);
    const meta: MetaRecord = {
      appliedLsn: this.appliedLsn,
      nextPageId: this.pages.nextPageId,
      catalog: { versions: [], nextTableId: this.catalog.nextTableId },
      catalogRoot: this.catalogTree.rootId,
      tables: [...this.trees].map(([id, t]) => ({
        id,
        root: t.rows.rootId,
        history: t.history.rootId,
        blocks: t.blocks.rootId,
        blockEndMax: int(t.blockEndMax),
        uniques: t.uniques.map((u) => u.rootId),
        indexes: t.indexes.map((x) => x.rootId),
        indexHistory: t.indexHistory.map((x) => x.rootId),
        maxRowid: t.maxRowid,
        rowCount: t.rowCount,
        indexDistinct: t.indexDistinct.map((d) => d ?? null),
      })),
    };
    await this.pages.flush(encodeMeta(meta), META_KEYS[this.nextSlot]!, { retainRetired: this.retainPages });
    this.nextSlot = 1 - this.nextSlot;
    this.checkpointLsn = this.appliedLsn;
  }

  /**
   * History blocks of the chunks whose versions ended since the last checkpoint. A failure may
   * leave a chunk's blocks half written: from then on reads leave blocks alone and checkpoints
   * fail, so none persists them; reopening recovers from the last checkpoint and the log.
   */
  private async writeHistoryBlocks(): Promise<void> {
    if (this.blocksFailure) throw this.blocksFailure;
    try {
      for (const t of this.trees.values()) if (t.endedByChunk.size > 0) await writeBlocks(t);
    } catch (e) {
      for (const t of this.trees.values()) t.blockEndMax = 0n;
      this.blocksFailure = new DosqlError('IO', `writing history blocks failed (${e instanceof Error ? e.message : String(e)}); reopen the database to checkpoint again`);
      throw e;
    }
  }

  /** Set when writing history blocks failed: see writeHistoryBlocks. */
  private blocksFailure: DosqlError | undefined;

  private async applyChange(c: Change, lsn: Lsn, version: Version): Promise<void> {
    switch (c.op) {
      case 'create_table':
        this.catalog.create(c.table, lsn);
        if (c.table.view) return;
        this.trees.set(c.table.id, {
          rows: BTree.create(this.pages),
          history: BTree.create(this.pages),
          blocks: BTree.create(this.pages),
          blockEndMax: 0n,
          endedByChunk: new Map(),
          found: new Map(),
          chunked: c.table.primaryKey.length === 0,
          uniques: c.table.uniques.map(() => BTree.create(this.pages)),
          indexes: (c.table.indexes ?? []).map(() => BTree.create(this.pages)),
          indexHistory: (c.table.indexes ?? []).map(() => BTree.create(this.pages)),
          maxRowid: 0,
          changedLsn: lsn,
          rowCount: 0,
          plannedRows: 0,
          indexDistinct: (c.table.indexes ?? []).map(emptyDistinct),
        });
        return;
      case 'drop_table': {
        if (this.def(c.table).view) {
          this.catalog.drop(c.table, lsn);
          return;
        }
        const t = this.table(c.table);
        await t.rows.drop();
        await t.history.drop();
        await t.blocks.drop();
        for (const u of t.uniques) await u.drop();
        for (const x of t.indexes) await x.drop();
        for (const x of t.indexHistory) await x.drop();
        this.trees.delete(c.table);
        this.catalog.drop(c.table, lsn);
        return;
      }
      case 'alter_table':
        return this.alterTable(c.table, lsn);
      case 'insert':
        return this.putRow(c.table, c.rowid, c.row, version);
      case 'delete':
        return this.deleteRow(c.table, c.rowid, c.before, version);
      case 'update':
        await this.deleteRow(c.table, c.rowid, c.before, version);
        return this.putRow(c.table, c.rowid, c.row, version);
    }
  }

  private applyUpdate(c: Extract<Change, { op: 'update' }>, lsn: Lsn, version: Version): void | Promise<void> {
    const done = this.updateInPlace(c, version);
    return done === false ? this.applyChange(c, lsn, version) : done;
  }

  /**
   * An update that keeps the row's key, in a table without UNIQUE constraints or indexes: the old
   * version goes to history and the new one replaces it in place, one put where the general path
   * deletes and puts again, and without a promise when the pages are cached. False, having
   * changed nothing, when it does not apply (applyChange then takes the general path).
   */
  private updateInPlace(c: Extract<Change, { op: 'update' }>, version: Version): false | void | Promise<void> {
    const def = this.def(c.table);
    if (def.uniques.length > 0 || (def.indexes?.length ?? 0) > 0) return false;
    const key = rowKey(def, c.rowid, c.before);
    if (rowKey(def, c.rowid, c.row) !== key) return false;
    const t = this.table(c.table);
    const old = t.rows.getCached(key);
    if (old === NOT_CACHED) return false;
    if (!old) throw new DosqlError('CORRUPT', `log updates a row of table ${def.name} that is not there`);
    const stored = storedRecord(c.rowid, c.row, version);
    const moved = keepInHistory(t, key, old, version);
    if (moved) return moved.then(() => t.rows.put(key, stored));
    return t.rows.put(key, stored);
  }

  private putRow(tableId: number, rowid: number | bigint, row: Value[], version: Version): void | Promise<void> {
    return this.putStored(this.def(tableId), this.table(tableId), rowid, row, storedRecord(rowid, row, version));
  }

  /** Inserts `stored`, the record of `row` (storedRecord); no promise when its pages are cached. */
  private putStored(def: TableDef, t: TableTrees, rowid: number | bigint, row: Value[], stored: Value[]): void | Promise<void> {
    if (rowid > t.maxRowid) t.maxRowid = rowid;
    this.countRows(t, 1);
    const key = rowKey(def, rowid, row);
    const pending = t.rows.put(key, stored);
    if (pending || def.uniques.length || t.indexes.length) return this.putSecondary(def, t, rowid, row, key, pending);
  }

  /**
   * The rows of an insert run, as its `count` inserts would be applied. A table keyed by rowid
   * with no UNIQUE constraint or index, and no snapshot open, needs no other array per row: rows
   * past its largest rowid go into new leaves as bytes (`appendPacked`), and any others are each
   * read straight into the record the tree keeps.
   */
  private async putRun(run: InsertRun, lsn: Lsn, version: Version, encoded: EncodedRun | undefined): Promise<void> {
    const def = this.def(run.table);
    const t = this.table(run.table);
    const w = run.width;
    const plain = def.primaryKey.length === 0 && def.uniques.length === 0 && t.indexes.length === 0 && this.snapshots.size === 0;
    // Rows from here on may go into packed leaves, once the tree has a branch to hang them from.
    let packFrom = plain && run.rowidAt(0) > t.maxRowid ? 0 : run.count;
    for (let i = 0; i < run.count; i++) {
      if (i >= packFrom && t.rows.rootIsBranchCached) {
        i += this.appendPacked(t, run, i, version, encoded);
        packFrom = run.count;
        if (i === run.count) break;
      }
      const rowid = run.rowidAt(i);
      const stored = storedShell(rowid, w, version);
      run.rowInto(i, stored, 1);
      let pending: void | Promise<void>;
      if (plain) {
        if (rowid > t.maxRowid) t.maxRowid = rowid;
        this.countRows(t, 1);
        pending = t.rows.put(encodeRowidKey(rowid), stored);
      } else {
        const row = stored.slice(1, w + 1);
        if (this.snapshots.size > 0) this.noteRow(def, rowid, row, lsn);
        pending = this.putStored(def, t, rowid, row, stored);
      }
      if (pending) await pending;
    }
  }

  /**
   * Rows `from` on of a run whose rowids are past the table's largest, as new leaves built from
   * their bytes (BTree.appendPacked: no record array per row); returns how many it took. Rowids
   * ascend in a run, so every key it appends lies past the tree's last one.
   */
  private appendPacked(t: TableTrees, run: InsertRun, from: number, version: Version, encoded: EncodedRun | undefined): number {
    const taken = t.rows.appendPacked(new RunRecords(run, from, version, encoded));
    if (taken === 0) return 0;
    const last = run.rowidAt(from + taken - 1);
    if (last > t.maxRowid) t.maxRowid = last;
    this.countRows(t, taken);
    return taken;
  }

  private async putSecondary(def: TableDef, t: TableTrees, rowid: number | bigint, row: Value[], key: string, pending: void | Promise<void>): Promise<void> {
    await pending;
    for (let i = 0; i < def.uniques.length; i++) {
      const k = uniqueKey(def, i, row);
      if (k !== undefined) await t.uniques[i]!.put(k, [rowid]);
    }
    const indexes = def.indexes ?? [];
    for (let i = 0; i < indexes.length; i++) await putIndexEntry(t, i, indexes[i]!, row, key);
  }

  /**
   * A new definition of a table: build the trees of new UNIQUE constraints and indexes from the
   * rows (deterministic, so replay builds the same) and drop those of removed indexes.
   */
  private async alterTable(def: TableDef, lsn: Lsn): Promise<void> {
    const t = this.table(def.id);
    const old = this.def(def.id);
    this.catalog.replace(def, lsn);
    const oldIndexes = new Map((old.indexes ?? []).map((x, i) => [x.name.toLowerCase(), [t.indexes[i]!, t.indexHistory[i]!, t.indexDistinct[i]] as const]));
    const indexes: BTree[] = [];
    const indexHistory: BTree[] = [];
    const indexDistinct: Array<number[] | undefined> = [];
    const build: Array<[number, BTree, BTree]> = [];
    for (const [i, x] of (def.indexes ?? []).entries()) {
      const kept = oldIndexes.get(x.name.toLowerCase());
      oldIndexes.delete(x.name.toLowerCase());
      if (kept) {
        indexes.push(kept[0]);
        indexHistory.push(kept[1]);
        indexDistinct.push(kept[2]);
      } else {
        const tree = BTree.create(this.pages);
        const past = BTree.create(this.pages);
        indexes.push(tree);
        indexHistory.push(past);
        indexDistinct.push(emptyDistinct(x));
        build.push([i, tree, past]);
      }
    }
    for (const [tree, past] of oldIndexes.values()) {
      await tree.drop();
      await past?.drop();
    }
    const uniques = t.uniques.slice();
    const newUniques: number[] = [];
    for (let i = 0; i < def.uniques.length; i++) {
      if (i >= uniques.length) {
        uniques.push(BTree.create(this.pages));
        newUniques.push(i);
      } else if (def.uniques[i]!.length === 0 && (old.uniques[i]?.length ?? 0) > 0) {
        await uniques[i]!.drop();
        uniques[i] = BTree.create(this.pages);
      }
    }
    t.indexes = indexes;
    t.indexHistory = indexHistory;
    t.indexDistinct = indexDistinct;
    t.uniques = uniques;
    if (build.length === 0 && newUniques.length === 0) return;
    const w = def.columns.length;
    for (const [i, , past] of build) {
      for await (const [hk, rec] of t.history.scan()) {
        const key = rowKeyOf(hk);
        await past.put(indexKey(def.indexes![i]!, rec.slice(1, 1 + w), key) + hk.slice(-LSN_SUFFIX_CHARS), [key, rec[rec.length - 2]!]);
      }
    }
    for await (const [key, rec] of t.rows.scan()) {
      const row = rec.slice(1, 1 + w);
      for (const [i] of build) await putIndexEntry(t, i, def.indexes![i]!, row, key);
      for (const i of newUniques) {
        const k = uniqueKey(def, i, row);
        if (k !== undefined) await uniques[i]!.put(k, [rec[0]!]);
      }
    }
  }

  /**
   * Rows whose indexed values fall in `range` (a range of index keys) as they were at `lsn`:
   * current rows that had begun by then, and the replaced versions valid then, found through
   * the index's history. Unordered between the two parts.
   */
  async *indexScanAsOf(def: TableDef, name: string, range: KeyRange, lsn: Lsn): AsyncGenerator<Value[]> {
    const i = (def.indexes ?? []).findIndex((x) => x.name.toLowerCase() === name.toLowerCase());
    assert(i >= 0, `no index ${name}`);
    const t = this.table(def.id);
    const keys: string[] = [];
    for await (const [, v] of t.indexes[i]!.scan(range)) keys.push(v[0] as string);
    for (const key of keys) {
      const cur = await t.rows.get(key);
      if (cur && currentVisible(cur, lsn)) yield cur;
    }
    const past: Array<[string, bigint]> = [];
    for await (const [, v] of t.indexHistory[i]!.scan(range)) {
      const to = toLsn(v[1]!);
      if (to > lsn) past.push([v[0] as string, to]);
    }
    for (const [key, to] of past) {
      const rec = await t.history.get(historyKey(key, to));
      if (rec && historyBegunBy(rec, lsn)) yield historyAsCurrent(rec);
    }
  }

  /** The index tree of `name` on a table, for index scans. */
  indexTree(def: TableDef, name: string): BTree | undefined {
    const i = (def.indexes ?? []).findIndex((x) => x.name.toLowerCase() === name.toLowerCase());
    return i < 0 ? undefined : this.table(def.id).indexes[i];
  }

  /** Remove the current version and keep it in history, ended by `version`'s commit. */
  private async deleteRow(tableId: number, rowid: number | bigint, before: Value[], version: Version): Promise<void> {
    const def = this.def(tableId);
    const t = this.table(tableId);
    const key = rowKey(def, rowid, before);
    const old = await t.rows.get(key);
    if (!old) throw new DosqlError('CORRUPT', `log deletes a row of table ${def.name} that is not there`);
    await t.rows.delete(key);
    this.countRows(t, -1);
    const toLsn = BigInt(version[0]);
    if (!bornIn(old, version)) {
      await keepInHistory(t, key, old, version);
      for (const [i, index] of (def.indexes ?? []).entries()) {
        await t.indexHistory[i]!.put(historyKey(indexKey(index, before, key), toLsn), [key, version[0]]);
      }
    }
    for (let i = 0; i < def.uniques.length; i++) {
      const k = uniqueKey(def, i, before);
      if (k !== undefined) await t.uniques[i]!.delete(k);
    }
    const indexes = def.indexes ?? [];
    for (let i = 0; i < indexes.length; i++) {
      await t.indexes[i]!.delete(indexKey(indexes[i]!, before, key));
      const distinct = t.indexDistinct[i];
      if (distinct) await countDeletedPrefixes(t.indexes[i]!, indexes[i]!, before, distinct);
    }
  }

  private def(id: number): TableDef {
    const def = this.catalog.tableById(id);
    if (!def) throw new DosqlError('CORRUPT', `log refers to unknown table id ${id}`);
    return def;
  }
}


/**
 * Whether a current record was written by the commit now replacing it (a row written twice in one
 * transaction). Such a version was never visible at any LSN: history does not keep it, and must
 * not, since its key (row key + toLsn) is the one the version before the transaction got.
 */
function bornIn(current: Value[], commit: Version): boolean {
  return current[current.length - 2] === commit[0];
}

/**
 * Move a replaced current record to history, ended by `ended`'s commit: `[...current, toLsn,
 * toHlc]` under key + toLsn. Nothing when the version was born in that same commit (see bornIn).
 */
function keepInHistory(t: TableTrees, key: string, current: Value[], ended: Version): void | Promise<void> {
  if (bornIn(current, ended)) return;
  // Packed and of its exact size (see nullRow): slice-then-push would leave room for 26 values.
  const n = current.length;
  const rec = nullRow(n + 2);
  for (let i = 0; i < n; i++) rec[i] = current[i]!;
  rec[n] = ended[0];
  rec[n + 1] = ended[1];
  if (t.chunked) noteEnded(t, current[0]!);
  return t.history.put(historyKey(key, BigInt(ended[0])), rec);
}

/**
 * `[rowid, ...row, fromLsn, fromHlc]`, built with an index loop: array spread allocates and
 * iterates generically, about 5x slower, and this runs once per inserted row at commit.
 */
function storedRecord(rowid: number | bigint, row: Value[], version: Version): Value[] {
  const out = storedShell(rowid, row.length, version);
  for (let i = 0; i < row.length; i++) out[i + 1] = row[i]!;
  return out;
}

/** Bytes of a version's msgpack: two int64s of 9 bytes at most. */
const VERSION_BYTES_MAX = 18;

/**
 * Rows `from` on of an insert run as the stored records of a table keyed by rowid, for
 * BTree.appendPacked: each written as msgpack `[rowid, ...columns, version]` straight into its
 * page. The rowid's and columns' bytes are copied from what the log wrote for them when it says
 * where they are (EncodedRun); otherwise, and for a row whose bytes cannot be read back, the row
 * is read into one scratch record and written.
 */
class RunRecords implements PackedEntries {
  readonly count: number;
  private readonly record: Value[];
  /**
   * The msgpack of the version every record of the run ends with ([fromLsn, fromHlc]: one commit
   * wrote them all), and its valueBytes: encoded once, copied per row (an HLC is a bigint, whose
   * int64 check allocates).
   */
  private readonly versionBytes: Uint8Array;
  private readonly versionEstimate: number;

  constructor(
    private readonly run: InsertRun,
    private readonly from: number,
    version: Version,
    private readonly encoded: EncodedRun | undefined,
  ) {
    this.count = run.count - from;
    this.record = storedShell(0, run.width, version);
    const w = new MsgpackWriter(VERSION_BYTES_MAX);
    assert(w.value(version[0]) && w.value(version[1]), 'a version is two integers');
    this.versionBytes = w.finish();
    this.versionEstimate = valueBytes(version[0]) + valueBytes(version[1]);
  }

  keyAt(i: number): string {
    return encodeRowidKey(this.run.rowidAt(this.from + i));
  }

  writeKey(i: number, w: MsgpackWriter): number {
    return writeRowidKey(this.run.rowidAt(this.from + i), w);
  }

  writeRow(i: number, w: MsgpackWriter): number {
    const row = this.from + i;
    const e = this.encoded;
    if (e !== undefined) {
      const start = e.at[2 * row]!;
      const end = e.at[2 * row + 1]!;
      const columns = valuesBytes(e.bytes, start, end);
      if (columns >= 0) {
        const version = this.versionBytes;
        w.arrayHeader(this.run.width + 3);
        w.copy(e.bytes, start, end); // the rowid, then the columns
        w.copy(version, 0, version.length);
        return ROW_ARRAY_BYTES + columns + this.versionEstimate; // rowBytes(record), from the bytes
      }
    }
    const record = this.record;
    record[0] = this.run.rowidAt(row);
    this.run.rowInto(row, record, 1);
    return w.row(record) ? rowBytes(record) : -1;
  }
}

/** A stored record of `width` columns with its rowid and version set and its columns NULL. */
function storedShell(rowid: number | bigint, width: number, version: Version): Value[] {
  const out = nullRow(width + 3); // packed: it is read by every lookup of the row
  out[0] = rowid;
  out[width + 1] = version[0];
  out[width + 2] = version[1];
  return out;
}

/** An index entry, counted in the index's distinct prefixes (stats.ts) before it goes in. */
async function putIndexEntry(t: TableTrees, i: number, index: IndexDef, row: readonly Value[], key: string): Promise<void> {
  const distinct = t.indexDistinct[i];
  if (distinct) await countInsertedPrefixes(t.indexes[i]!, index, row, distinct);
  await t.indexes[i]!.put(indexKey(index, row, key), [key]);
}



/**
 * Rows of a key range as they were at `lsn` from the current rows and the history (scanAsOfChunks
 * has the contract): the current rows a leaf at a time, merged with the visible history versions,
 * which never share a key with a visible current row.
 */
async function* historyAndCurrentBatches(t: TableTrees, range: KeyRange, lsn: Lsn, withKeys: boolean): AsyncGenerator<EntryBatch> {
  const past = new EntryCursor(visibleHistoryBatches(t.history, range, lsn));
  const at = Number(lsn);
  for await (const chunk of t.rows.scanChunks(range)) {
    const out: EntryBatch = { keys: [], rows: [] };
    const n = chunk.keys.length;
    for (let i = 0; i < n; i++) {
      // A current row begun after `lsn` is skipped unseen: the history holds what was there.
      if (!currentVisible(chunk.rows[i]!, lsn, at)) continue;
      const key = chunk.keys[i]!;
      // Awaited only when a batch ran out: an await of a plain value costs a microtask.
      const moved = past.moveBelow(key, out, withKeys);
      if (moved !== undefined) await moved;
      if (withKeys) out.keys.push(key);
      out.rows.push(chunk.rows[i]!);
    }
    // History versions up to this chunk's last key come before every row of the chunks after it.
    if (n > 0) {
      const moved = past.moveBelow(chunk.keys[n - 1]! + HISTORY_KEY_END, out, withKeys);
      if (moved !== undefined) await moved;
    }
    if (out.rows.length) yield out;
  }
  for (let steps = 0; steps < Number.MAX_SAFE_INTEGER; steps++) {
    let k = past.peekKey();
    if (k instanceof Promise) k = await k;
    if (k === undefined) return;
    const rest: EntryBatch = { keys: [], rows: [] };
    while (k !== undefined && !(k instanceof Promise)) {
      if (withKeys) rest.keys.push(rowKeyOf(k));
      rest.rows.push(past.take());
      k = past.peekKey();
    }
    yield rest;
  }
}

/** Entry-at-a-time reading of a batched stream: `peek` awaits only when a batch runs out. */
class EntryCursor {
  private batch: EntryBatch = { keys: [], rows: [] };
  private at = 0;
  private done = false;
  /** The read of the next batch, while one is under way: peeking again must not start another. */
  private pending: Promise<string | undefined> | undefined;
  constructor(private readonly source: AsyncGenerator<EntryBatch>) {}

  /** The next entry's key; undefined at the end. */
  peekKey(): string | undefined | Promise<string | undefined> {
    if (this.at < this.batch.keys.length) return this.batch.keys[this.at];
    if (this.done) return undefined;
    this.pending ??= this.source.next().then((r) => {
      this.pending = undefined;
      this.done = r.done === true;
      this.batch = r.done ? { keys: [], rows: [] } : r.value;
      this.at = 0;
      return this.peekKey();
    });
    return this.pending;
  }

  /**
   * Moves the entries with history keys below `bound` to `out`, their row keys too when
   * `withKeys`; a promise when a batch has to be read on the way. A history key is below a row
   * key other than its own exactly when its row key is (row keys are prefix-free).
   */
  moveBelow(bound: string, out: EntryBatch, withKeys: boolean): Promise<void> | undefined {
    for (let steps = 0; steps < Number.MAX_SAFE_INTEGER; steps++) {
      const k = this.peekKey();
      if (k instanceof Promise) return k.then(() => this.moveBelow(bound, out, withKeys));
      if (k === undefined || k >= bound) return undefined;
      if (withKeys) out.keys.push(rowKeyOf(k));
      out.rows.push(this.take());
    }
    return undefined;
  }

  /** The next entry's row, after `peekKey` gave its key. */
  take(): Value[] {
    assert(this.at < this.batch.rows.length, 'take past the end of a batch');
    return this.batch.rows[this.at++]!;
  }
}


function conflict(what: string): DosqlError {
  return new DosqlError('CONFLICT', `could not commit: a concurrent transaction changed ${what}; retry the transaction`);
}


async function* mapKeys(
  rows: AsyncIterable<[string, Value[]]>,
  key: (k: string) => string,
  value: (v: Value[]) => Value[],
): AsyncGenerator<[string, Value[]]> {
  for await (const [k, v] of rows) yield [key(k), value(v)];
}

/** Merge two key-ordered streams (keys never equal across them) into one, yielding records. */
async function* mergeByKey(a: AsyncIterator<[string, Value[]]> & AsyncIterable<[string, Value[]]>, b: AsyncIterator<[string, Value[]]> & AsyncIterable<[string, Value[]]>): AsyncGenerator<[string, Value[]]> {
  let x = await a.next();
  let y = await b.next();
  while (!x.done || !y.done) {
    if (y.done || (!x.done && x.value[0] < y.value[0])) {
      yield x.value;
      x = await a.next();
    } else {
      yield y.value;
      y = await b.next();
    }
  }
}

/** A commit's [LSN, HLC] as stored in version fields (numbers when safe, else bigints). */
type Version = [number | bigint, number | bigint];


async function loadCatalog(pages: PageStore, meta: MetaRecord | undefined): Promise<CatalogState | undefined> {
  if (!meta) return undefined;
  if (meta.catalogRoot === undefined) return meta.catalog;
  const versions: CatalogState['versions'] = [];
  for await (const [, v] of BTree.open(pages, meta.catalogRoot).scan()) versions.push(unpack(v[0] as Uint8Array) as CatalogState['versions'][number]);
  return { versions, nextTableId: meta.catalog.nextTableId };
}

function encodeMeta(meta: MetaRecord): Uint8Array {
  const body = pack(meta);
  const out = new Uint8Array(4 + body.byteLength);
  new DataView(out.buffer).setUint32(0, crc32(body));
  out.set(body, 4);
  return out;
}

/** A checkpoint record, or undefined when the slot is empty or torn (its crc does not match). */
function decodeMeta(bytes: Uint8Array | undefined): MetaRecord | undefined {
  if (!bytes || bytes.byteLength < 4) return undefined;
  const body = bytes.subarray(4);
  if (new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0) !== crc32(body)) return undefined;
  return unpack(body) as MetaRecord;
}

/** The key of a row in its table's tree: its rowid, or its PRIMARY KEY values when clustered by them. */
export function rowKey(def: TableDef, rowid: number | bigint, row: readonly Value[]): string {
  if (def.primaryKey.length === 0) return encodeRowidKey(rowid);
  const values = def.primaryKey.map((i) => row[i] ?? null);
  // SQLite lets a non-INTEGER PRIMARY KEY hold NULLs, each distinct: the rowid keeps them apart.
  if (values.includes(null)) return encodeKey(values) + encodeRowidKey(rowid);
  return encodeKey(values);
}

/** The key of a row in an index tree: the indexed values, then the row key (unique per row). */
export function indexKey(index: IndexDef, row: readonly Value[], key: string): string {
  return encodeKey(index.columns.map((i) => row[i] ?? null)) + key;
}

/** The key of a row in a UNIQUE constraint's tree; undefined when a constrained value is NULL. */
export function uniqueKey(def: TableDef, constraint: number, row: readonly Value[]): string | undefined {
  const cols = def.uniques[constraint]!;
  // A dropped UNIQUE index leaves an empty slot, so later slots keep their positions.
  if (cols.length === 0) return undefined;
  const vals: Value[] = [];
  for (const i of cols) {
    const v = row[i]!;
    if (v === null) return undefined;
    vals.push(v);
  }
  return encodeKey(vals);
}
