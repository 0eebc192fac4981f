/**
 * The URL scheme, one URL per database:
 * - `/db/<name>`: capnweb RPC (WebSocket upgrade, or HTTP batch POST) serving `DatabaseRpc`;
 * - `/db/<name>/query`: the JSON route (POST `{ sql, params? }`; docs/HTTP.md);
 * - `/db/<name>/branch/<branch>` and `/db/<name>/branch/<branch>/query`: the same for branch
 *   `<branch>` of database `<name>` (made by `branch()` on the database or on another of its
 *   branches). Branch names are unique per database, at any depth.
 * - `/db/<name>/slots`, `/db/<name>/slots/<slot>`, `/db/<name>/slots/<slot>/events` and
 *   `/db/<name>/slots/<slot>/ack` (also under `/branch/<branch>`): change data capture over plain
 *   HTTP (server/cdc-http.ts; docs/HTTP.md). The slot name is checked by the engine.
 * `<name>` and `<branch>` are 1 to 64 of `A-Z a-z 0-9 _ . -` (not `.` or `..`). A database maps to
 * the Durable Object `idFromName(name)`, a branch to `idFromName(name + '/' + branch)` (`/` never
 * occurs in a name, so the two never collide); names are case-sensitive.
 */

/** Most characters of a database name. */
export const DATABASE_NAME_CHARS_MAX = 64;

/** Header the Worker sets (after removing any client-supplied one) to pass the permission on. */
export const ACCESS_HEADER = 'x-dosql-access';
export type AccessHeaderValue = 'read-only' | 'read-write';
/** Header the Worker sets (likewise) to tell the object its name: `<name>` or `<name>/<branch>`. */
export const OBJECT_HEADER = 'x-dosql-object';

export type Route =
  | { kind: 'rpc' | 'query'; name: string; branch?: string }
  | { kind: 'slots'; name: string; branch?: string; slot?: string; action?: 'events' | 'ack' }
  | { kind: 'bad-name'; name: string }
  | { kind: 'not-found' };

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export function parseRoute(pathname: string): Route {
  const m = /^\/db\/([^/]*)(?:\/branch\/([^/]*))?(?:(\/query)|(\/slots)(?:\/([^/]+)(?:\/(events|ack))?)?)?\/?$/.exec(pathname);
  if (!m) return { kind: 'not-found' };
  let name: string;
  let branch: string | undefined;
  let slot: string | undefined;
  try {
    name = decodeURIComponent(m[1]!);
    if (m[2] !== undefined) branch = decodeURIComponent(m[2]);
    if (m[5] !== undefined) slot = decodeURIComponent(m[5]);
  } catch {
    return { kind: 'bad-name', name: m[1]! };
  }
  if (!isDatabaseName(name)) return { kind: 'bad-name', name };
  if (branch !== undefined && !isDatabaseName(branch)) return { kind: 'bad-name', name: branch };
  if (m[4]) {
    const route: Route = { kind: 'slots', name };
    if (branch !== undefined) route.branch = branch;
    if (slot !== undefined) route.slot = slot;
    if (m[6] !== undefined) route.action = m[6] as 'events' | 'ack';
    return route;
  }
  const kind = m[3] ? 'query' : 'rpc';
  return branch === undefined ? { kind, name } : { kind, name, branch };
}

/** The Durable Object name of a route's database or branch. */
export function objectName(name: string, branch: string | undefined): string {
  return branch === undefined ? name : `${name}/${branch}`;
}

export function isDatabaseName(name: string): boolean {
  return name.length <= DATABASE_NAME_CHARS_MAX && NAME.test(name) && name !== '.' && name !== '..';
}
