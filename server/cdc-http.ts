/**
 * Change data capture over plain HTTP, for consumers in other languages (docs/HTTP.md, "Change
 * data capture"). Every route goes through the same host calls as RPC (server/cdc.ts), so the
 * same permissions and errors apply; values use the JSON forms of server/json.ts and LSNs are
 * decimal strings.
 *
 * - `GET  .../slots`: list. `PUT .../slots/<slot>` (body: slot options): create.
 *   `DELETE .../slots/<slot>`: drop. Read-only tokens may not create or drop (403).
 * - `GET  .../slots/<slot>?max=N&after=LSN&wait=MS`: long-poll. The next transactions after the
 *   confirmed position (or `after`), without moving it; when there are none it waits for a commit,
 *   at most `wait` ms (default and bound `LONG_POLL_WAIT_MS_MAX`), then answers, maybe empty.
 * - `GET  .../slots/<slot>/events?max=N&maxInFlight=M`: Server-Sent Events, one `transaction`
 *   event per committed transaction, `id:` its commit LSN. It starts after the slot's confirmed
 *   position, or after `Last-Event-ID` (header, or the `lastEventId` parameter) when a client
 *   resumes. Like a push subscription (it is one: `ServedSubscription`) it pauses at `maxInFlight`
 *   unacknowledged events until `POST .../ack` moves the slot. A response is bounded: it ends,
 *   with an `end` event, once it has sent `max` events (default and bound
 *   `SSE_EVENTS_PER_RESPONSE_MAX`) or after `SSE_STREAM_MS_MAX`; the client reconnects. A failed
 *   read ends it with an `error` event. Comment lines keep idle connections open.
 * - `POST .../slots/<slot>/ack` with `{ "lsn": "<decimal>" }`: acknowledge through that commit.
 */
import type { ChangeEventWire, ChangeTransactionWire, DebeziumEventWire, SlotInfoWire, WireResult } from '../base/api.js';
import { DosqlError } from '../base/errors.js';
import type { SqlValue } from '../base/values.js';
import { SUBSCRIPTION_IN_FLIGHT_EVENTS_DEFAULT } from '../query/cdc.js';
import { ServedSubscription, SLOT_READ_EVENTS_MAX, lsnOf, slotAck, slotCreate, slotDrop, slotList, slotRead, subscribeOptions } from './cdc.js';
import { toWireError, type Access, type DatabaseHost } from './host.js';
import { errorResponse, jsonResponse, readBody } from './http.js';
import { toJsonValue, type JsonValue } from './json.js';

/** Longest a long-poll waits for a commit when caught up (below common 30 s proxy timeouts). */
export const LONG_POLL_WAIT_MS_MAX = 25_000;
/** Most events one SSE response sends before it ends (the client reconnects). */
export const SSE_EVENTS_PER_RESPONSE_MAX = 10_000;
/** Longest one SSE response stays open before it ends (the client reconnects). */
export const SSE_STREAM_MS_MAX = 5 * 60_000;
/** Interval of comment lines on an SSE stream, so idle connections are not cut by proxies. */
export const SSE_HEARTBEAT_MS = 15_000;
/** Events per read while streaming SSE. */
const SSE_BATCH_EVENTS = 100;
/** Reads one long-poll may make (each after a commit signal or timeout). */
const LONG_POLL_READS_MAX = 10_000;
/** Client reconnection delay announced to EventSource clients (`retry:`). */
const SSE_RETRY_MS = 1000;

const utf8 = new TextEncoder();

export async function slotsHttp(
  host: DatabaseHost,
  request: Request,
  route: { slot?: string; action?: 'events' | 'ack' },
  access: Access,
  bytesMax: number,
): Promise<Response> {
  const url = new URL(request.url);
  const method = request.method;
  const slot = route.slot;
  try {
    if (slot === undefined) {
      if (method !== 'GET') return notAllowed('GET');
      return reply(await slotList(host), (list) => ({ slots: list.map(slotInfoJson) }));
    }
    if (route.action === 'ack') {
      if (method !== 'POST') return notAllowed('POST');
      const body = parseJson(await readBody(request, bytesMax)) as { lsn?: unknown } | null;
      const lsn = lsnOf(body?.lsn, 'lsn');
      return reply(await slotAck(host, slot, lsn), () => ({ acked: String(lsn) }));
    }
    if (route.action === 'events') {
      if (method !== 'GET') return notAllowed('GET');
      return await sse(host, request, url, slot);
    }
    switch (method) {
      case 'GET':
        return await longPoll(host, url, slot);
      case 'PUT': {
        const text = await readBody(request, bytesMax);
        const options = text.trim() === '' ? {} : parseJson(text);
        return reply(await slotCreate(host, slot, options, access), slotInfoJson);
      }
      case 'DELETE':
        return reply(await slotDrop(host, slot, access), () => ({ dropped: slot }));
      default:
        return notAllowed('GET, PUT, DELETE');
    }
  } catch (e) {
    return errorResponse(toWireError(e));
  }
}

async function longPoll(host: DatabaseHost, url: URL, slot: string): Promise<Response> {
  const max = intParam(url, 'max', SLOT_READ_EVENTS_MAX, SLOT_READ_EVENTS_MAX);
  const wait = intParam(url, 'wait', LONG_POLL_WAIT_MS_MAX, LONG_POLL_WAIT_MS_MAX, 0);
  let after = url.searchParams.has('after') ? lsnOf(url.searchParams.get('after'), 'after') : undefined;
  const deadline = Date.now() + wait;
  for (let reads = 0; reads < LONG_POLL_READS_MAX; reads++) {
    const commit = host.current?.slots.nextCommit();
    const r = await slotRead(host, slot, { max, ...(after !== undefined && { after }) });
    if (!r.ok) return errorResponse(r.error);
    const left = deadline - Date.now();
    if (r.value.transactions.length > 0 || left <= 0) {
      return jsonResponse({ transactions: r.value.transactions.map(transactionJson), position: String(r.value.position) });
    }
    after = r.value.position; // skip commits the slot's filters left out
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([commit ?? Promise.resolve(), new Promise<void>((res) => (timer = setTimeout(res, left)))]);
    clearTimeout(timer);
  }
  throw new DosqlError('ERROR', 'long-poll read too many times without an answer');
}

async function sse(host: DatabaseHost, request: Request, url: URL, slot: string): Promise<Response> {
  const max = intParam(url, 'max', SSE_EVENTS_PER_RESPONSE_MAX, SSE_EVENTS_PER_RESPONSE_MAX);
  const inFlight = intParam(url, 'maxInFlight', SUBSCRIPTION_IN_FLIGHT_EVENTS_DEFAULT, Number.MAX_SAFE_INTEGER);
  const resumeFrom = request.headers.get('last-event-id') ?? url.searchParams.get('lastEventId');
  const options = subscribeOptions({ batchSize: Math.min(max, SSE_BATCH_EVENTS), maxInFlight: inFlight });
  if (resumeFrom !== null && resumeFrom !== '') options.startAfter = lsnOf(resumeFrom, 'Last-Event-ID');

  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const write = (text: string): Promise<void> => writer.write(utf8.encode(text));
  let sent = 0;
  let reason = 'duration';
  const holder: { served?: ServedSubscription } = {};
  const started = await ServedSubscription.start(host, slot, options, async (d) => {
    if (!d.ok) {
      reason = 'error';
      await write(`event: error\ndata: ${JSON.stringify({ error: d.error })}\n\n`);
      return;
    }
    for (const t of d.value) {
      await write(`id: ${t.commitLsn}\nevent: transaction\ndata: ${JSON.stringify(transactionJson(t))}\n\n`);
      sent += t.eventCount;
      if (sent >= max) {
        // The rest of the batch was not acknowledged: it comes again after this id.
        reason = 'max';
        holder.served?.stop();
        return;
      }
    }
  });
  if (!started.ok) {
    await writer.abort().catch(() => {});
    return errorResponse(started.error);
  }
  const served = (holder.served = started.value);
  const timer = setTimeout(() => served.stop(), SSE_STREAM_MS_MAX);
  const heartbeat = setInterval(() => void write(': keepalive\n\n').catch(() => served.stop()), SSE_HEARTBEAT_MS);
  served.whenStopped(() => {
    clearTimeout(timer);
    clearInterval(heartbeat);
    write(`event: end\ndata: ${JSON.stringify({ reason, events: sent })}\n\n`)
      .then(() => writer.close())
      .catch(() => writer.abort().catch(() => {}));
  });
  void write(`retry: ${SSE_RETRY_MS}\n\n`).catch(() => served.stop());
  return new Response(readable, {
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' },
  });
}

// --- JSON forms --------------------------------------------------------------------------------

export function slotInfoJson(s: SlotInfoWire): Record<string, JsonValue> {
  return {
    name: s.name,
    restartLsn: String(s.restartLsn),
    confirmedLsn: String(s.confirmedLsn),
    lagEntries: String(s.lagEntries),
    lagBytes: s.lagBytes,
    status: s.status,
  };
}

/** A transaction with LSNs, ids and HLCs as decimal strings and values in their JSON forms. */
export function transactionJson(t: ChangeTransactionWire): Record<string, JsonValue> {
  return {
    txnId: String(t.txnId),
    commitLsn: String(t.commitLsn),
    timestamp: t.timestamp,
    hlc: String(t.hlc),
    eventCount: t.eventCount,
    events: t.events.map(eventJson),
  };
}

function eventJson(e: ChangeEventWire | DebeziumEventWire): Record<string, JsonValue> {
  if ('op' in e) {
    return { id: e.id, op: e.op, before: rowJson(e.before), after: rowJson(e.after), source: { ...e.source } };
  }
  const out: Record<string, JsonValue> = {
    id: e.id,
    operation: e.operation,
    table: e.table,
    lsn: String(e.lsn),
    txnId: String(e.txnId),
    timestamp: e.timestamp,
    hlc: String(e.hlc),
    key: rowJson(e.key),
  };
  if (e.before) out.before = rowJson(e.before);
  if (e.after) out.after = rowJson(e.after);
  return out;
}

function rowJson(row: Record<string, SqlValue> | null): JsonValue {
  if (row === null) return null;
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(row)) out[k] = toJsonValue(v);
  return out;
}

// --- helpers -----------------------------------------------------------------------------------

function reply<T>(r: WireResult<T>, shape: (v: T) => JsonValue): Response {
  return r.ok ? jsonResponse(shape(r.value)) : errorResponse(r.error);
}

function notAllowed(allow: string): Response {
  return errorResponse({ code: 'MISUSE', message: `method not allowed here; use ${allow}` }, 405);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new DosqlError('MISUSE', 'request body is not valid JSON');
  }
}

function intParam(url: URL, name: string, fallback: number, max: number, min = 1): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) throw new DosqlError('MISUSE', `${name} must be an integer of at least ${min}`);
  return Math.min(n, max);
}
