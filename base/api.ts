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
}
