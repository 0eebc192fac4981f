/**
 * The URL scheme, one URL per database:
 * - `/db/<name>`: capnweb RPC (WebSocket upgrade, or HTTP batch POST) serving `DatabaseRpc`;
 * - `/db/<name>/query`: the JSON route (POST `{ sql, params? }`; docs/HTTP.md).
 * `<name>` is 1 to 64 of `A-Z a-z 0-9 _ . -` (not `.` or `..`), and maps to the Durable Object
 * `idFromName(name)`; names are case-sensitive.
 */

/** Most characters of a database name. */
export const DATABASE_NAME_CHARS_MAX = 64;

/** Header the Worker sets (after removing any client-supplied one) to pass the permission on. */
export const ACCESS_HEADER = 'x-dosql-access';
export type AccessHeaderValue = 'read-only' | 'read-write';

export type Route =
  | { kind: 'rpc' | 'query'; name: string }
  | { kind: 'bad-name'; name: string }
  | { kind: 'not-found' };

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export function parseRoute(pathname: string): Route {
  const m = /^\/db\/([^/]*)(\/query)?\/?$/.exec(pathname);
  if (!m) return { kind: 'not-found' };
  let name: string;
  try {
    name = decodeURIComponent(m[1]!);
  } catch {
    return { kind: 'bad-name', name: m[1]! };
  }
  if (!isDatabaseName(name)) return { kind: 'bad-name', name };
  return { kind: m[2] ? 'query' : 'rpc', name };
}

export function isDatabaseName(name: string): boolean {
  return name.length <= DATABASE_NAME_CHARS_MAX && NAME.test(name) && name !== '.' && name !== '..';
}
