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
 * Opening replays the log from the materializer's checkpoint; checkpoints are taken once enough
 * changes have accumulated, and on close.
 */
import type { CallOptions, ExecResult, Params, QueryResult } from '../base/api.js';
import { DosqlError, type ErrorCode } from '../base/errors.js';
import { fromParam, toSqlValue, type IntMode, type SqlValue, type Value } from '../base/values.js';
import { MemoryStore } from '../storage/memory.js';
import type { ByteStore } from '../storage/types.js';
import { Log } from '../log/log.js';
import type { CommittedTxn, Lsn } from '../log/types.js';
import { TableStore } from '../materializers/tables.js';
import type { ParsedStatement, Statement } from './ast.js';
import { createTable, dropTable } from './ddl.js';
import { compileDelete, compileInsert, compileUpdate, type DmlPlan } from './dml.js';
import { positionAt } from './lexer.js';
import { parse } from './parser.js';
import type { Env } from './scope.js';
import { compileSelect, type PlanContext, type SelectPlan, type SelectRun } from './select.js';
import { Txn } from './txn.js';


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
}

/** Statements kept parsed and compiled; keyed by SQL text. */
export const STATEMENT_CACHE_ENTRIES_MAX = 512;
/** Default number of changes between checkpoints. */
export const CHECKPOINT_CHANGES_DEFAULT = 100_000;

interface StatementOutcome {
  columns?: string[];
  rows?: Value[][];
  rowsAffected?: number;
  /** Resolves when the statement's commit is durable; awaited after the lock is released. */
  durable?: Promise<void>;
}

interface CachedStatement {
  parsed: ParsedStatement;
  sql: string;
  plan?: { catalogVersion: number; plan: SelectPlan | DmlPlan };
}

export type { CallOptions, ExecResult, Params, QueryResult };

export class Database {
  private txn: Txn | undefined;
  private busy = false;
  private readonly waiters: Array<() => void> = [];
  /** Autocommit reads share one transaction: they never write to its overlay. */
  private readonly readTxn: Txn;
  private readonly cache = new Map<string, CachedStatement[]>();
  private lastInsertRowid: number | bigint = 0;
  private changesSinceCheckpoint = 0;
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
    this.readTxn = new Txn(tables);
  }

  static async open(options: OpenOptions = {}): Promise<Database> {
    const store = options.storage ?? (options.path ? await openFileStore(options.path) : new MemoryStore());
    const log = await Log.open(store, { clock: options.clock });
    const tables = await TableStore.open(store, { cacheBytesMax: options.cacheBytesMax });
    if (tables.appliedLsn > log.lastLsn) {
      throw new DosqlError('CORRUPT', `table checkpoint at LSN ${tables.appliedLsn} is ahead of the log (last LSN ${log.lastLsn})`);
    }
    for await (const txn of log.read(tables.appliedLsn + 1n)) await tables.apply(txn);
    return new Database(store, log, tables, options, options.storage === undefined);
  }

  /** LSN of the last committed transaction visible to reads. */
  get lsn(): bigint {
    return this.tables.appliedLsn;
  }

  get inTransaction(): boolean {
    return this.txn !== undefined;
  }

  async exec(sql: string, params?: Params, options?: CallOptions): Promise<ExecResult> {
    let durable: Promise<void> | undefined;
    const result = await this.locked(async () => {
      let affected = 0;
      for (const st of this.statements(sql)) {
        const r = await this.runStatement(st, params);
        if (r.rowsAffected !== undefined) affected = r.rowsAffected;
        if (r.durable) durable = r.durable;
      }
      return { rowsAffected: affected, lastInsertRowid: this.lastInsertRowid, lsn: this.tables.appliedLsn };
    });
    if (durable) await durable;
    return { ...result, lastInsertRowid: toSqlValue(result.lastInsertRowid, this.intMode(options)) as number | bigint };
  }

  async query(sql: string, params?: Params, options?: CallOptions): Promise<QueryResult> {
    const { columns, rows, durable, lsn } = await this.locked(async () => {
      const sts = this.statements(sql);
      if (sts.length !== 1) throw new DosqlError('MISUSE', `query() takes exactly one statement; got ${sts.length}`);
      const r = await this.runStatement(sts[0]!, params);
      return { columns: r.columns ?? [], rows: r.rows ?? [], durable: r.durable ?? this.pendingDurability(), lsn: this.tables.appliedLsn };
    });
    if (durable) await durable;
    const mode = this.intMode(options);
    return { columns, rows: rows.map((r) => r.map((v) => toSqlValue(v, mode))), lsn };
  }

  async all(sql: string, params?: Params, options?: CallOptions): Promise<Array<Record<string, SqlValue>>> {
    const r = await this.query(sql, params, options);
    return r.rows.map((row) => toObject(r.columns, row));
  }

  async get(sql: string, params?: Params, options?: CallOptions): Promise<Record<string, SqlValue> | undefined> {
    const r = await this.query(sql, params, options);
    return r.rows.length ? toObject(r.columns, r.rows[0]!) : undefined;
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

  /** A reusable statement: parsing and planning happen once. */
  prepare(sql: string): PreparedStatement {
    return new PreparedStatement(this, sql);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.locked(async () => {
      this.txn = undefined;
      if (!this.failure) {
        await this.log.flush();
        await this.tables.checkpoint();
      }
      this.closed = true;
    });
    await this.log.close();
    if (this.ownsStore) await this.store.close();
  }

  // --- internals ------------------------------------------------------------------------------

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
      const next = this.waiters.shift();
      if (next) next();
      else this.busy = false;
    }
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

  private async runStatement(
    st: CachedStatement,
    params: Params | undefined,
  ): Promise<StatementOutcome> {
    const s = st.parsed.statement;
    switch (s.type) {
      case 'begin':
        if (this.txn) throw new DosqlError('ERROR', 'cannot start a transaction within a transaction');
        this.txn = new Txn(this.tables);
        return {};
      case 'commit': {
        if (!this.txn) throw new DosqlError('ERROR', 'cannot commit - no transaction is active');
        const txn = this.txn;
        this.txn = undefined;
        return { durable: (await this.commit(txn))?.durable };
      }
      case 'rollback':
        if (s.savepoint) throw new DosqlError('ERROR', 'SAVEPOINT is not supported yet');
        if (!this.txn) throw new DosqlError('ERROR', 'cannot rollback - no transaction is active');
        this.txn = undefined;
        return {};
      case 'savepoint':
      case 'release':
        throw new DosqlError('ERROR', 'SAVEPOINT is not supported yet');
      default:
        return this.runInTransaction(st, s, params);
    }
  }

  private async runInTransaction(st: CachedStatement, s: Statement, params: Params | undefined): Promise<StatementOutcome> {
    if (this.txn === undefined && s.type === 'select') return this.runIn(st, s, this.readTxn, params);
    const autocommit = this.txn === undefined;
    const txn = this.txn ?? new Txn(this.tables);
    const mark = txn.mark();
    try {
      const out = await this.runIn(st, s, txn, params);
      txn.release(mark);
      if (!autocommit) return out;
      return { ...out, durable: (await this.commit(txn))?.durable };
    } catch (e) {
      txn.rollbackTo(mark);
      throw e;
    }
  }

  private async runIn(st: CachedStatement, s: Statement, txn: Txn, params: Params | undefined): Promise<StatementOutcome> {
    // Only compilation (a plan-cache miss, DDL) needs the planning context.
    const cx = (): PlanContext => this.planContext(st, txn);
    const bound = bindParams(st.parsed, params);
    const run: SelectRun = { params: bound, txn, random: randomInt64, now: Date.now };
    const env: Env = { rows: [], outer: undefined, agg: undefined, run };
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
        return { rowsAffected: r.rowsAffected };
      }
      case 'create_table':
        createTable(s, st.sql.slice(st.parsed.start, st.parsed.end), txn, cx());
        return { rowsAffected: 0 };
      case 'drop':
        dropTable(s, txn, cx());
        return { rowsAffected: 0 };
      default:
        return cx().fail('ERROR', `${describe(s)} is not supported yet`, s.pos);
    }
  }

  /** Compiled plans are reused while the catalog is unchanged and no DDL is pending. */
  private plan(st: CachedStatement, txn: Txn, compile: () => SelectPlan | DmlPlan): SelectPlan | DmlPlan {
    const version = this.tables.catalog.version;
    if (st.plan && st.plan.catalogVersion === version && !txn.hasSchemaChanges) return st.plan.plan;
    const plan = compile();
    if (!txn.hasSchemaChanges) st.plan = { catalogVersion: version, plan };
    return plan;
  }

  private planContext(st: CachedStatement, txn: Txn): PlanContext {
    const sql = st.sql;
    const cx: PlanContext = {
      sql,
      fail(code: ErrorCode, message: string, pos: number): never {
        throw new DosqlError(code, message, { position: positionAt(sql, pos) });
      },
      compileSubquery: (select, scope) => compileSelect(select, scope, cx),
      table: (name) => txn.table(name),
    };
    return cx;
  }

  /** Log, apply, maybe checkpoint; returns the promise of durability (awaited outside the lock). */
  private async commit(txn: Txn): Promise<{ durable: Promise<void> } | undefined> {
    if (txn.isEmpty) return undefined;
    const a = this.log.append(txn.changes);
    const committed: CommittedTxn = { txn: a.txn, firstLsn: a.firstLsn, commitLsn: a.commitLsn, hlc: a.hlc, changes: txn.changes };
    try {
      await this.tables.apply(committed);
    } catch (e) {
      this.failure = new DosqlError('IO', `commit could not be applied; reopen the database to recover: ${(e as Error).message}`, { cause: e });
      throw this.failure;
    }
    this.changesSinceCheckpoint += txn.changes.length;
    if (this.changesSinceCheckpoint >= (this.options.checkpointChangesMin ?? CHECKPOINT_CHANGES_DEFAULT)) {
      await a.durable;
      await this.tables.checkpoint();
      this.changesSinceCheckpoint = 0;
    }
    return { durable: a.durable };
  }

  private intMode(options: CallOptions | undefined): IntMode {
    return options?.intMode ?? this.options.intMode ?? 'number';
  }

  /** @internal for tests: the table materializer and log. */
  get internals(): { tables: TableStore; log: Log; store: ByteStore } {
    return { tables: this.tables, log: this.log, store: this.store };
  }
}

export class PreparedStatement {
  constructor(
    private readonly db: Database,
    readonly sql: string,
  ) {}
  run(params?: Params): Promise<ExecResult> {
    return this.db.exec(this.sql, params);
  }
  all(params?: Params): Promise<Array<Record<string, SqlValue>>> {
    return this.db.all(this.sql, params);
  }
  get(params?: Params): Promise<Record<string, SqlValue> | undefined> {
    return this.db.get(this.sql, params);
  }
  query(params?: Params): Promise<QueryResult> {
    return this.db.query(this.sql, params);
  }
}

async function openFileStore(path: string): Promise<ByteStore> {
  const { FileStore } = await import('../storage/file.js');
  return FileStore.open(path);
}

function toObject(columns: string[], row: SqlValue[]): Record<string, SqlValue> {
  const o: Record<string, SqlValue> = {};
  for (let i = 0; i < columns.length; i++) o[columns[i]!] = row[i]!;
  return o;
}

function bindParams(p: ParsedStatement, params: Params | undefined): Value[] {
  const out: Value[] = new Array(p.parameterCount).fill(null);
  if (params === undefined || params === null) return out;
  const conv = (v: unknown, what: string): Value => {
    const x = fromParam(v);
    if (x === undefined) throw new DosqlError('MISMATCH', `parameter ${what} has a type that cannot be bound (${typeof v})`);
    return x;
  };
  if (Array.isArray(params)) {
    for (let i = 0; i < Math.min(params.length, out.length); i++) out[i] = conv(params[i], String(i + 1));
    return out;
  }
  if (typeof params !== 'object') throw new DosqlError('MISUSE', 'parameters must be an array or an object');
  const obj = params as Record<string, unknown>;
  for (const [name, index] of p.parameterNames) {
    const bare = name.slice(1);
    const v = bare in obj ? obj[bare] : name in obj ? obj[name] : undefined;
    if (v !== undefined) out[index - 1] = conv(v, name);
  }
  return out;
}

function randomInt64(): bigint {
  const hi = BigInt(Math.floor(Math.random() * 2 ** 32));
  const lo = BigInt(Math.floor(Math.random() * 2 ** 32));
  return BigInt.asIntN(64, (hi << 32n) | lo);
}

function describe(s: Statement): string {
  return s.type.replace('_', ' ').toUpperCase();
}
