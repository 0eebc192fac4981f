/**
 * The shapes of DoSQL's public API, shared by the embedded `Database` (query/database.ts), the
 * Durable Object host (server/) and the remote client (client/), so that both sides of the wire
 * return exactly the same results. Types only, plus the RPC contract.
 */
import type { ErrorCode } from './errors.js';
import type { IntMode, SqlValue } from './values.js';

/** Positional parameters (`?`, `?NNN`) as an array; named ones (`:a`, `@a`, `$a`) as an object. */
export type Params = readonly unknown[] | Record<string, unknown>;

export interface ExecResult {
  /** Rows inserted, updated or deleted by the last data-changing statement. */
  rowsAffected: number;
  /** Rowid of the last row inserted through this database handle (0 before any). */
  lastInsertRowid: number | bigint;
  /** LSN of the commit that made the changes durable, or the current LSN when nothing changed. */
  lsn: bigint;
}

export interface QueryResult {
  columns: string[];
  rows: SqlValue[][];
  /** LSN of the state the rows were read at. */
  lsn: bigint;
}

export type Row = Record<string, SqlValue>;

/** Per-call options, the same embedded and remote (later issues add `asOf`). */
export interface CallOptions {
  intMode?: IntMode;
  /**
   * Read the whole statement as of a past commit: `{ lsn }` (the state right after the commit at
   * that LSN) or `{ timestamp }` (Date, ISO-8601 string or Unix ms: the last commit at or before
   * it). Reads only; the result's `lsn` is the LSN read at.
   */
  asOf?: AsOf;
}

export type AsOf = { lsn: bigint | number } | { timestamp: Date | string | number };

/** An error as it crosses the wire: the client rebuilds a `DosqlError` from it. */
export interface WireError {
  code: ErrorCode;
  message: string;
  line?: number;
  column?: number;
}

/** RPC results never throw across the wire: errors come back as values with their code. */
export type WireResult<T> = { ok: true; value: T } | { ok: false; error: WireError };

/**
 * The capnweb RPC contract a database's Durable Object serves (one per database URL).
 * Ownership: arguments are copied by the RPC layer; results belong to the caller.
 * No method throws for bad input: it returns `{ ok: false, error }` (DosqlError codes), and the
 * object keeps serving.
 */
export interface DatabaseRpc {
  exec(sql: string, params?: Params, options?: CallOptions): Promise<WireResult<ExecResult>>;
  query(sql: string, params?: Params, options?: CallOptions): Promise<WireResult<QueryResult>>;
  /**
   * Begin an interactive transaction held by the server (snapshot of this moment plus its own
   * writes). The value is a capnweb stub: the server rolls the transaction back when it stays idle
   * past its timeout (later calls on it: TIMEOUT), when the stub is disposed, and when the
   * connection drops. Too many open at once: LIMIT_EXCEEDED.
   */
  begin(options?: RemoteTransactionOptions): Promise<WireResult<TransactionRpc>>;
  /** Run statements atomically, in order, in one transaction: all commit, or none. */
  batch(statements: BatchStatement[], options?: CallOptions): Promise<WireResult<BatchResult[]>>;
}

export interface RemoteTransactionOptions {
  /** SQLite's BEGIN modes, accepted for compatibility. */
  mode?: 'deferred' | 'immediate' | 'exclusive';
  /** SERIALIZABLE (default: reads validated at commit) or SNAPSHOT (first committer wins). */
  isolation?: 'serializable' | 'snapshot';
}

/** The handle `DatabaseRpc.begin` returns (a capnweb stub on the client). */
export interface TransactionRpc {
  exec(sql: string, params?: Params, options?: CallOptions): Promise<WireResult<ExecResult>>;
  query(sql: string, params?: Params, options?: CallOptions): Promise<WireResult<QueryResult>>;
  /** Validate and commit durably (CONFLICT when a concurrent commit interfered; nothing applied). */
  commit(): Promise<WireResult<{ lsn: bigint }>>;
  /** Drop the transaction. Idempotent; also succeeds after the idle timeout rolled it back. */
  rollback(): Promise<WireResult<null>>;
}

export interface BatchStatement {
  sql: string;
  params?: Params;
}

/** What one statement of a batch returns: rows (if any) and the write counts. */
export interface BatchResult extends QueryResult {
  rowsAffected: number;
  lastInsertRowid: number | bigint;
}

/** A branch as `branches()` lists it. */
export interface BranchInfoWire {
  name: string;
  /** The branch holds its parent's history up to and including the commit at this LSN. */
  forkLsn: bigint;
  /** Unix ms. */
  createdAt: number;
}

/**
 * Branches of a database served remotely (each branch is its own Durable Object, reached at
 * `/db/<name>/branch/<branch>`); offered by the DoSQL server beside `DatabaseRpc`.
 */
export interface BranchesRpc {
  branch(name: string, options?: { at?: AsOf }): Promise<WireResult<BranchInfoWire>>;
  branches(): Promise<WireResult<BranchInfoWire[]>>;
  dropBranch(name: string): Promise<WireResult<null>>;
}
