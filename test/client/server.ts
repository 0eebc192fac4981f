/**
 * A minimal DoSQL server in Node for the client's tests: what the Durable Object serves, on a
 * loopback port. Each database URL `/db/<name>` serves capnweb RPC over WebSocket (the upgrade)
 * and over HTTP batch (POST) with the server's own RpcTarget (server/rpc.ts) on its own
 * `DatabaseHost` (an embedded `Database` on a MemoryStore), with full access: SQL, transactions,
 * batches, `schema()` and change data capture are the real server's. Not served: branches (a
 * branch URL is an unknown path) and the Worker's routes and limits configuration, which
 * test/workers covers. Bearer-token auth: a missing or wrong token is 401, a token for another
 * database is 403.
 *
 * Test hooks: SQL containing `/*hang*\/` never answers (a call in flight), `dropSockets()` cuts
 * every WebSocket, as a server restart or network failure would, and two options act like older
 * servers: `sqliteSchema: false` (an engine without `sqlite_schema`) and `schemaRpc: false` (no
 * `schema()` call).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RpcSession, nodeHttpBatchRpcResponse } from 'capnweb';
import { WebSocketServer, type WebSocket } from 'ws';
import type { CallOptions, Params, QueryResult, WireResult } from '../../base/api.js';
import { SocketTransport, type SocketLike } from '../../client/transport.js';
import { DatabaseHost } from '../../server/host.js';
import { SERVER_LIMITS, type ServerLimits } from '../../server/limits.js';
import { DatabaseRpcTarget } from '../../server/rpc.js';
import { MemoryStore } from '../../storage/memory.js';

export const HANG_MARKER = '/*hang*/';

/** Full access: the test server has no read-only tokens. */
const ACCESS = { readOnly: false };

/** The real target, with the test hooks on `query`. Fields are `#private`, as capnweb wants. */
class TestDatabaseTarget extends DatabaseRpcTarget {
  readonly #onHang: () => void;
  /** False: act like an engine without `sqlite_schema` (before it existed). */
  readonly #sqliteSchema: boolean;

  constructor(host: DatabaseHost, onHang: () => void, sqliteSchema: boolean) {
    super(host, ACCESS);
    this.#onHang = onHang;
    this.#sqliteSchema = sqliteSchema;
  }

  override query(sql: string, params?: Params, options?: CallOptions): Promise<WireResult<QueryResult>> {
    if (typeof sql === 'string' && sql.includes(HANG_MARKER)) {
      this.#onHang();
      return new Promise(() => {});
    }
    if (!this.#sqliteSchema && typeof sql === 'string' && /sqlite_(schema|master)/i.test(sql)) {
      return Promise.resolve({ ok: false, error: { code: 'NO_SUCH_TABLE', message: 'no such table: sqlite_schema' } });
    }
    return super.query(sql, params, options);
  }
}

/** A server from before `schema()`: capnweb finds no method, as it would on such a server. */
class TestDatabaseTargetWithoutSchema extends TestDatabaseTarget {
  static {
    Object.defineProperty(this.prototype, 'schema', { value: undefined });
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

  async function target(name: string): Promise<TestDatabaseTarget> {
    let db = databases.get(name);
    if (!db) {
      db = new DatabaseHost(new MemoryStore(), limits);
      databases.set(name, db);
    }
    const sqliteSchema = options.sqliteSchema !== false;
    return options.schemaRpc === false ? new TestDatabaseTargetWithoutSchema(db, onHang, sqliteSchema) : new TestDatabaseTarget(db, onHang, sqliteSchema);
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
