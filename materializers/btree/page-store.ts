/**
 * Copy-on-write page storage for B-trees: pages persisted under a key prefix in a ByteStore, an
 * LRU cache of decoded pages, and the checkpoint that makes a set of modified pages durable at once.
 *
 * Why copy-on-write: a checkpoint must be atomic, but a store write touches at most
 * STORE_KEYS_PER_CALL_MAX keys. So a persisted page is never overwritten. Modifying a clean
 * (persisted) page copies it under a fresh id and retires the old id; a dirty (not yet persisted)
 * page is modified in place. `flush` writes the dirty pages first, in as many batches as needed
 * (nothing persisted refers to them yet, so a crash in between leaves only garbage), then one
 * final batch that writes the caller's meta (which names the new roots) and deletes retired pages.
 * The meta write is the commit point; before it the old roots and all their pages are intact.
 *
 * Page ids come from a counter, `nextPageId`, that the caller persists inside its meta. After a
 * crash, pages with ids >= the persisted counter are orphans of an interrupted flush;
 * `sweepOrphans` deletes them. When more retired pages exist than fit in the final batch, their
 * ids are written in that batch under `prefix + 'retired-' ...` keys and deleted after the meta is
 * durable; `sweepOrphans` also finishes such interrupted deletions. Call it once after opening.
 *
 * Retiring is a policy: `flush({ retainRetired: true })` keeps the retired pages in storage (for
 * readers of old roots, i.e. time travel) and lists them in `retainedPageIds` until the caller
 * hands them back with `releasePages`.
 *
 * Memory: clean pages live in an LRU bounded by `cacheBytesMax` (an estimate from the page's own
 * byte estimate; nothing is encoded to measure). Dirty pages are pinned until flushed: their
 * number is bounded by how often the caller checkpoints (`dirtyBytes` tells it when to).
 *
 * Key of page n: `prefix + n as 12 lowercase hex digits`, so pages sort by id under the prefix.
 *
 * Encoding: a page is msgpack `[kind, keys, rows | children, n]`. Leaves and branches are written by
 * the hand-written writer of log/msgpack.ts (the same bytes msgpackr writes, several times faster,
 * which a checkpoint of many pages notices); each page is copied out exactly sized, so a stored
 * page never pins a shared buffer. A leaf read back is cached packed (packed-leaf.ts): its bytes,
 * decoded only when something needs its arrays. A leaf a bulk append built (leaf-builder.ts) is
 * packed from the start, and a checkpoint writes its bytes as they are.
 */
import { assert, DosqlError } from '../../base/errors.js';
import { pack, unpack } from '../../base/codec.js';
import { Real, type Value } from '../../base/values.js';
import { MsgpackWriter } from '../../log/msgpack.js';
import { PackedLeaf } from './packed-leaf.js';
import type { RowCells } from './row-cells.js';
import { STORE_ENTRY_BYTES_MAX, STORE_KEYS_PER_CALL_MAX, type ByteStore } from '../../storage/types.js';

/** Default bound of the clean-page cache, in estimated bytes. */
export const PAGE_CACHE_BYTES_MAX = 64 * 1024 * 1024;
/** Hex digits of a page id in its key; ids stay below 16^12. */
const PAGE_ID_HEX_DIGITS = 12;
const PAGE_ID_MAX = 16 ** PAGE_ID_HEX_DIGITS - 1;
/** Ids per pending-deletion key written in the final flush batch. */
const PENDING_IDS_PER_KEY_MAX = 100_000;
/** Estimated in-memory overhead of one page entry beyond its serialized bytes. */
const ENTRY_MEMORY_BYTES = 32;

/** A reference from a leaf to a row stored in overflow pages: page ids in order, total bytes. */
export interface OverflowRef {
  o: number[];
  n: number;
}

/** What a leaf holds for a key: the row inline, or a reference to its overflow pages. */
export type LeafValue = Value[] | OverflowRef;

export interface LeafPage {
  kind: 'leaf';
  keys: string[];
  vals: LeafValue[];
  /** Estimated serialized bytes (maintained by the B-tree). */
  bytes: number;
  /** Row count of the whole tree; meaningful on the root page only (-1 elsewhere). */
  n: number;
  /** See FrozenPrefixes. */
  prefixes?: FrozenPrefixes;
  /** A clean leaf's rows laid out for point lookups (row-cells.ts): null until the first one. */
  cells?: RowCells | null;
  /** A dirty page's search hint (search.ts hintOf): its keys' prefixes, possibly stale. */
  hint?: Float64Array;
  /** How many keys the last search without a hint found (search.ts hintOf). */
  hintKeys?: number;
}

/**
 * Present only on clean pages (in the page cache: they never change again, writable() copies
 * them): null until the first search fills in the keys' numeric prefixes (btree/search.ts).
 */
export type FrozenPrefixes = Float64Array | null;

export interface BranchPage {
  kind: 'branch';
  /** keys[i] separates children[i] (keys < keys[i]) from children[i + 1] (keys >= keys[i]). */
  keys: string[];
  children: number[];
  bytes: number;
  n: number;
  /** See FrozenPrefixes. */
  prefixes?: FrozenPrefixes;
  /** A dirty page's search hint (search.ts hintOf): its keys' prefixes, possibly stale. */
  hint?: Float64Array;
  /** How many keys the last search without a hint found (search.ts hintOf). */
  hintKeys?: number;
}

export interface OverflowPage {
  kind: 'overflow';
  data: Uint8Array;
  bytes: number;
}

export type Page = LeafPage | BranchPage | OverflowPage;

export interface PageStoreOptions {
  /** Prefix of every key this store writes (pages, pending deletions). */
  prefix: string;
  /** The persisted counter when reopening; 1 for a new store (id 0 is never used). */
  nextPageId?: number;
  /** Bound of the clean-page cache in estimated bytes (default PAGE_CACHE_BYTES_MAX). */
  cacheBytesMax?: number;
}

export interface FlushOptions {
  /** Keep retired pages in storage (see `retainedPageIds`) instead of deleting them. */
  retainRetired?: boolean;
}

export interface PageStoreStats {
  /** Pages read from the store. */
  pageReads: number;
  /** Pages written to the store. */
  pageWrites: number;
  cacheHits: number;
  cacheMisses: number;
}

interface CacheEntry {
  page: Page;
  cost: number;
  /** Set on every hit; eviction gives a used entry a second chance instead of evicting it. */
  used: boolean;
}

export class PageStore {
  readonly store: ByteStore;
  readonly prefix: string;
  readonly cacheBytesMax: number;
  readonly stats: PageStoreStats = { pageReads: 0, pageWrites: 0, cacheHits: 0, cacheMisses: 0 };
  private next: number;
  /** Clean pages; Map order is LRU order (oldest first). */
  private readonly cache = new Map<number, CacheEntry>();
  private cacheBytes = 0;
  private readonly dirty = new Map<number, Page>();
  private retired: number[] = [];
  private retained: number[] = [];
  /** True while `flush` runs: pages must not change under it. */
  private flushing = false;
  private flushes = 0;

  constructor(store: ByteStore, options: PageStoreOptions) {
    this.store = store;
    this.prefix = options.prefix;
    this.next = options.nextPageId ?? 1;
    this.cacheBytesMax = options.cacheBytesMax ?? PAGE_CACHE_BYTES_MAX;
    assert(Number.isSafeInteger(this.next) && this.next >= 1, 'nextPageId must be a positive integer');
  }

  /** The id the next allocated page gets; persist it in the meta passed to `flush`. */
  get nextPageId(): number {
    return this.next;
  }

  /** Estimated bytes of the pinned dirty pages (O(dirty pages)); checkpoint when it grows. */
  get dirtyBytes(): number {
    let total = 0;
    for (const p of this.dirty.values()) total += p.bytes;
    return total;
  }

  /**
   * Completed flushes. A flush makes every dirty page clean, so a page a caller holds as writable
   * stays writable in place only while this is unchanged (the B-tree's reused write path).
   */
  get flushCount(): number {
    return this.flushes;
  }

  get dirtyPageCount(): number {
    return this.dirty.size;
  }

  get cachedBytes(): number {
    return this.cacheBytes;
  }

  /** Retired pages kept by `flush({ retainRetired: true })`, oldest first. */
  get retainedPageIds(): readonly number[] {
    return this.retained;
  }

  pageKey(id: number): string {
    return this.prefix + id.toString(16).padStart(PAGE_ID_HEX_DIGITS, '0');
  }

  isDirty(id: number): boolean {
    return this.dirty.has(id);
  }

  /**
   * Count `bytes` more against the cache bound for clean page `id`, which has grown in memory
   * (row-cells.ts). Nothing happens for a page no longer cached; eviction waits for the next insert.
   */
  charge(id: number, bytes: number): void {
    assert(bytes >= 0, 'a page only grows');
    const e = this.cache.get(id);
    if (e === undefined) return;
    e.cost += bytes;
    this.cacheBytes += bytes;
  }

  /** The page if it is in memory (dirty or cached), without awaiting: the B-tree's fast path. */
  peek(id: number): Page | undefined {
    const d = this.dirty.get(id);
    if (d !== undefined) {
      this.stats.cacheHits++;
      return d;
    }
    const e = this.cache.get(id);
    if (e === undefined) return undefined;
    this.stats.cacheHits++;
    // Second-chance LRU: a hit only marks the entry, so lookups do not reorder the Map.
    e.used = true;
    return e.page;
  }

  /** The page, from memory or the store. Throws CORRUPT when it is missing or malformed. */
  async load(id: number): Promise<Page> {
    const p = this.peek(id);
    if (p !== undefined) return p;
    this.stats.cacheMisses++;
    const bytes = await this.store.get(this.pageKey(id));
    if (bytes === undefined) throw new DosqlError('CORRUPT', `B-tree page ${id} is missing under '${this.prefix}'`);
    this.stats.pageReads++;
    // Another load of the same page may have finished while this one awaited.
    const raced = this.peek(id);
    if (raced !== undefined) return raced;
    const page = decodePage(bytes, id);
    this.cacheInsert(id, page);
    return page;
  }

  /** Several pages with at most one store call per STORE_KEYS_PER_CALL_MAX misses. */
  async loadMany(ids: readonly number[]): Promise<Page[]> {
    const out: Page[] = new Array(ids.length);
    const missing: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const p = this.peek(ids[i]!);
      if (p !== undefined) out[i] = p;
      else missing.push(i);
    }
    for (let start = 0; start < missing.length; start += STORE_KEYS_PER_CALL_MAX) {
      const batch = missing.slice(start, start + STORE_KEYS_PER_CALL_MAX);
      this.stats.cacheMisses += batch.length;
      const got = await this.store.getMany(batch.map((i) => this.pageKey(ids[i]!)));
      for (const i of batch) {
        const id = ids[i]!;
        const raced = this.peek(id);
        if (raced !== undefined) {
          out[i] = raced;
          continue;
        }
        const bytes = got.get(this.pageKey(id));
        if (bytes === undefined) throw new DosqlError('CORRUPT', `B-tree page ${id} is missing under '${this.prefix}'`);
        this.stats.pageReads++;
        const page = decodePage(bytes, id);
        this.cacheInsert(id, page);
        out[i] = page;
      }
    }
    return out;
  }

  /** A new dirty page; returns its id. */
  allocate(page: Page): number {
    assert(!this.flushing, 'pages modified during flush');
    const id = this.next++;
    assert(id <= PAGE_ID_MAX, 'page ids exhausted');
    this.dirty.set(id, page);
    return id;
  }

  /**
   * A version of page `id` (whose decoded form the caller holds as `page`) that may be modified
   * in place: the page itself when dirty, else a copy under a new id with the old id retired.
   */
  writable<P extends Page>(id: number, page: P): [number, P] {
    assert(!this.flushing, 'pages modified during flush');
    if (this.dirty.has(id)) return [id, page];
    const copy = clonePage(page);
    this.retire(id);
    return [this.allocate(copy), copy];
  }

  /** Give up page `id`: a dirty page is forgotten, a persisted one is deleted (or retained) at flush. */
  retire(id: number): void {
    assert(!this.flushing, 'pages modified during flush');
    if (this.dirty.delete(id)) return;
    const e = this.cache.get(id);
    if (e !== undefined) {
      this.cache.delete(id);
      this.cacheBytes -= e.cost;
    }
    this.retired.push(id);
  }

  /** Hand back retained page ids (no longer needed by any reader): deleted at the next flush. */
  releasePages(ids: readonly number[]): void {
    const release = new Set(ids);
    this.retained = this.retained.filter((id) => !release.has(id));
    for (const id of ids) this.retired.push(id);
  }

  /**
   * The checkpoint: persist every dirty page, then atomically write `meta` under `metaKey` and
   * delete the retired pages (the rest of them right after, once the meta is durable).
   * After it resolves every page is clean. On failure nothing referenced changed; retry later.
   */
  async flush(meta: Uint8Array, metaKey: string, options: FlushOptions = {}): Promise<void> {
    assert(!this.isPageKeyShape(metaKey), 'metaKey must not look like a page key');
    assert(!this.flushing, 'flush is not reentrant');
    this.flushing = true;
    try {
      await this.flushLocked(meta, metaKey, options);
    } finally {
      this.flushing = false;
    }
  }

  private async flushLocked(meta: Uint8Array, metaKey: string, options: FlushOptions): Promise<void> {
    const puts: Array<[string, Uint8Array]> = [];
    for (const [id, page] of this.dirty) puts.push([this.pageKey(id), encodePage(page)]);
    const perCall = STORE_KEYS_PER_CALL_MAX - 1;
    let done = 0;
    while (puts.length - done > perCall) {
      await this.store.write({ put: puts.slice(done, done + perCall) });
      done += perCall;
    }
    // The final batch: the last dirty pages, then the meta (the commit point), then the list of
    // retired pages to delete. No page is deleted in it: if the batch is torn (a prefix of its
    // puts lands), either the meta is missing and every page the old meta needs is intact, or the
    // meta landed whole (the deletion list comes after it). Retired pages are deleted only once
    // the meta is durable.
    const finalPuts = puts.slice(done);
    finalPuts.push([metaKey, meta]);
    const toDelete = options.retainRetired ? [] : this.retired;
    const pendingKeys: string[] = [];
    for (let k = 0; k * PENDING_IDS_PER_KEY_MAX < toDelete.length; k++) {
      const key = `${this.prefix}retired-${this.pageKey(this.next).slice(this.prefix.length)}-${k}`;
      finalPuts.push([key, pack(toDelete.slice(k * PENDING_IDS_PER_KEY_MAX, (k + 1) * PENDING_IDS_PER_KEY_MAX))]);
      pendingKeys.push(key);
    }
    assert(finalPuts.length <= STORE_KEYS_PER_CALL_MAX, 'too many retired pages for one flush');
    await this.store.write({ put: finalPuts });
    // Durable: the flushed pages are now clean and the retired list starts over.
    this.stats.pageWrites += puts.length;
    if (options.retainRetired) for (const id of this.retired) this.retained.push(id);
    this.retired = [];
    const flushed = [...this.dirty];
    this.dirty.clear();
    this.flushes++;
    for (const [id, page] of flushed) this.cacheInsert(id, page);
    try {
      await this.deletePages(toDelete);
      for (let i = 0; i < pendingKeys.length; i += STORE_KEYS_PER_CALL_MAX) {
        await this.store.write({ delete: pendingKeys.slice(i, i + STORE_KEYS_PER_CALL_MAX) });
      }
    } catch (e) {
      // The pending keys still list these ids; deleting them again at the next flush is harmless.
      for (const id of toDelete) this.retired.push(id);
      throw e;
    }
  }

  /**
   * Delete what an interrupted flush left behind: pages with ids >= nextPageId (written before a
   * meta that never landed) and retired pages listed under pending-deletion keys. Call after
   * opening with the persisted nextPageId, before modifying anything. Returns keys deleted.
   */
  async sweepOrphans(): Promise<number> {
    assert(this.dirty.size === 0, 'sweepOrphans must run before any modification');
    let deleted = 0;
    const end = this.prefix + 'g'; // just above every 12-hex-digit id
    for (let rounds = 0; rounds < Number.MAX_SAFE_INTEGER; rounds++) {
      const found = await this.store.list({ start: this.pageKey(this.next), end, limit: STORE_KEYS_PER_CALL_MAX });
      if (found.length === 0) break;
      await this.store.write({ delete: found.map(([k]) => k) });
      deleted += found.length;
    }
    const pending = await this.store.list({ prefix: this.prefix + 'retired-' });
    for (const [key, bytes] of pending) {
      let ids: unknown;
      try {
        ids = unpack(bytes);
      } catch {
        ids = undefined;
      }
      // Written last in a flush's final batch: a malformed one is that batch's torn tail, and the
      // pages it listed merely stay as garbage.
      if (!Array.isArray(ids)) ids = [];
      await this.deletePages(ids as number[]);
      await this.store.write({ delete: [key] });
      deleted += (ids as number[]).length + 1;
    }
    return deleted;
  }

  private async deletePages(ids: readonly number[]): Promise<void> {
    for (let i = 0; i < ids.length; i += STORE_KEYS_PER_CALL_MAX) {
      await this.store.write({ delete: ids.slice(i, i + STORE_KEYS_PER_CALL_MAX).map((id) => this.pageKey(id)) });
    }
  }

  private isPageKeyShape(key: string): boolean {
    return key.length === this.prefix.length + PAGE_ID_HEX_DIGITS && key.startsWith(this.prefix) &&
      /^[0-9a-f]+$/.test(key.slice(this.prefix.length));
  }

  private cacheInsert(id: number, page: Page): void {
    // From here on the page is never modified (writable() copies it), so searches may index its keys.
    if (page.kind !== 'overflow' && page.prefixes === undefined) page.prefixes = null;
    if (page.kind === 'leaf' && page.cells === undefined) page.cells = null;
    const cost = pageMemoryBytes(page);
    this.cache.set(id, { page, cost, used: false });
    this.cacheBytes += cost;
    // Evict in insertion order, moving recently used entries to the back once (second chance);
    // bounded: each entry is passed over at most twice.
    let budget = 2 * this.cache.size;
    for (const [oldId, e] of this.cache) {
      if (this.cacheBytes <= this.cacheBytesMax || budget-- <= 0) break;
      this.cache.delete(oldId);
      if (e.used && oldId !== id) {
        e.used = false;
        this.cache.set(oldId, e);
        continue;
      }
      this.cacheBytes -= e.cost;
    }
  }
}

/**
 * The cache's charge for a page: its byte estimate and a per-entry overhead. A packed leaf's
 * estimate is its stored size, which is known without walking it and is within a small factor
 * of `leafBytes` (number keys take more bytes stored, numbers fewer).
 */
function pageMemoryBytes(p: Page): number {
  if (p.kind === 'overflow') return p.bytes + ENTRY_MEMORY_BYTES;
  if (p instanceof PackedLeaf) return p.storedBytes + ENTRY_MEMORY_BYTES * (p.count + 1);
  return p.bytes + ENTRY_MEMORY_BYTES * (p.keys.length + 1);
}

/** The copy's search hint: the clean page's prefixes, exact for the keys the copy starts with. */
function hintFrom(p: LeafPage | BranchPage): Float64Array | undefined {
  return p.prefixes ?? p.hint;
}

function clonePage<P extends Page>(p: P): P {
  switch (p.kind) {
    case 'leaf':
      if (p instanceof PackedLeaf) return p.fresh() as P;
      return { kind: 'leaf', keys: p.keys.slice(), vals: p.vals.slice(), bytes: p.bytes, n: p.n, hint: hintFrom(p) } as P;
    case 'branch':
      return { kind: 'branch', keys: p.keys.slice(), children: p.children.slice(), bytes: p.bytes, n: p.n, hint: hintFrom(p) } as P;
    default:
      return p; // overflow pages are never modified
  }
}

// ---- encoding ------------------------------------------------------------------------------

const KIND_LEAF = 0;
const KIND_BRANCH = 1;
const KIND_OVERFLOW = 2;

/** Scratch arena of `encodePage`; each page leaves as its own copy, so it is reused. */
const pageWriter = new MsgpackWriter();

/**
 * A page as msgpack `[kind, keys, rows | children, n]` (overflow: `[kind, data]`). Leaves and
 * branches are written by the hand-written writer (log/msgpack.ts: the bytes msgpackr would
 * write, without its per-value dispatch); msgpackr is the fallback for anything else.
 */
export function encodePage(p: Page): Uint8Array {
  let bytes: Uint8Array;
  if (p.kind === 'overflow') bytes = pack([KIND_OVERFLOW, p.data]);
  // A page a bulk append built is its bytes already, until something decoded it.
  else bytes = (p instanceof PackedLeaf ? p.stored : undefined) ?? writePage(p) ?? pack(p.kind === 'leaf' ? [KIND_LEAF, p.keys, p.vals, p.n] : [KIND_BRANCH, p.keys, p.children, p.n]);
  assert(bytes.byteLength < STORE_ENTRY_BYTES_MAX - 1024, `page of ${bytes.byteLength} bytes exceeds the entry limit`);
  return bytes;
}

/** A leaf or branch with `pageWriter`; undefined when a row holds something that is not a Value. */
function writePage(p: LeafPage | BranchPage): Uint8Array | undefined {
  const w = pageWriter;
  w.arrayHeader(4);
  w.number(p.kind === 'leaf' ? KIND_LEAF : KIND_BRANCH);
  w.strings(p.keys);
  if (p.kind === 'leaf') {
    const vals = p.vals;
    w.arrayHeader(vals.length);
    for (let i = 0; i < vals.length; i++) {
      const v = vals[i]!;
      if (Array.isArray(v) ? !w.row(v) : !writeOverflowRef(w, v as OverflowRef)) {
        w.discard();
        return undefined;
      }
    }
  } else {
    const children = p.children;
    w.arrayHeader(children.length);
    for (let i = 0; i < children.length; i++) w.number(children[i]!);
  }
  w.number(p.n);
  return w.takeCopy();
}

/** `{ o: ids, n: bytes }` with msgpackr's key order; false for any other shape. */
function writeOverflowRef(w: MsgpackWriter, ref: OverflowRef): boolean {
  const fields = Object.keys(ref);
  if (fields.length !== 2 || fields[0] !== 'o' || fields[1] !== 'n' || !Array.isArray(ref.o) || typeof ref.n !== 'number') return false;
  w.mapHeader(2);
  w.key(0x6f); // 'o'
  w.arrayHeader(ref.o.length);
  for (let i = 0; i < ref.o.length; i++) w.number(ref.o[i]!);
  w.key(0x6e); // 'n'
  w.number(ref.n);
  return true;
}

export function decodePage(bytes: Uint8Array, id: number): Page {
  const packed = PackedLeaf.fromStored(bytes);
  if (packed !== undefined) return packed;
  let d: unknown;
  try {
    d = unpack(bytes);
  } catch (cause) {
    throw new DosqlError('CORRUPT', `B-tree page ${id} cannot be decoded`, { cause });
  }
  if (Array.isArray(d)) {
    const [kind, keys, items, n] = d as [unknown, unknown, unknown, unknown];
    if (kind === KIND_OVERFLOW && keys instanceof Uint8Array) {
      return { kind: 'overflow', data: keys, bytes: keys.byteLength };
    }
    if (Array.isArray(keys) && Array.isArray(items) && typeof n === 'number') {
      if (kind === KIND_LEAF && items.length === keys.length) {
        // Only a leaf whose header fromStored does not read (it takes every leaf MsgpackWriter or msgpackr writes).
        const leaf: LeafPage = { kind: 'leaf', keys: keys as string[], vals: items as LeafValue[], bytes: 0, n, prefixes: undefined, cells: null };
        leaf.bytes = leafBytes(leaf);
        return leaf;
      }
      if (kind === KIND_BRANCH && items.length === keys.length + 1) {
        const branch: BranchPage = { kind: 'branch', keys: keys as string[], children: items as number[], bytes: 0, n, prefixes: undefined };
        branch.bytes = branchBytes(branch);
        return branch;
      }
    }
  }
  throw new DosqlError('CORRUPT', `B-tree page ${id} has an unknown shape`);
}

// ---- byte estimates (additive, so the B-tree can maintain them incrementally) ----------------

export const PAGE_HEADER_BYTES = 16;
/** Estimated bytes of a child id in a branch. */
export const CHILD_BYTES = 9;

export function keyBytes(k: string): number {
  return keyCharsBytes(k.length);
}

/** `keyBytes` of a key of `chars` chars. */
export function keyCharsBytes(chars: number): number {
  return chars + 3;
}

export function valueBytes(v: Value): number {
  if (v === null) return 1;
  switch (typeof v) {
    case 'number':
    case 'bigint':
      return 9;
    case 'string':
      return v.length + 5;
    default:
      return v instanceof Real ? 11 : v.byteLength + 5;
  }
}

/** What `rowBytes` counts for a row besides its values. */
export const ROW_ARRAY_BYTES = 3;

export function rowBytes(row: readonly Value[]): number {
  let total = ROW_ARRAY_BYTES;
  for (let i = 0; i < row.length; i++) total += valueBytes(row[i]!);
  return total;
}

export function leafValueBytes(v: LeafValue): number {
  return Array.isArray(v) ? rowBytes(v) : 16 + CHILD_BYTES * (v as OverflowRef).o.length;
}

export function leafBytes(p: LeafPage): number {
  let total = PAGE_HEADER_BYTES;
  for (let i = 0; i < p.keys.length; i++) total += keyBytes(p.keys[i]!) + leafValueBytes(p.vals[i]!);
  return total;
}

export function branchBytes(p: BranchPage): number {
  let total = PAGE_HEADER_BYTES + CHILD_BYTES * p.children.length;
  for (let i = 0; i < p.keys.length; i++) total += keyBytes(p.keys[i]!);
  return total;
}
