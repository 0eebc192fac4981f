/**
 * INSERT, UPDATE and DELETE: computing the row changes a statement makes and recording them in the
 * transaction, with SQLite's constraint checks (NOT NULL, PRIMARY KEY and UNIQUE with their
 * conflict actions) and type affinity applied to every stored value.
 *
 * UPDATE and DELETE first collect the rows they will touch, then change them: a statement never
 * sees its own writes (no Halloween problem), and the scan never runs over a structure that is
 * being modified.
 */
import { DosqlError } from '../base/errors.js';
import { INT64_MAX, int, isInteger, type Value } from '../base/values.js';
import type { TableDef } from '../log/types.js';
import type { ConflictAction, CreateTableStmt, DeleteStmt, Expr, InsertStmt, UpdateStmt } from './ast.js';
import { compileExpr, type Compiled, type SyncFn } from './expr.js';
import { parseOne } from './parser.js';
import { rowKey, uniqueKey } from '../materializers/tables.js';
import { Scope, type Env } from './scope.js';
import { compileSelect, compileTable, type PlanContext, type SelectRun } from './select.js';
import { columnsOf, type StoredRow } from './txn.js';
import { fireTriggers } from './triggers.js';
import * as V from './values/index.js';

export interface DmlResult {
  rowsAffected: number;
  lastInsertRowid?: number | bigint;
}

export interface DmlPlan {
  run(env: Env): Promise<DmlResult>;
}

const defaultsCache = new WeakMap<TableDef, Array<Expr | undefined>>();

/** DEFAULT expressions of a table, re-parsed from its CREATE statement once per definition. */
function defaultsOf(def: TableDef): Array<Expr | undefined> {
  let d = defaultsCache.get(def);
  if (!d) {
    const stmt = parseOne(def.sql).statement as CreateTableStmt;
    d = def.columns.map((_, i) => stmt.columns[i]?.constraints.default);
    defaultsCache.set(def, d);
  }
  return d;
}

function requireTable(name: string, pos: number, cx: PlanContext): TableDef {
  const def = cx.table(name);
  if (!def) return cx.fail('NO_SUCH_TABLE', `no such table: ${name}`, pos);
  if (def.view) return cx.fail('ERROR', `cannot modify ${name} because it is a view`, pos);
  return def;
}

export function compileInsert(stmt: InsertStmt, cx: PlanContext): DmlPlan {
  if (stmt.upsert?.length) cx.fail('ERROR', 'ON CONFLICT upsert is not supported yet', stmt.pos);
  if (stmt.returning) cx.fail('ERROR', 'RETURNING is not supported yet', stmt.pos);
  if (stmt.with) cx.fail('ERROR', 'WITH clauses are not supported yet', stmt.pos);
  const def = requireTable(stmt.table, stmt.pos, cx);
  const targets = stmt.columns
    ? stmt.columns.map((name) => {
        const i = def.columns.findIndex((c) => c.name.toLowerCase() === name.toLowerCase());
        if (i < 0 && ['rowid', 'oid', '_rowid_'].includes(name.toLowerCase()) && def.rowidColumn < 0) return -1;
        if (i < 0) cx.fail('NO_SUCH_COLUMN', `table ${def.name} has no column named ${name}`, stmt.pos);
        return i;
      })
    : def.columns.map((_, i) => i);
  const empty = new Scope(cx.fail, cx.outer);
  const defaults = defaultsOf(def).map((e) => (e ? compileExpr(e, empty, cx) : undefined));
  const action = stmt.orConflict ?? 'ABORT';
  let source: (env: Env) => Value[][] | Promise<Value[][]>;
  if (stmt.source.kind === 'values') {
    const rows = stmt.source.rows.map((r) => {
      if (r.length !== targets.length) {
        cx.fail('ERROR', `${targets.length} columns but ${r.length} values were supplied`, stmt.pos);
      }
      return r.map((e) => compileExpr(e, empty, cx));
    });
    source = rows.every((r) => r.every((c) => !c.async)) ? (env) => evalRowsSync(rows, env) : (env) => evalRows(rows, env);
  } else if (stmt.source.kind === 'select') {
    const plan = compileSelect(stmt.source.select, cx.outer, cx);
    if (plan.columnCount !== targets.length) {
      cx.fail('ERROR', `table ${def.name} has ${targets.length} columns but ${plan.columnCount} values were supplied`, stmt.pos);
    }
    source = (env) => plan.run(env);
  } else {
    source = () => [[]];
  }
  const isDefaultValues = stmt.source.kind === 'default';
  // Columns the statement leaves to their DEFAULT, decided once per plan.
  const defaulted = defaults.flatMap((d, i) => (d && (isDefaultValues || !targets.includes(i)) ? [i] : []));
  return {
    async run(env) {
      const txn = (env.run as SelectRun).txn;
      let affected = 0;
      let last: number | bigint | undefined;
      let rows = source(env);
      if (rows instanceof Promise) rows = await rows;
      for (const vals of rows) {
        const row: Value[] = new Array(def.columns.length).fill(null);
        let explicitRowid: Value = null;
        if (!isDefaultValues) {
          for (let i = 0; i < targets.length; i++) {
            const t = targets[i]!;
            if (t < 0) explicitRowid = vals[i]!;
            else row[t] = vals[i]!;
          }
        }
        for (const i of defaulted) {
          const d = defaults[i]!;
          row[i] = d.async ? await d.fn(env) : (d.fn as SyncFn)(env);
        }
        const rowid = await insertOne(def, row, explicitRowid, action, env.run as SelectRun);
        if (rowid !== undefined) {
          affected++;
          last = rowid;
        }
      }
      return { rowsAffected: affected, lastInsertRowid: last };
    },
  };
}

function evalRowsSync(rows: Compiled[][], env: Env): Value[][] {
  return rows.map((r) => r.map((c) => (c.fn as SyncFn)(env)));
}

async function evalRows(rows: Compiled[][], env: Env): Promise<Value[][]> {
  const out: Value[][] = [];
  for (const r of rows) {
    const vals: Value[] = [];
    for (const c of r) vals.push(c.async ? await c.fn(env) : (c.fn(env) as Value));
    out.push(vals);
  }
  return out;
}

/** Apply affinity and NOT NULL; returns the row ready to store (mutates `row`). */
function prepareRow(def: TableDef, row: Value[]): void {
  for (let i = 0; i < row.length; i++) {
    const col = def.columns[i]!;
    if (row[i] !== null) row[i] = V.applyAffinity(row[i]!, col.affinity);
    else if (col.notNull && i !== def.rowidColumn) {
      throw new DosqlError('CONSTRAINT_NOTNULL', `NOT NULL constraint failed: ${def.name}.${col.name}`);
    }
  }
}

function toRowid(v: Value): number | bigint {
  const n = V.applyAffinity(v, 'INTEGER');
  if (isInteger(n)) return n;
  throw new DosqlError('MISMATCH', 'datatype mismatch');
}

async function insertOne(
  def: TableDef,
  row: Value[],
  explicitRowid: Value,
  action: ConflictAction,
  run: SelectRun,
): Promise<number | bigint | undefined> {
  const txn = run.txn;
  prepareRow(def, row);
  let given = def.rowidColumn >= 0 ? row[def.rowidColumn]! : explicitRowid;
  let rowid: number | bigint;
  if (given !== null) rowid = toRowid(given);
  else rowid = nextRowid(txn.maxRowid(def));
  if (def.rowidColumn >= 0) row[def.rowidColumn] = rowid;
  const key = rowKey(def, rowid, row);
  let existing = txn.getRow(def, key);
  if (existing instanceof Promise) existing = await existing;
  if (existing) {
    if (action === 'IGNORE') return undefined;
    if (action !== 'REPLACE') throw uniqueError(def, def.primaryKey.length ? def.primaryKey : [def.rowidColumn]);
    txn.deleteRow(def, existing[0] as number | bigint, columnsOf(def, existing));
  }
  for (let u = 0; u < def.uniques.length; u++) {
    const k = uniqueKey(def, u, row);
    if (k === undefined) continue;
    const owner = await txn.uniqueOwner(def, u, k);
    if (owner === undefined) continue;
    if (action === 'IGNORE') return undefined;
    if (action !== 'REPLACE') throw uniqueError(def, def.uniques[u]!);
    const victim = await findByRowid(def, owner, txn);
    if (victim) txn.deleteRow(def, owner, columnsOf(def, victim));
  }
  if (def.triggers && !(await fireTriggers(def, 'INSERT', 'BEFORE', { new: [rowid, ...row] }, run))) return undefined;
  txn.insertRow(def, rowid, row);
  if (def.triggers) await fireTriggers(def, 'INSERT', 'AFTER', { new: [rowid, ...row] }, run);
  return rowid;
}

function nextRowid(max: number | bigint): number | bigint {
  if (typeof max === 'bigint') {
    if (max >= INT64_MAX) throw new DosqlError('ERROR', 'database or disk is full (rowid space exhausted)');
    return int(max + 1n);
  }
  return max >= Number.MAX_SAFE_INTEGER ? BigInt(max) + 1n : max + 1;
}

async function findByRowid(def: TableDef, rowid: number | bigint, txn: SelectRun['txn']): Promise<StoredRow | undefined> {
  if (def.primaryKey.length === 0) return txn.getRow(def, rowKey(def, rowid, []));
  for await (const r of txn.scan(def)) if (r[0] === rowid) return r;
  return undefined;
}

function uniqueError(def: TableDef, cols: number[]): DosqlError {
  const names = cols.map((i) => (i < 0 ? `${def.name}.rowid` : `${def.name}.${def.columns[i]!.name}`));
  return new DosqlError('CONSTRAINT_UNIQUE', `UNIQUE constraint failed: ${names.join(', ')}`);
}

/** The rows of `table` matching WHERE, as [rowid, ...columns] records, collected before changing any. */
function compileMatch(table: string, alias: string | undefined, where: Expr | undefined, pos: number, cx: PlanContext) {
  const scope = new Scope(cx.fail, cx.outer);
  const producer = compileTable({ kind: 'table', name: table, alias, pos }, scope, cx, where);
  const cond = where ? compileExpr(where, scope, cx) : undefined;
  return {
    scope,
    async collect(env: Env): Promise<StoredRow[]> {
      const local: Env = { rows: [null], outer: env.outer, agg: undefined, run: env.run };
      const out: StoredRow[] = [];
      await producer(local, async () => {
        if (!cond || V.isTruthy(await cond.fn(local)) === true) out.push(local.rows[0]!);
        return true;
      });
      return out;
    },
  };
}

export function compileUpdate(stmt: UpdateStmt, cx: PlanContext): DmlPlan {
  if (stmt.from || stmt.returning || stmt.orderBy || stmt.limit || stmt.with) {
    cx.fail('ERROR', 'UPDATE with FROM, RETURNING, ORDER BY, LIMIT or WITH is not supported yet', stmt.pos);
  }
  const def = requireTable(stmt.table, stmt.pos, cx);
  const match = compileMatch(stmt.table, stmt.alias, stmt.where, stmt.pos, cx);
  const sets: Array<{ index: number; value: Compiled }> = [];
  for (const s of stmt.set) {
    if (s.columns.length !== 1) cx.fail('ERROR', 'row-value SET is not supported yet', s.pos);
    const name = s.columns[0]!.toLowerCase();
    let index = def.columns.findIndex((c) => c.name.toLowerCase() === name);
    if (index < 0 && ['rowid', 'oid', '_rowid_'].includes(name) && def.rowidColumn < 0) index = -1;
    else if (index < 0) cx.fail('NO_SUCH_COLUMN', `no such column: ${s.columns[0]}`, s.pos);
    sets.push({ index: index < 0 ? -1 : index + 1, value: compileExpr(s.value, match.scope, cx) });
  }
  const action = stmt.orConflict ?? 'ABORT';
  const setColumns = stmt.set.flatMap((x) => x.columns.map((c) => c.toLowerCase()));
  return {
    async run(env) {
      const rows = await match.collect(env);
      const local: Env = { rows: [null], outer: env.outer, agg: undefined, run: env.run };
      let affected = 0;
      for (const rec of rows) {
        local.rows[0] = rec;
        const next = rec.slice();
        for (const s of sets) next[s.index < 0 ? 0 : s.index] = await s.value.fn(local);
        if (await updateOne(def, rec, next, action, env.run as SelectRun, setColumns)) affected++;
      }
      return { rowsAffected: affected };
    },
  };
}

async function updateOne(def: TableDef, rec: StoredRow, next: Value[], action: ConflictAction, run: SelectRun, setColumns: string[]): Promise<boolean> {
  const txn = run.txn;
  const oldRowid = rec[0] as number | bigint;
  const before = columnsOf(def, rec);
  const row = columnsOf(def, next);
  prepareRow(def, row);
  let rowid: number | bigint = def.rowidColumn >= 0 ? toRowid(row[def.rowidColumn] ?? oldRowid) : toRowid(next[0] ?? oldRowid);
  if (def.rowidColumn >= 0) row[def.rowidColumn] = rowid;
  const oldKey = rowKey(def, oldRowid, before);
  const newKey = rowKey(def, rowid, row);
  if (newKey !== oldKey) {
    let clash = txn.getRow(def, newKey);
    if (clash instanceof Promise) clash = await clash;
    if (clash) {
      if (action === 'IGNORE') return false;
      if (action !== 'REPLACE') throw uniqueError(def, def.primaryKey.length ? def.primaryKey : [def.rowidColumn]);
      txn.deleteRow(def, clash[0] as number | bigint, columnsOf(def, clash));
    }
  }
  for (let u = 0; u < def.uniques.length; u++) {
    const k = uniqueKey(def, u, row);
    if (k === undefined || k === uniqueKey(def, u, before)) continue;
    const owner = await txn.uniqueOwner(def, u, k);
    if (owner === undefined || owner === oldRowid) continue;
    if (action === 'IGNORE') return false;
    if (action !== 'REPLACE') throw uniqueError(def, def.uniques[u]!);
    const victim = await findByRowid(def, owner, txn);
    if (victim) txn.deleteRow(def, owner, columnsOf(def, victim));
  }
  const images = { new: [rowid, ...row], old: rec };
  if (def.triggers && !(await fireTriggers(def, 'UPDATE', 'BEFORE', images, run, setColumns))) return false;
  if (newKey === oldKey && rowid === oldRowid) txn.updateRow(def, rowid, before, row);
  else {
    txn.deleteRow(def, oldRowid, before);
    txn.insertRow(def, rowid, row);
  }
  if (def.triggers) await fireTriggers(def, 'UPDATE', 'AFTER', images, run, setColumns);
  return true;
}

export function compileDelete(stmt: DeleteStmt, cx: PlanContext): DmlPlan {
  if (stmt.returning || stmt.orderBy || stmt.limit || stmt.with) {
    cx.fail('ERROR', 'DELETE with RETURNING, ORDER BY, LIMIT or WITH is not supported yet', stmt.pos);
  }
  const def = requireTable(stmt.table, stmt.pos, cx);
  const match = compileMatch(stmt.table, stmt.alias, stmt.where, stmt.pos, cx);
  return {
    async run(env) {
      const run = env.run as SelectRun;
      const rows = await match.collect(env);
      let affected = 0;
      for (const rec of rows) {
        if (def.triggers && !(await fireTriggers(def, 'DELETE', 'BEFORE', { old: rec }, run))) continue;
        run.txn.deleteRow(def, rec[0] as number | bigint, columnsOf(def, rec));
        affected++;
        if (def.triggers) await fireTriggers(def, 'DELETE', 'AFTER', { old: rec }, run);
      }
      return { rowsAffected: affected };
    },
  };
}
