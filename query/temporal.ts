/**
 * Time travel in SQL: `FOR SYSTEM_TIME AS OF LSN n | TIMESTAMP t`, `BETWEEN a AND b` and `ALL` on
 * a table reference, and the statement-wide `asOf` option.
 *
 * AS OF resolves to one LSN, the state right after the commit at that LSN (for a timestamp: the
 * last commit at or before it), and reads the table's versions valid there (see the versioned
 * layout in materializers/tables.ts). BETWEEN and ALL return every version of the matching rows
 * that was current at some point in the range, with four period columns:
 *
 *   _valid_from_lsn  LSN of the commit that wrote the version
 *   _valid_to_lsn    LSN of the commit that replaced or deleted it; NULL while current
 *   _valid_from      that commit's time, ISO-8601 UTC text with milliseconds
 *   _valid_to        the ending commit's time; NULL while current
 *
 * In BETWEEN, an INTEGER bound is an LSN and a TEXT bound an ISO-8601 timestamp (both inclusive).
 */
import { DosqlError } from '../base/errors.js';
import type { Value } from '../base/values.js';
import { hlcPhysicalMs } from '../log/hlc.js';
import type { TableDef } from '../log/types.js';
import type { SystemTime } from './ast.js';
import { compileExpr, type CompileContext } from './expr.js';
import { Scope, type Env } from './scope.js';
import * as V from './values/index.js';

export const PERIOD_COLUMNS = ['_valid_from_lsn', '_valid_to_lsn', '_valid_from', '_valid_to'];

/** How a table reference reads time: at one LSN, or every version within [from, to]. */
export type TimeSpec = { kind: 'as_of'; lsn: bigint } | { kind: 'versions'; from: bigint; to: bigint };

/** Compile a FOR SYSTEM_TIME clause into a function giving its TimeSpec for a run. */
export function compileSystemTime(clause: SystemTime, cx: CompileContext): (env: Env) => Promise<TimeSpec> {
  const empty = new Scope(cx.fail);
  const c = (e: import('./ast.js').Expr) => compileExpr(e, empty, cx);
  switch (clause.kind) {
    case 'as_of_lsn': {
      const e = c(clause.lsn);
      return async (env) => {
        await env.run.refreshRetention();
        return { kind: 'as_of', lsn: env.run.checkAsOf(lsnValue(await e.fn(env))) };
      };
    }
    case 'as_of_timestamp': {
      const e = c(clause.timestamp);
      return async (env) => {
        await env.run.refreshRetention();
        return { kind: 'as_of', lsn: env.run.checkAsOf(await env.run.lsnAtTimestamp(timestampMs(await e.fn(env)))) };
      };
    }
    case 'between': {
      const [a, b] = [c(clause.from), c(clause.to)];
      return async (env) => ({ kind: 'versions', from: await bound(await a.fn(env), env), to: await bound(await b.fn(env), env) });
    }
    case 'all':
      return async () => ({ kind: 'versions', from: 0n, to: BigInt(Number.MAX_SAFE_INTEGER) });
  }
}

async function bound(v: Value, env: Env): Promise<bigint> {
  if (typeof v === 'string') return env.run.lsnAtTimestamp(timestampMs(v));
  return lsnValue(v);
}

/** An LSN given in SQL or through the API: a non-negative integer. */
export function lsnValue(v: Value | undefined): bigint {
  if (typeof v === 'bigint' && v >= 0n) return v;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  throw new DosqlError('MISMATCH', `an LSN must be a non-negative integer; got ${v === null ? 'NULL' : V.toText(v ?? null)}`);
}

/** Unix ms from a Date, an ISO-8601 string or a number of ms. */
export function timestampMs(v: unknown): number {
  const ms = v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : NaN;
  if (!Number.isFinite(ms)) throw new DosqlError('MISMATCH', `not a timestamp: ${String(v)} (use ISO-8601 text or Unix milliseconds)`);
  return ms;
}

/** A stored version `[rowid, ...columns, from, fromHlc, to, toHlc]` as a row with period columns. */
export function periodRow(def: TableDef, rec: Value[]): Value[] {
  // The four version fields end the record, whatever the layout of the columns before them.
  const from = rec.length - 4;
  const out = rec.slice(0, def.columns.length + 1);
  out.push(rec[from]!, rec[from + 2] ?? null, iso(rec[from + 1] ?? null), iso(rec[from + 3] ?? null));
  return out;
}

/**
 * A record written under an older definition of the table (before ADD or DROP COLUMN) in the
 * current one's column layout: columns matched by name, a renamed one by position; columns that
 * did not exist then read NULL; the version fields after them are kept as they are.
 */
export function inLayout(def: TableDef, past: TableDef | undefined, rec: Value[]): Value[] {
  if (!past || past.columns === def.columns) return rec;
  const n = past.columns.length;
  const at = def.columns.map((c) => past.columns.findIndex((p) => p.name.toLowerCase() === c.name.toLowerCase()));
  // A column not found by name takes its position's value when no other column claimed it
  // (RENAME COLUMN keeps positions); otherwise it did not exist then and reads NULL.
  const claimed = new Set(at.filter((j) => j >= 0));
  const mapped = at.map((j, i) => (j >= 0 ? j : i < n && !claimed.has(i) ? i : -1));
  return [rec[0]!, ...mapped.map((j) => (j >= 0 ? (rec[1 + j] ?? null) : null)), ...rec.slice(1 + n)];
}

function iso(h: Value): Value {
  if (h === null) return null;
  return new Date(hlcPhysicalMs(typeof h === 'bigint' ? h : BigInt(h as number))).toISOString();
}

