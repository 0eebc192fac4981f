/**
 * The remote client: `connect(url, { token })` returns a `RemoteDatabase` with the embedded
 * `Database`'s `exec`, `query`, `all`, `get` and `close`, the same result shapes and the same
 * `DosqlError` codes, talking capnweb RPC to the database's Durable Object (base/api.ts
 * `DatabaseRpc`). It imports nothing from the engine but `base/`, and runs in Node 20, browsers
 * and Workers.
 *
 * Transports (see client/transport.ts for how each platform opens a socket):
 * - 'websocket' (the default, except in browsers): one long-lived capnweb session. Calls are
 *   pipelined on it; a statement is sent once and never retried. When the socket drops, the calls
 *   in flight reject with CONNECTION ("the call may or may not have run") and the next call opens
 *   a new socket, retrying the handshake up to `RECONNECT_ATTEMPTS_MAX` times with exponential
 *   backoff. A refused token (UNAUTHORIZED/FORBIDDEN) is never retried.
 * - 'http': capnweb HTTP batch. The calls issued in the same macrotask travel in one POST; each
 *   later call starts a new batch. Nothing is kept open, nothing is retried. In browsers this is
 *   the default, because a browser WebSocket cannot carry the `Authorization` header (with
 *   transport 'websocket' a browser sends the token as the `token` query parameter instead).
 *
 * Transactions: `begin()` / `transaction(fn)` hold a server-side transaction (a capnweb stub) in
 * the current WebSocket session; the server rolls it back when idle too long (next call: TIMEOUT)
 * or when the session drops (next call on the old handle: CONNECTION, never retried elsewhere).
 * `batch()` is one call running all statements in one server-side transaction, on either transport.
 * Change data capture: `slots.create/drop/list/read/ack` and `subscribe(slot, { batchSize,
 * maxInFlight })` (a push subscription over the WebSocket session; server/cdc.ts).
 * Branches: `connect(url, { branch })` reaches `<url>/branch/<branch>`; `branch()`, `branches()`,
 * `dropBranch()` manage them (server/branches.ts).
 *
 * Errors: the server returns `WireResult`s (it never throws for bad SQL); a `WireError` becomes a
 * `DosqlError` with the same code, message, line and column as the embedded database would throw.
 * An RPC that rejects while the connection is fine is a server bug and surfaces as ERROR.
 */
import { RpcSession, type RpcStub } from 'capnweb';
import type {
  AsOf,
  BatchResult,
  BatchStatement,
  BranchInfoWire,
  BranchesRpc,
  CallOptions,
  ChangeBatchWire,
  ChangeEventWire,
  ChangeSinkWire,
  ChangeTransactionWire,
  DebeziumEventWire,
  SlotInfoWire,
  SlotOptionsWire,
  SlotsRpc,
  SubscribeOptionsWire,
  SubscriptionRpc,
  DatabaseRpc,
  ExecResult,
  Params,
  QueryResult,
  RemoteTransactionOptions,
  Row,
  TransactionRpc,
  WireError,
  WireResult,
} from '../base/api.js';
import { DosqlError, ERROR_CODES, assert, type ErrorCode } from '../base/errors.js';
import { Fifo } from '../base/fifo.js';
import type { IntMode, SqlValue } from '../base/values.js';
import { CLOSE_CODE_NORMAL, HttpBatchTransport, SocketTransport, detectPlatform, openSocket, type Platform } from './transport.js';

export { DosqlError, isDosqlError, type ErrorCode } from '../base/errors.js';
export type { BatchResult, BatchStatement, CallOptions, ExecResult, Params, QueryResult, RemoteTransactionOptions, Row } from '../base/api.js';
export type { BranchInfoWire as BranchInfo } from '../base/api.js';
export type {
  ChangeBatchWire as ChangeBatch,
  ChangeEventWire as ChangeEvent,
  ChangeOperationWire as ChangeOperation,
  ChangeTransactionWire as ChangeTransaction,
  DebeziumEventWire as DebeziumEvent,
  SlotInfoWire as SlotInfo,
  SlotOptionsWire as SlotOptions,
  SubscribeOptionsWire as SubscribeOptions,
} from '../base/api.js';
export type { IntMode, SqlValue } from '../base/values.js';

export type Transport = 'websocket' | 'http';

export interface ConnectOptions {
  /** Bearer token sent with every request (the WebSocket handshake, or each HTTP batch). */
  token: string;
  /** How INTEGERs come back unless a call says otherwise: 'number' (default) or 'bigint'. */
  intMode?: IntMode;
  /** 'websocket' (default outside browsers, and for ws: URLs) or 'http' (batch; default in browsers). */
  transport?: Transport;
  /** Reach this branch of the database (made with `branch(name)`): `<url>/branch/<branch>`. */
  branch?: string;
}

/** Handshake attempts per call before giving up with CONNECTION. */
export const RECONNECT_ATTEMPTS_MAX = 4;
/** Wait before the second attempt; doubles after each further failure. */
export const RECONNECT_BACKOFF_BASE_MS = 100;
/** Upper bound of one backoff wait. */
export const RECONNECT_BACKOFF_MAX_MS = 2_000;
/** How long one WebSocket handshake may take. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

const URL_PATTERN = /^(https?|wss?):\/\//i;
const BRANCH_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Connect to the database at `url` (http(s) or ws(s), e.g. `http://127.0.0.1:8787/db/mydb`). No I/O until the first call. */
export function connect(url: string, options: ConnectOptions): RemoteDatabase {
  return new RemoteDatabase(url, options);
}

/** A table and its CREATE statement, as the embedded `Database.schema()` returns them. */
export interface TableSchema {
  name: string;
  sql: string;
}

/**
 * The contract plus `schema()`, which the DoSQL server offers beyond `DatabaseRpc` for shells
 * (server/rpc.ts); an older server may lack it.
 */
interface ServerRpc extends DatabaseRpc, BranchesRpc, SlotsRpc {
  schema(): Promise<WireResult<TableSchema[]>>;
}

type RpcMethod = 'exec' | 'query' | 'schema' | 'begin' | 'batch' | 'branch' | 'branches' | 'dropBranch' | 'slotCreate' | 'slotDrop' | 'slotList' | 'slotRead' | 'slotAck';

interface SocketSession {
  stub: RpcStub<ServerRpc>;
  transport: SocketTransport;
}

export class RemoteDatabase {
  /** The database URL as http(s), for HTTP batch and messages. */
  readonly url: string;
  private readonly wsUrl: string;
  private readonly token: string;
  private readonly intMode: IntMode | undefined;
  private readonly transport: Transport;
  private readonly platform: Platform;
  private closed = false;
  private session: SocketSession | undefined;
  private connecting: Promise<SocketSession> | undefined;
  private httpBatch: { stub: RpcStub<ServerRpc>; transport: HttpBatchTransport } | undefined;

  constructor(url: string, options: ConnectOptions) {
    if (typeof url !== 'string' || !URL_PATTERN.test(url)) {
      throw new DosqlError('MISUSE', `database URL must start with http://, https://, ws:// or wss://; got ${JSON.stringify(url)}`);
    }
    if (!options || typeof options.token !== 'string' || options.token === '') {
      throw new DosqlError('MISUSE', 'connect() needs options.token (the bearer token)');
    }
    if (options.transport !== undefined && options.transport !== 'websocket' && options.transport !== 'http') {
      throw new DosqlError('MISUSE', `transport must be 'websocket' or 'http'; got ${JSON.stringify(options.transport)}`);
    }
    const parsed = new URL(url);
    if (options.branch !== undefined) {
      if (typeof options.branch !== 'string' || !BRANCH_NAME.test(options.branch) || options.branch === '.' || options.branch === '..') {
        throw new DosqlError('MISUSE', `branch names are 1-64 characters of A-Z a-z 0-9 _ . -; got ${JSON.stringify(options.branch)}`);
      }
      parsed.pathname = `${parsed.pathname.replace(/\/+$/, '')}/branch/${encodeURIComponent(options.branch)}`;
    }
    const secure = parsed.protocol === 'https:' || parsed.protocol === 'wss:';
    parsed.protocol = secure ? 'https:' : 'http:';
    this.url = parsed.href;
    parsed.protocol = secure ? 'wss:' : 'ws:';
    this.wsUrl = parsed.href;
    this.token = options.token;
    this.intMode = options.intMode;
    this.platform = detectPlatform();
    const isWsUrl = /^wss?:/i.test(url);
    this.transport = options.transport ?? (isWsUrl || this.platform !== 'browser' ? 'websocket' : 'http');
  }

  /** Run one or more statements; resolves once their commit is durable on the server. */
  async exec(sql: string, params?: Params, options?: CallOptions): Promise<ExecResult> {
    const v = await this.call('exec', sql, params, options);
    return { rowsAffected: v.rowsAffected, lastInsertRowid: v.lastInsertRowid, lsn: v.lsn };
  }

  /** Run exactly one statement and return its columns and rows. */
  async query(sql: string, params?: Params, options?: CallOptions): Promise<QueryResult> {
    const v = await this.call('query', sql, params, options);
    return { columns: [...v.columns], rows: v.rows.map((r) => r.map(plainValue)), lsn: v.lsn };
  }

  async all(sql: string, params?: Params, options?: CallOptions): Promise<Row[]> {
    const r = await this.query(sql, params, options);
    return r.rows.map((row) => toObject(r.columns, row));
  }

  async get(sql: string, params?: Params, options?: CallOptions): Promise<Row | undefined> {
    const r = await this.query(sql, params, options);
    return r.rows.length ? toObject(r.columns, r.rows[0]!) : undefined;
  }

  /**
   * The tables and their CREATE statements, in creation order, like the embedded
   * `Database.schema()` (async here). Throws DosqlError ERROR when the server does not offer it.
   */
  async schema(): Promise<TableSchema[]> {
    const list = unwrap((await this.rpc('schema', [])) as WireResult<TableSchema[]>);
    return list.map((t) => ({ name: t.name, sql: t.sql }));
  }

  /**
   * Begin an interactive transaction held by the server: statements through the handle read the
   * snapshot of this moment plus their own writes; `commit()` validates and commits (CONFLICT when
   * a concurrent commit interfered), `rollback()` drops it. The server rolls it back when it stays
   * idle past its timeout (the next call throws TIMEOUT) or the connection drops (the next call
   * throws CONNECTION). Needs the 'websocket' transport: an HTTP batch ends with its request.
   */
  async begin(options: RemoteTransactionOptions = {}): Promise<RemoteTransaction> {
    if (this.transport === 'http') {
      throw new DosqlError('MISUSE', "interactive transactions need transport 'websocket' (an HTTP batch ends with its request); use batch()");
    }
    const session = await this.connected();
    const result = await this.onSession(session, session.stub, 'begin', [options]);
    const stub = unwrap(result as WireResult<TransactionRpc>) as unknown as RpcStub<TransactionRpc>;
    return new RemoteTransaction(this, session, stub);
  }

  /**
   * Run `fn` in a transaction: committed (durably) when it returns, rolled back when it throws,
   * as the embedded `db.transaction` does.
   */
  async transaction<T>(fn: (tx: RemoteTransaction) => Promise<T>, options: RemoteTransactionOptions = {}): Promise<T> {
    const tx = await this.begin(options);
    let value: T;
    try {
      value = await fn(tx);
    } catch (e) {
      await tx.rollback().catch(() => {});
      throw e;
    }
    await tx.commit();
    return value;
  }

  /** Run statements atomically, in order, in one server-side transaction: all commit, or none. */
  async batch(statements: ReadonlyArray<BatchStatement>, options?: CallOptions): Promise<BatchResult[]> {
    this.checkOpen();
    if (!Array.isArray(statements)) throw new DosqlError('MISUSE', 'batch() takes an array of { sql, params }');
    for (const st of statements) checkParams(st?.params);
    const opts = this.callOptions(options);
    const list = unwrap((await this.rpc('batch', [statements.map((st) => ({ sql: st.sql, params: st.params })), opts])) as WireResult<BatchResult[]>);
    return list.map((r) => ({
      columns: [...r.columns],
      rows: r.rows.map((row) => row.map(plainValue)),
      lsn: r.lsn,
      rowsAffected: r.rowsAffected,
      lastInsertRowid: r.lastInsertRowid,
    }));
  }

  /**
   * Make a branch of this database (each branch is its own Durable Object) sharing its history up
   * to `at` (default: now); reach it with `connect(url, { token, branch: name })`.
   */
  async branch(name: string, options: { at?: AsOf } = {}): Promise<BranchInfoWire> {
    const b = unwrap((await this.rpc('branch', [name, options])) as WireResult<BranchInfoWire>);
    return { name: b.name, forkLsn: b.forkLsn, createdAt: b.createdAt };
  }

  /** This database's branches with their fork points. */
  async branches(): Promise<BranchInfoWire[]> {
    const list = unwrap((await this.rpc('branches', [])) as WireResult<BranchInfoWire[]>);
    return list.map((b) => ({ name: b.name, forkLsn: b.forkLsn, createdAt: b.createdAt }));
  }

  /** Drop a branch and its data (refused while the branch has branches of its own). */
  async dropBranch(name: string): Promise<void> {
    unwrap((await this.rpc('dropBranch', [name])) as WireResult<null>);
  }

  /**
   * Replication slots, as the embedded `db.slots`: `create(name, options)`, `drop(name)`,
   * `list()`, `read(name, { max, after })` (does not move the slot) and `ack(name, lsn)`.
   */
  readonly slots: RemoteSlots = new RemoteSlots((method, args) => this.rpc(method, args));

  /**
   * Push delivery of a slot's changes, as the embedded `db.subscribe`: `for await (const txns of
   * sub) { ...; await sub.ack(txns.at(-1)!.commitLsn) }`. The server calls back over the WebSocket
   * session and pauses at `maxInFlight` unacknowledged events. When the connection drops, the
   * iterator throws CONNECTION (after the batches already received); subscribe again to get
   * everything after the last ack (at-least-once: deduplicate by event `id`).
   */
  subscribe(slot: string, options: SubscribeOptionsWire = {}): RemoteSubscription {
    return new RemoteSubscription(this, slot, { ...options });
  }

  /** @internal the live WebSocket session (opened when needed); MISUSE over HTTP batch. */
  async socketSession(what: string): Promise<SocketSession> {
    this.checkOpen();
    if (this.transport === 'http') {
      throw new DosqlError('MISUSE', `${what} needs transport 'websocket' (an HTTP batch ends with its request)`);
    }
    return this.connected();
  }

  /** Close the connection; calls in flight and every later call reject with CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const s = this.session;
    this.session = undefined;
    if (s) closeSession(s);
    const pending = this.connecting;
    if (pending) {
      this.connecting = undefined;
      pending.then(closeSession, () => {});
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // --- internals ------------------------------------------------------------------------------

  private async call<M extends 'exec' | 'query'>(
    method: M,
    sql: string,
    params: Params | undefined,
    options: CallOptions | undefined,
  ): Promise<M extends 'exec' ? ExecResult : QueryResult> {
    this.checkOpen();
    checkParams(params);
    const result = await this.rpc(method, [sql, params ?? undefined, this.callOptions(options)]);
    return unwrap(result as WireResult<ExecResult | QueryResult>) as M extends 'exec' ? ExecResult : QueryResult;
  }

  /** @internal the per-call options with the connection's default intMode. */
  callOptions(options: CallOptions | undefined): CallOptions {
    const opts: CallOptions = { ...options };
    if (opts.intMode === undefined && this.intMode !== undefined) opts.intMode = this.intMode;
    return opts;
  }

  /**
   * @internal one RPC on a stub of a given WebSocket session (the main stub, or a transaction's):
   * a dropped session is CONNECTION, and never reconnects (a transaction lives in its session).
   */
  async onSession(session: SocketSession, stub: RpcStub<any>, method: string, args: unknown[], lostMessage?: string): Promise<unknown> {
    this.checkOpen();
    const lost = (cause?: unknown): DosqlError =>
      new DosqlError('CONNECTION', `connection to ${this.url} lost; ${lostMessage ?? 'the call may or may not have run'} (${session.transport.failure?.message ?? 'socket closed'})`, { cause });
    if (session.transport.failure) throw lost();
    let result: unknown;
    try {
      result = await invoke(stub, method, args);
    } catch (e) {
      this.checkOpen();
      if (session.transport.failure) throw lost(e);
      throw remoteFailure(e);
    }
    this.checkOpen();
    return result;
  }

  /** One RPC on the current connection (or batch); maps transport failures to DosqlErrors. */
  private async rpc(method: RpcMethod, args: unknown[]): Promise<unknown> {
    this.checkOpen();
    let result: unknown;
    if (this.transport === 'http') {
      const batch = this.currentBatch();
      const pending = invoke(batch.stub, method, args);
      try {
        result = await pending;
      } catch (e) {
        this.checkOpen();
        if (batch.transport.failure) throw batch.transport.failure;
        throw remoteFailure(e);
      }
    } else {
      const session = await this.connected();
      const pending = invoke(session.stub, method, args);
      try {
        result = await pending;
      } catch (e) {
        this.checkOpen();
        if (session.transport.failure) {
          throw new DosqlError('CONNECTION', `connection to ${this.url} lost; the call may or may not have run (${session.transport.failure.message})`, { cause: e });
        }
        throw remoteFailure(e);
      }
    }
    this.checkOpen();
    return result;
  }

  private checkOpen(): void {
    if (this.closed) throw new DosqlError('CLOSED', `connection to ${this.url} is closed`);
  }

  private currentBatch(): { stub: RpcStub<ServerRpc>; transport: HttpBatchTransport } {
    if (!this.httpBatch || this.httpBatch.transport.sent) {
      const transport = new HttpBatchTransport(this.url, this.token);
      const stub = new RpcSession<ServerRpc>(transport).getRemoteMain();
      this.httpBatch = { stub, transport };
    }
    return this.httpBatch;
  }

  /** The live WebSocket session, opening one (with bounded retries) when there is none. */
  private connected(): Promise<SocketSession> {
    if (this.session && !this.session.transport.failure) return Promise.resolve(this.session);
    this.session = undefined;
    if (!this.connecting) {
      const attempt = this.openWithRetries();
      this.connecting = attempt;
      attempt.then(
        (s) => {
          if (this.connecting !== attempt) return; // closed meanwhile
          this.connecting = undefined;
          this.session = s;
        },
        () => {
          if (this.connecting === attempt) this.connecting = undefined;
        },
      );
    }
    return this.connecting!.then((s) => {
      this.checkOpen();
      return s;
    });
  }

  private async openWithRetries(): Promise<SocketSession> {
    let lastError: DosqlError | undefined;
    for (let attempt = 0; attempt < RECONNECT_ATTEMPTS_MAX; attempt++) {
      if (attempt > 0) await sleep(Math.min(RECONNECT_BACKOFF_BASE_MS * 2 ** (attempt - 1), RECONNECT_BACKOFF_MAX_MS));
      this.checkOpen();
      try {
        const socket = await openSocket(this.wsUrl, this.token, this.platform, HANDSHAKE_TIMEOUT_MS);
        const transport = new SocketTransport(socket, () => {
          if (this.session?.transport === transport) this.session = undefined;
        });
        const stub = new RpcSession<ServerRpc>(transport).getRemoteMain();
        return { stub, transport };
      } catch (e) {
        const err = e instanceof DosqlError ? e : new DosqlError('CONNECTION', `cannot reach ${this.url}: ${(e as Error).message}`, { cause: e });
        if (err.code !== 'CONNECTION') throw err; // a refused token will not get better by retrying
        lastError = err;
      }
    }
    assert(lastError, 'a failed connection attempt leaves its error');
    throw new DosqlError('CONNECTION', `${lastError.message} (gave up after ${RECONNECT_ATTEMPTS_MAX} attempts)`, { cause: lastError });
  }
}

/**
 * An interactive transaction held by the server (`RemoteDatabase.begin`). Its calls run on the
 * WebSocket session it began on: once that drops, the server has rolled it back and every call
 * throws CONNECTION. After commit or rollback, calls throw MISUSE, as embedded.
 */
export class RemoteTransaction {
  private finished = false;

  constructor(
    private readonly db: RemoteDatabase,
    private readonly session: SocketSession,
    private readonly stub: RpcStub<TransactionRpc>,
  ) {}

  /** Whether commit or rollback has ended this transaction (on this side). */
  get ended(): boolean {
    return this.finished;
  }

  async exec(sql: string, params?: Params, options?: CallOptions): Promise<ExecResult> {
    const v = (await this.call('exec', sql, params, options)) as ExecResult;
    return { rowsAffected: v.rowsAffected, lastInsertRowid: v.lastInsertRowid, lsn: v.lsn };
  }

  async query(sql: string, params?: Params, options?: CallOptions): Promise<QueryResult> {
    const v = (await this.call('query', sql, params, options)) as QueryResult;
    return { columns: [...v.columns], rows: v.rows.map((r) => r.map(plainValue)), lsn: v.lsn };
  }

  async all(sql: string, params?: Params, options?: CallOptions): Promise<Row[]> {
    const r = await this.query(sql, params, options);
    return r.rows.map((row) => toObject(r.columns, row));
  }

  async get(sql: string, params?: Params, options?: CallOptions): Promise<Row | undefined> {
    const r = await this.query(sql, params, options);
    return r.rows.length ? toObject(r.columns, r.rows[0]!) : undefined;
  }

  /** Validate and commit durably; CONFLICT (nothing applied) when a concurrent commit interfered. */
  async commit(): Promise<{ lsn: bigint }> {
    this.check();
    this.finished = true;
    try {
      const v = unwrap((await this.db.onSession(this.session, this.stub, 'commit', [], LOST_IN_COMMIT)) as WireResult<{ lsn: bigint }>);
      return { lsn: v.lsn };
    } finally {
      this.release();
    }
  }

  /** Drop everything this transaction did. Idempotent; a dropped connection already rolled it back. */
  async rollback(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    try {
      if (!this.session.transport.failure) unwrap((await this.db.onSession(this.session, this.stub, 'rollback', [])) as WireResult<null>);
    } finally {
      this.release();
    }
  }

  private async call(method: 'exec' | 'query', sql: string, params: Params | undefined, options: CallOptions | undefined): Promise<unknown> {
    this.check();
    checkParams(params);
    const r = await this.db.onSession(this.session, this.stub, method, [sql, params ?? undefined, this.db.callOptions(options)], LOST_IN_TRANSACTION);
    return unwrap(r as WireResult<unknown>);
  }

  private check(): void {
    if (this.finished) throw new DosqlError('MISUSE', 'the transaction has ended');
  }

  /** Release the server-side handle (the server rolls back whatever is still open). */
  private release(): void {
    try {
      (this.stub as unknown as Disposable)[Symbol.dispose]();
    } catch {
      // the session is gone
    }
  }
}

/** `RemoteDatabase.slots`: the embedded `db.slots` API over RPC (either transport). */
export class RemoteSlots {
  constructor(private readonly rpc: (method: RpcMethod, args: unknown[]) => Promise<unknown>) {}

  async create(name: string, options: SlotOptionsWire = {}): Promise<SlotInfoWire> {
    return slotInfo(unwrap((await this.rpc('slotCreate', [name, options])) as WireResult<SlotInfoWire>));
  }

  async drop(name: string): Promise<void> {
    unwrap((await this.rpc('slotDrop', [name])) as WireResult<null>);
  }

  async list(): Promise<SlotInfoWire[]> {
    return unwrap((await this.rpc('slotList', [])) as WireResult<SlotInfoWire[]>).map(slotInfo);
  }

  /** The next transactions after the slot's confirmed position (or `after`), without moving it. */
  async read(name: string, options: { max?: number; after?: bigint } = {}): Promise<ChangeBatchWire> {
    const b = unwrap((await this.rpc('slotRead', [name, options])) as WireResult<ChangeBatchWire>);
    return { transactions: b.transactions.map(plainTransaction), position: b.position };
  }

  /** Acknowledge everything up to and including the commit at `lsn`. */
  async ack(name: string, lsn: bigint | number): Promise<void> {
    unwrap((await this.rpc('slotAck', [name, lsn])) as WireResult<null>);
  }
}

/** Batches (and at most one final error) received but not yet taken by the iterator. */
export const SUBSCRIPTION_QUEUE_BATCHES_MAX = 10_001;

/**
 * A push subscription held by the server (`RemoteDatabase.subscribe`), with the embedded
 * `Subscription`'s shape: an async iterator of arrays of whole transactions plus `ack(lsn)`.
 * It subscribes on the first `next()`. The server awaits each delivery, and stops at
 * `maxInFlight` unacknowledged events, so the queue here stays bounded.
 */
export class RemoteSubscription implements AsyncIterableIterator<ChangeTransactionWire[]> {
  private readonly queue = new Fifo<WireResult<ChangeTransactionWire[]>>();
  private waiter: (() => void) | undefined;
  private starting: Promise<{ session: SocketSession; handle: RpcStub<SubscriptionRpc> }> | undefined;
  private failure: DosqlError | undefined;
  private ended = false;

  constructor(
    private readonly db: RemoteDatabase,
    readonly slot: string,
    private readonly options: SubscribeOptionsWire,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<ChangeTransactionWire[]>> {
    await this.started();
    for (let waits = 0; waits < Number.MAX_SAFE_INTEGER; waits++) {
      if (this.ended) return { done: true, value: undefined };
      const item = this.queue.shift();
      if (item) {
        if (item.ok) return { done: false, value: item.value.map(plainTransaction) };
        this.finish();
        throw fromWireError(item.error);
      }
      if (this.failure) {
        this.finish();
        throw this.failure;
      }
      await new Promise<void>((r) => (this.waiter = r));
    }
    return { done: true, value: undefined };
  }

  /** Acknowledge everything up to and including the commit at `lsn`: moves the slot, frees in-flight room. */
  async ack(lsn: bigint | number): Promise<void> {
    const { session, handle } = await this.started();
    unwrap((await this.db.onSession(session, handle, 'ack', [lsn], 'the acknowledgement may or may not have been stored')) as WireResult<null>);
  }

  /** Stop the subscription (a `break` out of `for await` calls this). */
  async return(): Promise<IteratorResult<ChangeTransactionWire[]>> {
    this.finish();
    const s = this.starting;
    if (s) {
      s.then(({ handle }) => {
        try {
          handle[Symbol.dispose]();
        } catch {
          // the session is gone, and the server stopped with it
        }
      }, () => {});
    }
    return { done: true, value: undefined };
  }

  private started(): Promise<{ session: SocketSession; handle: RpcStub<SubscriptionRpc> }> {
    this.starting ??= (async () => {
      const session = await this.db.socketSession('subscribe()');
      const sink: ChangeSinkWire = (delivery) => this.deliver(delivery);
      const r = await this.db.onSession(session, session.stub, 'subscribe', [this.slot, this.options, sink]);
      const handle = unwrap(r as WireResult<SubscriptionRpc>) as unknown as RpcStub<SubscriptionRpc>;
      handle.onRpcBroken((e: unknown) => {
        const why = session.transport.failure?.message ?? (e instanceof Error ? e.message : 'connection broken');
        this.fail(new DosqlError('CONNECTION', `connection to ${this.db.url} lost; subscribe again to resume after the last acknowledged commit (${why})`));
      });
      return { session, handle };
    })();
    return this.starting;
  }

  private deliver(delivery: WireResult<ChangeTransactionWire[]>): void {
    if (this.ended) return;
    if (this.queue.length >= SUBSCRIPTION_QUEUE_BATCHES_MAX) {
      this.fail(new DosqlError('ERROR', `more than ${SUBSCRIPTION_QUEUE_BATCHES_MAX} undelivered batches: the server ignored maxInFlight`));
      return;
    }
    this.queue.push(delivery);
    this.wake();
  }

  private fail(e: DosqlError): void {
    this.failure ??= e;
    this.wake();
  }

  private finish(): void {
    this.ended = true;
    this.queue.clear();
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}

function slotInfo(s: SlotInfoWire): SlotInfoWire {
  return { name: s.name, restartLsn: s.restartLsn, confirmedLsn: s.confirmedLsn, lagEntries: s.lagEntries, lagBytes: s.lagBytes, status: s.status };
}

/** A transaction as the embedded API gives it: BLOBs as plain Uint8Arrays. */
function plainTransaction(t: ChangeTransactionWire): ChangeTransactionWire {
  return { txnId: t.txnId, commitLsn: t.commitLsn, timestamp: t.timestamp, hlc: t.hlc, eventCount: t.eventCount, events: t.events.map(plainEvent) };
}

function plainEvent(e: ChangeEventWire | DebeziumEventWire): ChangeEventWire | DebeziumEventWire {
  if ('op' in e) return { ...e, before: plainRow(e.before), after: plainRow(e.after), source: { ...e.source } };
  const out: ChangeEventWire = { ...e, key: plainRow(e.key)! };
  if (e.before) out.before = plainRow(e.before)!;
  if (e.after) out.after = plainRow(e.after)!;
  return out;
}

function plainRow(row: Record<string, SqlValue> | null): Record<string, SqlValue> | null {
  if (row === null) return null;
  const out: Record<string, SqlValue> = {};
  for (const [k, v] of Object.entries(row)) out[k] = plainValue(v);
  return out;
}

const LOST_IN_TRANSACTION = 'the server rolled the transaction back';
const LOST_IN_COMMIT = 'the commit may or may not have happened';

/** Start the RPC; a value capnweb cannot send (a class instance, a symbol) is the caller's MISMATCH. */
function invoke(stub: RpcStub<any>, method: string, args: unknown[]): Promise<unknown> {
  try {
    const f = (stub as Record<string, unknown>)[method] as (...a: unknown[]) => PromiseLike<unknown>;
    return Promise.resolve(f(...args));
  } catch (e) {
    return Promise.reject(new DosqlError('MISMATCH', `a parameter cannot be sent to the server: ${(e as Error).message}`, { cause: e }));
  }
}

/**
 * Functions would travel as callable stubs (the server could call back into the client): refuse
 * them here with the embedded database's MISMATCH message instead.
 */
function checkParams(params: Params | undefined): void {
  if (params === null || typeof params !== 'object') return;
  const entries = Array.isArray(params) ? params.map((v, i) => [String(i + 1), v] as const) : Object.entries(params);
  for (const [name, v] of entries) {
    if (typeof v === 'function' || typeof v === 'symbol') {
      throw new DosqlError('MISMATCH', `parameter ${name} has a type that cannot be bound (${typeof v})`);
    }
  }
}

function closeSession(s: SocketSession): void {
  try {
    s.transport.socket.close(CLOSE_CODE_NORMAL, 'client closed');
  } catch {
    // already closed
  }
}

/** A rejected RPC on a healthy connection: the server threw instead of returning a WireResult. */
function remoteFailure(e: unknown): DosqlError {
  if (e instanceof DosqlError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof TypeError && /serializ|cannot be (passed|sent)|not.*supported/i.test(message)) {
    return new DosqlError('MISMATCH', `a parameter cannot be sent to the server: ${message}`, { cause: e });
  }
  return new DosqlError('ERROR', `server failed: ${message}`, { cause: e });
}

const POSITION_SUFFIX = /\s\(line \d+, column \d+\)$/;

/** Rebuild the DosqlError the server's database threw, with the same code, message and position. */
export function fromWireError(w: WireError): DosqlError {
  const code: ErrorCode = (ERROR_CODES as readonly string[]).includes(w?.code) ? w.code : 'ERROR';
  const message = typeof w?.message === 'string' ? w.message : 'unknown server error';
  if (typeof w.line === 'number' && typeof w.column === 'number') {
    // The embedded DosqlError appends the position to its message; keep exactly one copy.
    return new DosqlError(code, message.replace(POSITION_SUFFIX, ''), { position: { line: w.line, column: w.column, offset: 0 } });
  }
  return new DosqlError(code, message);
}

function unwrap<T>(r: WireResult<T>): T {
  if (r && typeof r === 'object' && 'ok' in r) {
    if (r.ok) return r.value;
    throw fromWireError(r.error);
  }
  throw new DosqlError('ERROR', 'server answered with something that is not a WireResult');
}

/** BLOBs arrive as whatever the platform decodes bytes into (a Buffer in Node): hand out a plain Uint8Array like the embedded database. */
function plainValue(v: SqlValue): SqlValue {
  return v instanceof Uint8Array && v.constructor !== Uint8Array ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : v;
}

function toObject(columns: string[], row: SqlValue[]): Row {
  const o: Row = {};
  for (let i = 0; i < columns.length; i++) o[columns[i]!] = row[i]!;
  return o;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
