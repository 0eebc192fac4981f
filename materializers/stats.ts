/**
 * Planner statistics, kept current by the table materializer as it applies the log.
 *
 * The planner needs two numbers to compare access paths: how many rows a table has, and how many
 * rows one value of an index's leading columns selects. SQLite computes the second with ANALYZE,
 * a scan run on demand, and plans from stale figures in between. Here both stay exact at every
 * applied commit instead:
 *
 * - Row count: +1 per insert, -1 per delete, applied with the change.
 * - Distinct values of every prefix of an index's columns ((a), (a, b), ...). Index keys are the
 *   encoded values followed by the row key, and the encoding is self-delimiting, so all entries
 *   sharing a prefix of values are contiguous and start with that prefix's encoding. Before an
 *   entry goes in, one seek per prefix (shortest first, stopping at the first new one) tells
 *   whether that prefix is present; after an entry goes out, the same seeks (longest first) tell
 *   whether it was the last. The seeks land on the page the write touches anyway, so they cost
 *   a cached lookup each.
 *
 * Both are persisted in the checkpoint's meta record with the tree roots, so opening a database
 * reads no more than before. A checkpoint written before statistics existed has no distinct
 * counts: those indexes report `undefined` and the planner assumes SQLite's default (an equality
 * selects about ten rows).
 *
 * Plans are cached per statement, and a plan made for ten rows may be poor for a million, so
 * `statsVersion` moves whenever a table's row count has doubled or halved since the last move;
 * the statement cache recompiles when it changes. That bounds recompilations to a logarithm of
 * the growth, whatever the write rate.
 */
import { assert } from '../base/errors.js';
import type { Value } from '../base/values.js';
import type { IndexDef } from '../log/types.js';
import { BTree, NOT_CACHED, encodeKey } from './btree/index.js';

/** What the planner knows about one table; a snapshot, not updated in place for the caller. */
export interface TableStats {
  /** Rows in the table at the last applied commit (this transaction's own writes excluded). */
  rows: number;
  /**
   * Per index (by lower-cased name), distinct values of each prefix of its columns: entry j
   * counts distinct (c0..cj) tuples, NULLs included as a value. Undefined when not known.
   */
  indexDistinct: Map<string, readonly number[] | undefined>;
}

/**
 * Row-count change (a factor, both ways) that moves `statsVersion` and so replans cached
 * statements; small tables get an absolute slack of `STATS_REPLAN_ROWS_SLACK` rows.
 */
export const STATS_REPLAN_FACTOR = 2;
export const STATS_REPLAN_ROWS_SLACK = 16;

/** Whether a row count moved far enough from the one plans were last made with to replan. */
export function needsReplan(rows: number, plannedRows: number): boolean {
  return rows > plannedRows * STATS_REPLAN_FACTOR + STATS_REPLAN_ROWS_SLACK || rows * STATS_REPLAN_FACTOR + STATS_REPLAN_ROWS_SLACK < plannedRows;
}

/** Fresh distinct counts for an index that has no entries yet. */
export function emptyDistinct(index: IndexDef): number[] {
  return index.columns.map(() => 0);
}

/**
 * Count the prefixes of `row`'s entry in `tree` that are new, before the entry is put. Shorter
 * prefixes are checked first: once one is absent, every longer one is too.
 */
export function countInsertedPrefixes(tree: BTree, index: IndexDef, row: readonly Value[], distinct: number[]): void | Promise<void> {
  const values = index.columns.map((c) => row[c] ?? null);
  for (let j = 1; j <= values.length; j++) {
    const present = hasPrefix(tree, encodeKey(values.slice(0, j)));
    if (present instanceof Promise) return countInsertedAsync(tree, values, distinct, j, present);
    if (!present) return bumpFrom(distinct, j - 1, 1);
  }
}

async function countInsertedAsync(tree: BTree, values: Value[], distinct: number[], from: number, first: Promise<boolean>): Promise<void> {
  if (!(await first)) return bumpFrom(distinct, from - 1, 1);
  for (let j = from + 1; j <= values.length; j++) {
    if (!(await hasPrefix(tree, encodeKey(values.slice(0, j))))) return bumpFrom(distinct, j - 1, 1);
  }
}

/**
 * Count the prefixes of `row`'s entry that vanished, after the entry was deleted. Longer prefixes
 * are checked first: once one is still present, every shorter one is too.
 */
export async function countDeletedPrefixes(tree: BTree, index: IndexDef, row: readonly Value[], distinct: number[]): Promise<void> {
  const values = index.columns.map((c) => row[c] ?? null);
  for (let j = values.length; j >= 1; j--) {
    if (await hasPrefix(tree, encodeKey(values.slice(0, j)))) return;
    distinct[j - 1]! -= 1;
    assert(distinct[j - 1]! >= 0, 'distinct count below zero');
  }
}

function bumpFrom(distinct: number[], from: number, by: number): void {
  for (let k = from; k < distinct.length; k++) distinct[k]! += by;
}

function hasPrefix(tree: BTree, prefix: string): boolean | Promise<boolean> {
  const hit = tree.ceilingCached(prefix);
  if (hit === NOT_CACHED) return tree.ceiling(prefix).then((h) => h !== undefined && h[0].startsWith(prefix));
  return hit !== undefined && hit[0].startsWith(prefix);
}
