/**
 * The two ways the remote client reaches a database's Durable Object, as capnweb transports.
 *
 * capnweb ships a WebSocket transport and an HTTP batch client, but neither fits as is: its
 * WebSocket transport reads the global `WebSocket` (absent in Node 20), and its batch client
 * cannot send an `Authorization` header nor tell a 401 from a 500. So this file holds small
 * transports of our own that capnweb's `RpcSession` runs on:
 *
 * - `SocketTransport`: one capnweb session over one open WebSocket. A close or error rejects
 *   the pending `receive()`, which makes capnweb reject every in-flight call; `failure` records
 *   that the socket is gone so the caller can tell a dropped connection from a remote exception.
 * - `HttpBatchTransport`: one HTTP POST carrying every message queued in the same macrotask
 *   (capnweb's batch protocol: newline-separated messages out, newline-separated answers back).
 *   A refused request becomes a `DosqlError` (401 UNAUTHORIZED, 403 FORBIDDEN, ...) in `failure`.
 *
 * `openSocket` opens a WebSocket with the token where each platform allows it:
 * - Node: the `ws` package (loaded lazily so browsers and Workers never load it), which sends the
 *   `Authorization` header and reports the handshake's HTTP status. Node's own global WebSocket
 *   (Node 22+) cannot send headers, so Node always uses `ws`.
 * - Workers: `fetch` with `Upgrade: websocket` and the header, then `accept()` the socket.
 * - Browsers: the standard `WebSocket` cannot send headers, so the token goes in the `token`
 *   query parameter (the server must accept it there for WebSocket upgrades); a refused
 *   handshake is indistinguishable from a network error in a browser.
 *
 * Nothing here imports Node modules statically: the client runs in Node, browsers and Workers.
 */
import type { RpcTransport } from 'capnweb';
import { DosqlError } from '../base/errors.js';
import { Fifo } from '../base/fifo.js';

/** The part of the WebSocket API (standard, `ws`, Workers) the transport uses. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: any) => void): void;
}

/** WebSocket readyState values (the standard's; `ws` and Workers use the same numbers). */
const SOCKET_OPEN = 1;
/** Messages received but not yet taken by capnweb before the session is declared broken. */
export const RECEIVE_QUEUE_MESSAGES_MAX = 65_536;
/** Close reasons are limited to 123 bytes by the WebSocket protocol. */
const CLOSE_REASON_CHARS_MAX = 100;
/** Close code the client uses for its own orderly shutdown. */
export const CLOSE_CODE_NORMAL = 1000;

/** capnweb transport over one WebSocket. */
export class SocketTransport implements RpcTransport {
  /** Set once the socket closed or failed: every later receive rejects with it. */
  failure: Error | undefined;
  private readonly queue = new Fifo<string>();
  private waiter: { resolve: (m: string) => void; reject: (e: Error) => void } | undefined;

  constructor(
    readonly socket: SocketLike,
    /** Called once, when the socket stops being usable (closed by either side, or failed). */
    private readonly onBroken: (reason: Error) => void = () => {},
  ) {
    socket.addEventListener('message', (ev: { data: unknown }) => this.deliver(ev.data));
    socket.addEventListener('close', (ev: { code?: number; reason?: string }) =>
      this.fail(new Error(`socket closed (code ${ev.code ?? '?'}${ev.reason ? `: ${ev.reason}` : ''})`)),
    );
    socket.addEventListener('error', () => this.fail(new Error('socket error')));
  }

  send(message: string): void {
    if (this.failure) return; // the session is failing; its calls reject through receive()
    if (this.socket.readyState !== SOCKET_OPEN) {
      this.fail(new Error('socket is not open'));
      return;
    }
    this.socket.send(message);
  }

  receive(): Promise<string> {
    const next = this.queue.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  abort(reason: unknown): void {
    const text = reason instanceof Error ? reason.message : String(reason);
    try {
      this.socket.close(3000, text.slice(0, CLOSE_REASON_CHARS_MAX));
    } catch {
      // already closing
    }
    this.fail(reason instanceof Error ? reason : new Error(text));
  }

  private deliver(data: unknown): void {
    if (this.failure) return;
    const text = typeof data === 'string' ? data : data instanceof ArrayBuffer || ArrayBuffer.isView(data) ? decodeUtf8(data) : undefined;
    if (text === undefined) return this.fail(new Error('unexpected WebSocket message type'));
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve(text);
    } else if (this.queue.length >= RECEIVE_QUEUE_MESSAGES_MAX) {
      this.fail(new Error(`more than ${RECEIVE_QUEUE_MESSAGES_MAX} unread messages`));
    } else {
      this.queue.push(text);
    }
  }

  private fail(reason: Error): void {
    if (this.failure) return;
    this.failure = reason;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.reject(reason);
    }
    this.onBroken(reason);
  }
}

function decodeUtf8(data: ArrayBuffer | ArrayBufferView): string {
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new TextDecoder().decode(bytes);
}

/** capnweb transport for one HTTP batch: the messages of one macrotask in one POST. */
export class HttpBatchTransport implements RpcTransport {
  /** The reason the batch failed: a DosqlError for HTTP refusals, CONNECTION for network errors. */
  failure: DosqlError | undefined;
  /** True once the request has gone out: later calls need a new batch. */
  sent = false;
  private outgoing: string[] = [];
  private incoming: string[] | undefined;
  /** Replies taken so far: read by index, since shift() on a batch of many replies is quadratic. */
  private taken = 0;
  private readonly done: Promise<void>;

  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {
    this.done = this.run();
    this.done.catch(() => {}); // observed through receive()
  }

  send(message: string): void {
    if (!this.sent) this.outgoing.push(message);
  }

  async receive(): Promise<string> {
    if (!this.incoming) await this.done;
    const incoming = this.incoming!;
    if (this.taken >= incoming.length) throw new Error('HTTP batch ended');
    const next = incoming[this.taken]!;
    incoming[this.taken++] = ''; // not kept alive by the batch
    return next;
  }

  abort(): void {
    // Nothing to cancel: the batch is one request, already sent or about to be.
  }

  private async run(): Promise<void> {
    await new Promise((r) => setTimeout(r, 0)); // let the caller queue the rest of the batch
    this.sent = true;
    const body = this.outgoing.join('\n');
    this.outgoing = [];
    let response: Response;
    try {
      response = await fetch(this.url, { method: 'POST', headers: { Authorization: `Bearer ${this.token}` }, body });
    } catch (e) {
      throw this.setFailure(new DosqlError('CONNECTION', `request to ${this.url} failed (${(e as Error).message}); the call may or may not have run`, { cause: e }));
    }
    if (!response.ok) {
      const detail = await response.text().catch(() => '');
      throw this.setFailure(httpError(response.status, this.url, detail));
    }
    const text = await response.text();
    this.incoming = text === '' ? [] : text.split('\n');
  }

  private setFailure(e: DosqlError): DosqlError {
    this.failure = e;
    return e;
  }
}

/** The DosqlError for a refused HTTP request or WebSocket handshake. */
export function httpError(status: number, url: string, detail: string): DosqlError {
  const text = errorMessageOf(detail);
  const suffix = text ? `: ${text.slice(0, ERROR_DETAIL_CHARS_MAX)}` : '';
  if (status === 401) return new DosqlError('UNAUTHORIZED', `${url} refused the token (HTTP 401)${suffix}`);
  if (status === 403) return new DosqlError('FORBIDDEN', `the token is not allowed to use ${url} (HTTP 403)${suffix}`);
  if (status === 413) return new DosqlError('LIMIT_EXCEEDED', `request to ${url} too large (HTTP 413)${suffix}`);
  if (status === 429 || status >= 500) {
    return new DosqlError('CONNECTION', `${url} answered HTTP ${status}${suffix}; the call may or may not have run`);
  }
  return new DosqlError('ERROR', `${url} answered HTTP ${status}${suffix}`);
}

/** Most characters of a refusal's body quoted in the error message. */
const ERROR_DETAIL_CHARS_MAX = 300;

/** The message of the server's JSON error body `{ error: { code, message } }`, else the body text. */
function errorMessageOf(body: string): string {
  const trimmed = body.trim();
  try {
    const parsed = JSON.parse(trimmed) as { error?: { message?: unknown } };
    if (typeof parsed?.error?.message === 'string') return parsed.error.message;
  } catch {
    // not JSON
  }
  return trimmed;
}

/** Which runtime the client is in: decides how a socket is opened. */
export type Platform = 'node' | 'workers' | 'browser';

export function detectPlatform(): Platform {
  const g = globalThis as { navigator?: { userAgent?: string }; process?: { versions?: { node?: string } } };
  if (g.navigator?.userAgent === 'Cloudflare-Workers') return 'workers';
  if (g.process?.versions?.node) return 'node';
  return 'browser';
}

/**
 * Open a WebSocket to `wsUrl` (ws: or wss:) carrying the token, and wait until it is open.
 * Throws DosqlError UNAUTHORIZED/FORBIDDEN when the server refuses the token (where the platform
 * reports it), CONNECTION when the server cannot be reached.
 */
export async function openSocket(wsUrl: string, token: string, platform: Platform, timeoutMs: number): Promise<SocketLike> {
  switch (platform) {
    case 'node':
      return openNodeSocket(wsUrl, token, timeoutMs);
    case 'workers':
      return openWorkersSocket(wsUrl, token);
    case 'browser': {
      const url = new URL(wsUrl);
      url.searchParams.set('token', token);
      const Ctor = (globalThis as unknown as { WebSocket?: new (url: string) => SocketLike }).WebSocket;
      if (!Ctor) throw new DosqlError('CONNECTION', 'this runtime has no WebSocket; use transport: "http"');
      return waitOpen(new Ctor(url.href), wsUrl, timeoutMs);
    }
  }
}

interface NodeWs extends SocketLike {
  on(event: 'unexpected-response', listener: (req: unknown, res: { statusCode?: number; on(event: string, listener: (arg: any) => void): void }) => void): void;
  terminate(): void;
}

async function openNodeSocket(wsUrl: string, token: string, timeoutMs: number): Promise<SocketLike> {
  const wsModule = 'ws'; // a variable, so bundlers for browsers and Workers leave it alone
  const { default: WebSocketCtor } = (await import(/* @vite-ignore */ wsModule)) as {
    default: new (url: string, options: { headers: Record<string, string>; handshakeTimeout: number }) => NodeWs;
  };
  const socket = new WebSocketCtor(wsUrl, { headers: { Authorization: `Bearer ${token}` }, handshakeTimeout: timeoutMs });
  let refused: DosqlError | undefined;
  socket.on('unexpected-response', (_req, res) => {
    // Read the refusal's body (the server's JSON error) for the message, then drop the socket.
    const status = res.statusCode ?? 0;
    let body = '';
    res.on('data', (chunk: Uint8Array | string) => {
      if (body.length < ERROR_DETAIL_CHARS_MAX * 4) body += typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk);
    });
    res.on('end', () => {
      refused = httpError(status, wsUrl, body);
      socket.terminate();
    });
    res.on('error', () => {
      refused = httpError(status, wsUrl, body);
      socket.terminate();
    });
  });
  try {
    return await waitOpen(socket, wsUrl, timeoutMs);
  } catch (e) {
    throw refused ?? e;
  }
}

async function openWorkersSocket(wsUrl: string, token: string): Promise<SocketLike> {
  const httpUrl = wsUrl.replace(/^ws/, 'http');
  let response: Response;
  try {
    response = await fetch(httpUrl, { headers: { Upgrade: 'websocket', Authorization: `Bearer ${token}` } });
  } catch (e) {
    throw new DosqlError('CONNECTION', `cannot reach ${wsUrl}: ${(e as Error).message}`, { cause: e });
  }
  const socket = (response as unknown as { webSocket?: (SocketLike & { accept(): void }) | null }).webSocket;
  if (!socket) throw httpError(response.status === 101 ? 502 : response.status, wsUrl, await response.text().catch(() => ''));
  socket.accept();
  return socket;
}

/** Resolve once the socket is open; reject with CONNECTION when it fails or takes too long. */
function waitOpen(socket: SocketLike, url: string, timeoutMs: number): Promise<SocketLike> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error: DosqlError | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        try {
          socket.close();
        } catch {
          // never opened
        }
        reject(error);
      } else resolve(socket);
    };
    const timer = setTimeout(() => settle(new DosqlError('CONNECTION', `cannot reach ${url}: no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.addEventListener('open', () => settle(undefined));
    socket.addEventListener('error', (ev: { message?: string; error?: Error }) =>
      settle(new DosqlError('CONNECTION', `cannot reach ${url}${ev.message ? `: ${ev.message}` : ev.error ? `: ${ev.error.message}` : ''}`)),
    );
    socket.addEventListener('close', (ev: { code?: number }) => settle(new DosqlError('CONNECTION', `cannot reach ${url}: closed during handshake (code ${ev.code ?? '?'})`)));
  });
}
