/**
 * DatabaseHost: one embedded `Database` served to many remote callers, with the server's rules
 * applied around every call. Both the capnweb RPC target and the JSON route go through it, so they
 * enforce the same permissions and limits and report errors the same way.
 *
 * - Opening: the database is opened lazily on the first call, on the byte store it is given (the
 *   Durable Object's storage), and kept. If opening fails, the error is returned and the next call
 *   tries again.
 * - Errors never escape: a DosqlError becomes a `WireError` with its code; anything else (a bug, a
 *   storage failure the engine did not wrap) becomes code 'ERROR' with its message. After an IO
 *   error or a non-DosqlError the in-memory state may not match storage, so the database object is
 *   dropped (without a checkpoint) and the next call reopens it from what is durable, which is
 *   exactly crash recovery. The host itself keeps serving.
 * - Calls run one at a time (a promise-chain mutex). The engine already runs statements one at a
 *   time, but a transaction is per `Database`, not per caller: a call must not start while another
 *   call's BEGIN is open, and a call that leaves a transaction open (BEGIN without COMMIT, or a
 *   failure in the middle of BEGIN ... COMMIT) is rolled back before the next call starts. So a
 *   SQL transaction is one call: `exec('BEGIN; ...; COMMIT')`. Interactive transactions across
 *   calls are the engine's concurrent `Database.begin()` handles, held by
 *   server/transactions.ts, each call on them one call of this host. (Cost: commits of different callers do
 *   not share one group-commit write; a Durable Object's local storage write is fast.)
 * - Permissions: a read-only caller may run only statements `Database.isReadOnly` accepts; anything
 *   else is refused with FORBIDDEN before it runs.
 * - Limits (server/limits.ts) are checked before running (SQL text, parameters) and on the result
 *   (rows, bytes).
 */
import type { BatchResult, BatchStatement, CallOptions, ExecResult, Params, QueryResult, WireError, WireResult } from '../base/api.js';
import { DosqlError } from '../base/errors.js';
import type { SqlValue } from '../base/values.js';
import { Database } from '../query/database.js';
import type { ByteStore } from '../storage/types.js';
import { limitExceeded, type ServerLimits } from './limits.js';

export interface Access {
  /** Only statements that read may run. */
  readOnly: boolean;
}

export interface TableSchema {
  name: string;
  sql: string;
}

/** What the JSON route runs: rows for a reading statement, counts for writes. */
export type RunResult =
  | ({ kind: 'rows' } & QueryResult)
  | ({ kind: 'write' } & ExecResult);

/** Most characters of an unexpected error's message passed to the caller. */
const INTERNAL_MESSAGE_CHARS_MAX = 500;

/** The store a host runs on, or how to get it (a branch builds its fork view asynchronously). */
export type StoreSource = ByteStore | (() => Promise<ByteStore>);

export class DatabaseHost {
  private db: Database | undefined;
  private opening: Promise<Database> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private storeReady: Promise<ByteStore> | undefined;
  private retired: DosqlError | undefined;
  /** Interactive transactions open on this host (server/transactions.ts keeps the count). */
  openTransactions = 0;

  constructor(
    private readonly source: StoreSource,
    readonly limits: Readonly<ServerLimits>,
  ) {}

  /** The byte store the database runs on (built on first use for a branch). */
  store(): Promise<ByteStore> {
    if (typeof this.source !== 'function') return Promise.resolve(this.source);
    this.storeReady ??= this.source().catch((e: unknown) => {
      this.storeReady = undefined;
      throw e;
    });
    return this.storeReady;
  }

  /** The open database, if any (a transaction checks it still runs on the one it began on). */
  get current(): Database | undefined {
    return this.db;
  }

  /**
   * Run `statements` atomically in one transaction (the engine's `batch`), with the same checks
   * as single calls: every statement's SQL and parameters, read-only access, the result limits.
   */
  batch(statements: unknown, options: unknown, access: Access): Promise<WireResult<BatchResult[]>> {
    return this.call(async (db) => {
      if (!Array.isArray(statements)) throw new DosqlError('MISUSE', 'batch() takes an array of { sql, params }');
      const max = this.limits.batchStatementsMax;
      if (statements.length > max) throw limitExceeded('batch of', `${statements.length} statements`, 'batchStatementsMax', max);
      const checked: BatchStatement[] = statements.map((st: unknown) => {
        if (typeof st !== 'object' || st === null) throw new DosqlError('MISUSE', 'batch() takes an array of { sql, params }');
        const p = this.checkCall((st as BatchStatement).sql, (st as BatchStatement).params);
        if (access.readOnly) this.checkReadOnly(db, p.sql);
        return p;
      });
      const results = await db.batch(checked, callOptions(options));
      this.checkResult(results.flatMap((r) => r.rows));
      return results;
    });
  }

  exec(sql: unknown, params: unknown, options: unknown, access: Access): Promise<WireResult<ExecResult>> {
    return this.call(async (db) => {
      const p = this.checkCall(sql, params);
      if (access.readOnly) this.checkReadOnly(db, p.sql);
      return db.exec(p.sql, p.params, callOptions(options));
    });
  }

  query(sql: unknown, params: unknown, options: unknown, access: Access): Promise<WireResult<QueryResult>> {
    return this.call(async (db) => {
      const p = this.checkCall(sql, params);
      if (access.readOnly) this.checkReadOnly(db, p.sql);
      const r = await db.query(p.sql, p.params, callOptions(options));
      this.checkResult(r.rows);
      return r;
    });
  }

  /**
   * The JSON route's call: a statement that only reads runs as `query` (one statement, rows);
   * anything else runs as `exec` (any number of statements, counts).
   */
  run(sql: unknown, params: unknown, access: Access): Promise<WireResult<RunResult>> {
    return this.call(async (db): Promise<RunResult> => {
      const p = this.checkCall(sql, params);
      if (db.isReadOnly(p.sql)) {
        const r = await db.query(p.sql, p.params);
        this.checkResult(r.rows);
        return { kind: 'rows', ...r };
      }
      if (access.readOnly) this.checkReadOnly(db, p.sql);
      return { kind: 'write', ...(await db.exec(p.sql, p.params)) };
    });
  }

  /** The tables and their CREATE statements (for shells' `.tables` / `.schema`). */
  schema(): Promise<WireResult<TableSchema[]>> {
    return this.call(async (db) => db.schema());
  }

  /**
   * Stop serving for good, without writing anything (a dropped branch, whose storage is deleted
   * next): waits for the call in progress; every later call returns `reason`.
   */
  retire(reason: DosqlError): Promise<void> {
    return this.serialized(async () => {
      this.retired = reason;
      this.drop();
    });
  }

  /** Close the database (checkpointing it); the next call reopens it. */
  async close(): Promise<void> {
    await this.serialized(async () => {
      const db = this.db;
      this.db = undefined;
      this.opening = undefined;
      if (db) await db.close();
    });
  }

  // --- internals ------------------------------------------------------------------------------

  /** @internal run `f` as one call of this host: serialized, errors as values (server/transactions.ts). */
  serve<T>(f: (db: Database) => Promise<T>): Promise<WireResult<T>> {
    return this.call(f);
  }

  private call<T>(f: (db: Database) => Promise<T>): Promise<WireResult<T>> {
    return this.serialized(async (): Promise<WireResult<T>> => {
      if (this.retired) return { ok: false, error: toWireError(this.retired) };
      let db: Database;
      try {
        db = await this.open();
      } catch (e) {
        return { ok: false, error: toWireError(e) };
      }
      try {
        const value = await f(db);
        await this.endOpenTransaction(db);
        return { ok: true, value };
      } catch (e) {
        const error = toWireError(e);
        if (!(e instanceof DosqlError) || e.code === 'IO' || e.code === 'CORRUPT') this.drop();
        else await this.endOpenTransaction(db);
        return { ok: false, error };
      }
    });
  }

  private serialized<T>(f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(f, f);
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private open(): Promise<Database> {
    if (this.db) return Promise.resolve(this.db);
    this.opening ??= this.store().then((storage) => Database.open({ storage, transactionBytesMax: this.limits.transactionBytesMax })).then(
      (db) => {
        this.db = db;
        return db;
      },
      (e: unknown) => {
        this.opening = undefined;
        throw e;
      },
    );
    return this.opening;
  }

  /** Forget the database without closing it: its state is suspect; reopening recovers. */
  private drop(): void {
    this.db = undefined;
    this.opening = undefined;
  }

  private async endOpenTransaction(db: Database): Promise<void> {
    if (!db.inTransaction) return;
    try {
      await db.exec('ROLLBACK');
    } catch {
      this.drop();
    }
  }

  /** @internal */
  checkCall(sql: unknown, params: unknown): { sql: string; params: Params | undefined } {
    if (typeof sql !== 'string') throw new DosqlError('MISUSE', 'SQL must be a string');
    const l = this.limits;
    if (sql.length > l.sqlTextCharsMax) throw limitExceeded('SQL text of', `${sql.length} characters`, 'sqlTextCharsMax', l.sqlTextCharsMax);
    if (params === undefined || params === null) return { sql, params: undefined };
    if (typeof params !== 'object') throw new DosqlError('MISUSE', 'parameters must be an array or an object');
    const count = Array.isArray(params) ? params.length : Object.keys(params).length;
    if (count > l.paramsPerCallMax) throw limitExceeded('parameters:', count, 'paramsPerCallMax', l.paramsPerCallMax);
    return { sql, params: params as Params };
  }

  /** @internal */
  checkReadOnly(db: Database, sql: string): void {
    if (!db.isReadOnly(sql)) {
      throw new DosqlError('FORBIDDEN', 'this token is read-only: only statements that read (SELECT) may run');
    }
  }

  /** @internal */
  checkResult(rows: SqlValue[][]): void {
    const l = this.limits;
    if (rows.length > l.rowsPerResultMax) {
      throw new DosqlError(
        'LIMIT_EXCEEDED',
        `result of ${rows.length} rows; rowsPerResultMax is ${l.rowsPerResultMax}: page through it with LIMIT and OFFSET`,
      );
    }
    const bytes = resultBytes(rows, l.resultBytesMax);
    if (bytes > l.resultBytesMax) {
      throw new DosqlError(
        'LIMIT_EXCEEDED',
        `result of more than ${l.resultBytesMax} bytes; resultBytesMax is ${l.resultBytesMax}: page through it with LIMIT and OFFSET`,
      );
    }
  }
}

/**
 * Estimated size of a result's values: 8 per number, UTF-8 length of text (counted as up to 3 per
 * UTF-16 unit past ASCII), byte length of BLOBs, 1 per NULL. Stops counting once past `stopAbove`.
 */
export function resultBytes(rows: SqlValue[][], stopAbove: number): number {
  let total = 0;
  for (const row of rows) {
    for (const v of row) total += valueBytes(v);
    if (total > stopAbove) return total;
  }
  return total;
}

function valueBytes(v: SqlValue): number {
  if (v === null) return 1;
  switch (typeof v) {
    case 'number':
    case 'bigint':
      return 8;
    case 'string':
      return utf8Length(v);
    default:
      return v.byteLength;
  }
}

function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) n += c >= 0x800 ? 2 : 1;
  }
  return n;
}

export function callOptions(options: unknown): CallOptions | undefined {
  if (options === undefined || options === null) return undefined;
  if (typeof options !== 'object') throw new DosqlError('MISUSE', 'options must be an object');
  const { intMode, asOf } = options as { intMode?: unknown; asOf?: unknown };
  const out: CallOptions = {};
  if (intMode !== undefined) {
    if (intMode !== 'number' && intMode !== 'bigint') throw new DosqlError('MISUSE', `intMode must be 'number' or 'bigint'`);
    out.intMode = intMode;
  }
  // The database checks the shape and range of asOf and answers with its own DosqlError.
  if (asOf !== undefined) out.asOf = asOf as CallOptions['asOf'];
  return out;
}

export function toWireError(e: unknown): WireError {
  if (e instanceof DosqlError) {
    const w: WireError = { code: e.code, message: e.message };
    if (e.line !== undefined) w.line = e.line;
    if (e.column !== undefined) w.column = e.column;
    return w;
  }
  const message = e instanceof Error ? e.message : String(e);
  return { code: 'ERROR', message: `internal error: ${message.slice(0, INTERNAL_MESSAGE_CHARS_MAX)}` };
}
