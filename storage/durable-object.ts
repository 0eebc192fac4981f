/**
 * Durable Object byte store: the `ByteStore` interface over the key-value API (`ctx.storage`) of a
 * SQLite-backed Durable Object.
 *
 * The ByteStore limits (128 keys per call, 2 MB per key + value) ARE a Durable Object's limits, so
 * the mapping is direct: `get`/`getMany` are one multi-key get, `list` is one `storage.list` with the
 * same prefix / [start, end) / limit / reverse semantics, and `write` is one delete plus one put.
 * Every call is checked with the shared checks in `storage/limits.ts` first, so this backend refuses
 * exactly the calls the memory and file backends refuse, before touching storage.
 *
 * Atomicity of `write`: the delete and the put are issued WITHOUT an await between them. A Durable
 * Object coalesces all writes issued in the same synchronous run into one atomic SQLite transaction
 * ("automatic write coalescing"), and its output gate holds every outgoing message until that
 * transaction is durable, so after a crash either the whole batch is visible or none of it. We
 * prefer this to `storage.transaction()` because the latter is an async callback whose awaits would
 * let other events interleave, and costs an extra round of bookkeeping for no stronger guarantee.
 * The returned promise resolves once the coalesced write is confirmed.
 *
 * Values: a Durable Object stores values by structured clone, so a Uint8Array comes back as a
 * fresh Uint8Array (owned by the caller, as the ByteStore contract asks). Structured clone of a
 * view serializes its WHOLE underlying ArrayBuffer, and msgpackr hands out views into a larger
 * shared buffer, so a view that does not span its buffer is copied before it is stored; otherwise
 * an entry could silently store (and be billed for) kilobytes of unrelated bytes or pass the 2 MB
 * limit.
 *
 * The Durable Object's storage is never closed by us (it belongs to the object): `close` only
 * makes later calls throw CLOSED, like the other backends.
 *
 * This module must stay free of `cloudflare:` and `node:` imports: it is type-checked and
 * unit-testable anywhere, and it receives the storage object as a structural type.
 */
import { DosqlError } from '../base/errors.js';
import type { ByteStore, ListOptions, StoreStats, WriteBatch } from './types.js';
import { checkBatch, checkKeyCount } from './limits.js';

/** The part of a Durable Object's `DurableObjectStorage` this backend uses. */
export interface DurableObjectKv {
  get(keys: string[]): Promise<Map<string, unknown>>;
  list(options: {
    prefix?: string;
    start?: string;
    end?: string;
    limit?: number;
    reverse?: boolean;
  }): Promise<Map<string, unknown>>;
  put(entries: Record<string, unknown>): Promise<void>;
  delete(keys: string[]): Promise<number>;
}

export class DurableObjectStore implements ByteStore {
  private closed = false;
  readonly stats: StoreStats = { reads: 0, entriesRead: 0, writes: 0, bytesWritten: 0 };

  constructor(private readonly storage: DurableObjectKv) {}

  async get(key: string): Promise<Uint8Array | undefined> {
    this.check();
    checkKeyCount(1);
    this.stats.reads++;
    const got = await this.call('get', () => this.storage.get([key]));
    const v = got.get(key);
    if (v === undefined) return undefined;
    this.stats.entriesRead++;
    return bytes(key, v);
  }

  async getMany(keys: string[]): Promise<Map<string, Uint8Array>> {
    this.check();
    checkKeyCount(keys.length);
    this.stats.reads++;
    const out = new Map<string, Uint8Array>();
    if (keys.length === 0) return out;
    const got = await this.call('getMany', () => this.storage.get(keys));
    for (const [k, v] of got) out.set(k, bytes(k, v));
    this.stats.entriesRead += out.size;
    return out;
  }

  async list(options: ListOptions): Promise<Array<[string, Uint8Array]>> {
    this.check();
    this.stats.reads++;
    const { prefix, start, end, limit, reverse } = options;
    // Empty selections are answered here: a Durable Object rejects limit 0 and start > end.
    if (limit !== undefined && limit <= 0) return [];
    if (start !== undefined && end !== undefined && start >= end) return [];
    const query: Parameters<DurableObjectKv['list']>[0] = {};
    if (prefix !== undefined) query.prefix = prefix;
    if (start !== undefined) query.start = start;
    if (end !== undefined) query.end = end;
    if (limit !== undefined) query.limit = limit;
    if (reverse) query.reverse = true;
    const got = await this.call('list', () => this.storage.list(query));
    const out: Array<[string, Uint8Array]> = [];
    for (const [k, v] of got) out.push([k, bytes(k, v)]);
    this.stats.entriesRead += out.length;
    return out;
  }

  async write(batch: WriteBatch): Promise<void> {
    this.check();
    checkBatch(batch);
    this.stats.writes++;
    // A later put of the same key wins; a put overrides a delete of the same key (deletes first).
    const entries: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    let putCount = 0;
    for (const [k, v] of batch.put ?? []) {
      if (!(k in entries)) putCount++;
      entries[k] = ownedView(v);
      this.stats.bytesWritten += v.byteLength;
    }
    const deletes = (batch.delete ?? []).filter((k) => !(k in entries));
    if (putCount === 0 && deletes.length === 0) return;
    // No await between the two calls: they coalesce into one atomic write (see the header).
    let pending: Array<Promise<unknown>>;
    try {
      pending = [];
      if (deletes.length) pending.push(this.storage.delete(deletes));
      if (putCount) pending.push(this.storage.put(entries));
    } catch (e) {
      throw ioError('write', e);
    }
    await this.call('write', () => Promise.all(pending));
  }

  put(key: string, value: Uint8Array): Promise<void> {
    return this.write({ put: [[key, value]] });
  }

  delete(key: string): Promise<void> {
    return this.write({ delete: [key] });
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private check(): void {
    if (this.closed) throw new DosqlError('CLOSED', 'store is closed');
  }

  private async call<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      throw ioError(what, e);
    }
  }
}

function ioError(what: string, e: unknown): DosqlError {
  if (e instanceof DosqlError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new DosqlError('IO', `Durable Object storage ${what} failed: ${message}`, { cause: e });
}

/** A value read back; anything but bytes means the key was written by something else. */
function bytes(key: string, v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  throw new DosqlError('CORRUPT', `Durable Object storage key ${JSON.stringify(key)} holds a ${typeof v}, not bytes`);
}

/** A Uint8Array that spans its whole buffer, so structured clone stores only these bytes. */
function ownedView(v: Uint8Array): Uint8Array {
  if (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && v.constructor === Uint8Array) return v;
  return new Uint8Array(v);
}
