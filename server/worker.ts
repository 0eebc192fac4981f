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
    try {
      return await handle(request, env);
    } catch (e) {
      return errorResponse(toWireError(e), 500);
    }
  },
} satisfies ExportedHandler<Env>;

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
  const grant = await authenticate(bearerToken(request.headers.get('authorization')), tokens);
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
