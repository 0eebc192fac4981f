/**
 * Interactive remote transactions: the capnweb RpcTarget a `begin()` call returns, holding the
 * engine's `Transaction` (query/database.ts `Database.begin`) across calls.
 *
 * Lifetime. The transaction ends in exactly one of five ways, and each gives its resources back
 * (the engine transaction's snapshot, the host's open-transaction count) exactly once:
 * - `commit()` (CONFLICT when a concurrent commit interfered: nothing is applied, it is over);
 * - `rollback()` (idempotent);
 * - idle timeout: no call for `transactionIdleMsMax` ms (server/limits.ts) rolls it back; the
 *   timer runs only between calls (a call queued behind others is not idle). The handle stays
 *   reachable, so the client's next call gets TIMEOUT, saying it was rolled back after N ms idle;
 * - disposal: capnweb calls `[Symbol.dispose]` when the client releases the stub and when the
 *   connection drops (the session disposes every export), so an abandoned socket rolls back at once;
 * - the host reopened its database after a failure (IO, a bug): the engine transaction belonged to
 *   the dropped `Database`, so the next call reports ERROR and the transaction counts as rolled back.
 *
 * Every call goes through the host (`DatabaseHost.serve`): serialized with all other calls of the
 * object, with the same limits and read-only rule as plain calls, and errors as `WireResult`s.
 * Fields are `#private` so that capnweb exposes only the methods.
 */
import { RpcTarget } from 'capnweb';
import type { CallOptions, ExecResult, Params, QueryResult, RemoteTransactionOptions, TransactionRpc, WireResult } from '../base/api.js';
import { DosqlError } from '../base/errors.js';
import type { Database, Transaction } from '../query/database.js';
import { callOptions, type Access, type DatabaseHost } from './host.js';
import { limitExceeded } from './limits.js';

type State = 'open' | 'ended' | 'timed-out' | 'lost';

export class TransactionRpcTarget extends RpcTarget implements TransactionRpc {
  readonly #host: DatabaseHost;
  readonly #access: Access;
  readonly #db: Database;
  readonly #tx: Transaction;
  readonly #idleMs: number;
  #state: State = 'open';
  #timer: ReturnType<typeof setTimeout> | undefined;

  private constructor(host: DatabaseHost, access: Access, db: Database, tx: Transaction) {
    super();
    this.#host = host;
    this.#access = access;
    this.#db = db;
    this.#tx = tx;
    this.#idleMs = host.limits.transactionIdleMsMax;
    host.openTransactions++;
    this.#arm();
  }

  /** Begin a transaction on the host's database; LIMIT_EXCEEDED past `transactionsOpenMax`. */
  static begin(host: DatabaseHost, options: unknown, access: Access): Promise<WireResult<TransactionRpcTarget>> {
    return host.serve(async (db) => {
      const max = host.limits.transactionsOpenMax;
      if (host.openTransactions >= max) {
        throw limitExceeded('open transactions:', host.openTransactions, 'transactionsOpenMax', max);
      }
      return new TransactionRpcTarget(host, access, db, db.begin(beginOptions(options)));
    });
  }

  exec(sql: string, params?: Params, options?: CallOptions): Promise<WireResult<ExecResult>> {
    return this.#run(async (tx, db) => {
      const p = this.#host.checkCall(sql, params);
      if (this.#access.readOnly) this.#host.checkReadOnly(db, p.sql);
      return tx.exec(p.sql, p.params, callOptions(options));
    });
  }

  query(sql: string, params?: Params, options?: CallOptions): Promise<WireResult<QueryResult>> {
    return this.#run(async (tx, db) => {
      const p = this.#host.checkCall(sql, params);
      if (this.#access.readOnly) this.#host.checkReadOnly(db, p.sql);
      const r = await tx.query(p.sql, p.params, callOptions(options));
      this.#host.checkResult(r.rows);
      return r;
    });
  }

  commit(): Promise<WireResult<{ lsn: bigint }>> {
    return this.#run(async (tx, db) => {
      try {
        await tx.commit();
      } finally {
        this.#end('ended');
      }
      return { lsn: db.lsn };
    });
  }

  rollback(): Promise<WireResult<null>> {
    this.#disarm();
    if (this.#state === 'open') {
      this.#tx.rollback();
      this.#end('ended');
    }
    return Promise.resolve({ ok: true, value: null });
  }

  /** capnweb: the client released the stub, or the connection dropped. */
  [Symbol.dispose](): void {
    this.#disarm();
    if (this.#state !== 'open') return;
    this.#tx.rollback();
    this.#end('ended');
  }

  // --- internals ------------------------------------------------------------------------------

  #run<T>(f: (tx: Transaction, db: Database) => Promise<T>): Promise<WireResult<T>> {
    this.#disarm();
    const done = this.#host.serve(async (db) => {
      this.#check(db);
      return f(this.#tx, db);
    });
    return done.finally(() => {
      if (this.#state === 'open') this.#arm();
    });
  }

  #check(db: Database): void {
    switch (this.#state) {
      case 'timed-out':
        throw new DosqlError(
          'TIMEOUT',
          `the transaction was rolled back after ${this.#idleMs} ms idle (transactionIdleMsMax is ${this.#idleMs}); begin a new one`,
        );
      case 'lost':
        throw new DosqlError('ERROR', 'the transaction was rolled back: the database was reopened after a failure');
      case 'ended':
        throw new DosqlError('MISUSE', 'the transaction has ended');
      case 'open':
        if (db !== this.#db || this.#host.current !== this.#db) {
          this.#end('lost');
          throw new DosqlError('ERROR', 'the transaction was rolled back: the database was reopened after a failure');
        }
    }
  }

  #arm(): void {
    this.#disarm();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#state !== 'open') return;
      this.#tx.rollback();
      this.#end('timed-out');
    }, this.#idleMs);
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Leave the open state, giving the host's count back exactly once. */
  #end(state: Exclude<State, 'open'>): void {
    if (this.#state !== 'open') return;
    this.#state = state;
    this.#disarm();
    this.#host.openTransactions--;
    if (state === 'lost') this.#tx.rollback();
  }
}

function beginOptions(options: unknown): RemoteTransactionOptions {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') throw new DosqlError('MISUSE', 'transaction options must be an object');
  const { mode, isolation } = options as RemoteTransactionOptions;
  // The engine checks the values and answers MISUSE for anything else.
  return { mode, isolation };
}
