/**
 * A minimal DoSQL server in Node for the client's tests: what the Durable Object serves, on a
 * loopback port. Each database URL `/db/<name>` serves capnweb RPC over WebSocket (the upgrade)
 * and over HTTP batch (POST), with an RpcTarget that wraps the server's own `DatabaseHost` (an
 * embedded `Database` on a MemoryStore) and returns `WireResult`s, never throwing for bad SQL;
 * `begin()` serves the server's real transaction handle (server/transactions.ts). Bearer-token auth: a missing or wrong token is 401,
 * a token for another database is 403.
 *
 * Slot calls and `subscribe` are the real server's (server/cdc.ts).
 * Test hooks: SQL containing `/*hang*\/` never answers (a call in flight), and `dropSockets()`
 * cuts every WebSocket, as a server restart or network failure would.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RpcSession, RpcTarget, nodeHttpBatchRpcResponse } from 'capnweb';
import { WebSocketServer, type WebSocket } from 'ws';
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
  ChangeBatchWire,
  ChangeSinkWire,
  SlotInfoWire,
  SlotOptionsWire,
  SubscribeOptionsWire,
  SubscriptionRpc,
} from '../../base/api.js';
import { DosqlError } from '../../base/errors.js';
import { SocketTransport, type SocketLike } from '../../client/transport.js';
import { DatabaseHost } from '../../server/host.js';
import { SERVER_LIMITS, type ServerLimits } from '../../server/limits.js';
import { TransactionRpcTarget } from '../../server/transactions.js';
import { SubscriptionRpcTarget, slotAck, slotCreate, slotDrop, slotList, slotRead } from '../../server/cdc.js';
import { MemoryStore } from '../../storage/memory.js';

export const HANG_MARKER = '/*hang*/';

/** Run a database call and turn a thrown DosqlError into `{ ok: false, error }`, as the server does. */
export async function toWire<T>(f: () => Promise<T>): Promise<WireResult<T>> {
  try {
    return { ok: true, value: await f() };
  } catch (e) {
    if (!(e instanceof DosqlError)) throw e;
    const error: { code: DosqlError['code']; message: string; line?: number; column?: number } = { code: e.code, message: e.message };
    if (e.line !== undefined) error.line = e.line;
    if (e.column !== undefined) error.column = e.column;
    return { ok: false, error };
  }
}

/** Full access: the test server has no read-only tokens. */
const ACCESS = { readOnly: false };

class DatabaseTarget extends RpcTarget implements DatabaseRpc {
  constructor(
    private readonly host: DatabaseHost,
    private readonly onHang: () => void,
    /** False: act like an engine without `sqlite_schema` (before it existed). */
    private readonly sqliteSchema = true,
  ) {
    super();
  }
  exec(sql: string, params?: Params, options?: CallOptions): Promise<WireResult<ExecResult>> {
    return this.host.serve((db) => db.exec(sql, params, options));
  }
  /** Interactive transactions: the real server's handle (server/transactions.ts) on the same host. */
  begin(options?: RemoteTransactionOptions): Promise<WireResult<TransactionRpc>> {
    return TransactionRpcTarget.begin(this.host, options, ACCESS);
  }
  batch(statements: BatchStatement[], options?: CallOptions): Promise<WireResult<BatchResult[]>> {
    return this.host.batch(statements, options, ACCESS);
  }
  /** Change data capture: the real server's calls (server/cdc.ts) on the same host. */
  slotCreate(name: string, options?: SlotOptionsWire): Promise<WireResult<SlotInfoWire>> {
    return slotCreate(this.host, name, options, ACCESS);
  }
  slotDrop(name: string): Promise<WireResult<null>> {
    return slotDrop(this.host, name, ACCESS);
  }
  slotList(): Promise<WireResult<SlotInfoWire[]>> {
    return slotList(this.host);
  }
  slotRead(name: string, options?: { max?: number; after?: bigint }): Promise<WireResult<ChangeBatchWire>> {
    return slotRead(this.host, name, options);
  }
  slotAck(name: string, lsn: bigint | number): Promise<WireResult<null>> {
    return slotAck(this.host, name, lsn);
  }
  subscribe(name: string, options: SubscribeOptionsWire | undefined, sink: ChangeSinkWire): Promise<WireResult<SubscriptionRpc>> {
    return SubscriptionRpcTarget.start(this.host, name, options, sink);
  }
  query(sql: string, params?: Params, options?: CallOptions): Promise<WireResult<QueryResult>> {
    if (typeof sql === 'string' && sql.includes(HANG_MARKER)) {
      this.onHang();
      return new Promise(() => {});
    }
    if (!this.sqliteSchema && typeof sql === 'string' && /sqlite_(schema|master)/i.test(sql)) {
      return Promise.resolve({ ok: false, error: { code: 'NO_SUCH_TABLE', message: 'no such table: sqlite_schema' } });
    }
    return this.host.serve((db) => db.query(sql, params, options));
  }
}

/** The real server also offers `schema()` beyond the contract (server/rpc.ts). */
class DatabaseTargetWithSchema extends DatabaseTarget {
  constructor(
    private readonly database: DatabaseHost,
    onHang: () => void,
    sqliteSchema: boolean,
  ) {
    super(database, onHang, sqliteSchema);
  }
  schema(): Promise<WireResult<Array<{ name: string; sql: string }>>> {
    return this.database.schema();
  }
}

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  token: string;
  /** Resolves when a `/*hang*\/` call has reached the server. */
  hung(): Promise<void>;
  dropSockets(): void;
  /** Number of WebSocket handshakes accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

export async function startTestServer(
  token = 'test-token',
  options: { schemaRpc?: boolean; sqliteSchema?: boolean; limits?: Partial<ServerLimits> } = {},
): Promise<TestServer> {
  const databases = new Map<string, DatabaseHost>();
  const limits: ServerLimits = { ...SERVER_LIMITS, ...options.limits };
  const sockets = new Set<WebSocket>();
  let accepted = 0;
  let hangWaiters: Array<() => void> = [];
  const onHang = (): void => {
    for (const w of hangWaiters) w();
    hangWaiters = [];
  };

  async function target(name: string): Promise<DatabaseTarget> {
    let db = databases.get(name);
    if (!db) {
      db = new DatabaseHost(new MemoryStore(), limits);
      databases.set(name, db);
    }
    const sqliteSchema = options.sqliteSchema !== false;
    return options.schemaRpc === false ? new DatabaseTarget(db, onHang, sqliteSchema) : new DatabaseTargetWithSchema(db, onHang, sqliteSchema);
  }

  /** 0 when allowed, else the HTTP status; the token `other-db-token` may only use `/db/other`. */
  function authorize(req: IncomingMessage, name: string): number {
    const header = req.headers.authorization ?? '';
    if (header === `Bearer ${token}`) return 0;
    if (header === 'Bearer other-db-token') return name === 'other' ? 0 : 403;
    return 401;
  }

  function dbName(req: IncomingMessage): string | undefined {
    const m = /^\/db\/([A-Za-z0-9_-]+)\/?(\?.*)?$/.exec(req.url ?? '');
    return m?.[1];
  }

  const http: Server = createServer((req, res) => {
    const name = dbName(req);
    if (!name) return void res.writeHead(404).end('not found');
    const status = authorize(req, name);
    if (status) return void res.writeHead(status).end(status === 401 ? 'bad token' : 'forbidden');
    void target(name).then((t) => nodeHttpBatchRpcResponse(req, res, t));
  });
  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req, socket, head) => {
    const name = dbName(req);
    const status = name ? authorize(req, name) : 404;
    if (status) {
      socket.end(`HTTP/1.1 ${status} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      accepted++;
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      const transport = new SocketTransport(ws as unknown as SocketLike); // listen before the first message
      void target(name!).then((t) => new RpcSession(transport, t));
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const port = (http.address() as AddressInfo).port;

  return {
    origin: `http://127.0.0.1:${port}`,
    token,
    hung: () => new Promise((r) => hangWaiters.push(r)),
    dropSockets() {
      for (const s of sockets) s.terminate();
    },
    connections: () => accepted,
    async close() {
      for (const s of sockets) s.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
      for (const db of databases.values()) await db.close();
    },
  };
}
