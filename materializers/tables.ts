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
 * Persistence. All trees share one PageStore (copy-on-write pages, see btree/). A checkpoint
 * flushes the dirty pages and then writes one meta record holding the roots, the catalog, the
 * largest rowid per table and `appliedLsn`; the meta write is the atomic commit point. Meta
 * records alternate between two checksummed slots; opening takes the newest valid one.
 */
import { DosqlError, assert } from '../base/errors.js';
import { pack, unpack } from '../base/codec.js';
import type { Value } from '../base/values.js';
import type { ByteStore } from '../storage/types.js';
import { crc32 } from '../storage/crc32.js';
import type { Change, CommittedTxn, Lsn, TableDef } from '../log/types.js';
import { BTree, PageStore, encodeKey, encodeRowidKey } from './btree/index.js';
import { Catalog, type CatalogState } from './catalog.js';
import type { Materializer } from './types.js';

/**
 * Store keys of the two checkpoint slots. Checkpoints alternate between them and each record
 * carries a crc32, so a torn checkpoint write leaves the previous checkpoint readable (the page
 * store deletes pages only after a meta is durable).
 */
const META_KEYS = ['tbl-meta-0', 'tbl-meta-1'] as const;
/** Prefix of page keys. */
const PAGE_PREFIX = 'tbl/';

export interface TableStoreOptions {
  /** Byte budget of the decoded-page cache (estimated bytes). */
  cacheBytesMax?: number;
}

/** Per-table physical state: its trees and the rowid high-water mark. */
export interface TableTrees {
  rows: BTree;
  /** One tree per `TableDef.uniques` entry, same order. */
  uniques: BTree[];
  /** Largest rowid ever stored (SQLite picks max + 1 for the next insert); 0 when empty. */
  maxRowid: number | bigint;
}

interface MetaRecord {
  appliedLsn: bigint;
  /** The page store's id counter at the checkpoint: ids at or above it are orphans. */
  nextPageId: number;
  catalog: CatalogState;
  tables: Array<{ id: number; root: number; uniques: number[]; maxRowid: number | bigint }>;
}

export class TableStore implements Materializer {
  readonly name = 'tables';
  appliedLsn: Lsn;
  checkpointLsn: Lsn;
  readonly catalog: Catalog;
  private readonly trees = new Map<number, TableTrees>();

  /** Slot the next checkpoint writes: the one not holding the current checkpoint. */
  private nextSlot: number;

  private constructor(
    private readonly pages: PageStore,
    meta: MetaRecord | undefined,
    currentSlot: number,
  ) {
    this.nextSlot = 1 - currentSlot;
    this.appliedLsn = meta?.appliedLsn ?? 0n;
    this.checkpointLsn = this.appliedLsn;
    this.catalog = new Catalog(meta?.catalog);
    for (const t of meta?.tables ?? []) {
      this.trees.set(t.id, {
        rows: BTree.open(pages, t.root),
        uniques: t.uniques.map((r) => BTree.open(pages, r)),
        maxRowid: t.maxRowid,
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
    return new TableStore(pages, meta, slot);
  }

  /** The trees of a current table; throws if the table has none (a bug, not user input). */
  table(id: number): TableTrees {
    const t = this.trees.get(id);
    assert(t !== undefined, `no trees for table ${id}`);
    return t;
  }

  async apply(txn: CommittedTxn): Promise<void> {
    if (txn.commitLsn <= this.appliedLsn) return;
    for (const change of txn.changes) {
      // Inserts into cached pages complete synchronously; await only what needs I/O.
      const pending = change.op === 'insert' ? this.putRow(change.table, change.rowid, change.row) : this.applyChange(change, txn.commitLsn);
      if (pending) await pending;
    }
    this.appliedLsn = txn.commitLsn;
  }

  async checkpoint(): Promise<void> {
    if (this.appliedLsn === this.checkpointLsn) return;
    const meta: MetaRecord = {
      appliedLsn: this.appliedLsn,
      nextPageId: this.pages.nextPageId,
      catalog: this.catalog.state(),
      tables: [...this.trees].map(([id, t]) => ({
        id,
        root: t.rows.rootId,
        uniques: t.uniques.map((u) => u.rootId),
        maxRowid: t.maxRowid,
      })),
    };
    await this.pages.flush(encodeMeta(meta), META_KEYS[this.nextSlot]!);
    this.nextSlot = 1 - this.nextSlot;
    this.checkpointLsn = this.appliedLsn;
  }

  private async applyChange(c: Change, lsn: Lsn): Promise<void> {
    switch (c.op) {
      case 'create_table':
        this.catalog.create(c.table, lsn);
        this.trees.set(c.table.id, {
          rows: BTree.create(this.pages),
          uniques: c.table.uniques.map(() => BTree.create(this.pages)),
          maxRowid: 0,
        });
        return;
      case 'drop_table': {
        const t = this.table(c.table);
        await t.rows.drop();
        for (const u of t.uniques) await u.drop();
        this.trees.delete(c.table);
        this.catalog.drop(c.table, lsn);
        return;
      }
      case 'insert':
        return this.putRow(c.table, c.rowid, c.row);
      case 'delete':
        return this.deleteRow(c.table, c.rowid, c.before);
      case 'update':
        await this.deleteRow(c.table, c.rowid, c.before);
        return this.putRow(c.table, c.rowid, c.row);
    }
  }

  private putRow(tableId: number, rowid: number | bigint, row: Value[]): void | Promise<void> {
    const def = this.def(tableId);
    const t = this.table(tableId);
    if (rowid > t.maxRowid) t.maxRowid = rowid;
    const stored = [rowid, ...row];
    const pending = t.rows.put(rowKey(def, rowid, row), stored);
    if (pending || def.uniques.length) return this.putUniques(def, t, rowid, row, pending);
  }

  private async putUniques(def: TableDef, t: TableTrees, rowid: number | bigint, row: Value[], pending: void | Promise<void>): Promise<void> {
    await pending;
    for (let i = 0; i < def.uniques.length; i++) {
      const k = uniqueKey(def, i, row);
      if (k !== undefined) await t.uniques[i]!.put(k, [rowid]);
    }
  }

  private async deleteRow(tableId: number, rowid: number | bigint, before: Value[]): Promise<void> {
    const def = this.def(tableId);
    const t = this.table(tableId);
    const found = await t.rows.delete(rowKey(def, rowid, before));
    if (!found) throw new DosqlError('CORRUPT', `log deletes a row of table ${def.name} that is not there`);
    for (let i = 0; i < def.uniques.length; i++) {
      const k = uniqueKey(def, i, before);
      if (k !== undefined) await t.uniques[i]!.delete(k);
    }
  }

  private def(id: number): TableDef {
    const def = this.catalog.tableById(id);
    if (!def) throw new DosqlError('CORRUPT', `log refers to unknown table id ${id}`);
    return def;
  }
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
  return encodeKey(def.primaryKey.map((i) => row[i]!));
}

/** The key of a row in a UNIQUE constraint's tree; undefined when a constrained value is NULL. */
export function uniqueKey(def: TableDef, constraint: number, row: readonly Value[]): string | undefined {
  const cols = def.uniques[constraint]!;
  const vals: Value[] = [];
  for (const i of cols) {
    const v = row[i]!;
    if (v === null) return undefined;
    vals.push(v);
  }
  return encodeKey(vals);
}
