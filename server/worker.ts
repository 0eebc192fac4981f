/**
 * The DoSQL Worker: authenticates every request and routes it to the database's Durable Object.
 *
 * Per request: (1) the bearer token is checked against the configured tokens in constant time
 * (server/auth.ts): missing or wrong, 401 and nothing runs; (2) the route is parsed
 * (server/routes.ts): unknown path 404, bad database name 400; (3) the token's database scope is
 * checked: 403; (4) a declared body over `requestBodyBytesMax` is refused (413) before it is
 * forwarded; (5) the request goes to `DATABASE.idFromName(name)` (a branch: `idFromName(name + '/' + branch)`,
 * server/routes.ts; a token's database scope covers the database's branches) with the Authorization header
 * removed and `x-dosql-access: read-only | read-write` set, replacing any client-supplied value, so
 * the object can trust it. Read-only tokens are enforced per statement inside the object.
 *
 * Errors are JSON `{ error: { code, message } }` (server/http.ts) on every route.
 *
 * Browsers: every response allows any origin (CORS), preflights are answered without a token,
 * and a WebSocket upgrade may carry the token as `?token=` because browsers cannot set headers on
 * a WebSocket (only there: a token in a URL can end up in logs, so other requests must use the
 * header). Access is still decided by the token alone, never by the origin.
 */
import { DosqlError } from '../base/errors.js';
import { allowsDatabase, authenticate, bearerToken, configuredTokens } from './auth.js';
import type { Env } from './env.js';
import { toWireError } from './host.js';
import { errorResponse } from './http.js';
import { resolveLimits } from './limits.js';
import { ACCESS_HEADER, OBJECT_HEADER, objectName, parseRoute, type AccessHeaderValue } from './routes.js';

export { DatabaseObject } from './database-object.js';
export type { Env } from './env.js';

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (request.method === 'OPTIONS') return new Response(null, { status: 204, headers: CORS_PREFLIGHT_HEADERS });
    let response: Response;
    try {
      response = await handle(request, env);
    } catch (e) {
      response = errorResponse(toWireError(e), 500);
    }
    return withCors(response);
  },
} satisfies ExportedHandler<Env>;

const CORS_PREFLIGHT_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type, last-event-id',
  'access-control-max-age': '86400',
};

/** Responses readable by pages of any origin; WebSocket upgrades (status 101) pass untouched. */
function withCors(response: Response): Response {
  if (response.status === 101 || response.webSocket) return response;
  const out = new Response(response.body, response);
  out.headers.set('access-control-allow-origin', '*');
  return out;
}

/** The bearer token, or for a WebSocket upgrade (browsers cannot set its headers) `?token=`. */
function requestToken(request: Request): string | undefined {
  const fromHeader = bearerToken(request.headers.get('authorization'));
  if (fromHeader !== undefined) return fromHeader;
  if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return undefined;
  return new URL(request.url).searchParams.get('token') ?? undefined;
}

async function handle(request: Request, env: Env): Promise<Response> {
  let tokens;
  try {
    tokens = await configuredTokens(env);
  } catch (e) {
    const message = e instanceof DosqlError ? e.message : String(e);
    return errorResponse({ code: 'ERROR', message: `server misconfigured: ${message}` }, 500);
  }
  if (tokens.length === 0) {
    return errorResponse({ code: 'UNAUTHORIZED', message: 'no tokens are configured (set DOSQL_TOKEN or DOSQL_TOKENS)' });
  }
  const grant = await authenticate(requestToken(request), tokens);
  if (!grant) return errorResponse({ code: 'UNAUTHORIZED', message: 'missing or invalid bearer token' });

  const route = parseRoute(new URL(request.url).pathname);
  if (route.kind === 'not-found') {
    return errorResponse({ code: 'MISUSE', message: 'not found: the routes are /db/<name>, /db/<name>/query, /db/<name>/slots[/<slot>[/events|/ack]], and the same under /db/<name>/branch/<branch>' }, 404);
  }
  if (route.kind === 'bad-name') {
    return errorResponse({ code: 'MISUSE', message: 'database names are 1-64 characters of A-Z a-z 0-9 _ . -' }, 400);
  }
  if (!allowsDatabase(grant, route.name)) {
    return errorResponse({ code: 'FORBIDDEN', message: `this token does not give access to database ${route.name}` });
  }
  const bytesMax = resolveLimits(env.DOSQL_LIMITS).requestBodyBytesMax;
  const declared = Number(request.headers.get('content-length') ?? 0);
  if (declared > bytesMax) {
    return errorResponse({ code: 'LIMIT_EXCEEDED', message: `request body of ${declared} bytes; requestBodyBytesMax is ${bytesMax}` });
  }

  const headers = new Headers(request.headers);
  headers.delete('authorization');
  headers.set(ACCESS_HEADER, (grant.readOnly ? 'read-only' : 'read-write') satisfies AccessHeaderValue);
  // A token scoped to database <name> covers its branches too (checked on route.name above).
  const object = objectName(route.name, route.branch);
  headers.set(OBJECT_HEADER, object);
  const stub = env.DATABASE.get(env.DATABASE.idFromName(object));
  return stub.fetch(new Request(request, { headers }));
}
