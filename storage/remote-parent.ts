/**
 * The parent of a remote branch, as a read-only ByteStore: a branch is its own Durable Object and
 * cannot read another object's storage, so it reads the keys it shares with its parent (log
 * segments below the fork, B-tree pages; see query/branches.ts) by RPC to the parent object, which
 * serves only those keys (server/database-object.ts `readShared`). The branch's store is then
 * `new ForkStore(own, new RemoteParentStore(parent), rules)`, exactly as for a local branch.
 *
 * The keys read are immutable in the parent (see storage/fork.ts), so nothing here is cached or
 * invalidated; `getMany` is split into calls of at most STORE_KEYS_PER_CALL_MAX keys and `list`
 * into pages of `REMOTE_LIST_PAGE_ENTRIES` entries, so one RPC answer stays far below the RPC
 * message limit (log segments are up to 1 MiB each). Writes are refused: a branch writes only to
 * its own store, which the ForkStore guarantees.
 */
import { DosqlError } from '../base/errors.js';
import { STORE_KEYS_PER_CALL_MAX, type ByteStore, type ListOptions, type StoreStats, type WriteBatch } from './types.js';

/** What the parent serves: the entries of some keys, or one page of a listing. */
export type SharedRead = { keys: string[] } | { list: ListOptions };

export interface SharedReader {
  readShared(request: SharedRead): Promise<Array<[string, Uint8Array]>>;
}

/** Entries per listing RPC: 8 log segments of at most 1 MiB stay well under one RPC message. */
export const REMOTE_LIST_PAGE_ENTRIES = 8;
/** Pages one `list` may fetch before it is a bug (a log of 1M segments is past any real one). */
const LIST_PAGES_MAX = 1_000_000;

export class RemoteParentStore implements ByteStore {
  readonly stats: StoreStats = { reads: 0, entriesRead: 0, writes: 0, bytesWritten: 0 };
  private closed = false;

  constructor(private readonly parent: SharedReader) {}

  async get(key: string): Promise<Uint8Array | undefined> {
    const [hit] = await this.read({ keys: [key] });
    return hit?.[1];
  }

  async getMany(keys: string[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    for (let i = 0; i < keys.length; i += STORE_KEYS_PER_CALL_MAX) {
      for (const [k, v] of await this.read({ keys: keys.slice(i, i + STORE_KEYS_PER_CALL_MAX) })) out.set(k, v);
    }
    return out;
  }

  async list(o: ListOptions): Promise<Array<[string, Uint8Array]>> {
    const out: Array<[string, Uint8Array]> = [];
    let start = o.start;
    let end = o.end;
    for (let page = 0; page < LIST_PAGES_MAX; page++) {
      const want = o.limit === undefined ? REMOTE_LIST_PAGE_ENTRIES : Math.min(REMOTE_LIST_PAGE_ENTRIES, o.limit - out.length);
      if (want <= 0) return out;
      const got = await this.read({ list: { prefix: o.prefix, start, end, reverse: o.reverse, limit: want } });
      out.push(...got);
      if (got.length < want) return out;
      const last = got[got.length - 1]![0];
      // The next page continues strictly after (or, reversed, strictly before) the last key.
      if (o.reverse) end = last;
      else start = last + '\u0000';
    }
    throw new Error(`dosql invariant violated: listing the parent took more than ${LIST_PAGES_MAX} pages`);
  }

  write(_batch: WriteBatch): Promise<void> {
    return Promise.reject(readOnly());
  }

  put(_key: string, _value: Uint8Array): Promise<void> {
    return Promise.reject(readOnly());
  }

  delete(_key: string): Promise<void> {
    return Promise.reject(readOnly());
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private async read(request: SharedRead): Promise<Array<[string, Uint8Array]>> {
    if (this.closed) throw new DosqlError('CLOSED', 'the branch parent store is closed');
    this.stats.reads++;
    let entries: Array<[string, Uint8Array]>;
    try {
      entries = await this.parent.readShared(request);
    } catch (e) {
      throw new DosqlError('IO', `reading the branch's parent failed: ${(e as Error).message}`, { cause: e });
    }
    this.stats.entriesRead += entries.length;
    return entries;
  }
}

function readOnly(): DosqlError {
  return new DosqlError('MISUSE', "a branch's parent store is read-only: the branch writes only to its own store");
}
