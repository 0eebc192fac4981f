/**
 * Helpers for the workerd tests: requests to the real Worker (`exports.default.fetch`), the test
 * tokens (vitest.config.ts), and a fresh database name per test so tests never share state.
 */
import { env, exports } from 'cloudflare:workers';
import type { Env } from '../../server/env.js';

export const FULL = 'test-full-access-token';
export const SINGLE = 'test-single-token';
export const READ_ONLY = 'test-read-only-token';
export const PREFIX = 'test-prefix-token';
export const LISTED = 'test-list-token';

export const ORIGIN = 'http://dosql.test';

let counter = 0;
/** A database name no other test uses (the isolated storage is shared within a test file). */
export function freshName(prefix = 'db'): string {
  counter++;
  return `${prefix}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

export function workerFetch(input: string | Request, init?: RequestInit): Promise<Response> {
  const request = typeof input === 'string' ? new Request(input.startsWith('http') ? input : ORIGIN + input, init) : input;
  return (exports as unknown as { default: { fetch(r: Request): Promise<Response> } }).default.fetch(request);
}

export function testEnv(): Env {
  return env as unknown as Env;
}

export interface JsonReply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** POST /db/<name>/query with a token (or none). */
export async function sql(name: string, sqlText: string, params?: unknown, token: string | null = FULL): Promise<JsonReply> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await workerFetch(`/db/${name}/query`, {
    method: 'POST',
    headers,
    body: JSON.stringify(params === undefined ? { sql: sqlText } : { sql: sqlText, params }),
  });
  return { status: res.status, body: await res.json() };
}
