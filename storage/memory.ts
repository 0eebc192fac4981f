/**
 * In-memory byte store: a Map of values beside the sorted list of their keys.
 *
 * It is the reference backend: the file and Durable Object backends must behave exactly like it
 * (apart from durability). `list` is a binary search plus a slice of the sorted keys, which are
 * kept sorted lazily (storage/sorted-keys.ts): a write costs O(1) per key, and the first list
 * after writes merges them in.
 */
import { DosqlError } from '../base/errors.js';
import type { ByteStore, ListOptions, StoreStats, WriteBatch } from './types.js';
import { checkBatch, checkKeyCount, selectRange } from './limits.js';
import { SortedKeys } from './sorted-keys.js';

export class MemoryStore implements ByteStore {
  private readonly values = new Map<string, Uint8Array>();
  private readonly keys = new SortedKeys();
  private closed = false;
  readonly stats: StoreStats = { reads: 0, entriesRead: 0, writes: 0, bytesWritten: 0 };

  async get(key: string): Promise<Uint8Array | undefined> {
    this.check();
    this.stats.reads++;
    const v = this.values.get(key);
    if (v) this.stats.entriesRead++;
    return v;
  }

  async getMany(keys: string[]): Promise<Map<string, Uint8Array>> {
    this.check();
    checkKeyCount(keys.length);
    this.stats.reads++;
    const out = new Map<string, Uint8Array>();
    for (const k of keys) {
      const v = this.values.get(k);
      if (v) out.set(k, v);
    }
    this.stats.entriesRead += out.size;
    return out;
  }

  async list(options: ListOptions): Promise<Array<[string, Uint8Array]>> {
    this.check();
    this.stats.reads++;
    const keys = selectRange(this.keys.sorted(), options);
    this.stats.entriesRead += keys.length;
    return keys.map((k) => [k, this.values.get(k)!]);
  }

  async write(batch: WriteBatch): Promise<void> {
    this.check();
    checkBatch(batch);
    this.applySync(batch);
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

  /** Apply a batch with no checks or awaits; other backends reuse this as their index. */
  applySync(batch: WriteBatch): void {
    this.stats.writes++;
    for (const k of batch.delete ?? []) {
      if (this.values.delete(k)) this.keys.remove(k);
    }
    for (const [k, v] of batch.put ?? []) {
      if (!this.values.has(k)) this.keys.add(k);
      this.values.set(k, v);
      this.stats.bytesWritten += v.byteLength;
    }
  }

  /** Every entry in key order, for tests and for snapshotting into another store. */
  entries(): Array<[string, Uint8Array]> {
    return this.keys.sorted().map((k) => [k, this.values.get(k)!]);
  }

  private check(): void {
    if (this.closed) throw new DosqlError('CLOSED', 'store is closed');
  }
}

/** First index whose key is >= key in a sorted array. */
export function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose key is > key in a sorted array (in a B-tree branch: the child that holds key). */
export function upperBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
