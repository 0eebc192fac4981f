/**
 * A copy-on-write B+ tree from string keys (see keys.ts) to rows (`Value[]`), stored in PageStore
 * pages. It is what a table is: one tree per table, keyed by the encoded rowid or primary key.
 *
 * Shape: leaves hold sorted keys and their rows; branches hold separator keys and child page ids,
 * keys[i] separating children[i] (keys < keys[i]) from children[i + 1] (keys >= keys[i]). Pages
 * are sized by an additive estimate of their serialized bytes (page-store.ts): a page splits when
 * it passes `pageBytesTarget` and is merged with or borrows from a sibling when it falls under a
 * quarter of it. Because an entry (key plus inline row) never exceeds a quarter of the target, a
 * balanced split or redistribution always leaves both sides within [target/4, target], so every
 * non-root page stays in those bounds (`check` asserts it). Rows whose entry would exceed a
 * quarter page go to OVERFLOW pages: the row is packed and cut into chunks below the store's
 * entry limit, and the leaf keeps `{ o: chunk ids, n: bytes }`. Keys are limited to an eighth
 * of the target (`keyCharsMax`, 1024 chars by default) so that key plus overflow reference fits.
 *
 * Writes are copy-on-write through PageStore: a write first makes every page on its root-to-leaf
 * path writable (a clean page is copied under a new id, so its parent's child id changes, up to
 * the root: `rootId` changes and must be read at checkpoint time). Once dirty, pages are modified
 * in place until the next flush, so a burst of writes copies each page at most once. The path is
 * then fixed bottom-up (split, merge, borrow, root growth and collapse).
 *
 * Scans: sibling links would force copying a neighbour on every COW write, so there are none. A
 * scan cursor keeps the path of (branch page, child index) from the root and reaches the next leaf
 * through the lowest ancestor with another child: amortized O(1) page steps per row. The cursor
 * holds decoded pages, not ids; if the tree is modified between two rows (the tree counts
 * modifications) the cursor re-seeks from the root just past the last key it returned, so a scan
 * stays correct (it sees rows as they are when it reaches them) at O(depth) per interruption.
 *
 * Fast path: pages are looked up with `PageStore.peek` (synchronous) and only awaited on a miss,
 * so an all-cached operation does one await (its own). A put also keeps its writable path and the
 * separator bounds of its leaf: the next put whose key falls within those bounds reuses it with no
 * walk from the root, as long as nothing else modified the tree (`version`) and no flush made the
 * pages clean (`PageStore.flushCount`); ascending inserts (increasing rowids) hit it every time.
 * When such an append past the last key overfills the rightmost leaf, the split leaves the new
 * right leaf a quarter page rather than half (see `splitNode`): sequential loads fill leaves to
 * about three quarters. A bulk load past the last key can skip puts altogether: `appendPacked`
 * builds whole leaves as their stored bytes and hangs them off the right edge.
 *
 * The total row count is kept on the root page (the root is rewritten by every write anyway), so
 * `count()` costs nothing. Rows passed to `put` and returned by `get`/`scan` are shared with the
 * tree's pages: callers must not mutate them.
 */
import { assert, DosqlError } from '../../base/errors.js';
import { pack, unpack } from '../../base/codec.js';
import type { Value } from '../../base/values.js';
import { lowerBound, upperBound } from '../../storage/memory.js';
import { encodeRowidKey } from './keys.js';
import { buildCells, CELL_MEMORY_BYTES, NO_CELLS, rowOfCells, type RowCells } from './row-cells.js';
import { hintOf, keyPrefix, lowerBoundIn, lowerBoundPrefix, prefixesOf, ROWID_PREFIX_EXACT_LIMIT, rowidPrefix, upperBoundIn, upperBoundPrefix } from './search.js';
import { NOT_INLINE, PackedLeaf, PAST_LEAF, UNPACKED } from './packed-leaf.js';
import { LeafBuilder, type PackedEntries } from './leaf-builder.js';
import { STORE_ENTRY_BYTES_MAX } from '../../storage/types.js';
import {
  type BranchPage,
  type LeafPage,
  type LeafValue,
  type OverflowRef,
  type Page,
  type PageStore,
  branchBytes,
  CHILD_BYTES,
  keyBytes,
  leafBytes,
  leafValueBytes,
  PAGE_HEADER_BYTES,
  rowBytes,
} from './page-store.js';

/** Default split threshold of a page, in estimated serialized bytes. */
export const PAGE_BYTES_TARGET = 8 * 1024;
/** Smallest allowed pageBytesTarget: an overflow reference to a maximal row must fit an eighth. */
export const PAGE_BYTES_TARGET_MIN = 4 * 1024;
/** Largest row (packed bytes) a tree stores. */
export const ROW_BYTES_MAX = 64 * 1024 * 1024;
/** Bytes of one overflow chunk: below the store's entry limit with room for key and framing. */
export const OVERFLOW_CHUNK_BYTES = STORE_ENTRY_BYTES_MAX - 64 * 1024;
/** Fewest entries `appendPacked` tries to pack: fewer rarely fill a leaf, and would be written for nothing. */
const APPEND_PACKED_ENTRIES_MIN = 16;
/** Bound on tree depth; a tree with pages >= PAGE_BYTES_TARGET_MIN never gets near it. */
const DEPTH_MAX = 48;

export interface BTreeOptions {
  pageBytesTarget?: number;
  rowBytesMax?: number;
}

export interface ScanOptions {
  lo?: string;
  hi?: string;
  /** Default true. */
  loInclusive?: boolean;
  /** Default true. */
  hiInclusive?: boolean;
  reverse?: boolean;
}

type Node = LeafPage | BranchPage;

/**
 * A root-to-leaf path of writable pages; idx[l] is the child index taken in nodes[l]. `lo` and
 * `hi` bound the keys that belong in the leaf (lo <= key < hi; undefined: unbounded), from the
 * nearest separators on the path.
 */
interface WritePath {
  nodes: Node[];
  idx: number[];
  lo: string | undefined;
  hi: string | undefined;
}

/** What `check` found: depth counts levels (1 for a lone root leaf). */
export interface TreeShape {
  depth: number;
  rows: number;
  branches: number;
  leaves: number;
  overflowPages: number;
}

interface CursorFrame {
  page: BranchPage;
  i: number;
}

/** The pages of bulk appends are built here, one at a time (appends are synchronous). */
const leafBuilder = new LeafBuilder();

/** What `getCached` returns when the answer needs storage reads. */
export const NOT_CACHED: unique symbol = Symbol('NOT_CACHED');

/** The row under `key` in leaf `p` (`prefix` = keyPrefix(key)), or NOT_CACHED when it lives in overflow pages. */
function leafGet(p: LeafPage, key: string, prefix: number): Value[] | undefined | typeof NOT_CACHED {
  if (p instanceof PackedLeaf) {
    const row = p.lookup(key, prefix);
    if (row !== UNPACKED) return row === NOT_INLINE ? NOT_CACHED : row;
  }
  const j = lowerBoundIn(p, key, prefix);
  return j === p.keys.length || p.keys[j] !== key ? undefined : inlineRow(p.vals[j]!);
}

/** A leaf value as a row, or NOT_CACHED for a reference to overflow pages. */
function inlineRow(v: LeafValue): Value[] | typeof NOT_CACHED {
  return Array.isArray(v) ? v : NOT_CACHED;
}

export class BTree {
  readonly pages: PageStore;
  readonly pageBytesTarget: number;
  readonly rowBytesMax: number;
  /** Longest key (UTF-16 code units) `put` accepts. */
  readonly keyCharsMax: number;
  private readonly minBytes: number;
  private readonly entryBytesMax: number;
  private root: number;
  private size: number | undefined;
  /** Incremented by every modification; scan cursors re-seek when it moved. */
  private version = 0;
  private dropped = false;
  /**
   * The path of the last put, still writable and still the path to its leaf while `version` and
   * the page store's flush count are what they were then: a put whose key falls in the leaf's
   * bounds reuses it instead of walking from the root (sequential inserts hit it every time).
   */
  private lastPath: WritePath | undefined;
  private lastPathVersion = -1;
  private lastPathFlushes = -1;
  /**
   * The leaf the last `ceilingCached` landed in, while `version` is what it was then (pages change
   * only through modifications, which move it): seeks in key order, as time-travel scans make
   * into history, mostly land in it again and skip the descent from the root.
   */
  private readLeaf: LeafPage | undefined;
  private readLeafVersion = -1;
  /** Where in `readLeaf` the last `ceilingCached` landed. */
  private readIndex = -1;
  /** The packed leaf the last `ceilingCached` seek read without decoding it (a heuristic only). */
  private packedLeaf: PackedLeaf | undefined;

  private constructor(pages: PageStore, rootId: number, options: BTreeOptions) {
    this.pages = pages;
    this.root = rootId;
    this.pageBytesTarget = options.pageBytesTarget ?? PAGE_BYTES_TARGET;
    this.rowBytesMax = options.rowBytesMax ?? ROW_BYTES_MAX;
    assert(this.pageBytesTarget >= PAGE_BYTES_TARGET_MIN, `pageBytesTarget below ${PAGE_BYTES_TARGET_MIN}`);
    assert(Math.ceil(this.rowBytesMax / OVERFLOW_CHUNK_BYTES) * CHILD_BYTES + 16 <= this.pageBytesTarget / 8,
      'rowBytesMax too large for pageBytesTarget');
    this.minBytes = this.pageBytesTarget / 4;
    this.entryBytesMax = this.pageBytesTarget / 4;
    this.keyCharsMax = this.pageBytesTarget / 8 - 3;
  }

  /** A new empty tree; its root leaf is allocated dirty. */
  static create(pages: PageStore, options: BTreeOptions = {}): BTree {
    const root: LeafPage = { kind: 'leaf', keys: [], vals: [], bytes: PAGE_HEADER_BYTES, n: 0 };
    const tree = new BTree(pages, pages.allocate(root), options);
    tree.size = 0;
    return tree;
  }

  /** The tree whose root page is `rootId` (as read from a checkpoint's meta). */
  static open(pages: PageStore, rootId: number, options: BTreeOptions = {}): BTree {
    return new BTree(pages, rootId, options);
  }

  get rootId(): number {
    this.checkLive();
    return this.root;
  }

  /**
   * `get` without awaiting when every page on the path is in memory: the hot path of point
   * lookups. Returns `NOT_CACHED` when a page (or an overflow row) would have to be read.
   */
  getCached(key: string): Value[] | undefined | typeof NOT_CACHED {
    this.checkLive();
    const prefix = keyPrefix(key);
    const p = this.leafCached(key, prefix);
    return p === undefined ? NOT_CACHED : leafGet(p, key, prefix);
  }

  /**
   * `getCached(encodeRowidKey(rowid))` for a tree whose keys are all integers (a rowid table's
   * rows), with |rowid| < ROWID_PREFIX_EXACT_LIMIT: its prefix then decides alone, so on a clean
   * page the search compares numbers only and reads no key string, which spares a point lookup
   * the memory traffic of a key per level. A dirty page is searched by its hint (search.ts
   * hintOf), which may be stale: a leaf's hit is checked against the key, and a miss after a
   * hinted branch is answered by `getCached`; a packed leaf is searched as `getCached` searches
   * it. A clean leaf hands out its row from its cells (row-cells.ts): a copy, read with two
   * dependent memory loads fewer.
   */
  getCachedRowid(rowid: number): Value[] | undefined | typeof NOT_CACHED {
    assert(Number.isInteger(rowid) && Math.abs(rowid) < ROWID_PREFIX_EXACT_LIMIT, 'a rowid its prefix decides');
    this.checkLive();
    const prefix = rowidPrefix(rowid);
    // Set once a dirty branch was searched by its hint: the leaf reached may then be the wrong one.
    let guessed = false;
    let id = this.root;
    let p = this.pages.peek(id) as Node | undefined;
    for (let depth = 0; p !== undefined && p.kind === 'branch'; depth++) {
      assert(depth < DEPTH_MAX, 'B-tree deeper than DEPTH_MAX');
      let pre = prefixesOf(p);
      if (pre === undefined) {
        pre = hintOf(p);
        if (pre === undefined) return this.getCached(encodeRowidKey(rowid));
        guessed = true;
      }
      id = p.children[upperBoundPrefix(pre, prefix)]!;
      p = this.pages.peek(id) as Node | undefined;
    }
    if (p === undefined) return guessed ? this.getAfterHints(encodeRowidKey(rowid)) : NOT_CACHED;
    const pre = p instanceof PackedLeaf && p.packed ? undefined : prefixesOf(p);
    if (pre !== undefined) {
      const j = lowerBoundPrefix(pre, prefix);
      if (j === pre.length || pre[j] !== prefix) return guessed ? this.getAfterHints(encodeRowidKey(rowid)) : undefined;
      // A page with prefixes is clean: its rows may be laid out once (row-cells.ts).
      const cells = p.cells ?? this.layOutCells(p, id);
      return cells === NO_CELLS ? inlineRow(p.vals[j]!) : rowOfCells(cells, j, pre.length);
    }
    // A dirty or packed leaf. A key a hint finds is checked against the key itself: a hit then
    // holds whatever led to it, since a key lives in one leaf of the tree.
    const key = encodeRowidKey(rowid);
    const hint = p instanceof PackedLeaf ? undefined : hintOf(p);
    if (hint !== undefined) {
      const j = lowerBoundPrefix(hint, prefix);
      if (j < p.keys.length && p.keys[j] === key) return inlineRow(p.vals[j]!);
    }
    const row = leafGet(p, key, prefix);
    return row === undefined && guessed ? this.getAfterHints(key) : row;
  }

  /**
   * `getCached(key)` after a search by hints missed. When the key is there after all, a stale hint
   * on its path misled the search: the hints on that path are dropped, to be computed again.
   */
  private getAfterHints(key: string): Value[] | undefined | typeof NOT_CACHED {
    const row = this.getCached(key);
    if (Array.isArray(row)) {
      const prefix = keyPrefix(key);
      let p = this.pages.peek(this.root) as Node | undefined;
      for (let depth = 0; p !== undefined; depth++) {
        assert(depth < DEPTH_MAX, 'B-tree deeper than DEPTH_MAX');
        if (p.prefixes === undefined) p.hint = undefined;
        if (p.kind !== 'branch') break;
        p = this.pages.peek(p.children[upperBoundIn(p, key, prefix)]!) as Node | undefined;
      }
    }
    return row;
  }

  /** Lays out clean leaf `p` (page `id`) for point lookups, charging the cells to the page cache. */
  private layOutCells(p: LeafPage, id: number): RowCells {
    const cells = buildCells(p);
    p.cells = cells;
    this.pages.charge(id, cells.length * CELL_MEMORY_BYTES);
    return cells;
  }

  /** The leaf that holds `key` (`prefix` = keyPrefix(key)), or undefined when a page on the way is not in memory. */
  private leafCached(key: string, prefix: number): LeafPage | undefined {
    let p = this.pages.peek(this.root) as Node | undefined;
    for (let depth = 0; p !== undefined && p.kind === 'branch'; depth++) {
      assert(depth < DEPTH_MAX, 'B-tree deeper than DEPTH_MAX');
      p = this.pages.peek(p.children[upperBoundIn(p, key, prefix)]!) as Node | undefined;
    }
    return p;
  }

  /** The last entry's value (undefined for an empty tree) without awaiting, or NOT_CACHED. */
  lastCached(): Value[] | undefined | typeof NOT_CACHED {
    this.checkLive();
    let p = this.pages.peek(this.root) as Node | undefined;
    for (let depth = 0; p !== undefined && p.kind === 'branch'; depth++) {
      assert(depth < DEPTH_MAX, 'B-tree deeper than DEPTH_MAX');
      p = this.pages.peek(p.children[p.children.length - 1]!) as Node | undefined;
    }
    if (p === undefined) return NOT_CACHED;
    if (p.keys.length === 0) return undefined;
    return inlineRow(p.vals[p.vals.length - 1]!);
  }

  /**
   * The first entry with key >= `lo`, without awaiting when the pages on the way are in memory:
   * the seek that time-travel reads make into history. `undefined` past the last key,
   * `NOT_CACHED` when a page or an overflow row would have to be read (use `scan` then).
   */
  ceilingCached(lo: string): [string, Value[]] | undefined | typeof NOT_CACHED {
    this.checkLive();
    let leaf = this.readLeafVersion === this.version ? this.readLeaf : undefined;
    // Computed only for a search: seeks in key order mostly take the entry after the last one.
    let prefix: number | undefined;
    // A leaf holds every key between its first and last, so a key in that span has its ceiling there.
    if (leaf === undefined || !(leaf.keys.length > 0 && leaf.keys[0]! <= lo && lo <= leaf.keys[leaf.keys.length - 1]!)) {
      prefix = keyPrefix(lo);
      const p = this.leafCached(lo, prefix);
      if (p === undefined) return NOT_CACHED;
      if (p instanceof PackedLeaf && p.packed && p !== this.packedLeaf) {
        // A leaf read from the store: one seek reads it packed. A second seek in a row into the
        // same leaf (a scan) falls through and decodes it, for readLeaf's shortcut.
        this.packedLeaf = p;
        this.readIndex = -1;
        const r = p.ceiling(lo, prefix);
        if (r === PAST_LEAF) return this.ceilingPastLeaf(lo);
        if (r === NOT_INLINE) return NOT_CACHED;
        if (r !== UNPACKED) return r;
      }
      leaf = p;
      this.readLeaf = p;
      this.readLeafVersion = this.version;
      this.readIndex = -1;
    }
    const keys = leaf.keys;
    // Seeks in key order often want the entry right after the last one.
    let j = this.readIndex + 1;
    if (!(j > 0 && j < keys.length && keys[j - 1]! < lo && lo <= keys[j]!)) j = lowerBoundIn(leaf, lo, prefix ?? keyPrefix(lo));
    if (j === keys.length) {
      this.readIndex = -1;
      return this.ceilingPastLeaf(lo);
    }
    this.readIndex = j;
    const v = leaf.vals[j]!;
    return Array.isArray(v) ? [leaf.keys[j]!, v] : NOT_CACHED;
  }

  /**
   * The entry right after `key`, when the last `ceilingCached` or `nextCached` returned `key` from
   * a decoded leaf, the entry after it lies in the same leaf and nothing was written since;
   * undefined when a seek must find it. A walk in key order (history scans AS OF an LSN) steps
   * with it instead of seeking from entry to entry. Other seeks may come between (a join reading
   * the same tree): `key` is checked, so they only cost the walk a seek.
   */
  nextCached(key: string): [string, Value[]] | undefined {
    if (this.readIndex < 0 || this.readLeafVersion !== this.version) return undefined;
    const leaf = this.readLeaf!;
    const j = this.readIndex + 1;
    if (j >= leaf.keys.length || leaf.keys[j - 1] !== key) return undefined;
    const v = leaf.vals[j]!;
    if (!Array.isArray(v)) return undefined;
    this.readIndex = j;
    return [leaf.keys[j]!, v];
  }

  /** `ceilingCached` when `lo` is past the last key of its leaf: the first key of the next leaf. */
  private ceilingPastLeaf(lo: string): [string, Value[]] | undefined | typeof NOT_CACHED {
    const path: Array<{ page: BranchPage; index: number }> = [];
    let p = this.pages.peek(this.root) as Node | undefined;
    for (let depth = 0; p !== undefined && p.kind === 'branch'; depth++) {
      assert(depth < DEPTH_MAX, 'B-tree deeper than DEPTH_MAX');
      const index = upperBound(p.keys, lo);
      path.push({ page: p, index });
      p = this.pages.peek(p.children[index]!) as Node | undefined;
    }
    if (p === undefined) return NOT_CACHED;
    let leaf: LeafPage = p;
    let j = lowerBound(leaf.keys, lo);
    // Past this leaf's last key: the answer is the first key of the next leaf to the right.
    for (let steps = 0; j === leaf.keys.length; steps++) {
      assert(steps <= DEPTH_MAX, 'ceiling walks up at most the depth of the tree');
      let up = path.length - 1;
      while (up >= 0 && path[up]!.index + 1 >= path[up]!.page.children.length) up--;
      if (up < 0) return undefined;
      path.length = up + 1;
      const frame = path[up]!;
      frame.index++;
      let q = this.pages.peek(frame.page.children[frame.index]!) as Node | undefined;
      for (let depth = 0; q !== undefined && q.kind === 'branch'; depth++) {
        assert(depth < DEPTH_MAX, 'B-tree deeper than DEPTH_MAX');
        path.push({ page: q, index: 0 });
        q = this.pages.peek(q.children[0]!) as Node | undefined;
      }
      if (q === undefined) return NOT_CACHED;
      leaf = q;
      j = 0;
    }
    const v = leaf.vals[j]!;
    if (!Array.isArray(v)) return NOT_CACHED;
    // The leaf is decoded now (its keys were searched): the next seeks in key order start here.
    this.readLeaf = leaf;
    this.readLeafVersion = this.version;
    this.readIndex = j;
    return [leaf.keys[j]!, v];
  }

  /** The first entry with key >= `lo` (see ceilingCached), reading pages as needed. */
  async ceiling(lo: string): Promise<[string, Value[]] | undefined> {
    const hit = this.ceilingCached(lo);
    if (hit !== NOT_CACHED) return hit;
    const leaf = await this.leafAt(lo);
    if (leaf instanceof PackedLeaf) {
      const r = leaf.ceiling(lo, keyPrefix(lo));
      if (r !== UNPACKED && r !== NOT_INLINE && r !== PAST_LEAF) return r;
    }
    for await (const e of this.scan({ lo })) return e;
    return undefined;
  }

  /** The leaf whose key range holds `key`, reading pages as needed. */
  private async leafAt(key: string): Promise<LeafPage> {
    let p = (this.pages.peek(this.root) as Node | undefined) ?? (await this.node(this.root));
    for (let depth = 0; p.kind === 'branch'; depth++) {
      assert(depth < DEPTH_MAX, 'B-tree deeper than DEPTH_MAX');
      const id = p.children[upperBound(p.keys, key)]!;
      p = (this.pages.peek(id) as Node | undefined) ?? (await this.node(id));
    }
    return p;
  }

  async get(key: string): Promise<Value[] | undefined> {
    this.checkLive();
    const p = await this.leafAt(key);
    if (p instanceof PackedLeaf) {
      const row = p.lookup(key, keyPrefix(key));
      // An overflow row is read below, from the materialized page's reference.
      if (row !== UNPACKED && row !== NOT_INLINE) return row;
    }
    const j = lowerBound(p.keys, key);
    if (j === p.keys.length || p.keys[j] !== key) return undefined;
    const v = p.vals[j]!;
    return Array.isArray(v) ? v : this.readOverflow(v as OverflowRef);
  }

  /** Insert or replace. Throws LIMIT_EXCEEDED for a key or row over its limit. */
  /**
   * Insert or replace. Returns nothing when the write completed in memory (every page on the path
   * cached and no rebalancing), a promise otherwise: callers await only when given one.
   */
  put(key: string, row: Value[]): void | Promise<void> {
    this.checkLive();
    this.checkKey(key);
    const reused = this.reusablePath(key);
    if (reused !== undefined) return this.putAt(reused, key, row, true);
    const path = this.writablePathCached(key);
    if (path === undefined) return this.writablePath(key).then((p) => this.putAt(p, key, row, false));
    return this.putAt(path, key, row, false);
  }

  /** The last put's path when it is still valid and `key` belongs in its leaf (see `lastPath`). */
  private reusablePath(key: string): WritePath | undefined {
    const path = this.lastPath;
    if (path === undefined) return undefined;
    if (this.lastPathVersion !== this.version || this.lastPathFlushes !== this.pages.flushCount) {
      this.lastPath = undefined;
      return undefined;
    }
    if ((path.lo !== undefined && key < path.lo) || (path.hi !== undefined && key >= path.hi)) return undefined;
    this.version++;
    return path;
  }

  /**
   * Write the entry into the path's leaf, then restore bounds. `reused`: the path served the
   * previous put, which left every page on it within bounds, so only the leaf can be out now.
   */
  private putAt(path: WritePath, key: string, row: Value[], reused: boolean): void | Promise<void> {
    const val = this.makeLeafValue(key, row);
    const leaf = path.nodes[path.nodes.length - 1] as LeafPage;
    const keys = leaf.keys;
    const n = keys.length;
    // Ascending keys (increasing rowids) land past the last key: no search.
    const j = n === 0 || keys[n - 1]! < key ? n : lowerBound(keys, key);
    let grew = true;
    if (j < n && keys[j] === key) {
      const old = leaf.vals[j]!;
      this.retireValue(old);
      leaf.bytes += leafValueBytes(val) - leafValueBytes(old);
      leaf.vals[j] = val;
      grew = false;
    } else {
      if (j === n) {
        keys.push(key); // appends skip splice's result array
        leaf.vals.push(val);
      } else {
        keys.splice(j, 0, key);
        leaf.vals.splice(j, 0, val);
      }
      leaf.bytes += keyBytes(key) + leafValueBytes(val);
      this.size!++;
    }
    if (reused && grew ? leaf.bytes > this.pageBytesTarget : this.needsFixup(path)) {
      this.lastPath = undefined;
      // An append past the tree's last key splits off a small right leaf (see splitNode).
      return this.fixup(path, j === n && path.hi === undefined);
    }
    path.nodes[0]!.n = this.size!;
    this.lastPath = path;
    this.lastPathVersion = this.version;
    this.lastPathFlushes = this.pages.flushCount;
  }

  /** Whether the root is a branch, known without a read (false when it is not in memory): `appendPacked` needs one. */
  get rootIsBranchCached(): boolean {
    return (this.pages.peek(this.root) as Node | undefined)?.kind === 'branch';
  }

  /**
   * Bulk append: entries whose keys ascend and all lie above every key in the tree (the caller
   * knows, e.g. rowids past the table's largest), written as new leaves that are their stored
   * bytes (leaf-builder.ts, packed-leaf.ts) instead of one put each. Leaves are filled to three
   * quarters of the target, as appends by put leave them.
   *
   * Takes entries from the first on and returns how many it took; the caller puts the rest. It
   * stops at a row that needs overflow pages or that cannot be written, when a page on the tree's
   * right edge is not in memory, and before the last entries that do not fill a leaf (puts append
   * them to the last leaf, so small appends do not leave small leaves). It takes none while the
   * root is a leaf (see `rootIsBranchCached`) or for fewer than APPEND_PACKED_ENTRIES_MIN entries.
   */
  appendPacked(entries: PackedEntries): number {
    this.checkLive();
    const root = this.pages.peek(this.root) as Node | undefined;
    if (entries.count < APPEND_PACKED_ENTRIES_MIN || root === undefined || root.kind !== 'branch' || this.size === undefined) return 0;
    const b = leafBuilder;
    b.reset(); // nothing is left of an append that threw
    const fill = this.pageBytesTarget - this.minBytes;
    let taken = 0;
    for (let stopped = false; taken < entries.count && !stopped; ) {
      let j = taken;
      for (; j < entries.count && b.bytes < fill; j++) {
        stopped = !b.add(entries, j, this.keyCharsMax, this.entryBytesMax);
        if (stopped) break;
      }
      if (b.bytes < fill || !this.attachLeaf(b)) break;
      taken = j;
    }
    b.reset();
    return taken;
  }

  /** The builder's page as the new rightmost leaf; false (nothing changed) when the right edge is not in memory. */
  private attachLeaf(b: LeafBuilder): boolean {
    const first = b.firstKey;
    const path = this.writablePathCached(first);
    if (path === undefined) return false;
    const { nodes } = path;
    const last = nodes[nodes.length - 1] as LeafPage;
    const lastKey = last instanceof PackedLeaf ? last.lastKey : last.keys[last.keys.length - 1];
    assert(path.hi === undefined && (lastKey === undefined || lastKey < first), 'a bulk append goes past the last key');
    const count = b.count;
    const parent = nodes[nodes.length - 2] as BranchPage;
    parent.keys.push(first);
    parent.children.push(this.pages.allocate(b.take()));
    parent.bytes += keyBytes(first) + CHILD_BYTES;
    this.size! += count;
    this.lastPath = undefined;
    // Only branches grew, and only on the right edge: split them bottom-up as puts would.
    for (let l = nodes.length - 2; l >= 1; l--) {
      if (nodes[l]!.bytes > this.pageBytesTarget) this.splitChild(nodes[l - 1] as BranchPage, path.idx[l - 1]!, nodes[l]!, true);
    }
    const top = nodes[0]!.bytes > this.pageBytesTarget ? this.growRoot(nodes[0]!, true) : nodes[0]!;
    top.n = this.size!;
    return true;
  }

  /** Remove `key`; false when it was absent (nothing is modified then). */
  async delete(key: string): Promise<boolean> {
    this.checkLive();
    if (!(await this.contains(key))) return false;
    const path = this.writablePathCached(key) ?? (await this.writablePath(key));
    const leaf = path.nodes[path.nodes.length - 1] as LeafPage;
    const j = lowerBound(leaf.keys, key);
    assert(leaf.keys[j] === key, 'deleted key vanished');
    const old = leaf.vals[j]!;
    this.retireValue(old);
    leaf.keys.splice(j, 1);
    leaf.vals.splice(j, 1);
    leaf.bytes -= keyBytes(key) + leafValueBytes(old);
    this.size!--;
    if (this.needsFixup(path)) await this.fixup(path, false);
    else path.nodes[0]!.n = this.size!;
    return true;
  }

  /** Rows in key order (or reverse) within the bounds; see the module header on modification. */
  async *scan(options: ScanOptions = {}): AsyncIterableIterator<[string, Value[]]> {
    this.checkLive();
    const { lo, hi, reverse = false } = options;
    const loInclusive = options.loInclusive ?? true;
    const hiInclusive = options.hiInclusive ?? true;
    const stack: CursorFrame[] = [];
    let version = this.version;
    let leaf = await this.seek(stack, reverse ? hi : lo, reverse ? hiInclusive : loInclusive, reverse);
    let j = this.seekIndex(leaf, reverse ? hi : lo, reverse ? hiInclusive : loInclusive, reverse);
    for (let rows = 0; rows < Number.MAX_SAFE_INTEGER; rows++) {
      for (let hops = 0; j < 0 || j >= leaf.keys.length; hops++) {
        assert(hops < Number.MAX_SAFE_INTEGER, 'unbounded leaf walk');
        const next = await this.stepLeaf(stack, reverse);
        if (next === undefined) return;
        leaf = next;
        j = reverse ? leaf.keys.length - 1 : 0;
      }
      const key = leaf.keys[j]!;
      if (!reverse && hi !== undefined && (hiInclusive ? key > hi : key >= hi)) return;
      if (reverse && lo !== undefined && (loInclusive ? key < lo : key <= lo)) return;
      const v = leaf.vals[j]!;
      yield [key, Array.isArray(v) ? v : await this.readOverflow(v as OverflowRef)];
      if (this.version !== version) {
        this.checkLive();
        version = this.version;
        stack.length = 0;
        leaf = await this.seek(stack, key, false, reverse);
        j = this.seekIndex(leaf, key, false, reverse);
      } else {
        j += reverse ? -1 : 1;
      }
    }
  }

  /**
   * Rows in key order within the bounds, a leaf's worth at a time: one await per leaf instead of
   * one per row, for scans that read many rows. Each chunk is a copy, so it stays valid whatever
   * happens to the tree; if the tree changed while a chunk was out, the scan re-seeks after the
   * chunk's last key, as `scan` does after each row.
   */
  async *scanChunks(options: Omit<ScanOptions, 'reverse'> = {}): AsyncIterableIterator<{ keys: string[]; rows: Value[][] }> {
    this.checkLive();
    const { lo, hi } = options;
    const loInclusive = options.loInclusive ?? true;
    const hiInclusive = options.hiInclusive ?? true;
    const stack: CursorFrame[] = [];
    let version = this.version;
    let leaf = await this.seek(stack, lo, loInclusive, false);
    let j = this.seekIndex(leaf, lo, loInclusive, false);
    for (let chunks = 0; chunks < Number.MAX_SAFE_INTEGER; chunks++) {
      for (let hops = 0; j >= leaf.keys.length; hops++) {
        assert(hops < Number.MAX_SAFE_INTEGER, 'unbounded leaf walk');
        const next = await this.stepLeaf(stack, false);
        if (next === undefined) return;
        leaf = next;
        j = 0;
      }
      const end = hi === undefined ? leaf.keys.length : this.seekIndex(leaf, hi, !hiInclusive, false);
      if (end <= j) return;
      // Decided now: a put while the chunk is out may grow this (dirty, shared) leaf.
      const pastHi = end < leaf.keys.length;
      const keys = leaf.keys.slice(j, end);
      const rows = leaf.vals.slice(j, end) as Array<Value[] | OverflowRef>;
      for (let i = 0; i < rows.length; i++) if (!Array.isArray(rows[i])) rows[i] = await this.readOverflow(rows[i] as OverflowRef);
      yield { keys, rows: rows as Value[][] };
      if (pastHi) return;
      if (this.version !== version) {
        this.checkLive();
        version = this.version;
        stack.length = 0;
        leaf = await this.seek(stack, keys[keys.length - 1], false, false);
        j = this.seekIndex(leaf, keys[keys.length - 1], false, false);
      } else {
        j = end;
      }
    }
  }

  async count(): Promise<number> {
    this.checkLive();
    if (this.size === undefined) await this.loadSize();
    return this.size!;
  }

  /** Retire every page of the tree (and its overflow pages); the tree is unusable afterwards. */
  async drop(): Promise<void> {
    this.checkLive();
    let level = [this.root];
    for (let depth = 0; level.length > 0; depth++) {
      assert(depth < DEPTH_MAX, 'B-tree deeper than DEPTH_MAX');
      const pages = await this.pages.loadMany(level);
      const next: number[] = [];
      for (let i = 0; i < pages.length; i++) {
        const p = pages[i]!;
        if (p.kind === 'branch') for (const c of p.children) next.push(c);
        else if (p.kind === 'leaf') for (const v of p.vals) this.retireValue(v);
        this.pages.retire(level[i]!);
      }
      level = next;
    }
    this.dropped = true;
    this.version++;
  }

  /**
   * Debug check of every invariant (reads the whole tree): key order and separator bounds, equal
   * leaf depth, fill bounds of non-root pages, byte estimates, row count, overflow pages present.
   */
  async check(): Promise<TreeShape> {
    this.checkLive();
    const root = await this.rootNode();
    const state = { leafDepth: -1, rows: 0, branches: 0, leaves: 0, overflowPages: 0 };
    await this.checkNode(root, true, undefined, undefined, 0, state);
    assert(root.n === state.rows, `root count ${root.n} != ${state.rows} rows`);
    if (this.size !== undefined) assert(this.size === state.rows, 'size out of sync');
    const { leafDepth, rows, branches, leaves, overflowPages } = state;
    return { depth: leafDepth + 1, rows, branches, leaves, overflowPages };
  }

  // ---- reading ------------------------------------------------------------------------------

  /** The root page, synchronously when it is in memory (nearly always). */
  private rootNode(): Node | Promise<Node> {
    return (this.pages.peek(this.root) as Node | undefined) ?? this.node(this.root);
  }

  private async node(id: number): Promise<Node> {
    const p = this.pages.peek(id) ?? (await this.pages.load(id));
    if (p.kind === 'overflow') throw new DosqlError('CORRUPT', `B-tree page ${id} is an overflow page`);
    return p;
  }

  private async contains(key: string): Promise<boolean> {
    const p = await this.leafAt(key);
    if (p instanceof PackedLeaf) {
      const row = p.lookup(key, keyPrefix(key));
      if (row !== UNPACKED) return row !== undefined;
    }
    const j = lowerBound(p.keys, key);
    return j < p.keys.length && p.keys[j] === key;
  }

  private async readOverflow(ref: OverflowRef): Promise<Value[]> {
    const chunks = await this.pages.loadMany(ref.o);
    const bytes = new Uint8Array(ref.n);
    let off = 0;
    for (const c of chunks) {
      if (c.kind !== 'overflow' || off + c.data.byteLength > ref.n) throw new DosqlError('CORRUPT', 'malformed overflow row');
      bytes.set(c.data, off);
      off += c.data.byteLength;
    }
    if (off !== ref.n) throw new DosqlError('CORRUPT', 'truncated overflow row');
    const row = unpack(bytes);
    if (!Array.isArray(row)) throw new DosqlError('CORRUPT', 'overflow row is not a row');
    return row as Value[];
  }

  private async loadSize(): Promise<void> {
    const root = await this.rootNode();
    if (!(root.n >= 0)) throw new DosqlError('CORRUPT', `B-tree root ${this.root} carries no row count`);
    this.size = root.n;
  }

  /** Descend to the leaf where a scan from `bound` starts, pushing the branch path. */
  private async seek(stack: CursorFrame[], bound: string | undefined, _inclusive: boolean, reverse: boolean): Promise<LeafPage> {
    let p = (this.pages.peek(this.root) as Node | undefined) ?? (await this.node(this.root));
    for (let depth = 0; p.kind === 'branch'; depth++) {
      assert(depth < DEPTH_MAX, 'B-tree deeper than DEPTH_MAX');
      const i = bound === undefined ? (reverse ? p.children.length - 1 : 0) : upperBound(p.keys, bound);
      stack.push({ page: p, i });
      const id = p.children[i]!;
      p = (this.pages.peek(id) as Node | undefined) ?? (await this.node(id));
    }
    return p;
  }

  private seekIndex(leaf: LeafPage, bound: string | undefined, inclusive: boolean, reverse: boolean): number {
    if (bound === undefined) return reverse ? leaf.keys.length - 1 : 0;
    if (!reverse) return inclusive ? lowerBound(leaf.keys, bound) : upperBound(leaf.keys, bound);
    return (inclusive ? upperBound(leaf.keys, bound) : lowerBound(leaf.keys, bound)) - 1;
  }

  /** The next leaf in scan direction via the lowest ancestor with another child; undefined at the end. */
  private async stepLeaf(stack: CursorFrame[], reverse: boolean): Promise<LeafPage | undefined> {
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const more = reverse ? top.i > 0 : top.i + 1 < top.page.children.length;
      if (!more) {
        stack.pop();
        continue;
      }
      top.i += reverse ? -1 : 1;
      let id = top.page.children[top.i]!;
      let p = (this.pages.peek(id) as Node | undefined) ?? (await this.node(id));
      for (let depth = 0; p.kind === 'branch'; depth++) {
        assert(depth < DEPTH_MAX, 'B-tree deeper than DEPTH_MAX');
        const i = reverse ? p.children.length - 1 : 0;
        stack.push({ page: p, i });
        id = p.children[i]!;
        p = (this.pages.peek(id) as Node | undefined) ?? (await this.node(id));
      }
      return p;
    }
    return undefined;
  }

  // ---- writing ------------------------------------------------------------------------------

  private checkLive(): void {
    if (this.dropped) throw new DosqlError('MISUSE', 'B-tree was dropped');
  }

  private checkKey(key: string): void {
    if (key.length > this.keyCharsMax) {
      throw new DosqlError('LIMIT_EXCEEDED', `key of ${key.length} chars; keyCharsMax is ${this.keyCharsMax}`);
    }
  }

  /**
   * `writablePath` without awaiting, when every page on the path is in memory; undefined on a
   * miss (the pages made writable so far stay so, and the async walk finds them dirty).
   */
  private writablePathCached(key: string): WritePath | undefined {
    const cachedRoot = this.pages.peek(this.root) as Node | undefined;
    if (cachedRoot === undefined || this.size === undefined) return undefined;
    this.version++;
    let root = cachedRoot;
    if (!this.pages.isDirty(this.root)) [this.root, root] = this.pages.writable<Node>(this.root, cachedRoot);
    const nodes: Node[] = [root];
    const idx: number[] = [];
    let lo: string | undefined;
    let hi: string | undefined;
    let p: Node = root;
    for (let depth = 0; p.kind === 'branch'; depth++) {
      assert(depth < DEPTH_MAX, 'B-tree deeper than DEPTH_MAX');
      const i = upperBound(p.keys, key);
      const id = p.children[i]!;
      const child = this.pages.peek(id) as Node | undefined;
      if (child === undefined) return undefined;
      let w: Node = child;
      if (!this.pages.isDirty(id)) {
        const [wid, copy] = this.pages.writable<Node>(id, child);
        p.children[i] = wid;
        w = copy;
      }
      // Deeper separators are tighter bounds of the leaf's keys.
      if (i > 0) lo = p.keys[i - 1];
      if (i < p.keys.length) hi = p.keys[i];
      idx.push(i);
      nodes.push(w);
      p = w;
    }
    return { nodes, idx, lo, hi };
  }

  /** Whether any page on a modified path is out of its fill bounds (or the root must collapse). */
  private needsFixup(path: WritePath): boolean {
    const { nodes } = path;
    for (let l = nodes.length - 1; l >= 1; l--) {
      const b = nodes[l]!.bytes;
      if (b > this.pageBytesTarget || b < this.minBytes) return true;
    }
    const root = nodes[0]!;
    return root.bytes > this.pageBytesTarget || (root.kind === 'branch' && root.children.length === 1);
  }

  /** Make the root-to-leaf path for `key` writable (copy-on-write), fixing child ids on the way. */
  private async writablePath(key: string): Promise<WritePath> {
    this.version++;
    const [rootId, root] = this.pages.writable(this.root, (this.pages.peek(this.root) as Node | undefined) ?? (await this.node(this.root)));
    this.root = rootId;
    if (this.size === undefined) {
      if (!(root.n >= 0)) throw new DosqlError('CORRUPT', `B-tree root ${this.root} carries no row count`);
      this.size = root.n;
    }
    const nodes: Node[] = [root];
    const idx: number[] = [];
    let lo: string | undefined;
    let hi: string | undefined;
    let p: Node = root;
    for (let depth = 0; p.kind === 'branch'; depth++) {
      assert(depth < DEPTH_MAX, 'B-tree deeper than DEPTH_MAX');
      const i = upperBound(p.keys, key);
      const id = p.children[i]!;
      const child = (this.pages.peek(id) as Node | undefined) ?? (await this.node(id));
      const [wid, w] = this.pages.writable(id, child);
      if (wid !== id) p.children[i] = wid;
      if (i > 0) lo = p.keys[i - 1];
      if (i < p.keys.length) hi = p.keys[i];
      idx.push(i);
      nodes.push(w);
      p = w;
    }
    return { nodes, idx, lo, hi };
  }

  private makeLeafValue(key: string, row: Value[]): LeafValue {
    if (keyBytes(key) + rowBytes(row) <= this.entryBytesMax) return row;
    const bytes = pack(row);
    if (bytes.byteLength > this.rowBytesMax) {
      throw new DosqlError('LIMIT_EXCEEDED', `row of ${bytes.byteLength} bytes; rowBytesMax is ${this.rowBytesMax}`);
    }
    const ids: number[] = [];
    for (let off = 0; off < bytes.byteLength; off += OVERFLOW_CHUNK_BYTES) {
      const data = bytes.subarray(off, off + OVERFLOW_CHUNK_BYTES);
      ids.push(this.pages.allocate({ kind: 'overflow', data, bytes: data.byteLength }));
    }
    return { o: ids, n: bytes.byteLength };
  }

  private retireValue(v: LeafValue): void {
    if (!Array.isArray(v)) for (const id of (v as OverflowRef).o) this.pages.retire(id);
  }

  /**
   * Restore fill bounds bottom-up along a modified path, then grow or collapse the root.
   * `appended`: the write appended past the tree's last key, so splits leave the left page full.
   */
  private async fixup(path: WritePath, appended: boolean): Promise<void> {
    const { nodes, idx } = path;
    for (let l = nodes.length - 1; l >= 1; l--) {
      const node = nodes[l]!;
      const parent = nodes[l - 1] as BranchPage;
      if (node.bytes > this.pageBytesTarget) this.splitChild(parent, idx[l - 1]!, node, appended);
      else if (node.bytes < this.minBytes) await this.rebalanceChild(parent, idx[l - 1]!, node);
    }
    let root = nodes[0]!;
    if (root.bytes > this.pageBytesTarget) root = this.growRoot(root, appended);
    else if (root.kind === 'branch' && root.children.length === 1) {
      this.pages.retire(this.root);
      this.root = root.children[0]!;
      root = this.pages.peek(this.root) as Node;
      assert(root !== undefined && this.pages.isDirty(this.root), 'collapsed root is not writable');
    }
    root.n = this.size!;
  }

  /** Split the overfull root under a new one: the tree grows a level. Returns the new root. */
  private growRoot(root: Node, appended: boolean): BranchPage {
    const [sep, right] = this.splitNode(root, appended);
    root.n = -1;
    const grown: BranchPage = { kind: 'branch', keys: [sep], children: [this.root, this.pages.allocate(right)], bytes: 0, n: 0 };
    grown.bytes = branchBytes(grown);
    this.root = this.pages.allocate(grown);
    return grown;
  }

  private splitChild(parent: BranchPage, i: number, node: Node, appended: boolean): void {
    const [sep, right] = this.splitNode(node, appended);
    parent.keys.splice(i, 0, sep);
    parent.children.splice(i + 1, 0, this.pages.allocate(right));
    parent.bytes += keyBytes(sep) + CHILD_BYTES;
  }

  /**
   * Split an overfull page in two: `node` keeps the left part. Balanced bytes in general; after an
   * append past the tree's last key, the right leaf gets just a quarter page (the least the fill
   * bound allows), since later appends fill it and never return to the left one: sequential
   * inserts leave leaves about three quarters full instead of half, with fewer splits.
   */
  private splitNode(node: Node, appended: boolean): [string, Node] {
    if (node.kind === 'leaf') {
      const s = appended ? appendLeafSplit(node.keys, node.vals, this.minBytes) : balancedLeafSplit(node.keys, node.vals);
      const right: LeafPage = { kind: 'leaf', keys: node.keys.splice(s), vals: node.vals.splice(s), bytes: 0, n: -1 };
      right.bytes = leafBytes(right);
      // Estimates are additive: the left part is what the right one did not take.
      node.bytes -= right.bytes - PAGE_HEADER_BYTES;
      return [right.keys[0]!, right];
    }
    const s = balancedBranchSplit(node.keys);
    const rightKeys = node.keys.splice(s);
    const sep = rightKeys.shift()!;
    const right: BranchPage = { kind: 'branch', keys: rightKeys, children: node.children.splice(s + 1), bytes: 0, n: -1 };
    right.bytes = branchBytes(right);
    node.bytes = branchBytes(node);
    return [sep, right];
  }

  /** Merge an underfull child with a sibling, or move entries from the sibling to balance them. */
  private async rebalanceChild(parent: BranchPage, i: number, node: Node): Promise<void> {
    assert(parent.children.length >= 2, 'underfull page has no sibling');
    const si = i + 1 < parent.children.length ? i + 1 : i - 1;
    const sid = parent.children[si]!;
    const [wsid, sib] = this.pages.writable(sid, await this.node(sid));
    parent.children[si] = wsid;
    assert(sib.kind === node.kind, 'siblings of different kinds');
    const li = Math.min(i, si);
    const left = (li === i ? node : sib) as Node;
    const right = (li === i ? sib : node) as Node;
    const sep = parent.keys[li]!;
    if (left.kind === 'leaf' && right.kind === 'leaf') {
      if (left.bytes + right.bytes - PAGE_HEADER_BYTES <= this.pageBytesTarget) {
        for (let k = 0; k < right.keys.length; k++) {
          left.keys.push(right.keys[k]!);
          left.vals.push(right.vals[k]!);
        }
        left.bytes += right.bytes - PAGE_HEADER_BYTES;
        this.removeRightChild(parent, li);
        return;
      }
      const keys = left.keys.concat(right.keys);
      const vals = left.vals.concat(right.vals);
      const s = balancedLeafSplit(keys, vals);
      left.keys = keys.slice(0, s);
      left.vals = vals.slice(0, s);
      right.keys = keys.slice(s);
      right.vals = vals.slice(s);
      left.bytes = leafBytes(left);
      right.bytes = leafBytes(right);
      this.replaceSeparator(parent, li, right.keys[0]!);
      return;
    }
    assert(left.kind === 'branch' && right.kind === 'branch', 'siblings of different kinds');
    if (left.bytes + right.bytes - PAGE_HEADER_BYTES + keyBytes(sep) <= this.pageBytesTarget) {
      left.keys.push(sep);
      for (const k of right.keys) left.keys.push(k);
      for (const c of right.children) left.children.push(c);
      left.bytes += right.bytes - PAGE_HEADER_BYTES + keyBytes(sep);
      this.removeRightChild(parent, li);
      return;
    }
    const keys = left.keys.concat([sep], right.keys);
    const children = left.children.concat(right.children);
    const s = balancedBranchSplit(keys);
    left.keys = keys.slice(0, s);
    left.children = children.slice(0, s + 1);
    right.keys = keys.slice(s + 1);
    right.children = children.slice(s + 1);
    left.bytes = branchBytes(left);
    right.bytes = branchBytes(right);
    this.replaceSeparator(parent, li, keys[s]!);
  }

  private removeRightChild(parent: BranchPage, li: number): void {
    this.pages.retire(parent.children[li + 1]!);
    const [sep] = parent.keys.splice(li, 1);
    parent.children.splice(li + 1, 1);
    parent.bytes -= keyBytes(sep!) + CHILD_BYTES;
  }

  private replaceSeparator(parent: BranchPage, li: number, sep: string): void {
    parent.bytes += keyBytes(sep) - keyBytes(parent.keys[li]!);
    parent.keys[li] = sep;
  }

  private async checkNode(
    p: Node,
    isRoot: boolean,
    lo: string | undefined,
    hi: string | undefined,
    depth: number,
    state: { leafDepth: number; rows: number; branches: number; leaves: number; overflowPages: number },
  ): Promise<void> {
    assert(depth < DEPTH_MAX, 'B-tree deeper than DEPTH_MAX');
    for (let k = 0; k < p.keys.length; k++) {
      const key = p.keys[k]!;
      assert(k === 0 || p.keys[k - 1]! < key, 'keys out of order');
      assert(lo === undefined || key >= lo, 'key below its separator');
      assert(hi === undefined || key < hi, 'key at or above its separator');
    }
    const estimate = p.kind === 'leaf' ? leafBytes(p) : branchBytes(p);
    assert(p.bytes === estimate, `page byte estimate ${p.bytes} != ${estimate}`);
    assert(p.bytes <= this.pageBytesTarget, `page of ${p.bytes} bytes above target`);
    if (!isRoot) {
      assert(p.bytes >= this.minBytes, `page of ${p.bytes} bytes below a quarter of target`);
      assert(p.n === -1 || p.n >= 0, 'bad count field');
    }
    if (p.kind === 'leaf') {
      if (state.leafDepth < 0) state.leafDepth = depth;
      assert(state.leafDepth === depth, 'leaves at different depths');
      state.rows += p.keys.length;
      state.leaves++;
      for (const v of p.vals) {
        if (Array.isArray(v)) continue;
        state.overflowPages += (v as OverflowRef).o.length;
        const chunks = await this.pages.loadMany((v as OverflowRef).o);
        assert(chunks.every((c) => c.kind === 'overflow'), 'overflow reference to a non-overflow page');
      }
      return;
    }
    assert(p.children.length === p.keys.length + 1 && p.children.length >= 2, 'branch with too few children');
    state.branches++;
    for (let c = 0; c < p.children.length; c++) {
      const child = await this.node(p.children[c]!);
      const clo = c === 0 ? lo : p.keys[c - 1];
      const chi = c === p.keys.length ? hi : p.keys[c];
      await this.checkNode(child, false, clo, chi, depth + 1, state);
    }
  }
}


/** The index s in [1, n-1] that splits leaf entries into two runs of the most equal bytes. */
function balancedLeafSplit(keys: readonly string[], vals: readonly LeafValue[]): number {
  const n = keys.length;
  assert(n >= 2, 'cannot split a leaf of fewer than 2 entries');
  const sizes = new Array<number>(n);
  let total = 0;
  for (let k = 0; k < n; k++) total += sizes[k] = keyBytes(keys[k]!) + leafValueBytes(vals[k]!);
  let best = 1;
  let bestDiff = Infinity;
  let left = 0;
  for (let s = 1; s < n; s++) {
    left += sizes[s - 1]!;
    const diff = Math.abs(2 * left - total);
    if (diff < bestDiff) {
      bestDiff = diff;
      best = s;
    } else break; // diff only grows once left passes half
  }
  return best;
}

/**
 * The index s that leaves the right part the shortest run of entries of at least `rightBytes`
 * (excluding the page header), so with an overfull page of at most target + one entry, the left
 * stays within the target and both parts stay above a quarter of it.
 */
function appendLeafSplit(keys: readonly string[], vals: readonly LeafValue[], rightBytes: number): number {
  const n = keys.length;
  assert(n >= 2, 'cannot split a leaf of fewer than 2 entries');
  let right = 0;
  let s = n;
  while (s > 1 && right < rightBytes) {
    s--;
    right += keyBytes(keys[s]!) + leafValueBytes(vals[s]!);
  }
  return s;
}

/**
 * The separator index s in [1, m-2] (m = keys.length) that splits a branch into children
 * [0..s] and [s+1..m] of the most equal bytes; keys[s] moves up.
 */
function balancedBranchSplit(keys: readonly string[]): number {
  const m = keys.length;
  assert(m >= 3, 'cannot split a branch of fewer than 4 children');
  let total = 0;
  for (let k = 0; k < m; k++) total += keyBytes(keys[k]!) + CHILD_BYTES;
  let best = 1;
  let bestDiff = Infinity;
  let left = keyBytes(keys[0]!) + CHILD_BYTES;
  for (let s = 1; s <= m - 2; s++) {
    const right = total - left - keyBytes(keys[s]!);
    const diff = Math.abs(left + CHILD_BYTES - right);
    if (diff < bestDiff) {
      bestDiff = diff;
      best = s;
    }
    left += keyBytes(keys[s]!) + CHILD_BYTES;
  }
  return best;
}
