/**
 * Change data capture served remotely: slot management, pull reads and push subscriptions over
 * capnweb (`SlotsRpc` in base/api.ts), shared by the RPC target (server/rpc.ts), the HTTP routes
 * (server/cdc-http.ts) and the Node test server.
 *
 * Slot calls (create, drop, list, read, ack) are ordinary calls of the host (`DatabaseHost.serve`):
 * serialized with every other call, errors as `WireResult`s. Read-only tokens may list, read, ack
 * and subscribe, never create or drop (FORBIDDEN).
 *
 * Push (`ServedSubscription`): the engine's own `Subscription` (query/cdc.ts) drives delivery, on
 * a `SlotSource` whose reads and acks are host calls, so they take turns with writers, and whose
 * wait for the next commit is NOT a host call (it would block every writer): it waits on the open
 * database's commit signal, raced with the subscription's stop and a bounded timer
 * (`COMMIT_WAIT_MS_MAX`) that re-reads in case the database was reopened under it. Each batch is
 * handed to a `deliver` function (a capnweb callback into the client, or an SSE stream) and
 * awaited, so at most one batch is on the wire; the Subscription stops at `maxInFlight`
 * unacknowledged events until an ack arrives, through the subscription's own `ack` or through
 * `slotAck` / `POST .../ack` on the same slot (the `CdcHub` of the host tells every live
 * subscription of that slot). Nothing is buffered for a slow consumer; writers never wait for one.
 *
 * A subscription ends, exactly once, when the client cancels or disposes it, when the connection
 * breaks (`onRpcBroken` of the callback stub), or when a read fails (slot dropped or lost); the
 * callback stub is then released. Delivery is at-least-once from the slot's confirmed position:
 * a consumer that reconnects gets everything after its last ack again and dedupes by event `id`.
 */
import { RpcTarget, type RpcStub } from 'capnweb';
import type {
  ChangeBatchWire,
  ChangeSinkWire,
  ChangeTransactionWire,
  SlotInfoWire,
  SlotOptionsWire,
  SubscribeOptionsWire,
  SubscriptionRpc,
  WireResult,
} from '../base/api.js';
import { DosqlError, assert } from '../base/errors.js';
import { Subscription, SUBSCRIPTION_BATCH_EVENTS_DEFAULT, SUBSCRIPTION_IN_FLIGHT_EVENTS_DEFAULT, type SlotSource } from '../query/cdc.js';
import type { SlotOptions } from '../query/slots.js';
import { toWireError, type Access, type DatabaseHost } from './host.js';

/** Largest `batchSize` a remote subscription may ask for (events per delivered batch). */
export const SUBSCRIPTION_BATCH_EVENTS_MAX = 1000;
/** Largest `maxInFlight` a remote subscription may ask for (unacknowledged events). */
export const SUBSCRIPTION_IN_FLIGHT_EVENTS_MAX = 10_000;
/** Live subscriptions per database object (each costs a read per commit). */
export const SUBSCRIPTIONS_OPEN_MAX = 256;
/** Longest wait for a commit signal before re-reading anyway (covers a reopened database). */
export const COMMIT_WAIT_MS_MAX = 10_000;
/** Largest `max` of one slot read (events). */
export const SLOT_READ_EVENTS_MAX = 10_000;

/** The live subscriptions of one host, so an ack through any route frees their in-flight room. */
export class CdcHub {
  readonly subscriptions = new Set<ServedSubscription>();

  /** An ack of `slot` through `slotAck` or HTTP: every live subscription of it may resume. */
  acked(slot: string, lsn: bigint, except?: ServedSubscription): void {
    for (const s of this.subscriptions) if (s.slot === slot && s !== except) s.released(lsn);
  }
}

const hubs = new WeakMap<DatabaseHost, CdcHub>();

export function hubOf(host: DatabaseHost): CdcHub {
  let hub = hubs.get(host);
  if (!hub) {
    hub = new CdcHub();
    hubs.set(host, hub);
  }
  return hub;
}

// --- slot calls --------------------------------------------------------------------------------

export function slotCreate(host: DatabaseHost, name: unknown, options: unknown, access: Access): Promise<WireResult<SlotInfoWire>> {
  return host.serve(async (db) => {
    if (access.readOnly) throw new DosqlError('FORBIDDEN', 'this token is read-only: it cannot create replication slots');
    return db.slots.create(name as string, slotOptions(options));
  });
}

export function slotDrop(host: DatabaseHost, name: unknown, access: Access): Promise<WireResult<null>> {
  return host.serve(async (db) => {
    if (access.readOnly) throw new DosqlError('FORBIDDEN', 'this token is read-only: it cannot drop replication slots');
    await db.slots.drop(name as string);
    return null;
  });
}

export function slotList(host: DatabaseHost): Promise<WireResult<SlotInfoWire[]>> {
  return host.serve((db) => db.slots.list());
}

export function slotRead(host: DatabaseHost, name: unknown, options: unknown): Promise<WireResult<ChangeBatchWire>> {
  return host.serve(async (db) => {
    const o = (options ?? {}) as { max?: unknown; after?: unknown };
    if (typeof o !== 'object') throw new DosqlError('MISUSE', 'read options must be an object');
    const max = o.max === undefined ? undefined : checkCount(o.max, 'max', SLOT_READ_EVENTS_MAX);
    const after = o.after === undefined ? undefined : lsnOf(o.after, 'after');
    return db.slots.read(name as string, { ...(max !== undefined && { max }), ...(after !== undefined && { after }) });
  });
}

export async function slotAck(host: DatabaseHost, name: unknown, lsn: unknown): Promise<WireResult<null>> {
  let at: bigint;
  try {
    at = lsnOf(lsn, 'lsn');
  } catch (e) {
    return { ok: false, error: toWireError(e) };
  }
  const r = await host.serve(async (db) => {
    await db.slots.ack(name as string, at);
    return null;
  });
  if (r.ok) hubOf(host).acked(name as string, at);
  return r;
}

// --- push --------------------------------------------------------------------------------------

/** Where a subscription's batches go; awaited before the next read. */
export type Deliver = (delivery: WireResult<ChangeTransactionWire[]>) => Promise<void>;

export interface ServeOptions {
  batchSize: number;
  maxInFlight: number;
  /** Start after this commit LSN instead of the slot's confirmed position (SSE Last-Event-ID). */
  startAfter?: bigint;
}

/** Check a subscription's options against the server's bounds. */
export function subscribeOptions(options: unknown): ServeOptions {
  if (options !== undefined && options !== null && typeof options !== 'object') throw new DosqlError('MISUSE', 'subscribe options must be an object');
  const o = (options ?? {}) as SubscribeOptionsWire;
  return {
    batchSize: o.batchSize === undefined ? SUBSCRIPTION_BATCH_EVENTS_DEFAULT : checkCount(o.batchSize, 'batchSize', SUBSCRIPTION_BATCH_EVENTS_MAX),
    maxInFlight: o.maxInFlight === undefined ? SUBSCRIPTION_IN_FLIGHT_EVENTS_DEFAULT : checkCount(o.maxInFlight, 'maxInFlight', SUBSCRIPTION_IN_FLIGHT_EVENTS_MAX),
  };
}

/**
 * One push subscription on a host: the engine's Subscription driven by `run()`, delivering to
 * `deliver`, until `stop()`. See the module header.
 */
export class ServedSubscription {
  private readonly sub: Subscription;
  private stopped = false;
  private wake: (() => void) | undefined;
  private readonly stopSignal: Promise<void>;
  private readonly onStop: Array<() => void> = [];

  private constructor(
    private readonly host: DatabaseHost,
    readonly slot: string,
    options: ServeOptions,
    private readonly deliver: Deliver,
  ) {
    this.stopSignal = new Promise<void>((r) => (this.wake = r));
    let first = options.startAfter;
    const source: SlotSource = {
      read: async (name, o) => {
        const after = o.after ?? first;
        first = undefined;
        return unwrap(await host.serve((db) => db.slots.read(name, { max: o.max, ...(after !== undefined && { after }) })));
      },
      ack: async (name, lsn) => {
        unwrap(await host.serve((db) => db.slots.ack(name, lsn)));
      },
      nextCommit: () => this.nextCommit(),
      get closed() {
        return false; // the Subscription is ended through return() by stop()
      },
    };
    this.sub = new Subscription(source, slot, options.batchSize, options.maxInFlight);
  }

  /**
   * Check the slot exists (and is not lost) and start delivering. The returned subscription is
   * registered with the host's hub until it stops.
   */
  static async start(host: DatabaseHost, name: unknown, options: ServeOptions, deliver: Deliver): Promise<WireResult<ServedSubscription>> {
    const hub = hubOf(host);
    const checked = await host.serve(async (db) => {
      if (hub.subscriptions.size >= SUBSCRIPTIONS_OPEN_MAX) {
        throw new DosqlError('LIMIT_EXCEEDED', `live subscriptions: ${hub.subscriptions.size}; SUBSCRIPTIONS_OPEN_MAX is ${SUBSCRIPTIONS_OPEN_MAX}`);
      }
      // Reading one event checks the name, the slot's existence and that it is not lost.
      await db.slots.read(name as string, { max: 1 });
      if (options.startAfter !== undefined && options.startAfter > db.lsn) {
        throw new DosqlError('RANGE', `cannot resume after LSN ${options.startAfter}: the last commit is LSN ${db.lsn}`);
      }
      return name as string;
    });
    if (!checked.ok) return checked;
    const s = new ServedSubscription(host, checked.value, options, deliver);
    hub.subscriptions.add(s);
    void s.run();
    return { ok: true, value: s };
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Call `f` once the subscription has stopped (at once if it has). */
  whenStopped(f: () => void): void {
    if (this.stopped) f();
    else this.onStop.push(f);
  }

  /** Acknowledge through `lsn` (moves the slot) and let every subscription of the slot resume. */
  async ack(lsn: unknown): Promise<WireResult<null>> {
    try {
      const at = lsnOf(lsn, 'lsn');
      await this.sub.ack(at);
      hubOf(this.host).acked(this.slot, at, this);
      return { ok: true, value: null };
    } catch (e) {
      return { ok: false, error: toWireError(e) };
    }
  }

  /** Someone acknowledged the slot elsewhere: free the in-flight room it covers. */
  released(lsn: bigint): void {
    if (this.stopped) return;
    this.sub.ack(lsn).catch(() => {}); // a failing ack surfaces on the next read
  }

  /** Stop for good; idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    hubOf(this.host).subscriptions.delete(this);
    this.wake?.();
    void this.sub.return();
    for (const f of this.onStop.splice(0)) {
      try {
        f();
      } catch {
        // a release that fails has nothing left to release
      }
    }
  }

  private async run(): Promise<void> {
    try {
      for (let batches = 0; batches < Number.MAX_SAFE_INTEGER && !this.stopped; batches++) {
        const r = await this.sub.next();
        if (r.done || this.stopped) break;
        await this.deliver({ ok: true, value: r.value });
      }
    } catch (e) {
      if (!this.stopped && e instanceof DosqlError) {
        // The read failed (slot dropped or lost, database failure): tell the consumer, then stop.
        await this.deliver({ ok: false, error: toWireError(e) }).catch(() => {});
      }
    } finally {
      this.stop();
    }
  }

  /** Resolves at the next commit, at stop, or after COMMIT_WAIT_MS_MAX, whichever comes first. */
  private nextCommit(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const db = this.host.current;
    if (!db) return Promise.resolve(); // the next read opens it
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((r) => (timer = setTimeout(r, COMMIT_WAIT_MS_MAX)));
    return Promise.race([db.slots.nextCommit(), this.stopSignal, timeout]).finally(() => clearTimeout(timer));
  }
}

/**
 * The capnweb handle of a push subscription (`SubscriptionRpc`): holds the client's callback
 * (`dup()`ed, released when the subscription stops) and stops on cancel, disposal or a broken
 * connection. Fields are `#private` so that capnweb exposes only the methods.
 */
export class SubscriptionRpcTarget extends RpcTarget implements SubscriptionRpc {
  readonly #served: ServedSubscription;

  private constructor(served: ServedSubscription) {
    super();
    this.#served = served;
  }

  static async start(host: DatabaseHost, name: unknown, options: unknown, sink: unknown): Promise<WireResult<SubscriptionRpcTarget>> {
    let opts: ServeOptions;
    try {
      opts = subscribeOptions(options);
      if (typeof sink !== 'function') throw new DosqlError('MISUSE', 'subscribe needs a callback (the sink) as its third argument');
    } catch (e) {
      return { ok: false, error: toWireError(e) };
    }
    // Keep our own reference: capnweb releases the argument's stub when this call returns.
    const stub = (sink as RpcStub<ChangeSinkWire>).dup();
    const call = stub as unknown as ChangeSinkWire;
    const started = await ServedSubscription.start(host, name, opts, async (delivery) => {
      await call(delivery);
    });
    if (!started.ok) {
      release(stub);
      return started;
    }
    const served = started.value;
    served.whenStopped(() => release(stub));
    stub.onRpcBroken(() => served.stop());
    return { ok: true, value: new SubscriptionRpcTarget(served) };
  }

  ack(lsn: bigint | number): Promise<WireResult<null>> {
    return this.#served.ack(lsn);
  }

  cancel(): Promise<WireResult<null>> {
    this.#served.stop();
    return Promise.resolve({ ok: true, value: null });
  }

  /** capnweb: the client released the handle, or the connection dropped. */
  [Symbol.dispose](): void {
    this.#served.stop();
  }
}

function release(stub: RpcStub<ChangeSinkWire>): void {
  try {
    stub[Symbol.dispose]();
  } catch {
    // already gone with its session
  }
}

// --- checks ------------------------------------------------------------------------------------

/** An LSN from the wire: a bigint, a safe non-negative integer, or a decimal string. */
export function lsnOf(v: unknown, what: string): bigint {
  if (typeof v === 'bigint' && v >= 0n) return v;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^[0-9]{1,20}$/.test(v)) return BigInt(v);
  throw new DosqlError('MISUSE', `${what} must be a non-negative integer LSN (a bigint, number or decimal string)`);
}

function checkCount(v: unknown, what: string, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new DosqlError('MISUSE', `${what} must be a positive integer`);
  if (v > max) throw new DosqlError('LIMIT_EXCEEDED', `${what} of ${v}; the server allows at most ${max}`);
  return v;
}

function slotOptions(options: unknown): SlotOptions {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') throw new DosqlError('MISUSE', 'slot options must be an object');
  const o = options as SlotOptionsWire;
  const list = (v: unknown, what: string): string[] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new DosqlError('MISUSE', `${what} must be an array of strings`);
    return v as string[];
  };
  const out: SlotOptions = {};
  const tables = list(o.tables, 'tables');
  const operations = list(o.operations, 'operations');
  const columns = list(o.columns, 'columns');
  if (tables) out.tables = tables;
  if (operations) out.operations = operations as SlotOptions['operations'];
  if (columns) out.columns = columns;
  if (o.format !== undefined) out.format = o.format;
  if (o.from !== undefined) {
    if (o.from === 'now' || o.from === 'beginning') out.from = o.from;
    else if (typeof o.from === 'object' && o.from !== null && 'lsn' in o.from) out.from = { lsn: lsnOf(o.from.lsn, 'from.lsn') };
    else throw new DosqlError('MISUSE', "from must be 'now', 'beginning' or { lsn }");
  }
  return out;
}

function unwrap<T>(r: WireResult<T>): T {
  if (r.ok) return r.value;
  throw new DosqlError(r.error.code, r.error.message);
}

assert(SUBSCRIPTION_BATCH_EVENTS_DEFAULT <= SUBSCRIPTION_BATCH_EVENTS_MAX, 'default batch within the bound');
assert(SUBSCRIPTION_IN_FLIGHT_EVENTS_DEFAULT <= SUBSCRIPTION_IN_FLIGHT_EVENTS_MAX, 'default in-flight within the bound');
