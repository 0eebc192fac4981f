/**
 * History blocks: the past versions of a table's rows laid out by time as well as by key, so
 * that the versions visible at one old LSN lie side by side.
 *
 * Why. History (history.ts) keys each version by its row, then its end: a row's versions lie
 * together. A row updated a hundred times fills a leaf with its own versions, so a scan of 1000
 * rows AS OF an LSN before those updates seeks into 1000 different leaves, and a lookup descends
 * a tree a hundred times the table's size, missing the processor's caches at every level.
 *
 * How. The rows of a table keyed by rowid fall into chunks of CHUNK_ROWS consecutive rowids. Each
 * chunk's time is cut into blocks [start, end), which tile it from LSN 0: a block holds every
 * version of the chunk's rows that was current at some point in it (begun before `end`, ended
 * after `start`), as its history record under
 *
 *   chunk key + hex16(end) + row key + hex16(toLsn)
 *
 * where a version still current when the block was written ends at OPEN_END_LSN. A read AS OF L
 * seeks chunk key + hex16(L + 1): the first entry there opens the chunk's block ending after L,
 * the one holding L, and inside it the walk of history.ts picks each row's visible version, as in
 * the history tree. A chunk's block for one time is a chunk's rows and the versions that ended in
 * it: a leaf or two, read in order.
 *
 *   chunk 0  |---- end 812 ----|------ end 10815 ------|-- end 20816 --|  open: history + current
 *   chunk 1  |------------- end 10815 -----------------|-- end 20816 --|  open
 *            0               L = 500: chunk 0's first block, chunk 1's first block
 *
 * A chunk's directory entry, chunk key + 'g' (after all its blocks), holds the end of its last
 * block and how many versions ended since. Reads at or after that end find the directory entry
 * and take history and the current rows, as for a table without blocks.
 *
 * Checkpoints write blocks, from the history and current trees, for each chunk in which at least
 * BLOCK_ENDED_MIN versions ended since its last block, cutting a block after every
 * BLOCK_ENDED_MIN of them. A block also copies the versions that lived on past its start, at most
 * one per row, CHUNK_ROWS <= BLOCK_ENDED_MIN: blocks hold at most twice the versions history does.
 * History keeps every version as well, for reads through indexes and of version periods.
 *
 * Blocks are derived state like every tree here. A replay writes them at its own checkpoints,
 * perhaps cut at other LSNs: any cut reads the same.
 */
import type { Value } from '../base/values.js';
import { int } from '../base/values.js';
import type { Lsn } from '../log/types.js';
import { NOT_CACHED, encodeRowidKey, lowerBoundPrefix, numberOfKey, type BTree } from './btree/index.js';
import {
  HISTORY_KEY_END,
  belowHi,
  LSN_SUFFIX_CHARS,
  ceiling,
  historyAsCurrent,
  historyBegunBy,
  historyFrom,
  historyKey,
  historyTo,
  isVersionOf,
  lsnHex,
  rowKeyOf,
  toLsn,
  visibleHistoryBatches,
  type EntryBatch,
  type KeyRange,
} from './history.js';

/** Rowids per chunk: a chunk's block for one time fits a leaf or two when rows are small. */
export const CHUNK_ROWS = 64;
/**
 * Versions ended per block. At least CHUNK_ROWS, the most versions a block copies from before its
 * start, so the copies never outnumber the versions that ended.
 */
export const BLOCK_ENDED_MIN = CHUNK_ROWS;
/** The toLsn a block gives a version still current when it was written: after every LSN. */
export const OPEN_END_LSN = Number.MAX_SAFE_INTEGER;
/**
 * Largest magnitude of a rowid in a chunk: rowids past it (bigints near 2^63) stay out of
 * blocks, since a double no longer tells their chunk exactly.
 */
const CHUNK_ROWID_ABS_MAX = Number.MAX_SAFE_INTEGER - CHUNK_ROWS;
/** Chars of a chunk key, the key of its first rowid: a number's tag and 10 chars. */
const CHUNK_KEY_CHARS = 11;
/** Sorts after a chunk's blocks: chunk key + DIRECTORY_MARK keys its directory entry. */
const DIRECTORY_MARK = HISTORY_KEY_END;

/** The trees and counts a table keeps for its blocks (TableTrees has them). */
export interface BlockTrees {
  rows: BTree;
  history: BTree;
  /** Blocks and directory entries; see the module header. */
  blocks: BTree;
  /** Per chunk with versions moved to history since the last checkpoint, how many. */
  endedByChunk: Map<number, number>;
  /** The largest end of any block of the table (0 when none): reads at or after it skip blocks. */
  blockEndMax: Lsn;
  /** Per chunk, the block the last lookup AS OF some LSN found; see BlockFinds. */
  found: BlockFinds;
}

/**
 * Per chunk, the block that holds the LSN of the chunk's last lookup, and that block decoded once
 * it has been looked into BLOCK_LOOKUPS_RENT times. A block never changes once written (later
 * blocks only cover later LSNs), so neither answer goes stale. Lookups AS OF one LSN, which come
 * many at a time (a report, a join, a comparison with now), then skip the seek that finds the
 * block, and then the seek inside it too: the blocks tree, like history, is many times the
 * table's size, and a descent through it misses the processor's caches at every level, where a
 * decoded block's arrays stay in them.
 */
export type BlockFinds = Map<number, BlockFind>;

interface BlockFind {
  lsn: Lsn;
  /** Chunk key + hex16(end) of the block holding `lsn`. */
  prefix: string;
  /** Lookups answered from the block since it was found, while not decoded. */
  lookups: number;
  decoded: DecodedBlock | undefined;
}

/**
 * Chunks whose found block a table keeps: past it the map starts over. A decoded block holds a
 * chunk's versions of one stretch of time, about 2 x CHUNK_ROWS records (DECODED_ENTRIES_MAX at
 * most), so 256 of them are a few MB for rows of a few hundred bytes.
 */
export const BLOCK_FINDS_MAX = 256;
/**
 * Lookups into one block before it is decoded whole. Decoding walks its entries in order, which
 * costs about what this many seeks into it do (rent or buy, as packed leaves decide).
 */
const BLOCK_LOOKUPS_RENT = 8;
/**
 * Entries a decoded block may hold. A block holds at most CHUNK_ROWS versions current at its start,
 * 2 x CHUNK_ROWS - 1 that ended in it (it is cut once CHUNK_ROWS have, and one LSN ends at most a
 * version per row) and CHUNK_ROWS current at its end: under 4 x CHUNK_ROWS. Larger is a bug, and
 * lookups then keep seeking.
 */
const DECODED_ENTRIES_MAX = 4 * CHUNK_ROWS;

/**
 * A block's entries as arrays, in key order: per entry, its row's offset in the chunk, the LSNs
 * its version began and ended at, and its record in the current layout. Only for blocks whose
 * LSNs are all numbers (below 2^53).
 */
class DecodedBlock {
  constructor(
    private readonly offsets: Float64Array,
    private readonly from: number[],
    private readonly to: number[],
    private readonly records: Value[][],
  ) {}

  /** The version of the row at `offset` visible at `at` (= Number(lsn)), if any. */
  get(offset: number, at: number): Value[] | undefined {
    const offsets = this.offsets;
    // A row's versions sort by end: the first ending after `at` is the only one visible then.
    for (let j = lowerBoundPrefix(offsets, offset); j < offsets.length && offsets[j] === offset; j++) {
      if (this.to[j]! > at) return this.from[j]! <= at ? this.records[j] : undefined;
    }
    return undefined;
  }
}

/** Answer of a block lookup when no block holds the LSN: history and current rows decide. */
export const NO_BLOCK: unique symbol = Symbol('no block');

/** Counts a version of the row `rowid` moved to history (checkpoints then write its chunk's blocks). */
export function noteEnded(t: BlockTrees, rowid: Value): void {
  const c = chunkOf(typeof rowid === 'bigint' ? Number(rowid) : (rowid as number));
  if (c !== undefined) t.endedByChunk.set(c, (t.endedByChunk.get(c) ?? 0) + 1);
}

/** The chunk of a rowid (or of any number between two rowids); undefined past CHUNK_ROWID_ABS_MAX. */
function chunkOf(n: number): number | undefined {
  return Math.abs(n) <= CHUNK_ROWID_ABS_MAX ? Math.floor(n / CHUNK_ROWS) : undefined;
}

function chunkKey(chunk: number): string {
  return encodeRowidKey(chunk * CHUNK_ROWS);
}

/** The chunk of a row key, or of a range bound that is a number; undefined for other keys. */
function chunkOfKey(key: string): number | undefined {
  const n = numberOfKey(key);
  return n === undefined ? undefined : chunkOf(n);
}

// --- reads ---------------------------------------------------------------------------------

/**
 * The prefix (chunk key + hex16(end)) of the block of the chunk under `ck` that holds `lsn`, from
 * the first entry at or after chunk key + hex16(lsn + 1); undefined when there is none.
 */
function blockOf(e: [string, Value[]] | undefined, ck: string): string | undefined {
  if (e === undefined || !e[0].startsWith(ck) || e[0][CHUNK_KEY_CHARS] === DIRECTORY_MARK) return undefined;
  return e[0].slice(0, CHUNK_KEY_CHARS + LSN_SUFFIX_CHARS);
}

/** The version visible at `lsn` of the row whose block entries start with `versionsOf`, from its first entry ending after `lsn`. */
function visibleIn(e: [string, Value[]] | undefined, versionsOf: string, lsn: Lsn): Value[] | undefined {
  return e !== undefined && isVersionOf(e[0], versionsOf) && historyBegunBy(e[1], lsn) ? historyAsCurrent(e[1]) : undefined;
}

/**
 * The version of the row under `key` visible at `lsn` (current-record layout) when a block holds
 * `lsn`; NO_BLOCK when none does, NOT_CACHED when a page would have to be read (use getInBlocks).
 */
export function getInBlocksCached(t: BlockTrees, key: string, lsn: Lsn): Value[] | undefined | typeof NO_BLOCK | typeof NOT_CACHED {
  const n = numberOfKey(key);
  const c = n === undefined ? undefined : chunkOf(n);
  if (c === undefined) return NO_BLOCK;
  const f = findBlockCached(t, c, lsn);
  if (f === NOT_CACHED || f === NO_BLOCK) return f;
  if (f.decoded !== undefined) return f.decoded.get(n! - c * CHUNK_ROWS, Number(lsn));
  if (++f.lookups === BLOCK_LOOKUPS_RENT) {
    f.decoded = decodeBlockCached(t.blocks, f.prefix, c);
    if (f.decoded !== undefined) return f.decoded.get(n! - c * CHUNK_ROWS, Number(lsn));
  }
  const e = t.blocks.ceilingCached(historyKey(f.prefix + key, lsn + 1n));
  return e === NOT_CACHED ? NOT_CACHED : visibleIn(e, f.prefix + key, lsn);
}

/** The block of chunk `c` holding `lsn`, from `t.found` or found with a seek (and kept there). */
function findBlockCached(t: BlockTrees, c: number, lsn: Lsn): BlockFind | typeof NO_BLOCK | typeof NOT_CACHED {
  const f = t.found.get(c);
  if (f !== undefined && f.lsn === lsn) return f;
  const ck = chunkKey(c);
  const first = t.blocks.ceilingCached(historyKey(ck, lsn + 1n));
  if (first === NOT_CACHED) return NOT_CACHED;
  const prefix = blockOf(first, ck);
  if (prefix === undefined) return NO_BLOCK;
  if (f !== undefined && f.prefix === prefix) {
    f.lsn = lsn;
    return f;
  }
  if (t.found.size >= BLOCK_FINDS_MAX) t.found.clear();
  const found: BlockFind = { lsn, prefix, lookups: 0, decoded: undefined };
  t.found.set(c, found);
  return found;
}

/**
 * The block under `prefix` (of chunk `c`) decoded, walking its entries on cached pages;
 * undefined when a page is not cached, an LSN is a bigint or the block is over DECODED_ENTRIES_MAX.
 */
function decodeBlockCached(blocks: BTree, prefix: string, c: number): DecodedBlock | undefined {
  const offsets: number[] = [];
  const from: number[] = [];
  const to: number[] = [];
  const records: Value[][] = [];
  let e = blocks.ceilingCached(prefix);
  for (let i = 0; e !== undefined && e !== NOT_CACHED && e[0].startsWith(prefix); i++) {
    const rec = e[1];
    const began = rec[rec.length - 4];
    const ended = rec[rec.length - 2];
    const row = numberOfKey(rowKeyOf(e[0]).slice(prefix.length));
    if (i === DECODED_ENTRIES_MAX || typeof began !== 'number' || typeof ended !== 'number' || row === undefined) return undefined;
    offsets.push(row - c * CHUNK_ROWS);
    from.push(began);
    to.push(ended);
    records.push(historyAsCurrent(rec));
    e = blocks.nextCached(e[0]) ?? blocks.ceilingCached(e[0] + '\0');
  }
  return e === NOT_CACHED ? undefined : new DecodedBlock(Float64Array.from(offsets), from, to, records);
}

/** `getInBlocksCached`, reading pages as needed. */
export async function getInBlocks(blocks: BTree, key: string, lsn: Lsn): Promise<Value[] | undefined | typeof NO_BLOCK> {
  const c = chunkOfKey(key);
  if (c === undefined) return NO_BLOCK;
  const ck = chunkKey(c);
  const prefix = blockOf(await ceiling(blocks, historyKey(ck, lsn + 1n)), ck);
  if (prefix === undefined) return NO_BLOCK;
  return visibleIn(await ceiling(blocks, historyKey(prefix + key, lsn + 1n)), prefix + key, lsn);
}

/**
 * Rows of a key range as they were at `lsn`, in key order: each chunk with a block holding `lsn`
 * from that block, and the key ranges between such chunks from `between` (history and current
 * rows). Chunks without blocks cost nothing: one seek finds the next chunk that has some.
 */
export async function* scanWithBlocks(
  blocks: BTree,
  range: KeyRange,
  lsn: Lsn,
  withKeys: boolean,
  between: (r: KeyRange) => AsyncGenerator<EntryBatch>,
): AsyncGenerator<EntryBatch> {
  // Where the rows not yet read begin: range.lo, then the end of each chunk read from a block.
  let lo = range.lo;
  let loInclusive = range.loInclusive;
  const c0 = lo === undefined ? undefined : chunkOfKey(lo);
  let seekFrom = lo === undefined ? '' : c0 === undefined ? lo : chunkKey(c0);
  for (let chunks = 0; chunks < Number.MAX_SAFE_INTEGER; chunks++) {
    const e = await ceiling(blocks, seekFrom);
    if (e === undefined) break;
    const ck = e[0].slice(0, CHUNK_KEY_CHARS);
    const c = chunkOfKey(ck);
    if (c === undefined || !belowHi(ck, range)) break;
    const next = chunkKey(c + 1);
    const prefix = blockOf(await ceiling(blocks, historyKey(ck, lsn + 1n)), ck);
    if (prefix !== undefined) {
      if (lo === undefined || lo < ck) yield* between({ lo, loInclusive, hi: ck, hiInclusive: false });
      yield* blockRows(blocks, prefix, ck, next, range, lsn, withKeys);
      lo = next;
      loInclusive = true;
    }
    seekFrom = next;
  }
  if (lo === undefined || belowHi(lo, range)) yield* between({ lo, loInclusive, hi: range.hi, hiInclusive: range.hiInclusive });
}

/** The rows of one chunk visible at `lsn`, from its block under `prefix`, within `range`. */
async function* blockRows(blocks: BTree, prefix: string, ck: string, next: string, range: KeyRange, lsn: Lsn, withKeys: boolean): AsyncGenerator<EntryBatch> {
  const fromLo = range.lo !== undefined && range.lo >= ck;
  const toHi = range.hi !== undefined && range.hi < next;
  const within: KeyRange = {
    lo: fromLo ? prefix + range.lo : prefix,
    loInclusive: fromLo ? range.loInclusive : true,
    hi: toHi ? prefix + range.hi : prefix + HISTORY_KEY_END,
    hiInclusive: toHi ? range.hiInclusive : false,
  };
  for await (const batch of visibleHistoryBatches(blocks, within, lsn)) {
    yield { keys: withKeys ? batch.keys.map((k) => rowKeyOf(k).slice(prefix.length)) : [], rows: batch.rows };
  }
}

// --- writes --------------------------------------------------------------------------------

/**
 * At a checkpoint: the blocks of every chunk in which versions ended since the last one, and
 * their directory entries. Blocks are cut only at LSNs every version of which has been applied.
 */
export async function writeBlocks(t: BlockTrees): Promise<void> {
  for (const [chunk, ended] of t.endedByChunk) await closeChunk(t, chunk, ended);
  t.endedByChunk.clear();
}

async function closeChunk(t: BlockTrees, chunk: number, endedNow: number): Promise<void> {
  const ck = chunkKey(chunk);
  const dir = await t.blocks.get(ck + DIRECTORY_MARK);
  let end = dir ? toLsn(dir[0]!) : 0n;
  let ended = (dir ? (dir[1] as number) : 0) + endedNow;
  if (ended >= BLOCK_ENDED_MIN) [end, ended] = await cutBlocks(t, chunk, end);
  if (end > t.blockEndMax) t.blockEndMax = end;
  await t.blocks.put(ck + DIRECTORY_MARK, [int(end), ended]);
}

/**
 * Writes the chunk's blocks after `start`, one per BLOCK_ENDED_MIN versions that ended (a block
 * ends at an LSN that ended one, never between two versions ending at the same LSN); returns the
 * last block's end and how many versions ended after it.
 */
async function cutBlocks(t: BlockTrees, chunk: number, start: bigint): Promise<[bigint, number]> {
  const ck = chunkKey(chunk);
  const hi = chunkKey(chunk + 1);
  const ended = await endedSince(t.history, ck, hi, start);
  const ends = ended.map(([, rec]) => historyTo(rec)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const cuts: bigint[] = [];
  let since = 0;
  for (let i = 0; i < ends.length; i++) {
    since++;
    if (since >= BLOCK_ENDED_MIN && (i + 1 === ends.length || ends[i + 1] !== ends[i])) {
      cuts.push(ends[i]!);
      since = 0;
    }
  }
  if (cuts.length === 0) return [start, since];
  for (const [row, rec] of ended) await putInBlocks(t.blocks, ck, cuts, start, row, rec);
  for await (const [row, cur] of t.rows.scan({ lo: ck, hi, hiInclusive: false })) {
    await putInBlocks(t.blocks, ck, cuts, start, row, [...cur, OPEN_END_LSN, null]);
  }
  return [cuts[cuts.length - 1]!, since];
}

/** Puts a version in each block it was current in: those ending after its start and beginning before its end. */
async function putInBlocks(blocks: BTree, ck: string, cuts: bigint[], start: bigint, row: string, rec: Value[]): Promise<void> {
  const from = historyFrom(rec);
  const to = historyTo(rec);
  let k = 0;
  while (k < cuts.length && cuts[k]! <= from) k++;
  for (; k < cuts.length && (k === 0 ? start : cuts[k - 1]!) < to; k++) {
    const pending = blocks.put(ck + lsnHex(cuts[k]!) + row + lsnHex(to), rec);
    if (pending) await pending;
  }
}

/** The history entries of the rows in [lo, hi) that ended after `start`, as [row key, record], in key order. */
async function endedSince(history: BTree, lo: string, hi: string, start: bigint): Promise<Array<[string, Value[]]>> {
  const out: Array<[string, Value[]]> = [];
  let e = await ceiling(history, lo);
  for (let steps = 0; e !== undefined && e[0] < hi && steps < Number.MAX_SAFE_INTEGER; steps++) {
    const hk = e[0];
    if (historyTo(e[1]) > start) {
      out.push([rowKeyOf(hk), e[1]]);
      // A row's versions sort by end: the rest of this row's ended after `start` too.
      e = history.nextCached(hk) ?? (await ceiling(history, hk + '\0'));
    } else {
      e = await ceiling(history, historyKey(rowKeyOf(hk), start + 1n));
    }
  }
  return out;
}
