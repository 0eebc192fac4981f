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

// --- Change data capture (replication slots; query/slots.ts, query/cdc.ts) --------------------
// The same shapes as the embedded `db.slots` and `db.subscribe`, restated here because `base/`
// may not import the engine. Values cross capnweb with their types (bigint LSNs, Uint8Array BLOBs).

export type ChangeOperationWire = 'INSERT' | 'UPDATE' | 'DELETE';

/** `db.slots.create` options (query/slots.ts `SlotOptions`). */
export interface SlotOptionsWire {
  tables?: string[];
  operations?: ChangeOperationWire[];
  columns?: string[];
  from?: 'now' | 'beginning' | { lsn: bigint | number };
  format?: 'dosql' | 'debezium';
}

/** A slot as `db.slots.list()` gives it (query/slots.ts `SlotInfo`). */
export interface SlotInfoWire {
  name: string;
  restartLsn: bigint;
  confirmedLsn: bigint;
  lagEntries: bigint;
  lagBytes: number;
  status: 'active' | 'lost';
}

/** One change (query/cdc.ts `ChangeEvent`); `id` is stable across redeliveries. */
export interface ChangeEventWire {
  id: string;
  operation: ChangeOperationWire;
  table: string;
  lsn: bigint;
  txnId: bigint;
  timestamp: string;
  hlc: bigint;
  key: Record<string, SqlValue>;
  before?: Record<string, SqlValue>;
  after?: Record<string, SqlValue>;
}

/** A change in the Debezium-style envelope (slots made with `format: 'debezium'`). */
export interface DebeziumEventWire {
  id: string;
  op: 'c' | 'u' | 'd';
  before: Record<string, SqlValue> | null;
  after: Record<string, SqlValue> | null;
  source: { lsn: string; txId: string; ts_ms: number; table: string; connector: 'dosql' };
}

/** One committed transaction's events, never split (query/cdc.ts `ChangeTransaction`). */
export interface ChangeTransactionWire {
  txnId: bigint;
  commitLsn: bigint;
  timestamp: string;
  hlc: bigint;
  eventCount: number;
  events: Array<ChangeEventWire | DebeziumEventWire>;
}

/** What `slotRead` returns (query/cdc.ts `ChangeBatch`). */
export interface ChangeBatchWire {
  transactions: ChangeTransactionWire[];
  position: bigint;
}

export interface SubscribeOptionsWire {
  /** Most events per delivered batch. */
  batchSize?: number;
  /** Most unacknowledged events delivered before the server pauses. */
  maxInFlight?: number;
}

/**
 * The client-side callback a push subscription delivers to (a capnweb function stub on the
 * server): each call carries the next batch of whole transactions in commit order, or, once, the
 * error that ended the subscription (a lost or dropped slot...). The server awaits each call.
 */
export type ChangeSinkWire = (delivery: WireResult<ChangeTransactionWire[]>) => void | Promise<void>;

/** The handle `subscribe` returns (a capnweb stub): acknowledge, or stop. */
export interface SubscriptionRpc {
  /** Acknowledge through the commit at `lsn`: moves the slot and frees in-flight room. */
  ack(lsn: bigint | number): Promise<WireResult<null>>;
  /** Stop delivering (also on disposal of the stub or a dropped connection). Idempotent. */
  cancel(): Promise<WireResult<null>>;
}

/**
 * Replication slots served remotely, beside `DatabaseRpc`. Read-only tokens may list, read,
 * acknowledge and subscribe; creating and dropping slots is FORBIDDEN to them.
 */
export interface SlotsRpc {
  slotCreate(name: string, options?: SlotOptionsWire): Promise<WireResult<SlotInfoWire>>;
  slotDrop(name: string): Promise<WireResult<null>>;
  slotList(): Promise<WireResult<SlotInfoWire[]>>;
  /** The next transactions after the confirmed position (or `after`), without moving it. */
  slotRead(name: string, options?: { max?: number; after?: bigint | number }): Promise<WireResult<ChangeBatchWire>>;
  slotAck(name: string, lsn: bigint | number): Promise<WireResult<null>>;
  /** Push delivery to `sink`; needs a WebSocket session (an HTTP batch ends with its request). */
  subscribe(name: string, options: SubscribeOptionsWire | undefined, sink: ChangeSinkWire): Promise<WireResult<SubscriptionRpc>>;
}
