/**
 * The embedded API: `Database`.
 *
 * A statement's path through the layers:
 * 1. `exec`/`query` take the database's statement lock (statements run one at a time, as on one
 *    SQLite connection), find the parsed statements in the cache or parse them (query/parser.ts),
 *    and compile each to a plan (select.ts, dml.ts, ddl.ts; cached per catalog version).
 * 2. A write runs against a transaction (txn.ts): the explicit one after BEGIN, or a fresh one per
 *    statement in autocommit. It collects `Change`s and an overlay its own reads see; the
 *    committed B-trees are untouched.
 * 3. COMMIT appends the changes to the log (log/log.ts), which assigns LSNs and an HLC at once and
 *    makes them durable by group commit; the committed transaction is applied to the table
 *    materializer through the same `apply` that recovery replays.
 * 4. The lock is released before waiting for durability, so concurrent commits share one store
 *    write; `exec` resolves only once its commit is durable. A read that could see a commit that is
 *    not durable yet waits for it too, so nothing a caller has seen can be lost in a crash.
 *
 * Fast paths: a cached plan that can run without promises (a point SELECT, a one-row INSERT, an
 * UPDATE or DELETE by key; `runSync`) skips the async layering of steps 1-2 when nothing else is
 * running and its pages are cached: it takes the lock, runs, and releases it in one synchronous
 * step, or declines (NEEDS_ASYNC, nothing changed) and the statement takes the path above. An
 * autocommit write still commits through step 3, holding the lock until it is applied.
 * `runMany` runs one prepared statement for many parameter sets under one hold of the lock, each
 * run on the same synchronous plan when it can, so a bulk load pays for the async layering once.
 *
 * Opening replays the log from the materializer's checkpoint; checkpoints are taken once enough
 * changes have accumulated, and on close.
 */
import type { AsOf, CallOptions, ExecResult, Params, QueryResult } from '../base/api.js';
import { DosqlError, assert, type ErrorCode } from '../base/errors.js';
import { Fifo } from '../base/fifo.js';
import { fromParam, nullRow, toSqlValue, type IntMode, type SqlValue, type Value } from '../base/values.js';
import { MemoryStore } from '../storage/memory.js';
import type { ByteStore } from '../storage/types.js';
import { Log } from '../log/log.js';
import type { AppliedTxn, CommittedTxn, Lsn } from '../log/types.js';
import { TableStore } from '../materializers/tables.js';
import type { ExplainStmt, ParsedStatement, PragmaStmt, Statement } from './ast.js';
import { alterTable, createIndex, createTable, createTrigger, createView, dropTable } from './ddl.js';
import { compileDelete, compileInsert, compileUpdate, type DmlPlan, type DmlResult, type DmlRun } from './dml.js';
import { positionAt } from './lexer.js';
import { parse } from './parser.js';
import type { Env } from './scope.js';
import { ExplainLog, NEEDS_ASYNC, compileSelect, type PlanContext, type SelectPlan, type SelectRun } from './select.js';
import { Txn } from './txn.js';
import { Slots } from './slots.js';
import type { TriggerHost } from './triggers.js';
import type { Scope } from './scope.js';
import { SUBSCRIPTION_BATCH_EVENTS_DEFAULT, SUBSCRIPTION_IN_FLIGHT_EVENTS_DEFAULT, Subscription } from './cdc.js';
import { lsnValue, timestampMs } from './temporal.js';
import { checkBranchName, forgetBranch, listBranches, openFork, prepareFork, recordBranch, type BranchInfo } from './branches.js';


export interface OpenOptions {
  /** Folder for durable Node file storage; omitted (and no `storage`) means in memory. */
  path?: string;
  /** Any byte-store backend; takes precedence over `path`. The caller keeps ownership: `close` leaves it open. */
  storage?: ByteStore;
  /** How INTEGERs come back: 'number' (default; bigint only beyond 2^53) or always 'bigint'. */
  intMode?: IntMode;
  /** Wall clock in Unix ms for commit timestamps (HLC); injectable for tests. */
  clock?: () => number;
  /** Byte budget of the B-tree page cache. */
  cacheBytesMax?: number;
  /** Changes applied since the last checkpoint that trigger the next one. */
  checkpointChangesMin?: number;
  /**
   * How far back time-travel reads may go: the last `lsns` log entries and/or the last `ageMs`
   * milliseconds (the stricter wins). Reads before the window fail with RANGE naming the oldest
   * readable LSN and time. Default: the whole history.
   */
  retention?: RetentionOptions;
  /** A replication slot further behind than this many bytes of log is marked lost. */
  maxSlotLagBytes?: number;
  /** Open this branch of the database at `path` (made earlier with `db.branch(name)`). */
  branch?: string;
  /** With `storage`: close it when the database closes (default: the caller keeps it open). */
  closeStorage?: boolean;
  /** Folder holding this database's branches' stores; defaults to `<path>/branches`. */
  branchDir?: string;
  /**
   * Rows a hash join may hold per statement run (default HASH_JOIN_ROWS_MAX); past it the join
   * scans its inner table per outer row instead, slower but in bounded memory.
   */
  hashJoinRowsMax?: number;
  /**
   * Bound on one transaction's pending changes, in estimated encoded bytes (default
   * TRANSACTION_BYTES_MAX, 256 MiB): a statement that would pass it fails with LIMIT_EXCEEDED and
   * rolls back, and the transaction keeps what it had. Transactions live in memory until COMMIT.
   */
  transactionBytesMax?: number;
}

export interface RetentionOptions {
  /** Keep this many most recent LSNs readable. */
  lsns?: number;
  /** Keep the states of the last this-many milliseconds readable. */
  ageMs?: number;
}

/** Statements kept parsed and compiled; keyed by SQL text. */
export const STATEMENT_CACHE_ENTRIES_MAX = 512;
/** Most savepoints open at once. */
export const SAVEPOINTS_MAX = 1000;
/** Default number of changes between checkpoints. */
export const CHECKPOINT_CHANGES_DEFAULT = 100_000;

/**
 * Where statements run. The connection's session is SQLite's one-connection model (BEGIN through
 * exec opens a transaction every caller joins); each db.transaction has its own, `fixed`: its
 * transaction is opened and ended by the callback, never by SQL.
 */
export interface Session {
  txn: Txn | undefined;
  fixed: boolean;
}

/** A result in the engine's values (see Database.queryResult for what users get). */
interface RawResult {
  columns: string[];
  rows: Value[][];
  lsn: bigint;
}

interface StatementOutcome {
  columns?: string[];
  rows?: Value[][];
  rowsAffected?: number;
  /** Resolves when the statement's commit is durable; awaited after the lock is released. */
  durable?: Promise<void>;
}

/** @internal what the database needs of a PreparedStatement: its text and parsed statements. */
export interface PreparedHandle {
  readonly sql: string;
  parsed: CachedStatement[] | undefined;
}

/** @internal a parsed statement with its compiled plan; a PreparedStatement keeps its own. */
export interface CachedStatement {
  parsed: ParsedStatement;
  sql: string;
  plan?: { catalogVersion: number; statsVersion: number; plan: SelectPlan | DmlPlan };
  /** The Env its synchronous runs reuse (see Database.syncEnv). */
  syncEnv?: Env;
}

export type { CallOptions, ExecResult, Params, QueryResult };


export class Database {
  /** LSN bound of the retention window by age (see refreshRetention). */
  private retentionAgeLsn = 0n;
  /** Unix ms the age bound was computed for, for error messages. */
  private retentionFloorMs: number | undefined;
  /** Own stores of in-memory branches, kept while this database lives. */
  private readonly memoryBranches = new Map<string, ByteStore>();
  /** The connection's own session: BEGIN ... COMMIT through exec, shared by every caller. */
  private readonly conn: Session = { txn: undefined, fixed: false };
  private busy = false;
  private readonly waiters = new Fifo<() => void>();
  /** Autocommit reads share one transaction: they never write to its overlay. */
  private readonly readTxn: Txn;
  private readonly cache = new Map<string, CachedStatement[]>();
  private lastInsertRowid: number | bigint = 0;
  /** PRAGMA foreign_keys: off by default, as in SQLite; per connection, not persisted. */
  private foreignKeys = false;
  /** Rowid maxima the last commit left, valid while the applied LSN is still `lsn` (see connTxn). */
  private carriedMax: { lsn: bigint; max: ReadonlyMap<number, number | bigint | null> } | undefined;
  private changesSinceCheckpoint = 0;
  /**
   * Set by a commit that crossed the checkpoint threshold, to its durability: the checkpoint runs
   * under the lock as soon as the committing statement lets go of it (see unlock).
   */
  private checkpointDue: Promise<void> | undefined;
  private closed = false;
  /** Set when a commit could not be applied: the in-memory state is unknown; reopen to recover. */
  private failure: DosqlError | undefined;

  private constructor(
    private readonly store: ByteStore,
    private readonly log: Log,
    private readonly tables: TableStore,
    private readonly options: OpenOptions,
    /** Whether `close` closes the store: only when the database opened it itself. */
    private readonly ownsStore: boolean,
  ) {
    this.readTxn = new Txn(tables, { bytesMax: options.transactionBytesMax });
    const db = this;
    this.slots = new Slots({
      store,
      log,
      tables,
      maxSlotLagBytes: options.maxSlotLagBytes,
      nextCommit: () => this.commitSignal.promise,
      get closed() {
        return db.closed;
      },
    });
  }

  /** Replication slots: durable positions of change-data-capture consumers. */
  readonly slots: Slots;
  /** Resolved (and replaced) whenever a commit becomes durable; subscriptions wait on it. */
  private commitSignal = signal();

  /**
   * Push delivery of a slot's changes: `for await (const txns of db.subscribe('sink')) { ...;
   * await sub.ack(txns.at(-1).commitLsn) }`. At-least-once from the slot's confirmed position;
   * pauses at `maxInFlight` unacknowledged events.
   */
  subscribe(slot: string, options: { batchSize?: number; maxInFlight?: number } = {}): Subscription {
    return new Subscription(this.slots, slot, options.batchSize ?? SUBSCRIPTION_BATCH_EVENTS_DEFAULT, options.maxInFlight ?? SUBSCRIPTION_IN_FLIGHT_EVENTS_DEFAULT);
  }

  private notifyCommit(): void {
    const done = this.commitSignal;
    this.commitSignal = signal();
    done.resolve();
  }

  static async open(options: OpenOptions = {}): Promise<Database> {
    const rowsMax = options.hashJoinRowsMax;
    if (rowsMax !== undefined && !(Number.isSafeInteger(rowsMax) && rowsMax >= 0)) {
      throw new DosqlError('MISUSE', `hashJoinRowsMax must be a non-negative integer; got ${String(rowsMax)}`);
    }
    const bytesMax = options.transactionBytesMax;
    if (bytesMax !== undefined && !(Number.isSafeInteger(bytesMax) && bytesMax >= 1)) {
      throw new DosqlError('MISUSE', `transactionBytesMax must be a positive integer; got ${String(bytesMax)}`);
    }
    if (options.branch !== undefined) return Database.openBranchAt(options);
    const store = options.storage ?? (options.path ? await openFileStore(options.path) : new MemoryStore());
    const log = await Log.open(store, { clock: options.clock });
    const tables = await TableStore.open(store, { cacheBytesMax: options.cacheBytesMax });
    if (tables.appliedLsn > log.lastLsn) {
      throw new DosqlError('CORRUPT', `table checkpoint at LSN ${tables.appliedLsn} is ahead of the log (last LSN ${log.lastLsn})`);
    }
    for await (const txn of log.read(tables.appliedLsn + 1n)) await tables.apply(txn);
    // Branches' base checkpoints may use pages this database's checkpoints retire: keep them.
    if ((await listBranches(store)).length) tables.retainPages = true;
    return new Database(store, log, tables, options, options.storage === undefined || options.closeStorage === true);
  }

  /** `Database.open({ path, branch })`: the parent's file store seen through the branch's own. */
  private static async openBranchAt(options: OpenOptions): Promise<Database> {
    const name = checkBranchName(options.branch);
    if (!options.path) throw new DosqlError('MISUSE', 'opening a branch by name needs the parent database path');
    const parent = await openFileStore(options.path);
    const dir = `${options.branchDir ?? `${options.path}/branches`}/${name}`;
    if (!(await listBranches(parent)).some((b) => b.name === name)) {
      await parent.close();
      throw new DosqlError('ERROR', `no such branch: ${name}`);
    }
    const fork = await openFork(parent, await openFileStore(dir));
    fork.closeParent = true;
    return Database.open({ ...options, branch: undefined, path: undefined, storage: fork, closeStorage: true, branchDir: `${dir}/branches` });
  }

  /** LSN of the last committed transaction visible to reads. */
  get lsn(): bigint {
    return this.tables.appliedLsn;
  }

  get inTransaction(): boolean {
    return this.conn.txn !== undefined;
  }

  async exec(sql: string, params?: Params, options?: CallOptions): Promise<ExecResult> {
    return this.execSync(this.cachedOne(sql), params, options) ?? this.execLocked(sql, params, options);
  }

  /** The locked path of `exec`, with the statements when the caller already has them. */
  private async execLocked(sql: string, params: Params | undefined, options: CallOptions | undefined, sts?: CachedStatement[]): Promise<ExecResult> {
    const r = await this.locked(() => this.execUnlocked(sql, params, this.conn, sts));
    if (r.durable) await r.durable;
    return this.execResult(r, options);
  }

  /**
   * @internal `exec` of a prepared statement: it keeps its parsed statements (and so their plans)
   * itself, which spares the lookup by SQL text and survives eviction from the statement cache.
   */
  async execPrepared(p: PreparedHandle, params?: Params, options?: CallOptions): Promise<ExecResult> {
    const sts = this.preparedStatements(p);
    return (sts?.length === 1 ? this.execSync(sts[0], params, options) : undefined) ?? this.execLocked(p.sql, params, options, sts);
  }

  /**
   * @internal `runMany` of a prepared statement: every parameter set under one hold of the lock,
   * as one statement (see PreparedStatement.runMany for the contract).
   */
  async execMany(p: PreparedHandle, paramSets: readonly Params[], options?: CallOptions): Promise<ExecResult> {
    if (!Array.isArray(paramSets)) throw new DosqlError('MISUSE', 'runMany() takes an array of parameter sets');
    const r = await this.locked(() => this.runManyUnlocked(p, paramSets));
    if (r.durable) await r.durable;
    return this.execResult(r, options);
  }

  /**
   * The runs of `runMany`, under the lock. Each run takes the statement's synchronous plan when
   * it has one and its pages are cached (as execSync does), else the general path; so a bulk load
   * pays for the lock, the transaction mark and the result once, not per row. Atomic as one
   * statement: a failing run rolls every run of the call back, and in autocommit nothing commits.
   */
  private async runManyUnlocked(p: PreparedHandle, paramSets: readonly Params[]): Promise<StatementOutcome & { lastInsertRowid: number | bigint; lsn: bigint }> {
    const sts = (p.parsed ??= this.statements(p.sql));
    if (sts.length !== 1) throw new DosqlError('MISUSE', `runMany() takes exactly one statement; got ${sts.length}`);
    const st = sts[0]!;
    const s = st.parsed.statement;
    if (isTransactionControl(s)) throw new DosqlError('MISUSE', `runMany() cannot run ${s.type.toUpperCase()}: run it once with run()`);
    const out = await this.asStatement(this.conn, async (txn) => {
      let affected = 0;
      let i = 0;
      try {
        for (; i < paramSets.length; i++) {
          const params = paramSets[i];
          const bound = this.runBoundSync(st, txn, params);
          if (bound !== NEEDS_ASYNC) affected += bound;
          else affected += this.runOneSync(st, txn, params) ?? (await this.runIn(st, s, txn, params)).rowsAffected ?? 0;
        }
      } catch (e) {
        if (e instanceof DosqlError) throw new DosqlError(e.code, `runMany() parameter set ${i}: ${e.message}`, { cause: e });
        throw e;
      }
      return { rowsAffected: affected };
    });
    return { ...out, lastInsertRowid: this.lastInsertRowid, lsn: this.tables.appliedLsn };
  }

  /**
   * One run of an INSERT's `insertBoundSync` (DmlPlan) under the held lock: rows affected, or
   * NEEDS_ASYNC (nothing changed) when the statement has no such plan or this run needs another.
   * The bound parameters go straight into the row; the statement's run state is reset without
   * them (a young array stored into that long-lived object costs a write barrier per run).
   */
  private runBoundSync(st: CachedStatement, txn: Txn, params: Params | undefined): number | typeof NEEDS_ASYNC {
    const insert = this.syncDmlPlan(st, txn)?.insertBoundSync;
    if (insert === undefined) return NEEDS_ASYNC;
    const run = this.syncEnvBound(st, txn, NO_PARAMS).run as DmlRun;
    const rowid = insert(run, bindParams(st.parsed, params));
    if (rowid === NEEDS_ASYNC) return NEEDS_ASYNC;
    if (rowid === undefined) return 0;
    this.lastInsertRowid = rowid;
    return 1;
  }

  /** One run of a write's synchronous plan under the held lock: rows affected, or undefined (nothing changed). */
  private runOneSync(st: CachedStatement, txn: Txn, params: Params | undefined): number | undefined {
    const plan = this.syncDmlPlan(st, txn);
    if (!plan) return undefined;
    const r = plan.runSync!(this.syncEnv(st, txn, params));
    if (r === NEEDS_ASYNC) return undefined;
    if (r.lastInsertRowid !== undefined) this.lastInsertRowid = r.lastInsertRowid;
    return r.rowsAffected;
  }

  async query(sql: string, params?: Params, options?: CallOptions): Promise<QueryResult> {
    return this.querySync(this.cachedOne(sql), params, options) ?? this.queryLocked(sql, params, options);
  }

  /** @internal the locked path of `query`, with the statements when the caller already has them. */
  async queryLocked(sql: string, params: Params | undefined, options: CallOptions | undefined, sts?: CachedStatement[]): Promise<QueryResult> {
    const r = await this.locked(() => this.queryUnlocked(sql, params, this.conn, options?.asOf, sts));
    if (r.durable) await r.durable;
    return this.queryResult(r, options);
  }

  /** @internal `query` of a prepared statement, with its own parsed statements (see execPrepared). */
  async queryPrepared(p: PreparedHandle, params?: Params, options?: CallOptions): Promise<QueryResult> {
    return this.queryPreparedSync(p, params, options) ?? this.queryLocked(p.sql, params, options, p.parsed);
  }

  /** @internal the fast path of `queryPrepared`: undefined when the locked path must answer. */
  queryPreparedSync(p: PreparedHandle, params?: Params, options?: CallOptions): QueryResult | undefined {
    const sts = this.preparedStatements(p);
    return sts?.length === 1 ? this.querySync(sts[0], params, options) : undefined;
  }

  /** @internal `queryPreparedSync` before value conversion (see firstObject). */
  queryPreparedSyncRaw(p: PreparedHandle, params?: Params): RawResult | undefined {
    const sts = this.preparedStatements(p);
    return sts?.length === 1 ? this.querySyncRaw(sts[0], params, undefined) : undefined;
  }

  /**
   * A prepared statement's parsed statements, parsed on first use. Only while the lock is free,
   * so that errors keep the locked path's order (CLOSED before SYNTAX_ERROR); until then the
   * locked path parses by text.
   */
  private preparedStatements(p: PreparedHandle): CachedStatement[] | undefined {
    if (p.parsed === undefined && !this.busy && !this.closed && !this.failure) p.parsed = this.statements(p.sql);
    return p.parsed;
  }

  /** The cached parse of `sql` when it is one statement, without refreshing its cache entry. */
  private cachedOne(sql: string): CachedStatement | undefined {
    const hit = typeof sql === 'string' ? this.cache.get(sql) : undefined;
    return hit?.length === 1 ? hit[0] : undefined;
  }

  /**
   * Run `fn` in a transaction: committed (durably) when it returns, rolled back when it throws.
   * Statements go through `tx`; the database runs nothing else until the transaction ends, so a
   * call on `db` itself inside `fn` would wait for the transaction and never return: use `tx`.
   * `mode` and `isolation` are accepted for SQLite and later MVCC compatibility; today every
   * transaction runs alone, which is serializable.
   */
  async transaction<T>(fn: (tx: Transaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const tx = this.begin(options);
    let value: T;
    try {
      value = await fn(tx);
    } catch (e) {
      tx.rollback();
      throw e;
    }
    await tx.commit();
    return value;
  }

  /**
   * Begin a concurrent transaction and return its handle: statements through it read the
   * snapshot of this moment plus its own writes; `commit()` validates and commits it (CONFLICT
   * when a concurrent commit got in the way), `rollback()` drops it. For servers that hold a
   * transaction across calls; in code, `transaction(fn)` is simpler. Always end the handle:
   * an open one keeps the notes its validation needs.
   */
  begin(options: TransactionOptions = {}): Transaction {
    checkTransactionOptions(options);
    if (this.closed) throw new DosqlError('CLOSED', 'database is closed');
    const snapshot = this.tables.appliedLsn;
    const session: Session = {
      txn: new Txn(this.tables, { snapshot, isolation: options.isolation ?? 'serializable', bytesMax: this.options.transactionBytesMax }),
      fixed: true,
    };
    this.tables.openSnapshot(snapshot);
    return new Transaction(this, session, snapshot);
  }

  /** @internal validate and commit a concurrent transaction; returns its durability promise. */
  async commitConcurrent(session: Session, snapshot: bigint): Promise<void> {
    const committed = await this.locked(async () => {
      const txn = session.txn!;
      this.tables.validate(txn.readsAndWrites(), snapshot);
      // Wrapped, so that this does not wait for durability while holding the lock.
      return { durable: (await this.commit(txn))?.durable };
    });
    if (committed.durable) await committed.durable;
  }

  /** @internal a concurrent transaction ended: its snapshot no longer needs write notes. */
  endConcurrent(snapshot: bigint): void {
    this.tables.closeSnapshot(snapshot);
  }

  /** Run statements atomically, in order: all of them commit, or none when one fails. */
  async batch(statements: ReadonlyArray<{ sql: string; params?: Params }>, options?: CallOptions): Promise<BatchResult[]> {
    if (!Array.isArray(statements)) throw new DosqlError('MISUSE', 'batch() takes an array of { sql, params }');
    return this.transaction(async (tx) => {
      const out: BatchResult[] = [];
      for (const st of statements) out.push(await tx.run(st.sql, st.params, options));
      return out;
    });
  }

  /** @internal the body of exec, run under the lock; a fixed session refuses transaction control. */
  async execUnlocked(
    sql: string,
    params: Params | undefined,
    session: Session = this.conn,
    sts: CachedStatement[] = this.statements(sql),
  ): Promise<StatementOutcome & { lastInsertRowid: number | bigint; lsn: bigint }> {
    let affected = 0;
    let durable: Promise<void> | undefined;
    let last: StatementOutcome = {};
    for (const st of sts) {
      if (session.fixed) checkInTransaction(st.parsed.statement);
      last = await this.runStatement(st, params, session);
      if (last.rowsAffected !== undefined) affected = last.rowsAffected;
      if (last.durable) durable = last.durable;
    }
    return { ...last, rowsAffected: affected, durable, lastInsertRowid: this.lastInsertRowid, lsn: this.tables.appliedLsn };
  }

  /** @internal the body of query, run under the lock. */
  async queryUnlocked(
    sql: string,
    params: Params | undefined,
    session: Session = this.conn,
    asOf?: AsOf,
    sts: CachedStatement[] = this.statements(sql),
  ): Promise<StatementOutcome & { lsn: bigint }> {
    if (sts.length !== 1) throw new DosqlError('MISUSE', `query() takes exactly one statement; got ${sts.length}`);
    const st = sts[0]!;
    if (session.fixed) checkInTransaction(st.parsed.statement);
    if (asOf !== undefined) {
      if (st.parsed.statement.type !== 'select') throw new DosqlError('MISUSE', 'asOf applies to reads (SELECT) only');
      const lsn = await this.resolveAsOf(asOf);
      const r = await this.runIn(st, st.parsed.statement, session.txn ?? this.readTxn, params, lsn);
      return { ...r, lsn };
    }
    const r = await this.runStatement(st, params, session);
    return { ...r, durable: r.durable ?? this.pendingDurability(), lsn: this.tables.appliedLsn };
  }

  /** The LSN an `asOf` option names, checked against what can be read. */
  private async resolveAsOf(asOf: AsOf): Promise<bigint> {
    await this.refreshRetention();
    if (typeof asOf !== 'object' || asOf === null) throw new DosqlError('MISUSE', 'asOf must be { lsn } or { timestamp }');
    if ('lsn' in asOf) return this.checkAsOfLsn(asOf);
    if ('timestamp' in asOf) return this.checkAsOf(await this.log.lsnAtTimestamp(timestampMs(asOf.timestamp)));
    throw new DosqlError('MISUSE', 'asOf must be { lsn } or { timestamp }');
  }

  /** A time-travel LSN must name a committed state that is still retained. */
  private checkAsOf(lsn: bigint): bigint {
    const last = this.tables.appliedLsn;
    if (lsn > last) throw new DosqlError('RANGE', `LSN ${lsn} is after the last commit (LSN ${last})`);
    const oldest = this.oldestReadableLsn;
    if (lsn < oldest) {
      const when = this.retentionFloorMs === undefined ? '' : ` (${new Date(this.retentionFloorMs).toISOString()})`;
      throw new DosqlError('RANGE', `LSN ${lsn} is before the retention window; the oldest readable state is LSN ${oldest}${when}`);
    }
    return lsn;
  }

  /**
   * Oldest LSN a time-travel read may name, from the retention options. The age bound is kept
   * current by `refreshRetention` (it needs a log lookup), the LSN bound is computed here.
   */
  private get oldestReadableLsn(): bigint {
    const r = this.options.retention;
    let oldest = 0n;
    if (r?.lsns !== undefined) oldest = this.tables.appliedLsn - BigInt(r.lsns);
    if (this.retentionAgeLsn > oldest) oldest = this.retentionAgeLsn;
    return oldest < 0n ? 0n : oldest;
  }

  /** Move the age bound of the retention window to the last commit at or before now - ageMs. */
  private async refreshRetention(): Promise<void> {
    const age = this.options.retention?.ageMs;
    if (age === undefined) return;
    const floor = (this.options.clock ?? Date.now)() - age;
    this.retentionFloorMs = floor;
    this.retentionAgeLsn = await this.log.lsnAtTimestamp(floor);
  }

  /** @internal */
  execResult(r: { rowsAffected?: number; lastInsertRowid: number | bigint; lsn: bigint }, options?: CallOptions): ExecResult {
    return { rowsAffected: r.rowsAffected ?? 0, lastInsertRowid: toSqlValue(r.lastInsertRowid, this.intMode(options)) as number | bigint, lsn: r.lsn };
  }

  /** @internal */
  queryResult(r: { columns?: string[]; rows?: Value[][]; lsn: bigint }, options?: CallOptions): QueryResult {
    const mode = this.intMode(options);
    return { columns: r.columns ?? [], rows: (r.rows ?? []).map((row) => row.map((v) => toSqlValue(v, mode))), lsn: r.lsn };
  }

  async all(sql: string, params?: Params, options?: CallOptions): Promise<Array<Record<string, SqlValue>>> {
    const r = await this.query(sql, params, options);
    return r.rows.map((row) => toObject(r.columns, row));
  }

  async get(sql: string, params?: Params, options?: CallOptions): Promise<Record<string, SqlValue> | undefined> {
    const raw = this.querySyncRaw(this.cachedOne(sql), params, options);
    if (raw) return this.firstObject(raw, options);
    const r = await this.queryLocked(sql, params, options);
    return r.rows.length ? toObject(r.columns, r.rows[0]!) : undefined;
  }

  /** @internal the first row of an unconverted result as an object, converting only its values. */
  firstObject(r: RawResult, options?: CallOptions): Record<string, SqlValue> | undefined {
    return r.rows.length ? toObject(r.columns, r.rows[0]!, this.intMode(options)) : undefined;
  }

  /**
   * True when every statement in `sql` only reads (SELECT, EXPLAIN), so a read-only caller may run
   * it. Throws DosqlError SYNTAX_ERROR like `exec` would.
   */
  isReadOnly(sql: string): boolean {
    return this.statements(sql).every((st) => {
      const t = st.parsed.statement.type;
      return t === 'select' || t === 'explain';
    });
  }

  /** The current tables with their CREATE statements, in creation order. */
  schema(): Array<{ name: string; sql: string }> {
    return this.tables.catalog.tables().map((t) => ({ name: t.name, sql: t.sql }));
  }

  /**
   * Make a branch: a database sharing this one's history up to `at` (default: now), then
   * diverging. Returns the branch, open; close it before closing this database, whose store it
   * reads through. Durable databases keep branch stores under `<path>/branches/<name>`.
   */
  async branch(name: string, options: { at?: AsOf } = {}): Promise<Database> {
    checkBranchName(name);
    return this.locked(async () => {
      if ((await listBranches(this.store)).some((b) => b.name === name)) throw new DosqlError('ERROR', `branch ${name} already exists`);
      const forkLsn = options.at === undefined ? this.tables.appliedLsn : await this.resolveAsOf(options.at);
      await this.log.flush();
      this.tables.retainPages = true;
      const atHead = forkLsn === this.tables.appliedLsn;
      if (atHead) await this.tables.checkpoint();
      const own = await this.branchStore(name);
      await prepareFork(this.store, own, forkLsn, atHead);
      await recordBranch(this.store, { name, forkLsn, createdAt: Date.now() });
      const dir = this.branchDirectory();
      return Database.open({
        intMode: this.options.intMode,
        clock: this.options.clock,
        cacheBytesMax: this.options.cacheBytesMax,
        checkpointChangesMin: this.options.checkpointChangesMin,
        storage: await openFork(this.store, own),
        closeStorage: true,
        branchDir: dir === undefined ? undefined : `${dir}/${name}/branches`,
      });
    });
  }

  /** This database's branches with their fork points. */
  async branches(): Promise<BranchInfo[]> {
    return this.locked(() => listBranches(this.store));
  }

  /** Forget a branch and delete its own store (close its handle first). */
  async dropBranch(name: string): Promise<void> {
    checkBranchName(name);
    await this.locked(async () => {
      if (!(await listBranches(this.store)).some((b) => b.name === name)) throw new DosqlError('ERROR', `no such branch: ${name}`);
      await forgetBranch(this.store, name);
      this.memoryBranches.delete(name);
      const dir = this.branchDirectory();
      if (dir !== undefined) await removeDirectory(`${dir}/${name}`);
    });
  }

  private branchDirectory(): string | undefined {
    return this.options.branchDir ?? (this.options.path ? `${this.options.path}/branches` : undefined);
  }

  private async branchStore(name: string): Promise<ByteStore> {
    const dir = this.branchDirectory();
    if (dir !== undefined) {
      await removeDirectory(`${dir}/${name}`); // leftovers of a branch dropped while open
      return openFileStore(`${dir}/${name}`);
    }
    const store = new MemoryStore();
    this.memoryBranches.set(name, store);
    return store;
  }

  /** A reusable statement: parsing and planning happen once. */
  prepare(sql: string): PreparedStatement {
    return new PreparedStatement(this, sql);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.locked(async () => {
      this.conn.txn = undefined;
      if (!this.failure) {
        await this.log.flush();
        // Every commit is in the log by now: a final checkpoint that fails (a storage error, or
        // one refused since writing history blocks failed) leaves only more log to replay at
        // the next open, and must not keep the database from closing.
        await this.tables.checkpoint().catch(() => undefined);
      }
      this.closed = true;
      this.notifyCommit(); // wake subscriptions so they end
    });
    await this.log.close();
    if (this.ownsStore) await this.store.close();
  }

  // --- internals ------------------------------------------------------------------------------

  /** @internal run one step of a transaction alone, like any statement. */
  withLock<T>(f: () => Promise<T>): Promise<T> {
    return this.locked(f);
  }

  /**
   * Run `f` alone. The uncontended case (the common one) takes the lock with no extra promise;
   * waiters queue in arrival order, bounded only by the callers' own concurrency.
   */
  private async locked<T>(f: () => Promise<T>): Promise<T> {
    if (this.busy) await new Promise<void>((resume) => this.waiters.push(resume));
    this.busy = true;
    try {
      if (this.closed) throw new DosqlError('CLOSED', 'database is closed');
      if (this.failure) throw this.failure;
      return await f();
    } finally {
      this.unlock();
    }
  }

  /** Hand the lock to the next waiter, or free it; first run a checkpoint a commit made due. */
  private unlock(): void {
    const due = this.checkpointDue;
    if (due !== undefined) {
      this.checkpointDue = undefined;
      void this.checkpointAfter(due);
      return;
    }
    const next = this.waiters.shift();
    if (next) next();
    else this.busy = false;
  }

  private statements(sql: string): CachedStatement[] {
    if (typeof sql !== 'string') throw new DosqlError('MISUSE', 'SQL must be a string');
    let hit = this.cache.get(sql);
    if (hit) {
      this.cache.delete(sql);
      this.cache.set(sql, hit);
      return hit;
    }
    hit = parse(sql).map((parsed) => ({ parsed, sql }));
    this.cache.set(sql, hit);
    if (this.cache.size > STATEMENT_CACHE_ENTRIES_MAX) this.cache.delete(this.cache.keys().next().value!);
    return hit;
  }

  private pendingDurability(): Promise<void> | undefined {
    return this.log.durableLsn < this.log.lastLsn ? this.log.flush() : undefined;
  }

  private async runStatement(st: CachedStatement, params: Params | undefined, session: Session = this.conn): Promise<StatementOutcome> {
    const s = st.parsed.statement;
    switch (s.type) {
      case 'begin':
        if (session.txn) throw new DosqlError('ERROR', 'cannot start a transaction within a transaction');
        session.txn = this.connTxn();
        return {};
      case 'commit':
        if (!session.txn) throw new DosqlError('ERROR', 'cannot commit - no transaction is active');
        return this.endTransaction(session);
      case 'rollback': {
        const txn = session.txn;
        if (!txn) throw new DosqlError('ERROR', 'cannot rollback - no transaction is active');
        if (s.savepoint !== undefined) {
          // ROLLBACK TO undoes everything after the savepoint and keeps the savepoint itself.
          const i = findSavepoint(txn, s.savepoint);
          txn.rollbackTo(txn.savepoints[i]!.mark);
          txn.savepoints.length = i + 1;
          return {};
        }
        session.txn = undefined;
        return {};
      }
      case 'savepoint': {
        // As in SQLite, a SAVEPOINT outside a transaction begins one, which its RELEASE commits.
        const txn = (session.txn ??= this.connTxn(true));
        if (txn.savepoints.length >= SAVEPOINTS_MAX) throw new DosqlError('LIMIT_EXCEEDED', `more than SAVEPOINTS_MAX (${SAVEPOINTS_MAX}) nested savepoints`);
        txn.savepoints.push({ name: s.name.toLowerCase(), mark: txn.mark() });
        return {};
      }
      case 'release': {
        const txn = session.txn;
        if (!txn) throw new DosqlError('ERROR', `no such savepoint: ${s.name}`);
        txn.savepoints.length = findSavepoint(txn, s.name);
        if (txn.savepoints.length === 0 && txn.fromSavepoint && !session.fixed) return this.endTransaction(session);
        return {};
      }
      default:
        return this.runInTransaction(st, s, params, session);
    }
  }

  /** Commit the session's transaction; returns its durability promise (awaited outside the lock). */
  private async endTransaction(session: Session): Promise<StatementOutcome> {
    const txn = session.txn!;
    session.txn = undefined;
    // A promise inside an object, so awaiting this does not wait for durability under the lock.
    return { durable: (await this.commit(txn))?.durable };
  }

  private async runInTransaction(st: CachedStatement, s: Statement, params: Params | undefined, session: Session): Promise<StatementOutcome> {
    if (session.txn === undefined && s.type === 'select') return this.runIn(st, s, this.readTxn, params);
    return this.asStatement(session, (txn) => this.runIn(st, s, txn, params));
  }

  /**
   * `body` as one statement of the session's transaction, or of a transaction of its own in
   * autocommit, which it commits: when `body` (or that commit) throws, nothing it did remains.
   */
  private async asStatement(session: Session, body: (txn: Txn) => Promise<StatementOutcome>): Promise<StatementOutcome> {
    const autocommit = session.txn === undefined;
    const txn = session.txn ?? this.connTxn();
    const mark = txn.mark();
    try {
      const out = await body(txn);
      // Savepoints may still roll back into this statement; without them its undo is dead weight.
      if (txn.savepoints.length === 0) txn.release(mark);
      if (!autocommit) return out;
      return { ...out, durable: (await this.commit(txn))?.durable };
    } catch (e) {
      txn.rollbackTo(mark);
      throw e;
    }
  }

  /**
   * A SELECT answered without a promise: an autocommit query whose cached plan runs synchronously
   * (a key lookup) on cached pages, with nothing else running and every commit durable, so it
   * sees exactly what the locked path would. Undefined when any of that does not hold; the
   * caller then takes the locked path. About eight promises fewer per prepared point query.
   */
  private querySync(st: CachedStatement | undefined, params: Params | undefined, options: CallOptions | undefined): QueryResult | undefined {
    const r = this.querySyncRaw(st, params, options);
    return r && this.queryResult(r, options);
  }

  /** `querySync` with the engine's values, before conversion: `get` converts only the row it returns. */
  private querySyncRaw(st: CachedStatement | undefined, params: Params | undefined, options: CallOptions | undefined): RawResult | undefined {
    if (!st || this.busy || this.closed || this.failure || this.conn.txn) return undefined;
    if (this.log.durableLsn < this.log.lastLsn) return undefined;
    // DML plans have runSync too: they write, and belong to execSync.
    if (st.parsed.statement.type !== 'select') return undefined;
    const plan = this.cachedPlan(st) as SelectPlan | undefined;
    if (!plan?.runSync) return undefined;
    const asOf = options?.asOf === undefined ? undefined : this.asOfSync(options.asOf);
    if (asOf === NEEDS_ASYNC) return undefined;
    this.busy = true;
    let rows: Value[][] | typeof NEEDS_ASYNC;
    try {
      rows = plan.runSync(this.syncEnv(st, this.readTxn, params, asOf));
    } finally {
      this.busy = false;
    }
    if (rows === NEEDS_ASYNC) return undefined;
    return { columns: plan.columns, rows, lsn: asOf ?? this.tables.appliedLsn };
  }

  /**
   * The LSN `asOf: { lsn }` names, checked as resolveAsOf checks it, when that needs no I/O: not
   * a timestamp (a log search) nor an age-bounded retention window (refreshed from the log).
   */
  private asOfSync(asOf: AsOf): bigint | typeof NEEDS_ASYNC {
    if (this.options.retention?.ageMs !== undefined) return NEEDS_ASYNC;
    if (typeof asOf !== 'object' || asOf === null || !('lsn' in asOf)) return NEEDS_ASYNC;
    return this.checkAsOfLsn(asOf);
  }

  /** `asOf: { lsn }` as a checked LSN (the locked and the synchronous path alike). */
  private checkAsOfLsn(asOf: Extract<AsOf, { lsn: unknown }>): bigint {
    return this.checkAsOf(lsnValue(typeof asOf.lsn === 'bigint' ? asOf.lsn : Number(asOf.lsn)));
  }

  /**
   * One INSERT, UPDATE or DELETE of the connection's session run without the async layering:
   * nothing else running, its cached plan still valid and able to run synchronously (runSync),
   * its pages cached. Inside BEGIN ... COMMIT the whole statement is synchronous; in autocommit
   * the statement is, and its commit (which writes the log) keeps the lock as the locked path
   * does. Undefined, with nothing changed, when any of that does not hold: the caller takes the
   * locked path. Statement atomicity, results and errors are those of runInTransaction.
   */
  private execSync(st: CachedStatement | undefined, params: Params | undefined, options: CallOptions | undefined): ExecResult | Promise<ExecResult> | undefined {
    if (!st || this.busy || this.closed || this.failure) return undefined;
    const session = this.conn;
    const plan = this.syncDmlPlan(st, session.txn);
    if (!plan) return undefined;
    const autocommit = session.txn === undefined;
    const txn = session.txn ?? this.connTxn();
    const mark = txn.mark();
    assert(this.waiters.length === 0, 'waiters queue only behind a held lock');
    this.busy = true;
    let r: DmlResult | typeof NEEDS_ASYNC;
    try {
      r = plan.runSync!(this.syncEnv(st, txn, params));
    } catch (e) {
      txn.rollbackTo(mark);
      this.unlock();
      throw e;
    }
    if (r === NEEDS_ASYNC) {
      const now = txn.mark();
      assert(now.undo === mark.undo && now.changes === mark.changes, 'a declined fast path changed the transaction');
      this.unlock();
      return undefined;
    }
    // As in runInTransaction: without savepoints, nothing will roll back into this statement.
    if (txn.savepoints.length === 0) txn.release(mark);
    if (r.lastInsertRowid !== undefined) this.lastInsertRowid = r.lastInsertRowid;
    if (!autocommit) {
      this.unlock();
      return this.execResult({ rowsAffected: r.rowsAffected, lastInsertRowid: this.lastInsertRowid, lsn: this.tables.appliedLsn }, options);
    }
    return this.commitHeld(txn, r.rowsAffected, options);
  }

  /** The cached plan of an INSERT, UPDATE or DELETE that can run synchronously in `txn`, if any. */
  private syncDmlPlan(st: CachedStatement, txn: Txn | undefined): DmlPlan | undefined {
    const type = st.parsed.statement.type;
    if (type !== 'insert' && type !== 'update' && type !== 'delete') return undefined;
    // Plans compiled under pending DDL are not cached, and cached ones do not apply under it (see plan).
    if (txn?.hasSchemaChanges) return undefined;
    const plan = this.cachedPlan(st) as DmlPlan | undefined;
    return plan?.runSync ? plan : undefined;
  }

  /** The commit of an autocommit fast-path statement, under the lock execSync took; then durability. */
  private async commitHeld(txn: Txn, rowsAffected: number, options: CallOptions | undefined): Promise<ExecResult> {
    let r: { rowsAffected: number; lastInsertRowid: number | bigint; lsn: bigint };
    let durable: Promise<void> | undefined;
    try {
      durable = (await this.commit(txn))?.durable;
      r = { rowsAffected, lastInsertRowid: this.lastInsertRowid, lsn: this.tables.appliedLsn };
    } finally {
      this.unlock();
    }
    if (durable) await durable;
    return this.execResult(r, options);
  }

  /** The Env a statement runs in: its bound parameters, transaction, clock and helpers. */
  private statementEnv(st: CachedStatement, txn: Txn, params: Params | undefined, asOf?: bigint): Env {
    const run = new StatementRun(this.options.clock ?? Date.now, this.runHelpers, this.triggerHost, this.options.hashJoinRowsMax);
    run.reset(bindParams(st.parsed, params), txn, asOf, this.foreignKeys);
    return { rows: [], outer: undefined, agg: undefined, run };
  }

  /**
   * `statementEnv` for a synchronous run (querySyncRaw, execSync): one Env per statement, reset
   * for each run rather than made anew. Safe because such a run holds the lock (`busy`) from its
   * start to its return, runs nothing else meanwhile, and nothing keeps the Env once it returns.
   * A point lookup's own allocations cost about as much as its B-tree descent.
   */
  private syncEnv(st: CachedStatement, txn: Txn, params: Params | undefined, asOf?: bigint): Env {
    return this.syncEnvBound(st, txn, bindParams(st.parsed, params), asOf);
  }

  /** `syncEnv` with its parameters already bound (`bound`, which the run keeps). */
  private syncEnvBound(st: CachedStatement, txn: Txn, bound: Value[], asOf?: bigint): Env {
    assert(this.busy, 'a synchronous run holds the lock');
    const env = (st.syncEnv ??= this.statementEnv(st, txn, undefined, asOf));
    if (env.rows.length !== 0) env.rows.length = 0;
    (env.run as StatementRun).reset(bound, txn, asOf, this.foreignKeys);
    return env;
  }

  /** The helpers every statement's run shares: made once, not per statement. */
  private readonly runHelpers: Pick<DmlRun, 'checkAsOf' | 'refreshRetention' | 'lsnAtTimestamp'> = {
    checkAsOf: (lsn) => this.checkAsOf(lsn),
    refreshRetention: () => this.refreshRetention(),
    lsnAtTimestamp: (ms) => this.log.lsnAtTimestamp(ms),
  };

  private async runIn(st: CachedStatement, s: Statement, txn: Txn, params: Params | undefined, asOf?: bigint): Promise<StatementOutcome> {
    // Only compilation (a plan-cache miss, DDL) needs the planning context.
    const cx = (): PlanContext => this.planContext(st, txn);
    const env = this.statementEnv(st, txn, params, asOf);
    switch (s.type) {
      case 'select': {
        const plan = this.plan(st, txn, () => compileSelect(s, undefined, cx())) as SelectPlan;
        return { columns: plan.columns, rows: await plan.run(env) };
      }
      case 'insert':
      case 'update':
      case 'delete': {
        const plan = this.plan(st, txn, () =>
          s.type === 'insert' ? compileInsert(s, cx()) : s.type === 'update' ? compileUpdate(s, cx()) : compileDelete(s, cx()),
        ) as DmlPlan;
        const r = await plan.run(env);
        if (r.lastInsertRowid !== undefined) this.lastInsertRowid = r.lastInsertRowid;
        return plan.columns ? { columns: plan.columns, rows: r.rows ?? [], rowsAffected: r.rowsAffected } : { rowsAffected: r.rowsAffected };
      }
      case 'create_table':
        createTable(s, st.sql.slice(st.parsed.start, st.parsed.end), txn, cx());
        return { rowsAffected: 0 };
      case 'drop':
        dropTable(s, txn, cx());
        return { rowsAffected: 0 };
      case 'explain':
        return this.explain(st, s, txn);
      case 'reindex':
        // Indexes here are rebuilt from rows on every change and never go stale, and collations
        // are built in, so there is nothing to rebuild: only the name is checked, as in SQLite.
        if (s.name !== undefined && !isReindexTarget(txn, s.name)) cx().fail('ERROR', `unable to identify the object to be reindexed`, s.pos);
        return { rowsAffected: 0 };
      case 'create_trigger':
        createTrigger(s, st.sql.slice(st.parsed.start, st.parsed.end), txn, cx());
        return { rowsAffected: 0 };
      case 'create_view':
        createView(s, st.sql.slice(st.parsed.start, st.parsed.end), txn, cx());
        return { rowsAffected: 0 };
      case 'alter_table':
        await alterTable(s, st.sql.slice(st.parsed.start, st.parsed.end), txn, cx());
        return { rowsAffected: 0 };
      case 'pragma':
        return this.pragma(s, env, cx());
      case 'create_index':
        await createIndex(s, st.sql.slice(st.parsed.start, st.parsed.end), txn, cx());
        return { rowsAffected: 0 };
      default:
        return cx().fail('ERROR', `${describe(s)} is not supported yet`, s.pos);
    }
  }

  /** PRAGMA foreign_keys [= value]; other pragmas are refused. */
  private pragma(s: PragmaStmt, env: Env, cx: PlanContext): StatementOutcome {
    if (s.name.toLowerCase() !== 'foreign_keys') return cx.fail('ERROR', `unsupported pragma: ${s.name}`, s.pos);
    if (s.value === undefined) return { columns: ['foreign_keys'], rows: [[this.foreignKeys ? 1 : 0]] };
    const v = s.value.kind === 'column' ? s.value.name : s.value.kind === 'literal' ? s.value.value : null;
    const text = String(v).toLowerCase();
    if (['1', 'on', 'true', 'yes'].includes(text)) this.foreignKeys = true;
    else if (['0', 'off', 'false', 'no'].includes(text)) this.foreignKeys = false;
    void env;
    return { rowsAffected: 0 };
  }

  /**
   * EXPLAIN QUERY PLAN: compile the statement with an explain log and return SQLite's columns
   * (id, parent, notused, detail). Plain EXPLAIN (VDBE bytecode) has no equivalent here.
   */
  private explain(st: CachedStatement, s: ExplainStmt, txn: Txn): StatementOutcome {
    const cx = this.planContext(st, txn);
    if (!s.queryPlan) return cx.fail('ERROR', 'EXPLAIN shows bytecode in SQLite; DoSQL has none: use EXPLAIN QUERY PLAN', s.pos);
    const log = new ExplainLog();
    cx.explain = log;
    const inner = s.statement;
    switch (inner.type) {
      case 'select':
        compileSelect(inner, undefined, cx);
        break;
      case 'insert':
        compileInsert(inner, cx);
        break;
      case 'update':
        compileUpdate(inner, cx);
        break;
      case 'delete':
        compileDelete(inner, cx);
        break;
      default:
        break;
    }
    return { columns: ['id', 'parent', 'notused', 'detail'], rows: log.rows.map((r) => [r.id, r.parent, 0, r.detail]) };
  }

  /**
   * Compiled plans are reused while the catalog is unchanged, no DDL is pending, and no table's
   * size drifted far from what the plan was costed with (materializers/stats.ts).
   */
  private plan(st: CachedStatement, txn: Txn, compile: () => SelectPlan | DmlPlan): SelectPlan | DmlPlan {
    const cached = txn.hasSchemaChanges ? undefined : this.cachedPlan(st);
    if (cached) return cached;
    const plan = compile();
    if (!txn.hasSchemaChanges) st.plan = { catalogVersion: this.tables.catalog.version, statsVersion: this.tables.statsVersion, plan };
    return plan;
  }

  /** The statement's cached plan while it is still valid: same catalog, same statistics epoch. */
  private cachedPlan(st: CachedStatement): SelectPlan | DmlPlan | undefined {
    const p = st.plan;
    return p && p.catalogVersion === this.tables.catalog.version && p.statsVersion === this.tables.statsVersion ? p.plan : undefined;
  }

  private planContext(st: CachedStatement, txn: Txn): PlanContext {
    return makePlanContext(st.sql, txn);
  }

  /** Compiles trigger bodies for the runs of this database (see query/triggers.ts). */
  private readonly triggerHost: TriggerHost = {
    planContext: (sql, txn, outer) => makePlanContext(sql, txn, outer),
    catalogVersion: () => this.tables.catalog.version,
  };

  /**
   * A transaction of the connection (BEGIN, a SAVEPOINT outside one, autocommit), seeded with the
   * rowid maxima the last commit left when nothing has committed since (see Txn.knownMaxRowids).
   */
  private connTxn(fromSavepoint = false): Txn {
    const carried = this.carriedMax;
    const maxRowids = carried && carried.lsn === this.tables.appliedLsn && carried.max.size ? carried.max : undefined;
    return new Txn(this.tables, { fromSavepoint, maxRowids, bytesMax: this.options.transactionBytesMax });
  }

  /** Log, apply, maybe checkpoint; returns the promise of durability (awaited outside the lock). */
  private async commit(txn: Txn): Promise<{ durable: Promise<void> } | undefined> {
    if (txn.isEmpty) return undefined;
    const a = this.log.append(txn.changes);
    const committed: AppliedTxn = { txn: a.txn, firstLsn: a.firstLsn, commitLsn: a.commitLsn, hlc: a.hlc, changes: txn.changes, encodedRuns: a.encodedRuns };
    this.carriedMax = undefined;
    try {
      await this.tables.apply(committed);
    } catch (e) {
      this.failure = new DosqlError('IO', `commit could not be applied; reopen the database to recover: ${(e as Error).message}`, { cause: e });
      throw this.failure;
    }
    // The committed state is now exactly what this transaction saw and wrote.
    if (txn.snapshot === undefined) this.carriedMax = { lsn: this.tables.appliedLsn, max: txn.knownMaxRowids() };
    // Subscribers learn of the commit once it is durable (they read only durable log).
    a.durable.then(() => this.notifyCommit(), () => {});
    this.changesSinceCheckpoint += Number(a.commitLsn - a.firstLsn);
    if (this.changesSinceCheckpoint >= (this.options.checkpointChangesMin ?? CHECKPOINT_CHANGES_DEFAULT)) this.checkpointDue = a.durable;
    return { durable: a.durable };
  }

  /**
   * The checkpoint a commit made due, once that commit is durable, holding the lock the
   * committing statement released: statements that come later wait for it, but the commit that
   * made it due does not. Its caller's transaction is already durable in the log, so the
   * checkpoint is upkeep: a failure leaves the changes counted, and the next commit tries again
   * (a checkpoint that fails changes nothing a reader sees, see TableStore.checkpoint).
   */
  private async checkpointAfter(durable: Promise<void>): Promise<void> {
    try {
      await durable;
      // A macrotask first: the committing caller's continuation runs before the checkpoint's
      // synchronous part (encoding every dirty page) holds the thread for tens of milliseconds.
      await new Promise<void>((resume) => setTimeout(resume, 0));
      if (!this.closed && !this.failure) {
        await this.tables.checkpoint();
        await this.slots.enforceLag();
        this.changesSinceCheckpoint = 0;
      }
    } catch {
      // Counted changes stay counted: see above.
    } finally {
      this.unlock();
    }
  }

  private intMode(options: CallOptions | undefined): IntMode {
    return options?.intMode ?? this.options.intMode ?? 'number';
  }

  /** @internal for tests: the table materializer and log. */
  get internals(): { tables: TableStore; log: Log; store: ByteStore } {
    return { tables: this.tables, log: this.log, store: this.store };
  }
}

export interface TransactionOptions {
  /** SQLite's BEGIN modes; all behave alike while transactions run one at a time. */
  mode?: 'deferred' | 'immediate' | 'exclusive';
  /** SERIALIZABLE (default) or SNAPSHOT; see the method's comment for what holds today. */
  isolation?: 'serializable' | 'snapshot';
}

/** What one statement of a batch returns: rows (if any) and the write counts. */
export interface BatchResult extends QueryResult {
  rowsAffected: number;
  lastInsertRowid: number | bigint;
}

/**
 * The handle a `db.transaction` callback runs statements through. Valid only until the callback
 * returns or throws; later calls throw MISUSE. BEGIN, COMMIT and ROLLBACK are refused inside
 * (SAVEPOINT, RELEASE and ROLLBACK TO are allowed); returning commits, throwing rolls back.
 */
export class Transaction {
  private finished = false;
  constructor(
    private readonly db: Database,
    private readonly session: Session,
    private readonly snapshot: bigint,
  ) {}

  /** Whether commit or rollback has ended this transaction. */
  get ended(): boolean {
    return this.finished;
  }

  async exec(sql: string, params?: Params, options?: CallOptions): Promise<ExecResult> {
    this.check();
    return this.db.execResult(await this.db.withLock(() => this.db.execUnlocked(sql, params, this.session)), options);
  }
  async query(sql: string, params?: Params, options?: CallOptions): Promise<QueryResult> {
    this.check();
    const r = await this.db.withLock(() => this.db.queryUnlocked(sql, params, this.session, options?.asOf));
    return this.db.queryResult(r, options);
  }
  async all(sql: string, params?: Params, options?: CallOptions): Promise<Array<Record<string, SqlValue>>> {
    const r = await this.query(sql, params, options);
    return r.rows.map((row) => toObject(r.columns, row));
  }
  async get(sql: string, params?: Params, options?: CallOptions): Promise<Record<string, SqlValue> | undefined> {
    const r = await this.query(sql, params, options);
    return r.rows.length ? toObject(r.columns, r.rows[0]!) : undefined;
  }
  /** One statement: its rows and its write counts. */
  async run(sql: string, params?: Params, options?: CallOptions): Promise<BatchResult> {
    this.check();
    const r = await this.db.withLock(() => this.db.execUnlocked(sql, params, this.session));
    return { ...this.db.queryResult(r, options), ...this.db.execResult(r, options) };
  }
  /** Validate and commit durably; CONFLICT (nothing applied) when a concurrent commit interfered. */
  async commit(): Promise<void> {
    this.check();
    this.finished = true;
    try {
      await this.db.commitConcurrent(this.session, this.snapshot);
    } finally {
      this.close();
    }
  }
  /** Drop everything this transaction did. Idempotent. */
  rollback(): void {
    if (this.finished) return;
    this.finished = true;
    this.close();
  }
  private close(): void {
    if (this.session.txn === undefined) return;
    this.session.txn = undefined;
    this.db.endConcurrent(this.snapshot);
  }
  private check(): void {
    if (this.finished) throw new DosqlError('MISUSE', 'the transaction has ended');
  }
}

/** Index of the innermost savepoint of that name; DosqlError when there is none. */
function findSavepoint(txn: Txn, name: string): number {
  const key = name.toLowerCase();
  for (let i = txn.savepoints.length - 1; i >= 0; i--) if (txn.savepoints[i]!.name === key) return i;
  throw new DosqlError('ERROR', `no such savepoint: ${name}`);
}

function isTransactionControl(s: Statement): boolean {
  const t = s.type;
  return t === 'begin' || t === 'commit' || t === 'rollback' || t === 'savepoint' || t === 'release';
}

function checkInTransaction(s: Statement): void {
  const t = s.type;
  if (t === 'begin' || t === 'commit' || (t === 'rollback' && s.savepoint === undefined)) {
    throw new DosqlError('MISUSE', `${t.toUpperCase()} inside db.transaction(): return to commit, throw to roll back`);
  }
}

function checkTransactionOptions(o: TransactionOptions): void {
  if (o.mode !== undefined && !['deferred', 'immediate', 'exclusive'].includes(o.mode)) {
    throw new DosqlError('MISUSE', `transaction mode must be deferred, immediate or exclusive; got ${String(o.mode)}`);
  }
  if (o.isolation !== undefined && !['serializable', 'snapshot'].includes(o.isolation)) {
    throw new DosqlError('MISUSE', `isolation must be serializable or snapshot; got ${String(o.isolation)}`);
  }
}

export class PreparedStatement implements PreparedHandle {
  /** @internal its parsed statements and their plans, once first run (see Database.execPrepared). */
  parsed: CachedStatement[] | undefined;
  constructor(
    private readonly db: Database,
    readonly sql: string,
  ) {}
  run(params?: Params): Promise<ExecResult> {
    return this.db.execPrepared(this, params);
  }
  async all(params?: Params): Promise<Array<Record<string, SqlValue>>> {
    const r = this.db.queryPreparedSync(this, params) ?? (await this.db.queryLocked(this.sql, params, undefined, this.parsed));
    return r.rows.map((row) => toObject(r.columns, row));
  }
  /**
   * Run the statement once per parameter set, in order, as one statement: a bulk load's path.
   * Each run is what `run(params)` would do, but the call takes the database once for all of them,
   * so it costs one promise, not one per row.
   *
   * - Atomic: when a run fails, the error (its code, the message prefixed with the failing set's
   *   index) rejects the call and no run of it leaves a change. Inside BEGIN ... COMMIT the
   *   transaction keeps its earlier changes; in autocommit the runs commit together, once, and the
   *   call resolves when that commit is durable.
   * - One statement only, and not transaction control (BEGIN, COMMIT, ...): MISUSE.
   * - Resolves to `rowsAffected` summed over the runs, the last inserted rowid and the LSN; rows a
   *   statement returns (SELECT, RETURNING) are not kept.
   * - The call holds the database until its last run: other statements wait, and a long array
   *   runs without yielding. `transactionBytesMax` bounds what one transaction may hold.
   * - `paramSets` is read during the call and not kept.
   */
  runMany(paramSets: readonly Params[], options?: CallOptions): Promise<ExecResult> {
    return this.db.execMany(this, paramSets, options);
  }
  /** Not an async function: a synchronous answer costs one resolved promise, not an async frame. */
  get(params?: Params): Promise<Record<string, SqlValue> | undefined> {
    let row: Record<string, SqlValue> | undefined;
    try {
      const raw = this.db.queryPreparedSyncRaw(this, params);
      if (raw === undefined) return this.getLocked(params);
      row = this.db.firstObject(raw);
    } catch (e) {
      return Promise.reject(e);
    }
    return Promise.resolve(row);
  }
  private async getLocked(params: Params | undefined): Promise<Record<string, SqlValue> | undefined> {
    const r = await this.db.queryLocked(this.sql, params, undefined, this.parsed);
    return r.rows.length ? toObject(r.columns, r.rows[0]!) : undefined;
  }
  query(params?: Params): Promise<QueryResult> {
    return this.db.queryPrepared(this, params);
  }
}

/**
 * The run context of one statement execution (RunContext, DmlRun). A class with every field set
 * in the constructor, so all runs share one shape; `reset` readies it for the next run of the
 * same statement (Database.syncEnv).
 */
class StatementRun implements DmlRun {
  params: Value[] = [];
  txn!: Txn;
  asOf: bigint | undefined = undefined;
  foreignKeys = false;
  fkPending: DmlRun['fkPending'] = undefined;
  subqueryCache: Map<unknown, unknown> | undefined = undefined;
  triggerStack: string[] | undefined = undefined;
  /** 'now' is read once per statement, as in SQLite, and only by statements that ask for it. */
  private statementTime: number | undefined = undefined;
  readonly random = randomInt64;
  /** An own function, not a method: scalar functions take it out of the run (expr.ts). */
  readonly now = (): number => (this.statementTime ??= this.clock());
  readonly checkAsOf: DmlRun['checkAsOf'];
  readonly refreshRetention: DmlRun['refreshRetention'];
  readonly lsnAtTimestamp: DmlRun['lsnAtTimestamp'];

  constructor(
    private readonly clock: () => number,
    helpers: Pick<DmlRun, 'checkAsOf' | 'refreshRetention' | 'lsnAtTimestamp'>,
    readonly triggers: TriggerHost,
    readonly hashJoinRowsMax: number | undefined,
  ) {
    this.checkAsOf = helpers.checkAsOf;
    this.refreshRetention = helpers.refreshRetention;
    this.lsnAtTimestamp = helpers.lsnAtTimestamp;
  }

  reset(params: Value[], txn: Txn, asOf: bigint | undefined, foreignKeys: boolean): void {
    this.params = params;
    this.txn = txn;
    this.asOf = asOf;
    this.foreignKeys = foreignKeys;
    this.fkPending = undefined;
    this.subqueryCache = undefined;
    this.triggerStack = undefined;
    this.statementTime = undefined;
  }
}

/**
 * How statements are compiled against a transaction's view of the schema. With `outer` (a
 * trigger's NEW and OLD), every statement sees it as an enclosing scope and may use RAISE().
 */
function makePlanContext(sql: string, txn: Txn, outer?: Scope): PlanContext {
  const cx: PlanContext = {
    sql,
    fail(code: ErrorCode, message: string, pos: number): never {
      throw new DosqlError(code, message, { position: positionAt(sql, pos) });
    },
    compileSubquery: (select, scope) => (cx.explain ? cx.explain.nest('SUBQUERY', () => compileSelect(select, scope, cx)) : compileSelect(select, scope, cx)),
    table: (name) => txn.table(name),
    stats: (def) => txn.store.stats(def),
  };
  if (outer) {
    cx.outer = outer;
    cx.inTrigger = true;
    cx.compileStatement = (st) =>
      st.type === 'select' ? compileSelect(st, outer, cx) : st.type === 'insert' ? compileInsert(st, cx) : st.type === 'update' ? compileUpdate(st, cx) : compileDelete(st, cx);
  }
  return cx;
}

/** REINDEX takes a table, an index or a collation name. */
function isReindexTarget(txn: Txn, name: string): boolean {
  const key = name.toLowerCase();
  if (['binary', 'nocase', 'rtrim'].includes(key)) return true;
  return txn.tableList().some((t) => (t.name.toLowerCase() === key && !t.view) || (t.indexes ?? []).some((x) => x.name.toLowerCase() === key));
}

function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * The file backend's module, named by a variable so that bundlers leave it out: it needs node:fs,
 * which a Worker has no use for, and it took 3.7 KiB of the Worker's gzipped bundle.
 */
const FILE_STORE_MODULE = '../storage/file.js';

async function openFileStore(path: string): Promise<ByteStore> {
  let module: typeof import('../storage/file.js');
  try {
    module = (await import(FILE_STORE_MODULE)) as typeof import('../storage/file.js');
  } catch (e) {
    throw new DosqlError('MISUSE', 'file storage (the path option) needs Node; a Worker stores a database in its Durable Object', { cause: e });
  }
  return module.FileStore.open(path);
}

async function removeDirectory(path: string): Promise<void> {
  const { rm } = await import('node:fs/promises');
  await rm(path, { recursive: true, force: true });
}

/** A row as an object keyed by column name; with `mode`, engine values are converted as they go in. */
function toObject(columns: string[], row: SqlValue[] | Value[], mode?: IntMode): Record<string, SqlValue> {
  const o: Record<string, SqlValue> = {};
  for (let i = 0; i < columns.length; i++) o[columns[i]!] = mode === undefined ? (row[i] as SqlValue) : toSqlValue(row[i] as Value, mode);
  return o;
}

/** The parameters of a run whose plan reads none from its run state (runBoundSync). */
const NO_PARAMS: Value[] = Object.freeze([]) as unknown as Value[];

function bindParams(p: ParsedStatement, params: Params | undefined): Value[] {
  const n = p.parameterCount;
  // Packed, sized and all NULL (see nullRow): pushing into [] would allocate room for 17 values.
  const out = nullRow(n);
  if (Array.isArray(params)) {
    const given = Math.min(params.length, n);
    for (let i = 0; i < given; i++) out[i] = bindParam(params[i], i + 1);
    return out;
  }
  if (params === undefined || params === null) return out;
  if (typeof params !== 'object') throw new DosqlError('MISUSE', 'parameters must be an array or an object');
  const obj = params as Record<string, unknown>;
  for (const [name, index] of p.parameterNames) {
    const bare = name.slice(1);
    const v = bare in obj ? obj[bare] : name in obj ? obj[name] : undefined;
    if (v !== undefined) out[index - 1] = bindParam(v, name);
  }
  return out;
}

function bindParam(v: unknown, what: string | number): Value {
  const x = fromParam(v);
  if (x === undefined) throw new DosqlError('MISMATCH', `parameter ${what} has a type that cannot be bound (${typeof v})`);
  return x;
}

function randomInt64(): bigint {
  const hi = BigInt(Math.floor(Math.random() * 2 ** 32));
  const lo = BigInt(Math.floor(Math.random() * 2 ** 32));
  return BigInt.asIntN(64, (hi << 32n) | lo);
}

function describe(s: Statement): string {
  return s.type.replace('_', ' ').toUpperCase();
}
