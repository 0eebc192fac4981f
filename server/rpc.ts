/**
 * The capnweb RPC target one connection (WebSocket) or one HTTP batch talks to: `DatabaseRpc`
 * from base/api.ts, bound to the caller's permission. It holds no state of its own; every call
 * goes to the object's `DatabaseHost`, which applies limits and permissions and turns every error
 * into `{ ok: false, error }`, so nothing thrown crosses the wire.
 *
 * Beyond the contract it offers `schema()` (tables and their CREATE statements) for shells.
 * Fields are `#private` so that capnweb exposes only the methods.
 */
import { RpcTarget } from 'capnweb';
import type { CallOptions, DatabaseRpc, ExecResult, Params, QueryResult, WireResult } from '../base/api.js';
import type { Access, DatabaseHost, TableSchema } from './host.js';

export class DatabaseRpcTarget extends RpcTarget implements DatabaseRpc {
  readonly #host: DatabaseHost;
  readonly #access: Access;

  constructor(host: DatabaseHost, access: Access) {
    super();
    this.#host = host;
    this.#access = access;
  }

  exec(sql: string, params?: Params, options?: CallOptions): Promise<WireResult<ExecResult>> {
    return this.#host.exec(sql, params, options, this.#access);
  }

  query(sql: string, params?: Params, options?: CallOptions): Promise<WireResult<QueryResult>> {
    return this.#host.query(sql, params, options, this.#access);
  }

  schema(): Promise<WireResult<TableSchema[]>> {
    return this.#host.schema();
  }
}
