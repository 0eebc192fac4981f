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
 */
import { DurableObject } from 'cloudflare:workers';
import { newWorkersRpcResponse } from 'capnweb';
import { DosqlError } from '../base/errors.js';
import { DurableObjectStore } from '../storage/durable-object.js';
import type { Env } from './env.js';
import { DatabaseHost, toWireError } from './host.js';
import { errorResponse, jsonResponse, readBody } from './http.js';
import { fromJsonParams, toJsonValue } from './json.js';
import { resolveLimits } from './limits.js';
import { ACCESS_HEADER, parseRoute } from './routes.js';
import { DatabaseRpcTarget } from './rpc.js';

export class DatabaseObject extends DurableObject<Env> {
  private readonly host: DatabaseHost | undefined;
  private readonly configError: DosqlError | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    try {
      this.host = new DatabaseHost(new DurableObjectStore(ctx.storage), resolveLimits(env.DOSQL_LIMITS));
    } catch (e) {
      this.configError = e instanceof DosqlError ? e : new DosqlError('ERROR', String(e));
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
    if (route.kind === 'query') return this.jsonQuery(request, readOnly, bytesMax);
    if (route.kind !== 'rpc') return errorResponse({ code: 'MISUSE', message: 'no such route' }, 404);
    if (request.method === 'POST') {
      // Read the batch under the byte limit ourselves: capnweb would buffer any size.
      const body = await readBody(request, bytesMax);
      request = new Request(request.url, { method: 'POST', headers: request.headers, body });
    }
    return newWorkersRpcResponse(request, new DatabaseRpcTarget(this.host, { readOnly }), {
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
