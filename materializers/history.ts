/**
 * Versions in history: how a replaced version is keyed and stored, and the reads that pick the
 * version of a row visible at an LSN. The table materializer (tables.ts) keeps one history tree
 * per table; history blocks (history-blocks.ts) keep the same entries under a block prefix, so the
 * same walks read both.
 *
 *   history  key + hex16(toLsn)  -> [rowid, ...columns, fromLsn, fromHlc, toLsn, toHlc]
 *
 * A version is valid for fromLsn <= L < toLsn. The versions of one row never overlap, so the first
 * of a row's entries ending after L is the only one that can be visible at L: visible when it had
 * begun by L.
 */
import type { Value } from '../base/values.js';
import type { Lsn } from '../log/types.js';
import { NOT_CACHED, type BTree } from './btree/index.js';

export interface KeyRange {
  lo?: string;
  hi?: string;
  loInclusive?: boolean;
  hiInclusive?: boolean;
}

export function toLsn(v: Value): bigint {
  return typeof v === 'bigint' ? v : BigInt(v as number);
}

/** The first history entry at or after `lo`; no promise when its pages are cached. */
export function ceiling(history: BTree, lo: string): [string, Value[]] | undefined | Promise<[string, Value[]] | undefined> {
  const hit = history.ceilingCached(lo);
  return hit === NOT_CACHED ? history.ceiling(lo) : hit;
}

/**
 * Version fields sit at the end of a stored record ([..., fromLsn, fromHlc] for current rows,
 * [..., fromLsn, fromHlc, toLsn, toHlc] in history), so records written under an older definition
 * of the table (before ADD or DROP COLUMN) are read the same way.
 */
export function historyFrom(rec: Value[]): bigint {
  return toLsn(rec[rec.length - 4]!);
}
export function historyTo(rec: Value[]): bigint {
  return toLsn(rec[rec.length - 2]!);
}
/** A current record begun by `lsn` (visible at it). Compares without making a bigint: reads run it per row. */
export function currentVisible(rec: Value[], lsn: Lsn, at = Number(lsn)): boolean {
  return lsnAtMost(rec[rec.length - 2]!, lsn, at);
}
/** A history record begun by `lsn`. */
export function historyBegunBy(rec: Value[], lsn: Lsn, at = Number(lsn)): boolean {
  return lsnAtMost(rec[rec.length - 4]!, lsn, at);
}
/** A history record that ended after `lsn` (so was not yet replaced at it). */
export function historyEndsAfter(rec: Value[], lsn: Lsn, at = Number(lsn)): boolean {
  return !lsnAtMost(rec[rec.length - 2]!, lsn, at);
}
/**
 * A stored LSN field (a number when safe, else a bigint) <= `lsn`, given `at` = Number(lsn)
 * (callers that compare per row convert once). Exact: a safe number below 2^53 compares right
 * against Number(lsn) even when that rounds, since it then is >= 2^53.
 */
export function lsnAtMost(v: Value, lsn: Lsn, at: number): boolean {
  return typeof v === 'number' ? v <= at : (v as bigint) <= lsn;
}
/** A history record in the current-record layout (its ending fields dropped). */
export function historyAsCurrent(rec: Value[]): Value[] {
  return rec.slice(0, rec.length - 2);
}

/** The row key of a history key. */
export function rowKeyOf(historyKeyText: string): string {
  return historyKeyText.slice(0, -LSN_SUFFIX_CHARS);
}

/** Whether a history key is a version of the row under `key` (and not of a longer key). */
export function isVersionOf(historyKeyText: string, key: string): boolean {
  return historyKeyText.length === key.length + LSN_SUFFIX_CHARS && historyKeyText.startsWith(key);
}

/**
 * The history versions visible at `lsn` for the rows of a key range, in key order, in batches of
 * entries under their history keys (a slice per row for its row key is left to callers that need
 * it). A version is visible when it began by `lsn` and ended after it; the versions of one
 * row never overlap, so that test alone picks at most one per row. After a visible version the
 * walk steps to the next entry (`BTree.nextCached`, no descent), which is the next row's when rows
 * have few versions; after an invisible one it seeks past the row's versions that ended by `lsn`,
 * or past all of them when it began after `lsn` (as every later version of its row did). So a row
 * with thousands of versions costs what one with a few does. Seeks on cached pages complete
 * without a promise, so a reader awaits once per batch rather than once per row.
 */
export async function* visibleHistoryBatches(history: BTree, range: KeyRange, lsn: Lsn): AsyncGenerator<EntryBatch> {
  const { lo, hi } = historyBounds(range);
  let batch: EntryBatch = { keys: [], rows: [] };
  const at = Number(lsn);
  let e = ceiling(history, lo ?? '');
  if (e instanceof Promise) e = await e;
  for (let entries = 0; e !== undefined && entries < Number.MAX_SAFE_INTEGER; entries++) {
    const hk: string = e[0];
    const rec: Value[] = e[1];
    if (hi !== undefined && hk >= hi) break;
    const endsAfter = historyEndsAfter(rec, lsn, at);
    if (endsAfter && historyBegunBy(rec, lsn, at)) {
      batch.keys.push(hk);
      batch.rows.push(historyAsCurrent(rec));
      if (batch.keys.length >= HISTORY_BATCH_ENTRIES) {
        yield batch;
        batch = { keys: [], rows: [] };
      }
      e = history.nextCached(hk) ?? ceiling(history, rowKeyOf(hk) + HISTORY_KEY_END);
    } else {
      const key = rowKeyOf(hk);
      e = ceiling(history, endsAfter ? key + HISTORY_KEY_END : historyKey(key, lsn + 1n));
    }
    if (e instanceof Promise) e = await e;
  }
  if (batch.keys.length) yield batch;
}

/** Entries per batch of `visibleHistoryBatches`. */
export const HISTORY_BATCH_ENTRIES = 64;

/** Entries as two arrays, same order (no pair per entry: scans make one per row). */
export interface EntryBatch {
  keys: string[];
  rows: Value[][];
}

/** Whether `key` lies within `r`. */
export function inRange(key: string, r: KeyRange): boolean {
  if (r.lo !== undefined && (r.loInclusive === false ? key <= r.lo : key < r.lo)) return false;
  return belowHi(key, r);
}

export function belowHi(key: string, range: KeyRange): boolean {
  if (range.hi === undefined) return true;
  return range.hiInclusive === false ? key < range.hi : key <= range.hi;
}

/** All history entries of the rows in a key range, keyed by their full history key. */
export async function* historyRange(history: BTree, range: KeyRange): AsyncGenerator<[string, Value[]]> {
  yield* history.scan({ ...historyBounds(range), hiInclusive: false });
}

/**
 * The history keys of the rows in a key range: from `lo` (inclusive) to `hi` (exclusive), each
 * undefined when the range is open on that side. `key + HISTORY_KEY_END` follows every version of `key`.
 */
export function historyBounds(range: KeyRange): { lo: string | undefined; hi: string | undefined } {
  return {
    lo: range.lo === undefined ? undefined : range.loInclusive === false ? range.lo + HISTORY_KEY_END : range.lo,
    hi: range.hi === undefined ? undefined : range.hiInclusive === false ? range.hi : range.hi + HISTORY_KEY_END,
  };
}

/** Width of the hex LSN suffix of history keys: fixed, so keys of one row sort by toLsn. */
export const LSN_SUFFIX_CHARS = 16;
/** Sorts after every hex suffix: `key + HISTORY_KEY_END` bounds all versions of `key`. */
export const HISTORY_KEY_END = 'g';

/** An LSN as LSN_SUFFIX_CHARS hex digits, which sort as the LSNs do. */
export function lsnHex(lsn: bigint): string {
  return lsn.toString(16).padStart(LSN_SUFFIX_CHARS, '0');
}

export function historyKey(key: string, toLsn: bigint): string {
  // Reads AS OF one LSN ask for the same suffix once per row: keep the last one.
  if (toLsn !== lastSuffixLsn) {
    lastSuffix = lsnHex(toLsn);
    lastSuffixLsn = toLsn;
  }
  return key + lastSuffix;
}
let lastSuffixLsn = -1n;
let lastSuffix = '';
