/**
 * The write-ahead log's vocabulary: what a record is, what a committed transaction looks like to
 * a log reader, and the contracts of the writer and reader.
 *
 * The log is the database. Every change (row writes and schema changes alike) is a record with
 * its own LSN; a transaction is a run of change records closed by one commit record, written
 * contiguously. Readers (materializers, CDC, time travel, the lake export) only ever receive
 * whole committed transactions, in commit order.
 */
import type { Value } from '../base/values.js';
import type { MsgpackWriter } from './msgpack.js';

/** Log sequence number: dense (no gaps) and strictly increasing per database, starting at 1. */
export type Lsn = bigint;

/**
 * Hybrid logical clock timestamp (Kulkarni et al. 2014), packed as
 * `physicalMs * 2^16 + logical`, so it sorts as one number. Physical part: Unix epoch ms.
 */
export type Hlc = bigint;

/** Column definition as stored in the catalog (and in the log). */
export interface ColumnDef {
  name: string;
  /** Declared type text as written, e.g. 'INTEGER', 'VARCHAR(10)', '' when none. */
  type: string;
  /** SQLite type affinity derived from `type`. */
  affinity: 'INTEGER' | 'REAL' | 'NUMERIC' | 'TEXT' | 'BLOB';
  notNull: boolean;
  /** SQL text of the DEFAULT expression, re-parsed when used; undefined when none. */
  defaultSql?: string;
  /** True for a single-column PRIMARY KEY or UNIQUE constraint declared on the column. */
  unique?: boolean;
}

/** A table as the catalog knows it at some LSN. */
export interface TableDef {
  /** Stable id, never reused within a database; B-trees and log records refer to it. */
  id: number;
  name: string;
  columns: ColumnDef[];
  /**
   * Index into `columns` of an INTEGER PRIMARY KEY column, which is an alias of the rowid;
   * -1 when the table has none.
   */
  rowidColumn: number;
  /**
   * Column indexes of a PRIMARY KEY that is not a rowid alias (composite or non-integer).
   * The table's rows are then ordered by these columns; empty otherwise (rows ordered by rowid).
   */
  primaryKey: number[];
  /** Column index lists of UNIQUE constraints (other than the primary key). */
  uniques: number[][];
  /** The CREATE TABLE statement as written, for `.schema` and sqlite_schema. */
  sql: string;
  /** Secondary indexes (CREATE INDEX), in creation order. */
  indexes?: IndexDef[];
  /**
   * A view: `sql` is its CREATE VIEW statement, expanded wherever the view is named; it has no
   * rows and no trees. Views share the tables' name space and catalog versions.
   */
  view?: boolean;
  /** Triggers on this table (CREATE TRIGGER), in creation order; dropped with the table. */
  triggers?: TriggerDef[];
}

export interface TriggerDef {
  /** Unique among all triggers (case-insensitive). */
  name: string;
  timing: 'BEFORE' | 'AFTER';
  event: 'INSERT' | 'UPDATE' | 'DELETE';
  /** UPDATE OF these columns (lower-cased): fires only when the UPDATE sets one of them. */
  columns?: string[];
  /** The CREATE TRIGGER statement as written; its WHEN and body are parsed from it. */
  sql: string;
}

/** A secondary index: a tree from the indexed values (then the row key) to the row key. */
export interface IndexDef {
  /** Unique among all tables' indexes (case-insensitive). */
  name: string;
  /** Indexed column indexes, in order. */
  columns: number[];
  /** A UNIQUE index; its columns are also a `uniques` entry of the table (the constraint). */
  unique: boolean;
  /** The CREATE INDEX statement as written. */
  sql: string;
}

/** One change inside a transaction. Row arrays are full rows in `TableDef.columns` order. */
export type Change =
  | { op: 'insert'; table: number; rowid: number | bigint; row: Value[] }
  | { op: 'update'; table: number; rowid: number | bigint; before: Value[]; row: Value[] }
  | { op: 'delete'; table: number; rowid: number | bigint; before: Value[] }
  | { op: 'create_table'; table: TableDef }
  | { op: 'drop_table'; table: number; name: string }
  /** A new definition of an existing table (same id): indexes added or dropped. */
  | { op: 'alter_table'; table: TableDef };

/**
 * Inserts into one table that the writer holds as a run of rows rather than as one `insert`
 * Change each: a bulk load's pending rows (query/overlay-run.ts), which would otherwise keep an
 * array and a Change per row alive until COMMIT. Applied exactly as `count` insert changes in
 * order, one LSN each, and logged as insert-run records (record.ts) that decode to those: log
 * readers only ever see the inserts.
 */
export interface InsertRun {
  op: 'insert_run';
  table: number;
  /** Rows in the run, >= 1. */
  readonly count: number;
  /** Values per row (`TableDef.columns` when the rows were written). */
  readonly width: number;
  /** Rowid of row i, 0 <= i < count. */
  rowidAt(i: number): number | bigint;
  /** Writes row i's `width` values into `out` from `offset` on; `out` stays the caller's. */
  rowInto(i: number, out: Value[], offset: number): void;
  /**
   * Writes row i as `[rowid, ...values]` with `w`, the bytes `w.row` writes for that array, without
   * making it (a run keeps its cells unboxed); false, with unspecified bytes written, when a value
   * is one `w.row` refuses. Optional: the log reads the row with `rowInto` without it.
   */
  writeRecord?(i: number, w: MsgpackWriter): boolean;
}

/** What a writer hands to the log and applies: changes, some inserts held as runs. */
export type PendingChange = Change | InsertRun;

/** A record as stored: a change or a commit, stamped with its LSN and transaction id. */
export type LogRecord =
  | { kind: 'change'; lsn: Lsn; txn: bigint; change: Change }
  | { kind: 'commit'; lsn: Lsn; txn: bigint; hlc: Hlc; changeCount: number };

/** What a log reader receives: a whole committed transaction. */
export interface CommittedTxn {
  /** Transaction id: unique per database, increasing in commit order. */
  txn: bigint;
  /** LSN of the first change record (equals commitLsn for an empty transaction). */
  firstLsn: Lsn;
  /** LSN of the commit record: the transaction's position in the database's history. */
  commitLsn: Lsn;
  /** Commit time as an HLC. */
  hlc: Hlc;
  /** The changes in the order they were made; change i has LSN firstLsn + i. */
  changes: Change[];
}

/**
 * A committed transaction as its writer applies it: its insert runs not expanded, so change i
 * is not LSN firstLsn + i. Recovery applies log-read `CommittedTxn`s through the same door.
 */
export interface AppliedTxn extends Omit<CommittedTxn, 'changes'> {
  changes: readonly PendingChange[];
  /** The log's bytes of the transaction's insert runs, by run (see EncodedRun); absent when not known. */
  encodedRuns?: ReadonlyMap<InsertRun, EncodedRun>;
}

/**
 * Where the rows of an insert run lie in the bytes the log wrote for them: row i's rowid then its
 * values, the msgpack of each (what follows the array header of the run record's row), are
 * bytes[at[2i], at[2i + 1]). Materializers that store rows as msgpack (packed B-tree leaves) copy
 * them instead of encoding the rows again.
 */
export interface EncodedRun {
  bytes: Uint8Array;
  at: Uint32Array;
}
