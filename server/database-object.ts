/**
 * DatabaseObject: the Durable Object that IS one database. Its SQLite-backed storage holds the
 * database's log and pages through `DurableObjectStore`; the embedded engine runs on it unchanged
 * (through `DatabaseHost`, which opens it on the first call and keeps it open while the object
 * lives; reopening after eviction or a crash is the engine's ordinary recovery).
 *
 * It is reached only through the Worker (server/worker.ts), which has already checked the token
 * and the database scope, and passes the permission in the `x-dosql-access` header (set by the
 * Worker after removing any client-supplied one). A request without that header is refused.
 *
 * - `/db/<name>`: capnweb RPC, WebSocket or HTTP batch (`newWorkersRpcResponse`), serving a
 *   `DatabaseRpcTarget` bound to the permission. A WebSocket keeps the object in memory while open.
 * - `/db/<name>/query`: the JSON route (docs/HTTP.md).
 * - `/db/<name>/slots[/<slot>[/events|/ack]]`: change data capture over HTTP (server/cdc-http.ts).
 * - `/db/<name>/branch/<branch>[/query]`: the same, on a branch object (server/branches.ts); a
 *   branch route reaching an object that is not a branch answers 404.
 *
 * Between objects (Durable Object RPC, never reachable from clients): `readShared` serves a
 * branch its parent's shared keys, `initBranch` seeds a new branch, `destroyBranch` drops one.
 */
import { DurableObject } from 'cloudflare:workers';
import { newWorkersRpcResponse } from 'capnweb';
import type { WireResult } from '../base/api.js';
import { DosqlError } from '../base/errors.js';
import { LOG_KEY_PREFIX } from '../log/lsn.js';
import { openFork } from '../query/branches.js';
import { DurableObjectStore } from '../storage/durable-object.js';
import { RemoteParentStore, type SharedRead, type SharedReader } from '../storage/remote-parent.js';
import { STORE_KEYS_PER_CALL_MAX, type ByteStore } from '../storage/types.js';
import { BranchManager, PARENT_KEY, type BranchObjectRpc } from './branches.js';
import type { Env } from './env.js';
import { DatabaseHost, toWireError } from './host.js';
import { errorResponse, jsonResponse, readBody } from './http.js';
import { fromJsonParams, toJsonValue } from './json.js';
import { resolveLimits, type ServerLimits } from './limits.js';
import { ACCESS_HEADER, OBJECT_HEADER, parseRoute } from './routes.js';
import { DatabaseRpcTarget } from './rpc.js';
import { slotsHttp } from './cdc-http.js';

/** Key prefixes a branch shares with its parent (query/branches.ts): log segments, B-tree pages. */
const SHARED_PREFIXES = [LOG_KEY_PREFIX, 'tbl/'];
const utf8 = new TextEncoder();

export class DatabaseObject extends DurableObject<Env> implements BranchObjectRpc {
  private host: DatabaseHost | undefined;
  private readonly limits: ServerLimits | undefined;
  private readonly configError: DosqlError | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    try {
      this.limits = resolveLimits(env.DOSQL_LIMITS);
      this.host = this.newHost(this.limits);
    } catch (e) {
      this.configError = e instanceof DosqlError ? e : new DosqlError('ERROR', String(e));
    }
  }

  /**
   * A host on this object's store: its own storage, or, for a branch (its storage names its
   * parent under PARENT_KEY), a ForkStore over its own storage and the parent read by RPC.
   */
  private newHost(limits: ServerLimits): DatabaseHost {
    return new DatabaseHost(async (): Promise<ByteStore> => {
      const own = new DurableObjectStore(this.ctx.storage);
      const parent = await own.get(PARENT_KEY);
      if (parent === undefined) return own;
      const ns = this.env.DATABASE;
      const id = ns.idFromName(new TextDecoder().decode(parent));
      // A fresh stub per read: a stub whose object was reset (deploy, eviction) stays broken.
      const reader: SharedReader = { readShared: (r) => (ns.get(id) as unknown as SharedReader).readShared(r) };
      return openFork(new RemoteParentStore(reader), own);
    }, limits);
  }

  // --- Durable Object RPC between objects of this namespace (never reachable from clients) ----

  /** Serve a branch the keys it shares with this object: log segments and B-tree pages only. */
  async readShared(request: SharedRead): Promise<Array<[string, Uint8Array]>> {
    if (!this.host) throw new Error(`server misconfigured: ${this.configError?.message}`);
    const store = await this.host.store();
    const shared = (k: unknown): boolean => typeof k === 'string' && SHARED_PREFIXES.some((p) => k.startsWith(p));
    if ('keys' in request) {
      const keys = request.keys;
      if (!Array.isArray(keys) || keys.length > STORE_KEYS_PER_CALL_MAX || !keys.every(shared)) {
        throw new Error(`readShared serves at most ${STORE_KEYS_PER_CALL_MAX} log/ and tbl/ keys`);
      }
      const got = await store.getMany(keys);
      return keys.filter((k) => got.has(k)).map((k) => [k, got.get(k)!]);
    }
    const o = request.list;
    if (!shared(o?.prefix)) throw new Error('readShared lists only under the log/ and tbl/ prefixes');
    return store.list(o);
  }

  /** Become branch storage: write the seed entries (query/branches.ts prepareFork) and the parent's name. */
  async initBranch(parent: string, entries: Array<[string, Uint8Array]>): Promise<WireResult<null>> {
    try {
      if (!this.limits) throw new DosqlError('ERROR', `server misconfigured: ${this.configError?.message}`);
      const own = new DurableObjectStore(this.ctx.storage);
      if ((await own.get(PARENT_KEY)) !== undefined || (await own.list({ limit: 1 })).length > 0) {
        throw new DosqlError('ERROR', 'a branch of that name already exists in this database (branch names are unique at every depth)');
      }
      await own.write({ put: [...entries, [PARENT_KEY, utf8.encode(parent)]] });
      this.host = this.newHost(this.limits);
      return { ok: true, value: null };
    } catch (e) {
      return { ok: false, error: toWireError(e) };
    }
  }

  /** Stop serving and delete everything, unless branches of this branch still read through it. */
  async destroyBranch(): Promise<WireResult<null>> {
    try {
      if (!this.limits || !this.host) throw new DosqlError('ERROR', `server misconfigured: ${this.configError?.message}`);
      const own = new DurableObjectStore(this.ctx.storage);
      if ((await own.list({ prefix: 'branch/', limit: 1 })).length > 0) {
        throw new DosqlError('ERROR', 'this branch has branches of its own: drop them first');
      }
      const old = this.host;
      this.host = this.newHost(this.limits);
      await old.retire(new DosqlError('CLOSED', 'this branch was dropped'));
      await this.ctx.storage.deleteAll();
      return { ok: true, value: null };
    } catch (e) {
      return { ok: false, error: toWireError(e) };
    }
  }

  override async fetch(request: Request): Promise<Response> {
    try {
      return await this.handle(request);
    } catch (e) {
      return errorResponse(toWireError(e), e instanceof DosqlError ? undefined : 500);
    }
  }

  private async handle(request: Request): Promise<Response> {
    if (!this.host) return errorResponse({ code: 'ERROR', message: `server misconfigured: ${this.configError?.message}` }, 500);
    const access = request.headers.get(ACCESS_HEADER);
    if (access !== 'read-only' && access !== 'read-write') {
      return errorResponse({ code: 'FORBIDDEN', message: 'requests must come through the DoSQL Worker' });
    }
    const readOnly = access === 'read-only';
    const route = parseRoute(new URL(request.url).pathname);
    const bytesMax = this.host.limits.requestBodyBytesMax;
    if (route.kind !== 'rpc' && route.kind !== 'query' && route.kind !== 'slots') return errorResponse({ code: 'MISUSE', message: 'no such route' }, 404);
    if (route.branch !== undefined && (await new DurableObjectStore(this.ctx.storage).get(PARENT_KEY)) === undefined) {
      // Drained, not cancelled: the Worker is still piping the body here, and a cancel leaves that
      // pipe reading after the response has gone (workerd reports an uncaught TypeError).
      await readBody(request, bytesMax).catch(() => undefined);
      return errorResponse({ code: 'ERROR', message: `no such branch: ${route.branch} (make it with branch() on ${route.name})` }, 404);
    }
    if (route.kind === 'query') return this.jsonQuery(request, readOnly, bytesMax);
    if (route.kind === 'slots') return slotsHttp(this.host, request, route, { readOnly }, bytesMax);
    if (request.method === 'POST') {
      // Read the batch under the byte limit ourselves: capnweb would buffer any size.
      const body = await readBody(request, bytesMax);
      request = new Request(request.url, { method: 'POST', headers: request.headers, body });
    }
    const name = request.headers.get(OBJECT_HEADER) ?? route.name;
    const ns = this.env.DATABASE;
    const branches = new BranchManager(this.host, name, (n) => ns.get(ns.idFromName(n)) as unknown as BranchObjectRpc);
    return newWorkersRpcResponse(request, new DatabaseRpcTarget(this.host, { readOnly }, branches), {
      limits: { maxMessageSize: bytesMax },
    });
  }

  private async jsonQuery(request: Request, readOnly: boolean, bytesMax: number): Promise<Response> {
    if (request.method !== 'POST') {
      return errorResponse({ code: 'MISUSE', message: 'POST a JSON body { "sql": ..., "params": ... }' }, 405);
    }
    const text = await readBody(request, bytesMax);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return errorResponse({ code: 'MISUSE', message: 'request body is not valid JSON' });
    }
    if (typeof body !== 'object' || body === null || typeof (body as { sql?: unknown }).sql !== 'string') {
      return errorResponse({ code: 'MISUSE', message: 'request body must be a JSON object with a string "sql"' });
    }
    const { sql, params } = body as { sql: string; params?: unknown };
    const r = await this.host!.run(sql, fromJsonParams(params), { readOnly });
    if (!r.ok) return errorResponse(r.error);
    const v = r.value;
    const lsn = v.lsn.toString();
    if (v.kind === 'rows') {
      return jsonResponse({ columns: v.columns, rows: v.rows.map((row) => row.map(toJsonValue)), lsn });
    }
    return jsonResponse({
      columns: [],
      rows: [],
      rowsAffected: v.rowsAffected,
      lastInsertRowid: toJsonValue(v.lastInsertRowid),
      lsn,
    });
  }
}
