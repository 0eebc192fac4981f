/**
 * The byte-store interface: the only thing the log and the materializers know about storage.
 *
 * It is the intersection of what every backend can do cheaply and atomically: a sorted map from
 * string keys to byte values, with point reads, ordered range listing, and one atomic write of up
 * to `STORE_KEYS_PER_CALL_MAX` puts and deletes. Its limits are those of a SQLite-backed Durable
 * Object (the strictest backend), so an engine that runs on the memory or file backend runs
 * unchanged on Durable Object storage.
 *
 * Keys are strings compared by UTF-16 code unit (JavaScript `<`); callers that need numeric order
 * encode numbers fixed-width (see `log/` and `materializers/` for their key schemes). Keys should
 * stay ASCII so that every backend orders them the same way.
 *
 * Ownership: a value passed to `write` belongs to the store afterwards (the caller must not mutate
 * it); a value returned by `get`/`list` belongs to the caller (the store keeps its own copy or
 * never mutates the returned one).
 *
 * Errors: every method throws `DosqlError` IO when the backend fails, CLOSED after `close`, and
 * LIMIT_EXCEEDED (before writing anything) when a call passes a limit below.
 */

/** Most keys one `write` or `getMany` may touch; a Durable Object's per-call limit. */
export const STORE_KEYS_PER_CALL_MAX = 128;
/** Most bytes of key (UTF-8) plus value in one entry; a SQLite-backed Durable Object's limit. */
export const STORE_ENTRY_BYTES_MAX = 2 * 1024 * 1024;
/** Most bytes of one key (UTF-8); Durable Object keys are limited to 2 KiB. */
export const STORE_KEY_BYTES_MAX = 2048;

export interface WriteBatch {
  /** Keys to set, applied in order (a later put of the same key wins). */
  put?: Array<[key: string, value: Uint8Array]>;
  /** Keys to remove; missing keys are ignored. Deletes apply before puts. */
  delete?: string[];
}

export interface ListOptions {
  /** Only keys starting with this string. */
  prefix?: string;
  /** Inclusive lower bound on keys. */
  start?: string;
  /** Exclusive upper bound on keys. */
  end?: string;
  /** Largest number of entries returned (default: all). */
  limit?: number;
  /** Descending key order when true. */
  reverse?: boolean;
}

export interface ByteStore {
  get(key: string): Promise<Uint8Array | undefined>;
  /** Up to STORE_KEYS_PER_CALL_MAX keys; missing keys are absent from the result. */
  getMany(keys: string[]): Promise<Map<string, Uint8Array>>;
  /** Entries in key order (or reverse), filtered by prefix and [start, end). */
  list(options: ListOptions): Promise<Array<[string, Uint8Array]>>;
  /**
   * Atomically apply the deletes then the puts: after a crash either all of them are visible or
   * none. Resolves only once the batch is durable (for durable backends).
   */
  write(batch: WriteBatch): Promise<void>;
  /** Single-key conveniences; same semantics as a one-entry `write`. */
  put(key: string, value: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
  /** Release resources; later calls throw CLOSED. Idempotent. */
  close(): Promise<void>;
  /** Number of read calls (get/getMany/list) served so far: tests assert I/O cost with it. */
  readonly stats: StoreStats;
}

export interface StoreStats {
  /** get + getMany + list calls. */
  reads: number;
  /** Entries returned by reads. */
  entriesRead: number;
  /** write/put/delete calls. */
  writes: number;
  /** Bytes of values written. */
  bytesWritten: number;
}
