/**
 * Running one statement on both engines and deciding whether the answers agree.
 *
 * Values are normalized to DoSQL's API convention before comparing: SQLite (through better-sqlite3
 * with safeIntegers) returns every INTEGER as a bigint and every REAL as a number; DoSQL returns an
 * INTEGER as a number inside the safe range and a bigint past it, and a REAL as a number. So a
 * SQLite bigint inside the safe range becomes a number; everything else is kept. That is exact:
 * an INTEGER past 2^53 and a REAL of the same magnitude still differ (bigint vs number). The one
 * ambiguity of the API, an integral REAL inside the safe range reading like an INTEGER, is covered
 * by the generator wrapping expressions in typeof(). REALs compare exactly except that -0 equals 0;
 * BLOBs compare by bytes.
 *
 * Rows are compared as a sorted multiset unless the caller says the order is fully determined.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Database } from '../../index.js';

export type Cell = null | number | bigint | string | Uint8Array;

/** An engine's answer: the rows, or the fact that it failed (any message). */
export type Outcome = { ok: true; rows: Cell[][] } | { ok: false; message: string };

const SAFE_MAX = 9007199254740991n;

export function normalizeSqlite(x: unknown): Cell {
  if (x === null || typeof x === 'string') return x;
  if (typeof x === 'bigint') return x >= -SAFE_MAX && x <= SAFE_MAX ? Number(x) : x;
  if (typeof x === 'number') return x;
  if (x instanceof Uint8Array) return new Uint8Array(x);
  throw new Error(`unexpected SQLite value ${String(x)}`);
}

/** A canonical text for one cell, equal exactly when the cells are equal under the rules above. */
export function cellKey(v: Cell): string {
  if (v === null) return 'N';
  switch (typeof v) {
    case 'number':
      return Object.is(v, -0) ? 'n:0' : `n:${String(v)}`;
    case 'bigint':
      return `b:${v.toString()}`;
    case 'string':
      return `s:${JSON.stringify(v)}`;
    default:
      return `x:${Buffer.from(v).toString('hex')}`;
  }
}

export function rowKey(row: readonly Cell[]): string {
  return row.map(cellKey).join(' | ');
}

export function runSqlite(db: BetterSqlite3.Database, sql: string): Outcome {
  try {
    const st = db.prepare(sql);
    if (!st.reader) {
      st.run();
      return { ok: true, rows: [] };
    }
    const rows = st.safeIntegers(true).raw(true).all() as unknown[][];
    return { ok: true, rows: rows.map((r) => r.map(normalizeSqlite)) };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

export async function runDosql(db: Database, sql: string, write: boolean): Promise<Outcome> {
  try {
    if (write) {
      await db.exec(sql);
      return { ok: true, rows: [] };
    }
    const { rows } = await db.query(sql);
    return { ok: true, rows: rows.map((r) => r.map((c) => c as Cell)) };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

/** Undefined when the outcomes agree, else a description of the difference. */
export function difference(sqlite: Outcome, dosql: Outcome, ordered: boolean): string | undefined {
  if (!sqlite.ok && !dosql.ok) return undefined;
  if (!sqlite.ok) return `SQLite failed (${sqlite.message}) but DoSQL returned ${show(dosql)}`;
  if (!dosql.ok) return `DoSQL failed (${dosql.message}) but SQLite returned ${show(sqlite)}`;
  const a = sqlite.rows.map(rowKey);
  const b = dosql.rows.map(rowKey);
  if (!ordered) {
    a.sort();
    b.sort();
  }
  if (a.length === b.length && a.every((k, i) => k === b[i])) return undefined;
  return `rows differ${ordered ? ' (ordered)' : ''}:\n  SQLite: ${showKeys(a)}\n  DoSQL:  ${showKeys(b)}`;
}

const SHOWN_ROWS_MAX = 12;

function showKeys(keys: string[]): string {
  const head = keys.slice(0, SHOWN_ROWS_MAX).map((k) => `[${k}]`).join(' ');
  return `${keys.length} rows ${head}${keys.length > SHOWN_ROWS_MAX ? ' ...' : ''}`;
}

function show(o: Outcome): string {
  return o.ok ? showKeys(o.rows.map(rowKey)) : `error ${o.message}`;
}
