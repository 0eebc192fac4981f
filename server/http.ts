/**
 * HTTP helpers shared by the Worker and the Durable Object: the JSON error body, the HTTP status
 * of each DosqlError code, and reading a request body under a byte limit.
 *
 * Status per code: 401 UNAUTHORIZED, 403 FORBIDDEN, 409 CONSTRAINT_*, 413 LIMIT_EXCEEDED, 408 TIMEOUT,
 * 500 IO / CORRUPT / ERROR raised by the server itself, 503 CLOSED; every other code is a problem
 * with the request or its SQL: 400.
 */
import type { WireError } from '../base/api.js';
import { DosqlError, type ErrorCode } from '../base/errors.js';

export function statusOf(code: ErrorCode): number {
  switch (code) {
    case 'UNAUTHORIZED':
      return 401;
    case 'FORBIDDEN':
      return 403;
    case 'CONSTRAINT_UNIQUE':
    case 'CONSTRAINT_NOTNULL':
      return 409;
    case 'LIMIT_EXCEEDED':
      return 413;
    case 'TIMEOUT':
      return 408;
    case 'IO':
    case 'CORRUPT':
      return 500;
    case 'CLOSED':
    case 'CONNECTION':
      return 503;
    default:
      return 400;
  }
}

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/** `{ error: { code, message, line?, column? } }` with the code's status (or `status`). */
export function errorResponse(error: WireError, status = statusOf(error.code)): Response {
  const headers: Record<string, string> = status === 401 ? { 'www-authenticate': 'Bearer realm="dosql"' } : {};
  return jsonResponse({ error }, status, headers);
}

/**
 * The body as text, refusing (LIMIT_EXCEEDED) one longer than `bytesMax`: by its Content-Length
 * when it declares one, else while reading, so an oversized body is never buffered whole.
 */
export async function readBody(request: Request, bytesMax: number): Promise<string> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > bytesMax) throw bodyTooLarge(Number(declared), bytesMax);
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > bytesMax) {
      await reader.cancel();
      throw bodyTooLarge(total, bytesMax);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

function bodyTooLarge(bytes: number, max: number): DosqlError {
  return new DosqlError('LIMIT_EXCEEDED', `request body of ${bytes}${Number.isFinite(bytes) ? '' : '?'} bytes; requestBodyBytesMax is ${max}`);
}
