/**
 * The capnweb RPC target one connection (WebSocket) or one HTTP batch talks to: `DatabaseRpc`
 * from base/api.ts, bound to the caller's permission. It holds no state of its own; every call
 * goes to the object's `DatabaseHost`, which applies limits and permissions and turns every error
 * into `{ ok: false, error }`, so nothing thrown crosses the wire.
 *
 * `begin()` returns a `TransactionRpcTarget` (server/transactions.ts): a stub the client keeps
 * until it commits or rolls back.
 * `slot*` and `subscribe` serve change data capture (server/cdc.ts).
 * Beyond the contract it offers `schema()` (tables and their CREATE statements) for shells.
 * Fields are `#private` so that capnweb exposes only the methods.
 */
import { RpcTarget } from 'capnweb';
import type {
  BatchResult,
  BatchStatement,
  CallOptions,
  DatabaseRpc,
  ExecResult,
  Params,
  QueryResult,
  RemoteTransactionOptions,
  TransactionRpc,
  WireResult,
  AsOf,
  BranchesRpc,
  BranchInfoWire,
  ChangeBatchWire,
  ChangeSinkWire,
  SlotInfoWire,
  SlotOptionsWire,
  SlotsRpc,
  SubscribeOptionsWire,
  SubscriptionRpc,
} from '../base/api.js';
import { slotAck, slotCreate, slotDrop, slotList, slotRead, SubscriptionRpcTarget } from './cdc.js';
import type { BranchManager } from './branches.js';
import type { Access, DatabaseHost, TableSchema } from './host.js';
import { TransactionRpcTarget } from './transactions.js';

export class DatabaseRpcTarget extends RpcTarget implements DatabaseRpc, BranchesRpc, SlotsRpc {
  readonly #host: DatabaseHost;
  readonly #access: Access;
  readonly #branches: BranchManager | undefined;

  constructor(host: DatabaseHost, access: Access, branches?: BranchManager) {
    super();
    this.#host = host;
    this.#access = access;
    this.#branches = branches;
  }

  branch(name: string, options?: { at?: AsOf }): Promise<WireResult<BranchInfoWire>> {
    return this.#branches?.branch(name, options, this.#access) ?? noBranches();
  }

  branches(): Promise<WireResult<BranchInfoWire[]>> {
    return this.#branches?.branches() ?? noBranches();
  }

  dropBranch(name: string): Promise<WireResult<null>> {
    return this.#branches?.dropBranch(name, this.#access) ?? noBranches();
  }

  exec(sql: string, params?: Params, options?: CallOptions): Promise<WireResult<ExecResult>> {
    return this.#host.exec(sql, params, options, this.#access);
  }

  query(sql: string, params?: Params, options?: CallOptions): Promise<WireResult<QueryResult>> {
    return this.#host.query(sql, params, options, this.#access);
  }

  begin(options?: RemoteTransactionOptions): Promise<WireResult<TransactionRpc>> {
    return TransactionRpcTarget.begin(this.#host, options, this.#access);
  }

  batch(statements: BatchStatement[], options?: CallOptions): Promise<WireResult<BatchResult[]>> {
    return this.#host.batch(statements, options, this.#access);
  }

  schema(): Promise<WireResult<TableSchema[]>> {
    return this.#host.schema();
  }

  // Change data capture (server/cdc.ts).

  slotCreate(name: string, options?: SlotOptionsWire): Promise<WireResult<SlotInfoWire>> {
    return slotCreate(this.#host, name, options, this.#access);
  }

  slotDrop(name: string): Promise<WireResult<null>> {
    return slotDrop(this.#host, name, this.#access);
  }

  slotList(): Promise<WireResult<SlotInfoWire[]>> {
    return slotList(this.#host);
  }

  slotRead(name: string, options?: { max?: number; after?: bigint | number }): Promise<WireResult<ChangeBatchWire>> {
    return slotRead(this.#host, name, options);
  }

  slotAck(name: string, lsn: bigint | number): Promise<WireResult<null>> {
    return slotAck(this.#host, name, lsn);
  }

  subscribe(name: string, options: SubscribeOptionsWire | undefined, sink: ChangeSinkWire): Promise<WireResult<SubscriptionRpc>> {
    return SubscriptionRpcTarget.start(this.#host, name, options, sink);
  }
}

function noBranches(): Promise<WireResult<never>> {
  return Promise.resolve({ ok: false, error: { code: 'MISUSE', message: 'this server does not serve branches' } });
}
