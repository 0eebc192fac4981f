/**
 * Bearer-token authentication and authorization for every route.
 *
 * Configuration (Worker secrets or vars; README "Tokens"):
 * - `DOSQL_TOKEN`: one token with full access to every database.
 * - `DOSQL_TOKENS`: a JSON array of grants,
 *   `{ "token": "...", "readOnly"?: true, "databases"?: { "prefix": "app-" } | ["db1", "db2"] }`.
 * Both may be set; with neither, every request is refused (401): the server fails closed.
 *
 * Comparison is constant-time with respect to the token values: the presented token and every
 * configured token are hashed with SHA-256 (configured digests once per isolate and config), and
 * the presented digest is compared with EVERY configured digest by XOR-accumulating all 32 bytes,
 * with no early exit, so neither which token matched nor how many leading bytes matched shows in
 * the timing. Hashing first makes all compared values the same length.
 *
 * Result: `authenticate` gives the grant of the matching token (or undefined: 401), and
 * `allowsDatabase` says whether that grant covers a database name (else 403). Read-only is
 * enforced inside the Durable Object, per statement (server/host.ts).
 */
import { DosqlError } from '../base/errors.js';

export type DatabaseScope = { prefix: string } | readonly string[];

export interface Grant {
  readOnly: boolean;
  /** Databases this token may use; undefined means all. */
  databases?: DatabaseScope;
}

export interface AuthEnv {
  DOSQL_TOKEN?: string;
  DOSQL_TOKENS?: string;
}

interface ConfiguredToken {
  digest: Uint8Array;
  grant: Grant;
}

/** Most tokens one deployment may configure: each request hashes-and-compares against all. */
export const TOKENS_CONFIGURED_MAX = 1000;
/** Most characters of a token (configured or presented). */
export const TOKEN_CHARS_MAX = 512;
/** Most databases one grant may list by name. */
const GRANT_DATABASES_MAX = 1000;

const utf8 = new TextEncoder();

/** Parsed and hashed configuration, keyed by the config text it came from (one per isolate). */
let cached: { key: string; tokens: Promise<ConfiguredToken[]> } | undefined;

/** The configured tokens; throws DosqlError MISUSE when the configuration is malformed. */
export function configuredTokens(env: AuthEnv): Promise<ConfiguredToken[]> {
  const key = JSON.stringify([env.DOSQL_TOKEN ?? null, env.DOSQL_TOKENS ?? null]);
  if (cached?.key === key) return cached.tokens;
  const tokens = hashAll(parseConfig(env));
  cached = { key, tokens };
  tokens.catch(() => {
    if (cached?.tokens === tokens) cached = undefined;
  });
  return tokens;
}

export function parseConfig(env: AuthEnv): Array<{ token: string; grant: Grant }> {
  const out: Array<{ token: string; grant: Grant }> = [];
  if (env.DOSQL_TOKEN !== undefined && env.DOSQL_TOKEN !== '') {
    out.push({ token: checkToken(env.DOSQL_TOKEN, 'DOSQL_TOKEN'), grant: { readOnly: false } });
  }
  if (env.DOSQL_TOKENS !== undefined && env.DOSQL_TOKENS.trim() !== '') {
    let list: unknown;
    try {
      list = JSON.parse(env.DOSQL_TOKENS);
    } catch {
      throw new DosqlError('MISUSE', 'DOSQL_TOKENS is not valid JSON');
    }
    if (!Array.isArray(list)) throw new DosqlError('MISUSE', 'DOSQL_TOKENS must be a JSON array');
    if (list.length > TOKENS_CONFIGURED_MAX) throw new DosqlError('MISUSE', `DOSQL_TOKENS has more than ${TOKENS_CONFIGURED_MAX} tokens`);
    list.forEach((entry, i) => out.push(parseGrant(entry, `DOSQL_TOKENS[${i}]`)));
  }
  return out;
}

function parseGrant(entry: unknown, where: string): { token: string; grant: Grant } {
  if (typeof entry !== 'object' || entry === null) throw new DosqlError('MISUSE', `${where} must be an object`);
  const e = entry as Record<string, unknown>;
  const token = checkToken(e.token, `${where}.token`);
  if (e.readOnly !== undefined && typeof e.readOnly !== 'boolean') throw new DosqlError('MISUSE', `${where}.readOnly must be a boolean`);
  const grant: Grant = { readOnly: e.readOnly === true };
  const d = e.databases;
  if (Array.isArray(d)) {
    if (d.length > GRANT_DATABASES_MAX || !d.every((n) => typeof n === 'string')) {
      throw new DosqlError('MISUSE', `${where}.databases must be at most ${GRANT_DATABASES_MAX} database names`);
    }
    grant.databases = [...(d as string[])];
  } else if (typeof d === 'object' && d !== null && typeof (d as { prefix?: unknown }).prefix === 'string') {
    grant.databases = { prefix: (d as { prefix: string }).prefix };
  } else if (d !== undefined) {
    throw new DosqlError('MISUSE', `${where}.databases must be { "prefix": "..." } or an array of names`);
  }
  return { token, grant };
}

function checkToken(t: unknown, where: string): string {
  if (typeof t !== 'string' || t.length === 0 || t.length > TOKEN_CHARS_MAX || /\s/.test(t)) {
    throw new DosqlError('MISUSE', `${where} must be a non-empty string of at most ${TOKEN_CHARS_MAX} characters without spaces`);
  }
  return t;
}

async function hashAll(list: Array<{ token: string; grant: Grant }>): Promise<ConfiguredToken[]> {
  return Promise.all(list.map(async ({ token, grant }) => ({ digest: await sha256(token), grant })));
}

async function sha256(s: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', utf8.encode(s)));
}

/** The bearer token of an Authorization header, or undefined when absent or malformed. */
export function bearerToken(header: string | null): string | undefined {
  if (header === null || header.length > TOKEN_CHARS_MAX + 16) return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m?.[1];
}

/**
 * The grant of the configured token equal to `token`, or undefined. Constant-time in the token
 * values (see the header): every configured digest is compared in full.
 */
export async function authenticate(token: string | undefined, tokens: readonly ConfiguredToken[]): Promise<Grant | undefined> {
  // An absent token is still hashed and compared, so its timing matches a wrong one.
  const presented = await sha256(token ?? '');
  let match = -1;
  for (let i = 0; i < tokens.length; i++) {
    const d = tokens[i]!.digest;
    let diff = d.length ^ presented.length;
    for (let j = 0; j < presented.length; j++) diff |= d[j]! ^ presented[j]!;
    // Branch-free select of the first match: keep `match` once set.
    const equal = ((diff - 1) >>> 31) & 1; // 1 when diff === 0
    const unset = (match >>> 31) & 1; // 1 while match === -1
    const take = -(equal & unset); // -1 (all ones) when taking i, else 0
    match = (match & ~take) | (i & take);
  }
  if (token === undefined || token.length === 0 || match < 0) return undefined;
  return tokens[match]!.grant;
}

export function allowsDatabase(grant: Grant, name: string): boolean {
  const d = grant.databases;
  if (d === undefined) return true;
  if (Array.isArray(d)) return d.includes(name);
  return name.startsWith((d as { prefix: string }).prefix);
}
