/**
 * A leaf kept as the bytes it is stored as until something needs its keys and rows as arrays:
 * a leaf read from the store, or one a bulk append built (leaf-builder.ts).
 *
 * Why: decoding a stored leaf (msgpackr, about 20-30 us for a 4 KiB page of 70 rows) builds a
 * string per key and per text value, an array per row, a box per REAL, and a point lookup then
 * reads one of those rows. When the table is larger than the page cache, every lookup reads a
 * leaf from the store and pays for all of it: on 1M rows with a 16 MiB cache, random primary-key
 * lookups cost about 100 us each. A packed leaf is the stored msgpack `[0, keys, rows, n]`
 * (page-store.ts); the first lookup walks it once (about 10 us, no strings built) to index it:
 * per key, two doubles (the numeric prefixes of its chars 0..5 and 6..11, search.ts) and three
 * offsets (its text, that text's bytes, its row). A lookup binary-searches the doubles, decides
 * equality from them alone when both keys are at most 12 chars (number keys are 11), and decodes
 * just the row it returns, with MsgpackReader. The same lookups cost about 40 us.
 *
 * Everything else (scans, writes, checks) reads `keys` and `vals`: the first such access decodes
 * the whole page into arrays, once (MsgpackReader again, a little faster than msgpackr), and drops
 * the bytes and the index (materializing). So a page read for a scan is decoded once, as before,
 * and only its header is read when it is loaded. A clean page is never modified either way:
 * page-store.ts copies it before writing to it (`fresh`).
 *
 * Why not every page: a page a checkpoint writes stays in the cache decoded. Packing it as well
 * was measured: a cached lookup then decodes its row on every call (about 0.4 us in context, with
 * its garbage), which the fewer cache misses of the packed search do not repay. So a packed page
 * that keeps being looked up decodes itself: after LOOKUPS_PACKED_MAX lookups, the cost of about
 * fifty decoded rows, which is what materializing a page of a hundred rows costs (rent or buy).
 *
 * Pages a bulk append builds (BTree.appendPacked) start dirty: their rows never existed as arrays,
 * so a load of many rows leaves the garbage collector nothing to copy, and the checkpoint writes
 * their bytes as they are. A dirty page may be modified in place like any dirty page: the first
 * write materializes it (`prefixes` undefined says it is dirty; page-store.ts freezes it when a
 * checkpoint makes it clean).
 *
 * Bytes outside the reader's vocabulary (see log/msgpack-reader.ts) stay readable: the walk
 * refuses them and the page is materialized with msgpackr instead.
 */
import { assert, DosqlError } from '../../base/errors.js';
import { unpack } from '../../base/codec.js';
import type { Value } from '../../base/values.js';
import { MsgpackReader, UNSUPPORTED, utf16Length } from '../../log/msgpack-reader.js';
import { leafBytes, PAGE_HEADER_BYTES, type FrozenPrefixes, type LeafPage, type LeafValue, type OverflowRef } from './page-store.js';
import { keyPrefix, NO_PREFIX, PREFIX_BASE, PREFIX_CHARS } from './search.js';
import type { RowCells } from './row-cells.js';

/** What `lookup` returns for a key whose row lives in overflow pages. */
export const NOT_INLINE: unique symbol = Symbol('NOT_INLINE');
/** What `ceiling` returns when every key of the page is below the sought one. */
export const PAST_LEAF: unique symbol = Symbol('PAST_LEAF');
/** What `lookup` returns once the page is materialized: search `keys` and `vals` instead. */
export const UNPACKED: unique symbol = Symbol('UNPACKED');

/** The stored page's first byte: a fixarray of 4 items. */
const PAGE_ARRAY_HEADER = 0x94;
/** The kind number of a leaf in the stored page (page-store.ts). */
const KIND_LEAF = 0;
/** Chars of a key the two prefixes cover: longer keys tie-break on their bytes. */
const INDEXED_CHARS = 2 * PREFIX_CHARS;
/** Slots per key in `LeafIndex.at`. */
const AT_SLOTS = 3;
/** Lookups a packed page answers from its bytes before it decodes itself (see the header). */
export const LOOKUPS_PACKED_MAX = 48;

/** Where each key and row of a packed leaf lies in its bytes. */
interface LeafIndex {
  /** Per key i: [2i] the prefix of chars 0..5, [2i+1] of chars 6..11 (search.ts's keyPrefix). */
  pre: Float64Array;
  /** Per key i: [3i] byte offset of its UTF-8 text, [3i+1] that text's bytes, [3i+2] byte offset of its row. */
  at: Uint32Array;
  /** Every key is at most INDEXED_CHARS chars: equal prefix pairs mean equal keys. */
  short: boolean;
}

/** What one pass over a stored leaf finds. */
interface LeafWalk {
  count: number;
  /** `leafBytes` of the decoded page, computed from the bytes. */
  bytes: number;
  n: number;
  /** Undefined when a key has a char above 255 among its first INDEXED_CHARS (no prefixes). */
  index: LeafIndex | undefined;
}

const reader = new MsgpackReader();

export class PackedLeaf implements LeafPage {
  readonly kind = 'leaf' as const;
  /** Search prefixes of the materialized keys (search.ts); undefined while the page is dirty. */
  prefixes: FrozenPrefixes | undefined = null;
  /** Rows laid out for point lookups once materialized and clean (row-cells.ts). */
  cells: RowCells | null = null;
  /** Keys (and rows) in the page, read from its header. */
  readonly count: number;
  /** Bytes of the stored page. */
  readonly storedBytes: number;
  /** The stored bytes, exactly sized and never written; undefined once materialized. */
  private raw: Uint8Array | undefined;
  /** Built at the first lookup (null until then, or when the keys have no prefixes). */
  private index: LeafIndex | null = null;
  /** `bytes` once known (-1 until then: a walk or leafBytes computes it); `n` once walked or materialized. */
  private estimate = -1;
  private rows = 0;
  private k: string[] | undefined;
  private v: LeafValue[] | undefined;
  /** Lookups answered from the bytes so far. */
  private lookups = 0;
  /** Whether `learn` walked the bytes (a built page knows its estimate without a walk). */
  private walked = false;
  /** A built page's last key (see `built`). */
  private builtLastKey: string | undefined;

  private constructor(raw: Uint8Array, count: number) {
    this.raw = raw;
    this.count = count;
    this.storedBytes = raw.byteLength;
  }

  /**
   * A dirty leaf a bulk append wrote (leaf-builder.ts): `raw` is owned by the page from here on,
   * `bytes` its leafBytes estimate, `lastKey` its last key; it is not a root (`n` is -1).
   */
  static built(raw: Uint8Array, count: number, bytes: number, lastKey: string): PackedLeaf {
    const page = new PackedLeaf(raw, count);
    page.prefixes = undefined;
    page.estimate = bytes;
    page.rows = -1;
    page.builtLastKey = lastKey;
    return page;
  }

  /** The last key, when it is known without decoding (a built page) or the page is decoded. */
  get lastKey(): string | undefined {
    if (this.k !== undefined) return this.k[this.k.length - 1];
    return this.builtLastKey;
  }

  /**
   * A leaf read from the store, packed: only its header is read here, so that a page read for a
   * scan is decoded once (when the scan reads `keys`), and one read for a lookup is walked once.
   * Undefined when the bytes do not start like a leaf (decode them with msgpackr then).
   */
  static fromStored(raw: Uint8Array): PackedLeaf | undefined {
    const count = readLeafHeader(raw);
    return count < 0 ? undefined : new PackedLeaf(ownBytes(raw), count);
  }

  /** The decoded page's byte estimate (page-store.ts's leafBytes), exact; computed on first use. */
  get bytes(): number {
    if (this.estimate < 0) {
      if (this.raw === undefined) this.estimate = leafBytes(this);
      else this.learn();
    }
    return this.estimate;
  }

  set bytes(v: number) {
    this.writable();
    this.estimate = v;
  }

  /** Row count of the whole tree on a root page (-1 elsewhere); computed on first use. */
  get n(): number {
    if (this.raw !== undefined && this.estimate < 0) this.learn();
    return this.rows;
  }

  set n(v: number) {
    this.writable();
    this.rows = v;
  }

  /** Decoded on first use; a dirty page's arrays may be modified in place from then on. */
  get keys(): string[] {
    return this.k ?? this.materialize().k!;
  }

  set keys(v: string[]) {
    this.writable();
    this.k = v;
  }

  get vals(): LeafValue[] {
    return this.v ?? this.materialize().v!;
  }

  set vals(v: LeafValue[]) {
    this.writable();
    this.v = v;
  }

  /** True while the page is still its bytes: no lookup has needed it decoded. */
  get packed(): boolean {
    return this.raw !== undefined;
  }

  /** The page's stored bytes while it is packed (what a checkpoint writes), else undefined. */
  get stored(): Uint8Array | undefined {
    return this.raw;
  }

  /**
   * The row under `key` (`hi` = keyPrefix(key)): a fresh array the caller may keep, undefined when
   * absent, NOT_INLINE when it lives in overflow pages, UNPACKED when the page is materialized
   * (now or before): search `keys` then.
   */
  lookup(key: string, hi: number): Value[] | undefined | typeof NOT_INLINE | typeof UNPACKED {
    if (++this.lookups > LOOKUPS_PACKED_MAX) return this.unpack();
    const j = this.seek(key, hi);
    if (j < 0) return UNPACKED;
    if (j === this.count || !this.keyEquals(j, key, hi)) return undefined;
    return this.rowAt(j);
  }

  /**
   * The first entry with key >= `lo` (`hi` = keyPrefix(lo)), as a fresh key and row: the seek
   * time-travel reads make into history. PAST_LEAF when every key here is below `lo` (the answer
   * is in a leaf to the right), NOT_INLINE and UNPACKED as for `lookup`.
   */
  ceiling(lo: string, hi: number): [string, Value[]] | typeof PAST_LEAF | typeof NOT_INLINE | typeof UNPACKED {
    const j = this.seek(lo, hi);
    if (j < 0) return UNPACKED;
    if (j === this.count) return PAST_LEAF;
    const row = this.rowAt(j);
    if (row === NOT_INLINE || row === UNPACKED) return row;
    const ix = this.index!;
    const key = reader.reset(this.raw!, ix.at[AT_SLOTS * j]!).string(ix.at[AT_SLOTS * j + 1]!);
    return [key, row];
  }

  /** The index of the first key >= `key` (`hi` = keyPrefix(key)); -1 when the page had to be materialized. */
  private seek(key: string, hi: number): number {
    if (this.raw === undefined) return -1;
    if (this.index === null) {
      // A walk already made (for `bytes` or `n`) found the keys without prefixes: not again.
      if (!this.walked) this.learn();
      if (this.index === null) {
        this.materialize(); // keys without prefixes, or bytes the walk refused
        return -1;
      }
    }
    const ix = this.index;
    const lo = keyPrefix(key, PREFIX_CHARS);
    // A sought key with a char above 255 early on has no prefixes to compare: bytes only.
    if (hi === NO_PREFIX || lo === NO_PREFIX) return this.lowerBoundByBytes(ix, key);
    return this.lowerBound(ix, key, hi, lo);
  }

  /** Whether key `j` is `key` (`hi` = keyPrefix(key)); the page is packed and indexed. */
  private keyEquals(j: number, key: string, hi: number): boolean {
    const ix = this.index!;
    const lo = keyPrefix(key, PREFIX_CHARS);
    if (hi === NO_PREFIX || lo === NO_PREFIX) return this.compareAt(ix, j, key) === 0;
    if (ix.pre[2 * j] !== hi || ix.pre[2 * j + 1] !== lo) return false;
    return (ix.short && key.length <= INDEXED_CHARS) || this.compareAt(ix, j, key) === 0;
  }

  /** Row `j`, decoded fresh; the page is packed and indexed. */
  private rowAt(j: number): Value[] | typeof NOT_INLINE | typeof UNPACKED {
    const raw = this.raw!;
    const at = this.index!.at[AT_SLOTS * j + 2]!;
    if ((raw[at]! & 0xf0) === 0x80) return NOT_INLINE; // a map: an overflow reference
    const row = reader.reset(raw, at).row();
    return row === UNSUPPORTED ? this.unpack() : row;
  }

  /** A writable copy: new arrays, decoded from the bytes when the page is still packed. */
  fresh(): LeafPage {
    if (this.raw === undefined) return { kind: 'leaf', keys: this.k!.slice(), vals: this.v!.slice(), bytes: this.bytes, n: this.rows };
    const d = decodeLeaf(this.raw);
    assert(d.keys.length === this.count, 'a packed leaf decodes to its header\'s key count');
    const copy: LeafPage = { kind: 'leaf', keys: d.keys, vals: d.vals, bytes: 0, n: d.n };
    copy.bytes = leafBytes(copy);
    return copy;
  }

  /** The first index whose key is >= `key` (its prefix pair `hi`, `lo`). */
  private lowerBound(ix: LeafIndex, key: string, hi: number, lo: number): number {
    const pre = ix.pre;
    const exact = ix.short && key.length <= INDEXED_CHARS;
    let a = 0;
    let b = this.count;
    while (a < b) {
      const mid = (a + b) >>> 1;
      const x = pre[2 * mid]!;
      const y = pre[2 * mid + 1]!;
      if (x < hi || (x === hi && (y < lo || (y === lo && !exact && this.compareAt(ix, mid, key) < 0)))) a = mid + 1;
      else b = mid;
    }
    return a;
  }

  /** `lowerBound` comparing bytes only: for a sought key that has no prefixes. */
  private lowerBoundByBytes(ix: LeafIndex, key: string): number {
    let a = 0;
    let b = this.count;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (this.compareAt(ix, mid, key) < 0) a = mid + 1;
      else b = mid;
    }
    return a;
  }

  /** Key `i` against `key` in `<` order of their UTF-16 code units: negative, 0 or positive. */
  private compareAt(ix: LeafIndex, i: number, key: string): number {
    const b = this.raw!;
    let p = ix.at[AT_SLOTS * i]!;
    const end = p + ix.at[AT_SLOTS * i + 1]!;
    let u = 0;
    let pending = -1; // the low surrogate of a 4-byte sequence, compared next
    for (; p < end || pending >= 0; u++) {
      let c: number;
      if (pending >= 0) {
        c = pending;
        pending = -1;
      } else {
        const x = b[p++]!;
        if (x < 0x80) c = x;
        else if ((x & 0xe0) === 0xc0) c = ((x & 0x1f) << 6) | (b[p++]! & 0x3f);
        else if ((x & 0xf0) === 0xe0) {
          c = ((x & 0x0f) << 12) | ((b[p]! & 0x3f) << 6) | (b[p + 1]! & 0x3f);
          p += 2;
        } else {
          const cp = ((x & 0x07) << 18) | ((b[p]! & 0x3f) << 12) | ((b[p + 1]! & 0x3f) << 6) | (b[p + 2]! & 0x3f);
          p += 3;
          c = 0xd800 + ((cp - 0x10000) >> 10);
          pending = 0xdc00 + ((cp - 0x10000) & 0x3ff);
        }
      }
      if (u === key.length) return 1;
      const d = c - key.charCodeAt(u);
      if (d !== 0) return d;
    }
    return u - key.length;
  }

  /** One walk over the bytes: `bytes`, `n` and the index; a page the walk refuses is materialized. */
  private learn(): void {
    this.walked = true;
    const w = walkLeaf(this.raw!);
    if (w === undefined) {
      this.materialize();
      return;
    }
    assert(w.count === this.count, 'a packed leaf walks to its header\'s key count');
    assert(this.estimate < 0 || this.estimate === w.bytes, 'a built leaf\'s estimate is what its bytes say');
    this.estimate = w.bytes;
    this.rows = w.n;
    this.index = w.index ?? null;
  }

  /** Before a write: only a dirty page is modified, and in its decoded form. */
  private writable(): void {
    assert(this.prefixes === undefined, 'a clean page is never modified');
    this.materialize();
  }

  private unpack(): typeof UNPACKED {
    this.materialize();
    return UNPACKED;
  }

  private materialize(): this {
    if (this.raw === undefined) return this;
    const d = decodeLeaf(this.raw);
    assert(d.keys.length === this.count, 'a packed leaf decodes to its header\'s key count');
    this.k = d.keys;
    this.v = d.vals;
    this.rows = d.n;
    this.raw = undefined;
    this.index = null;
    return this;
  }
}

/** `raw` itself when it owns its whole buffer, else a copy (a view would pin a larger buffer). */
function ownBytes(raw: Uint8Array): Uint8Array {
  return raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength ? raw : raw.slice();
}

/**
 * The key count of a stored leaf, leaving `reader` at its first key; -1 when the bytes do not
 * start like a leaf, or claim more keys than they have bytes (each key takes at least one: a
 * larger count is corrupt, and would bound no loop).
 */
function readLeafHeader(raw: Uint8Array): number {
  if (raw[0] !== PAGE_ARRAY_HEADER || raw[1] !== KIND_LEAF) return -1;
  const count = reader.reset(raw, 2).arrayHeader();
  return count <= raw.length - reader.pos ? count : -1;
}

/** One pass over a stored leaf: its key count, byte estimate, `n` and index; undefined when not a leaf the reader reads. */
function walkLeaf(raw: Uint8Array): LeafWalk | undefined {
  const count = readLeafHeader(raw);
  if (count < 0) return undefined;
  const r = reader;
  const pre = new Float64Array(2 * count);
  const at = new Uint32Array(AT_SLOTS * count);
  let bytes = PAGE_HEADER_BYTES;
  let short = true;
  let indexable = true;
  for (let i = 0; i < count; i++) {
    const len = r.strHeader();
    if (len < 0 || r.pos + len > raw.length) return undefined;
    const units = keyPrefixes(raw, r.pos, len, pre, 2 * i);
    if (pre[2 * i] === NO_PREFIX || pre[2 * i + 1] === NO_PREFIX) indexable = false;
    if (units > INDEXED_CHARS) short = false;
    at[AT_SLOTS * i] = r.pos;
    at[AT_SLOTS * i + 1] = len;
    bytes += units + 3; // keyBytes
    r.pos += len;
  }
  if (r.arrayHeader() !== count) return undefined;
  for (let i = 0; i < count; i++) {
    at[AT_SLOTS * i + 2] = r.pos;
    const est = skipLeafValue(r);
    if (est < 0) return undefined;
    bytes += est;
  }
  const n = r.number();
  if (n === UNSUPPORTED || r.pos !== raw.length) return undefined;
  return { count, bytes, n, index: indexable ? { pre, at, short } : undefined };
}

/**
 * Writes the two prefixes of the UTF-8 key at `at` (`len` bytes) to `out[o]` and `out[o + 1]`,
 * as keyPrefix(key, 0) and keyPrefix(key, PREFIX_CHARS) would compute them from the string
 * (NO_PREFIX for a half with a char above 255); returns the key's length in UTF-16 code units.
 */
function keyPrefixes(b: Uint8Array, at: number, len: number, out: Float64Array, o: number): number {
  let hi = 0;
  let lo = 0;
  let wide = 0; // bit 1: a char above 255 in chars 0..5, bit 2: in chars 6..11
  let u = 0;
  const end = at + len;
  for (let p = at; p < end; u++) {
    const x = b[p]!;
    let c: number;
    if (x < 0x80) {
      c = x;
      p += 1;
    } else if (x < 0xe0) {
      c = ((x & 0x1f) << 6) | (b[p + 1]! & 0x3f);
      p += 2;
    } else if (x < 0xf0) {
      c = ((x & 0x0f) << 12) | ((b[p + 1]! & 0x3f) << 6) | (b[p + 2]! & 0x3f);
      p += 3;
    } else {
      // Two code units (a surrogate pair), both above 255: their halves have no prefix, so
      // only the positions count.
      wide |= (u < PREFIX_CHARS ? 1 : u < INDEXED_CHARS ? 2 : 0) | (u + 1 < PREFIX_CHARS ? 1 : u + 1 < INDEXED_CHARS ? 2 : 0);
      p += 4;
      u++;
      continue;
    }
    if (u < PREFIX_CHARS) {
      hi = hi * PREFIX_BASE + c + 1;
      if (c > 255) wide |= 1;
    } else if (u < INDEXED_CHARS) {
      lo = lo * PREFIX_BASE + c + 1;
      if (c > 255) wide |= 2;
    }
  }
  for (let k = u; k < PREFIX_CHARS; k++) hi *= PREFIX_BASE;
  for (let k = Math.max(u, PREFIX_CHARS); k < INDEXED_CHARS; k++) lo *= PREFIX_BASE;
  out[o] = wide & 1 ? NO_PREFIX : hi;
  out[o + 1] = wide & 2 ? NO_PREFIX : lo;
  return u;
}

/**
 * The valueBytes (page-store.ts) of the msgpack values in `bytes[start, end)`, summed; -1 when one
 * is outside the reader's vocabulary or the values do not end at `end`.
 */
export function valuesBytes(bytes: Uint8Array, start: number, end: number): number {
  const r = reader.reset(bytes, start);
  let est = 0;
  // Each value takes at least one byte, so this ends.
  while (r.pos < end) {
    const v = skipValue(r);
    if (v < 0) return -1;
    est += v;
  }
  return r.pos === end ? est : -1;
}

/** Skip a leaf value (a row or an overflow reference); its leafValueBytes, or -1 when unsupported. */
function skipLeafValue(r: MsgpackReader): number {
  if (r.buf[r.pos] === 0x82) return skipOverflowRef(r);
  const n = r.arrayHeader();
  if (n < 0 || n > r.buf.length - r.pos) return -1;
  let est = 3; // rowBytes
  for (let i = 0; i < n; i++) {
    const v = skipValue(r);
    if (v < 0) return -1;
    est += v;
  }
  return r.pos <= r.buf.length ? est : -1;
}

/** Skip one SQL value without decoding it; its valueBytes (page-store.ts), or -1 when unsupported. */
function skipValue(r: MsgpackReader): number {
  const b = r.buf;
  const t = b[r.pos]!;
  if (t < 0x80 || t >= 0xe0) {
    r.pos++;
    return 9;
  }
  if (t >= 0xa0 && t <= 0xbf) {
    const n = t & 0x1f;
    const units = utf16Length(b, r.pos + 1, n);
    r.pos += 1 + n;
    return units + 5;
  }
  switch (t) {
    case 0xc0:
      r.pos++;
      return 1;
    case 0xcc:
    case 0xd0:
      r.pos += 2;
      return 9;
    case 0xcd:
    case 0xd1:
      r.pos += 3;
      return 9;
    case 0xce:
    case 0xd2:
      r.pos += 5;
      return 9;
    case 0xcb:
    case 0xcf:
    case 0xd3:
      r.pos += 9;
      return 9;
    case 0xd7:
      if (b[r.pos + 1] !== 0x52) return -1;
      r.pos += 10;
      return 11;
    case 0xd9:
    case 0xda:
    case 0xdb: {
      const units = r.skipString();
      return units < 0 ? -1 : units + 5;
    }
    case 0xc4:
    case 0xc5:
    case 0xc6: {
      const n = r.binHeader();
      r.pos += n;
      return n + 5;
    }
    default:
      return -1;
  }
}

/** Skip `{ o: ids, n: bytes }` as writeOverflowRef writes it; its leafValueBytes, or -1. */
function skipOverflowRef(r: MsgpackReader): number {
  const b = r.buf;
  if (b[r.pos + 1] !== 0xa1 || b[r.pos + 2] !== 0x6f) return -1; // 'o'
  r.pos += 3;
  const k = r.arrayHeader();
  if (k < 0 || k > b.length - r.pos) return -1;
  for (let i = 0; i < k; i++) if (r.number() === UNSUPPORTED) return -1;
  if (b[r.pos] !== 0xa1 || b[r.pos + 1] !== 0x6e) return -1; // 'n'
  r.pos += 2;
  return r.number() === UNSUPPORTED ? -1 : 16 + 9 * k; // leafValueBytes of an OverflowRef
}

/** A stored leaf's parts. */
interface DecodedLeaf {
  keys: string[];
  vals: LeafValue[];
  n: number;
}

/** The keys, values and `n` of a stored leaf: by the reader, or by msgpackr for anything outside its vocabulary. */
function decodeLeaf(raw: Uint8Array): DecodedLeaf {
  return readLeaf(raw) ?? unpackLeaf(raw);
}

function readLeaf(raw: Uint8Array): DecodedLeaf | undefined {
  const count = readLeafHeader(raw);
  if (count < 0) return undefined;
  const r = reader;
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const len = r.strHeader();
    if (len < 0 || r.pos + len > raw.length) return undefined;
    keys.push(r.string(len));
  }
  if (r.arrayHeader() !== count) return undefined;
  const vals: LeafValue[] = [];
  for (let i = 0; i < count; i++) {
    const v = raw[r.pos] === 0x82 ? readOverflowRef(r) : r.row();
    if (v === UNSUPPORTED) return undefined;
    vals.push(v);
  }
  const n = r.number();
  return n === UNSUPPORTED || r.pos !== raw.length ? undefined : { keys, vals, n };
}

function readOverflowRef(r: MsgpackReader): OverflowRef | typeof UNSUPPORTED {
  const start = r.pos;
  if (skipOverflowRef(r) < 0) return UNSUPPORTED;
  r.pos = start + 3;
  const o: number[] = [];
  const k = r.arrayHeader();
  for (let i = 0; i < k; i++) o.push(r.number() as number);
  r.pos += 2;
  return { o, n: r.number() as number };
}

function unpackLeaf(raw: Uint8Array): DecodedLeaf {
  let d: unknown;
  try {
    d = unpack(raw);
  } catch (cause) {
    throw new DosqlError('CORRUPT', 'a B-tree leaf cannot be decoded', { cause });
  }
  const [kind, keys, vals, n] = (Array.isArray(d) ? d : []) as [unknown, unknown, unknown, unknown];
  if (kind !== KIND_LEAF || !Array.isArray(keys) || !Array.isArray(vals) || keys.length !== vals.length || typeof n !== 'number') {
    throw new DosqlError('CORRUPT', 'a B-tree leaf has an unknown shape');
  }
  return { keys: keys as string[], vals: vals as LeafValue[], n };
}
