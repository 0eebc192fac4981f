/**
 * INSERT, UPDATE and DELETE: computing the row changes a statement makes and recording them in the
 * transaction, with SQLite's constraint checks (NOT NULL, PRIMARY KEY and UNIQUE with their
 * conflict actions) and type affinity applied to every stored value.
 *
 * UPDATE and DELETE first collect the rows they will touch, then change them: a statement never
 * sees its own writes (no Halloween problem), and the scan never runs over a structure that is
 * being modified.
 *
 * The constraints that live only in a table's CREATE text (DEFAULT, CHECK, FOREIGN KEY) are
 * re-parsed from `TableDef.sql` once per definition and cached, so the logged definition stays
 * the single source of truth and ALTER TABLE needs only to rewrite that text.
 *
 * Upsert (ON CONFLICT ... DO NOTHING | DO UPDATE) is decided where the conflict is found: the
 * first clause whose target is the violated constraint (or has no target) handles it; DO UPDATE
 * evaluates its SET over the existing row with the proposed one in scope as `excluded`, and
 * applies it as an ordinary UPDATE of that row. RETURNING rows are computed from each row's image
 * right after its change (the new row for INSERT and UPDATE, the old one for DELETE).
 *
 * FOREIGN KEYs (with `PRAGMA foreign_keys = ON`) hold at the end of each statement, as in SQLite,
 * which counts violations to the statement's end: a multi-row INSERT may add a child before its
 * parent, and a DELETE may remove a parent and its children in either order. A change that leaves
 * a violation open notes what to re-check (`FkPending`): a child row whose parent was missing (by
 * row key), or a parent key that NO ACTION children may still reference (by child table). When the
 * top-level statement (triggers and cascades included) finishes, the child rows still there are
 * checked again and each noted child table is scanned once for the noted keys; a violation left
 * fails the statement, which the database then rolls back whole. RESTRICT fails at once, and
 * CASCADE / SET NULL / SET DEFAULT act at once, as in SQLite. DEFERRABLE INITIALLY DEFERRED is
 * parsed but not kept by the parser, so such keys are checked per statement too.
 *
 * UPDATE and DELETE re-read each collected row before changing it when a cascade or trigger may
 * have changed it since (SQLite seeks each rowid again): a row already deleted is skipped, and an
 * update applies to the row as it is now.
 *
 * The simple shapes also get `runSync`, the same statement without promises, for prepared
 * statements whose pages are cached (about six microseconds of async layering per statement
 * otherwise): INSERT of one VALUES row, UPDATE and DELETE of the row one key lookup finds, all
 * with synchronous expressions, no triggers, no upsert and no OR REPLACE (which may delete other
 * rows). Each row helper has a synchronous twin that mirrors it check for check, in the same
 * order, so errors and results are the same; where a check would need a page read (or a foreign
 * key is enforced) it returns NEEDS_ASYNC before the transaction is touched, and the caller runs
 * `run` instead.
 */
import { DosqlError, assert } from '../base/errors.js';
import { INT64_MAX, int, isInteger, nullRow, type Value } from '../base/values.js';
import type { TableDef } from '../log/types.js';
import type { ConflictAction, CreateTableStmt, DeleteStmt, Expr, ForeignKeyClause, InsertStmt, ResultColumn, UpdateStmt, UpsertClause } from './ast.js';
import { compileExpr, type Compiled, type SyncFn } from './expr.js';
import { parseOne } from './parser.js';
import { NOT_CACHED, encodeKey } from '../materializers/btree/index.js';
import { rowKey, uniqueKey } from '../materializers/tables.js';
import { Scope, rowSource, type Env, type Source } from './scope.js';
import { NEEDS_ASYNC, compileSelect, compileTable, withContext, type PlanContext, type SelectRun } from './select.js';
import { columnsOf, type StoredRow, type Txn } from './txn.js';
import { stored } from './overlay-run.js';
import { fireTriggers } from './triggers.js';
import * as V from './values/index.js';

export interface DmlResult {
  rowsAffected: number;
  lastInsertRowid?: number | bigint;
  /** RETURNING rows, when the statement has a RETURNING clause. */
  rows?: Value[][];
}

export interface DmlPlan {
  /** RETURNING column names; undefined without RETURNING. */
  columns?: string[];
  run(env: Env): Promise<DmlResult>;
  /**
   * `run` without promises, for the shapes that allow it (see the module header): NEEDS_ASYNC,
   * with the transaction untouched, when the statement needs a page read or enforced foreign keys.
   */
  runSync?(env: Env): DmlResult | typeof NEEDS_ASYNC;
  /**
   * `runSync` of an INSERT whose one VALUES row is its parameters ?1..?n in order, with nothing
   * else to evaluate (no DEFAULT, RETURNING or WITH), given the bound parameters (owned by the
   * plan from then on) rather than an Env: what `runMany` calls per parameter set, so a bulk load
   * pays for no Env, expression call or result object per row. `run` holds the statement's state
   * (its parameters are not read). Returns the new rowid, undefined when OR IGNORE skipped the
   * row, or NEEDS_ASYNC with the transaction untouched.
   */
  insertBoundSync?(run: DmlRun, bound: Value[]): number | bigint | undefined | typeof NEEDS_ASYNC;
}

/** A run of DML: the select run plus connection settings that change what DML checks. */
export interface DmlRun extends SelectRun {
  /** PRAGMA foreign_keys: enforce FOREIGN KEY constraints (off by default, as in SQLite). */
  foreignKeys?: boolean;
  /** Checks the running top-level statement owes at its end; set while one runs with foreignKeys. */
  fkPending?: FkPending;
}

/** FOREIGN KEY checks deferred to the end of the top-level statement (see the module header). */
interface FkPending {
  /** Child rows written while a parent they reference was missing, by `<table id>:<row key>`. */
  children: Map<string, { def: TableDef; key: string }>;
  /** Per `<child table id>#<foreign key index>`: parent keys removed that children may reference. */
  parents: Map<string, { child: TableDef; fk: ForeignKey; parent: TableDef; keys: Set<string> }>;
}

/**
 * Run a DML statement's body; for a top-level statement with foreign keys on, then settle the
 * checks it left open. Statements inside triggers share their top-level statement's checks.
 */
async function withForeignKeys<T>(run: DmlRun, body: () => Promise<T>): Promise<T> {
  if (!run.foreignKeys || run.fkPending) return body();
  run.fkPending = { children: new Map(), parents: new Map() };
  try {
    const out = await body();
    await settleForeignKeys(run.txn, run.fkPending);
    return out;
  } finally {
    run.fkPending = undefined;
  }
}

/** True when cascades or triggers may change rows of `def` while a statement on it runs. */
function mayChangeUnderfoot(def: TableDef, run: DmlRun, action: ConflictAction): boolean {
  return run.foreignKeys === true || (def.triggers?.length ?? 0) > 0 || action === 'REPLACE';
}

/** The row `rec` as it is now, undefined once deleted (rec was collected before the changes began). */
async function reread(def: TableDef, rec: StoredRow, txn: Txn): Promise<StoredRow | undefined> {
  let now = txn.getRow(def, rowKey(def, rec[0] as number | bigint, columnsOf(def, rec)));
  if (now instanceof Promise) now = await now;
  return now;
}

/** Most levels of ON DELETE/UPDATE CASCADE followed from one change (SQLite bounds it by its trigger depth). */
export const CASCADE_DEPTH_MAX = 1000;

/** A FOREIGN KEY of a child table: child column indexes -> parent table and (named) columns. */
export interface ForeignKey {
  columns: number[];
  parent: string;
  parentColumns?: string[];
  onDelete: string;
  onUpdate: string;
}

/** What a table's CREATE text says beyond its TableDef. */
interface TableExtras {
  defaults: Array<Expr | undefined>;
  checks: Array<{ expr: Expr; label: string }>;
  foreignKeys: ForeignKey[];
  autoincrement: boolean;
}

const extrasCache = new WeakMap<TableDef, TableExtras>();

/** DEFAULT, CHECK and FOREIGN KEY clauses of a table, re-parsed from its CREATE statement once per definition. */
export function extrasOf(def: TableDef): TableExtras {
  let d = extrasCache.get(def);
  if (d) return d;
  const stmt = parseOne(def.sql).statement as CreateTableStmt;
  const colIndex = (name: string): number => def.columns.findIndex((c) => c.name.toLowerCase() === name.toLowerCase());
  const checks: TableExtras['checks'] = [];
  const foreignKeys: ForeignKey[] = [];
  const fk = (cols: number[], r: ForeignKeyClause): void => {
    foreignKeys.push({ columns: cols, parent: r.table, parentColumns: r.columns, onDelete: (r.onDelete ?? 'NO ACTION').toUpperCase(), onUpdate: (r.onUpdate ?? 'NO ACTION').toUpperCase() });
  };
  stmt.columns.forEach((c, i) => {
    for (const e of c.constraints.check ?? []) checks.push({ expr: e, label: exprText(def.sql, e.pos) });
    if (c.constraints.references) fk([i], c.constraints.references);
  });
  for (const t of stmt.constraints) {
    if (t.kind === 'check') checks.push({ expr: t.expr, label: t.name ?? exprText(def.sql, t.expr.pos) });
    if (t.kind === 'foreign_key') fk(t.columns.map(colIndex), t.references);
  }
  d = {
    defaults: def.columns.map((_, i) => stmt.columns[i]?.constraints.default),
    checks,
    foreignKeys,
    autoincrement: stmt.columns.some((c) => c.constraints.primaryKey?.autoincrement === true),
  };
  extrasCache.set(def, d);
  return d;
}

/** The text of a parenthesized expression starting at `pos` (a CHECK's), up to its closing parenthesis. */
function exprText(sql: string, pos: number): string {
  let depth = 0;
  for (let i = pos; i < sql.length; i++) {
    const ch = sql[i]!;
    if (ch === "'" || ch === '"' || ch === '`') {
      const close = sql.indexOf(ch, i + 1);
      if (close < 0) break;
      i = close;
    } else if (ch === '(') depth++;
    else if (ch === ')') {
      if (depth === 0) return sql.slice(pos, i).trim();
      depth--;
    }
  }
  return sql.slice(pos).trim();
}

function requireTable(name: string, pos: number, cx: PlanContext): TableDef {
  const def = cx.table(name);
  if (!def) return cx.fail('NO_SUCH_TABLE', `no such table: ${name}`, pos);
  if (def.view) return cx.fail('ERROR', `cannot modify ${name} because it is a view`, pos);
  return def;
}

interface CompiledCheck {
  fn: Compiled;
  label: string;
}

function compileChecks(def: TableDef, cx: PlanContext): CompiledCheck[] {
  const checks = extrasOf(def).checks;
  if (!checks.length) return [];
  const scope = new Scope(cx.fail);
  scope.add(rowSource(def, def.name, 0));
  return checks.map((c) => ({ fn: compileExpr(c.expr, scope, { ...cx, sql: def.sql }), label: c.label }));
}

/**
 * CHECK constraints on a new row image: a CHECK that is NULL passes, as in SQLite. Returns false
 * (skip the row) for a failure under OR IGNORE.
 */
async function checkRow(def: TableDef, checks: CompiledCheck[], rec: StoredRow, run: SelectRun, action: ConflictAction): Promise<boolean> {
  if (!checks.length) return true;
  const env: Env = { rows: [rec], outer: undefined, agg: undefined, run };
  for (const c of checks) {
    const v = c.fn.async ? await c.fn.fn(env) : (c.fn.fn as SyncFn)(env);
    if (V.isTruthy(v) !== false) continue;
    if (action === 'IGNORE') return false;
    throw new DosqlError('CONSTRAINT_CHECK', `CHECK constraint failed: ${c.label}`);
  }
  return true;
}

/** `checkRow` for checks that are all synchronous (see allSync). */
function checkRowSync(def: TableDef, checks: CompiledCheck[], rec: StoredRow, run: SelectRun, action: ConflictAction): boolean {
  if (!checks.length) return true;
  const env: Env = { rows: [rec], outer: undefined, agg: undefined, run };
  for (const c of checks) {
    if (V.isTruthy((c.fn.fn as SyncFn)(env)) !== false) continue;
    if (action === 'IGNORE') return false;
    throw new DosqlError('CONSTRAINT_CHECK', `CHECK constraint failed: ${c.label}`);
  }
  return true;
}

function allSync(fns: ReadonlyArray<Compiled | undefined>): boolean {
  return fns.every((f) => f === undefined || !f.async);
}

/** RETURNING: column names and a function from a row image to the returned row. */
interface Returning {
  columns: string[];
  row(rec: StoredRow, env: Env): Promise<Value[]>;
  /** `row` without a promise, when every returned expression is synchronous. */
  rowSync?(rec: StoredRow, env: Env): Value[];
}

function compileReturning(cols: ResultColumn[] | undefined, def: TableDef, name: string, cx: PlanContext): Returning | undefined {
  if (!cols) return undefined;
  const scope = new Scope(cx.fail, cx.outer);
  scope.add(rowSource(def, name, 0));
  const names: string[] = [];
  const fns: Compiled[] = [];
  for (const c of cols) {
    if (c.kind === 'star' || c.kind === 'table_star') {
      if (c.kind === 'table_star' && c.table.toLowerCase() !== name.toLowerCase()) cx.fail('ERROR', `no such table: ${c.table}`, c.pos);
      def.columns.forEach((col) => {
        names.push(col.name);
        fns.push(compileExpr({ kind: 'column', name: col.name, pos: c.pos }, scope, cx));
      });
      continue;
    }
    names.push(c.alias ?? (c.expr.kind === 'column' ? c.expr.name : cx.sql.slice(c.expr.pos, c.end ?? c.expr.pos).trim()));
    fns.push(compileExpr(c.expr, scope, cx));
  }
  const returning: Returning = {
    columns: names,
    async row(rec, outer) {
      const env: Env = { rows: [rec], outer: outer.outer, agg: undefined, run: outer.run };
      const out: Value[] = [];
      for (const f of fns) out.push(f.async ? await f.fn(env) : (f.fn as SyncFn)(env));
      return out;
    },
  };
  if (allSync(fns)) {
    returning.rowSync = (rec, outer) => {
      const env: Env = { rows: [rec], outer: outer.outer, agg: undefined, run: outer.run };
      return fns.map((f) => (f.fn as SyncFn)(env));
    };
  }
  return returning;
}

/** An ON CONFLICT clause compiled: the constraint it handles (undefined: any) and its action. */
interface CompiledUpsert {
  /** Sorted column indexes of the targeted constraint; -1 stands for the rowid. */
  target?: string;
  sets?: Array<{ index: number; value: Compiled }>;
  where?: Compiled;
  setColumns: string[];
}

function constraintKey(cols: number[]): string {
  return [...cols].sort((a, b) => a - b).join(',');
}

function compileUpserts(clauses: UpsertClause[] | undefined, def: TableDef, name: string, cx: PlanContext): CompiledUpsert[] {
  if (!clauses?.length) return [];
  const keys = new Set([constraintKey(def.primaryKey.length ? def.primaryKey : [def.rowidColumn]), ...def.uniques.filter((u) => u.length).map(constraintKey)]);
  // `excluded` sits in an enclosing scope, so unqualified names mean the table's own columns.
  const excluded = new Scope(cx.fail, cx.outer);
  excluded.add(rowSource(def, 'excluded', 0));
  const scope = new Scope(cx.fail, excluded);
  scope.add(rowSource(def, name, 0));
  return clauses.map((c, n) => {
    let target: string | undefined;
    if (c.target) {
      target = constraintKey(
        c.target.map((o) => {
          const e = o.expr.kind === 'collate' ? o.expr.operand : o.expr;
          if (e.kind !== 'column') return cx.fail('ERROR', 'ON CONFLICT clause does not match any PRIMARY KEY or UNIQUE constraint', o.pos);
          const i = def.columns.findIndex((col) => col.name.toLowerCase() === e.name.toLowerCase());
          if (i < 0 && def.rowidColumn < 0 && ['rowid', 'oid', '_rowid_'].includes(e.name.toLowerCase())) return -1;
          if (i < 0) return cx.fail('NO_SUCH_COLUMN', `no such column: ${e.name}`, o.pos);
          return i;
        }),
      );
      if (!keys.has(target)) cx.fail('ERROR', 'ON CONFLICT clause does not match any PRIMARY KEY or UNIQUE constraint', c.pos);
    } else if (n !== clauses.length - 1) {
      cx.fail('ERROR', 'ON CONFLICT clause does not match any PRIMARY KEY or UNIQUE constraint', c.pos);
    }
    if (!c.update) return { target, setColumns: [] };
    const sets = compileSets(c.update.set, def, scope, cx);
    return {
      target,
      sets,
      where: c.update.where ? compileExpr(c.update.where, scope, cx) : undefined,
      setColumns: c.update.set.flatMap((x) => x.columns.map((col) => col.toLowerCase())),
    };
  });
}

/** SET clauses as record positions (1 + column; 0 for the rowid) with their compiled values. */
function compileSets(set: UpdateStmt['set'], def: TableDef, scope: Scope, cx: PlanContext): Array<{ index: number; value: Compiled }> {
  return set.map((s) => {
    if (s.columns.length !== 1) cx.fail('ERROR', 'row-value SET is not supported yet', s.pos);
    const name = s.columns[0]!.toLowerCase();
    let index = def.columns.findIndex((c) => c.name.toLowerCase() === name);
    if (index < 0 && ['rowid', 'oid', '_rowid_'].includes(name) && def.rowidColumn < 0) index = -1;
    else if (index < 0) cx.fail('NO_SUCH_COLUMN', `no such column: ${s.columns[0]}`, s.pos);
    return { index: index < 0 ? 0 : index + 1, value: compileExpr(s.value, scope, cx) };
  });
}

/** What the row-level helpers need about the statement. */
interface RowContext {
  def: TableDef;
  checks: CompiledCheck[];
  action: ConflictAction;
  run: DmlRun;
  upserts: CompiledUpsert[];
  setColumns: string[];
}

export function compileInsert(stmt: InsertStmt, outerCx: PlanContext): DmlPlan {
  // WITH on the statement: its CTEs are visible to every SELECT inside it.
  const cx = stmt.with ? withContext(stmt.with, outerCx) : outerCx;
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
  const defaults = extrasOf(def).defaults.map((e) => (e ? compileExpr(e, empty, cx) : undefined));
  const action = stmt.orConflict ?? 'ABORT';
  let source: (env: Env) => Value[][] | Promise<Value[][]>;
  // The one row of a single-row VALUES (no expressions for DEFAULT VALUES): the fast path's input.
  let single: Compiled[] | undefined = stmt.source.kind === 'default' ? [] : undefined;
  if (stmt.source.kind === 'values') {
    const rows = stmt.source.rows.map((r) => {
      if (r.length !== targets.length) {
        cx.fail('ERROR', `${targets.length} columns but ${r.length} values were supplied`, stmt.pos);
      }
      return r.map((e) => compileExpr(e, empty, cx));
    });
    if (rows.length === 1) single = rows[0];
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
  const name = stmt.alias ?? stmt.table;
  const checks = compileChecks(def, cx);
  const upserts = compileUpserts(stmt.upsert, def, name, cx);
  const returning = compileReturning(stmt.returning, def, name, cx);
  const plan: DmlPlan = {
    columns: returning?.columns,
    run: (env) => withForeignKeys(env.run as DmlRun, async () => {
      const rc: RowContext = { def, checks, action, run: env.run as DmlRun, upserts, setColumns: [] };
      let affected = 0;
      let last: number | bigint | undefined;
      const out: Value[][] | undefined = returning ? [] : undefined;
      let rows = source(env);
      if (rows instanceof Promise) rows = await rows;
      for (const vals of rows) {
        const { row, explicitRowid } = targetRow(def, targets, vals, isDefaultValues);
        for (const i of defaulted) {
          const d = defaults[i]!;
          row[i] = d.async ? await d.fn(env) : (d.fn as SyncFn)(env);
        }
        const done = await insertOne(rc, row, explicitRowid, env);
        if (done !== undefined) {
          affected++;
          if (done.inserted) last = done.rec[0] as number | bigint;
          if (out) out.push(await returning!.row(done.rec, env));
        }
      }
      return { rowsAffected: affected, lastInsertRowid: last, rows: out };
    }),
  };
  const syncable =
    single !== undefined && allSync(single) && allSync(defaulted.map((i) => defaults[i])) && allSync(checks.map((c) => c.fn)) &&
    !upserts.length && action !== 'REPLACE' && !def.triggers?.length && (!returning || returning.rowSync !== undefined);
  if (syncable) {
    const fns = single!.map((c) => c.fn as SyncFn);
    const width = def.columns.length;
    let rowContext: RowContext | undefined;
    // One context per statement run context: synchronous runs reuse theirs (Database.syncEnv).
    const insertRow = (run: DmlRun, row: Value[], explicitRowid: Value) => {
      if (rowContext?.run !== run) rowContext = { def, checks, action, run, upserts, setColumns: [] };
      return insertOneSync(rowContext, row, explicitRowid);
    };
    plan.runSync = (env) => {
      const run = env.run as DmlRun;
      if (run.foreignKeys) return NEEDS_ASYNC;
      // The order of `run`: every value left to right, then the defaults, then the row's checks.
      // (targetRow, without its intermediate arrays: this runs once per row of a bulk insert.)
      const row = nullRow(width);
      let explicitRowid: Value = null;
      for (let i = 0; i < fns.length; i++) {
        const v = fns[i]!(env);
        const t = targets[i]!;
        if (t < 0) explicitRowid = v;
        else row[t] = v;
      }
      for (const i of defaulted) row[i] = (defaults[i]!.fn as SyncFn)(env);
      const rowid = insertRow(run, row, explicitRowid);
      if (rowid === NEEDS_ASYNC) return NEEDS_ASYNC;
      if (rowid === undefined) return { rowsAffected: 0, lastInsertRowid: undefined, rows: returning ? [] : undefined };
      return { rowsAffected: 1, lastInsertRowid: rowid, rows: returning ? [returning.rowSync!(stored(rowid, row), env)] : undefined };
    };
    if (valuesAreParameters(stmt, targets.length) && !defaulted.length) {
      plan.insertBoundSync = (run, bound) => {
        assert(bound.length === targets.length, 'one bound value per target column');
        if (run.foreignKeys) return NEEDS_ASYNC;
        const row = nullRow(width);
        return insertRow(run, row, placeTargets(row, targets, bound));
      };
    }
  }
  return plan;
}

/**
 * Whether an INSERT's only parameters are its one VALUES row, ?1..?n in order over its `n` target
 * columns: then the bound parameters are the row's values as they are (DmlPlan.insertBoundSync).
 */
function valuesAreParameters(stmt: InsertStmt, n: number): boolean {
  if (stmt.with || stmt.upsert?.length || stmt.returning || stmt.source.kind !== 'values' || stmt.source.rows.length !== 1) return false;
  const row = stmt.source.rows[0]!;
  return row.length === n && row.every((e, i) => e.kind === 'param' && e.index === i + 1);
}

/** A row of the table from the values of the statement's target columns (all NULL at first). */
function targetRow(def: TableDef, targets: number[], vals: Value[], isDefaultValues: boolean): { row: Value[]; explicitRowid: Value } {
  const row = nullRow(def.columns.length);
  return { row, explicitRowid: isDefaultValues ? null : placeTargets(row, targets, vals) };
}

/**
 * Writes the values of the target columns into `row` (a target below 0 names the rowid); returns
 * the explicit rowid, or null when no target names it.
 */
function placeTargets(row: Value[], targets: number[], vals: Value[]): Value {
  let explicitRowid: Value = null;
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i]!;
    if (t < 0) explicitRowid = vals[i]!;
    else row[t] = vals[i]!;
  }
  return explicitRowid;
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

/** The ON CONFLICT clause handling a conflict on `cols`, if any. */
function upsertFor(rc: RowContext, cols: number[]): CompiledUpsert | undefined {
  if (!rc.upserts.length) return undefined;
  const key = constraintKey(cols);
  return rc.upserts.find((u) => u.target === undefined || u.target === key);
}

/**
 * A conflict an upsert clause handles: DO NOTHING skips the row; DO UPDATE updates the existing
 * row `existing` with `excluded` = the proposed row. Returns the updated row image, if any.
 */
async function applyUpsert(rc: RowContext, u: CompiledUpsert, existing: StoredRow, proposed: StoredRow, env: Env): Promise<StoredRow | undefined> {
  if (!u.sets) return undefined;
  const local: Env = { rows: [existing], outer: { rows: [proposed], outer: env.outer, agg: undefined, run: env.run }, agg: undefined, run: env.run };
  if (u.where && V.isTruthy(await u.where.fn(local)) !== true) return undefined;
  const next = existing.slice(0, 1 + rc.def.columns.length);
  for (const s of u.sets) next[s.index] = await s.value.fn(local);
  return updateOne({ ...rc, action: 'ABORT', upserts: [], setColumns: u.setColumns }, existing, next);
}

async function insertOne(rc: RowContext, row: Value[], explicitRowid: Value, env: Env): Promise<{ rec: StoredRow; inserted: boolean } | undefined> {
  const { def, action, run } = rc;
  const txn = run.txn;
  prepareRow(def, row);
  const given = def.rowidColumn >= 0 ? row[def.rowidColumn]! : explicitRowid;
  let rowid: number | bigint;
  if (given !== null) rowid = toRowid(given);
  else {
    const auto = autoRowid(def, run);
    rowid = auto instanceof Promise ? await auto : auto;
  }
  if (def.rowidColumn >= 0) row[def.rowidColumn] = rowid;
  if (!(await checkRow(def, rc.checks, [rowid, ...row], run, action))) return undefined;
  const key = rowKey(def, rowid, row);
  let existing = txn.aboveKnownMax(def, rowid) ? undefined : txn.getRow(def, key);
  if (existing instanceof Promise) existing = await existing;
  if (existing) {
    const pkCols = def.primaryKey.length ? def.primaryKey : [def.rowidColumn];
    const u = upsertFor(rc, pkCols);
    if (u) return wrapUpdate(await applyUpsert(rc, u, existing, [rowid, ...row], env));
    if (action === 'IGNORE') return undefined;
    if (action !== 'REPLACE') throw uniqueError(def, pkCols);
    await deleteOne(rc, existing, 0, false);
  }
  for (let u = 0; u < def.uniques.length; u++) {
    const k = uniqueKey(def, u, row);
    if (k === undefined) continue;
    const owner = await txn.uniqueOwner(def, u, k);
    if (owner === undefined) continue;
    const up = upsertFor(rc, def.uniques[u]!);
    if (up) {
      const victim = await findByRowid(def, owner, txn);
      if (victim) return wrapUpdate(await applyUpsert(rc, up, victim, [rowid, ...row], env));
    }
    if (action === 'IGNORE') return undefined;
    if (action !== 'REPLACE') throw uniqueError(def, def.uniques[u]!);
    const victim = await findByRowid(def, owner, txn);
    if (victim) await deleteOne(rc, victim, 0, false);
  }
  if (def.triggers && !(await fireTriggers(def, 'INSERT', 'BEFORE', { new: [rowid, ...row] }, run))) return undefined;
  if (run.foreignKeys) await checkChild(run, def, key, row);
  txn.insertRow(def, rowid, row);
  if (def.triggers) await fireTriggers(def, 'INSERT', 'AFTER', { new: [rowid, ...row] }, run);
  return { rec: [rowid, ...row], inserted: true };
}

function wrapUpdate(rec: StoredRow | undefined): { rec: StoredRow; inserted: boolean } | undefined {
  return rec ? { rec, inserted: false } : undefined;
}

/**
 * `insertOne` without promises, for a statement with no upsert, no triggers, no OR REPLACE and
 * foreign keys off (the caller checks): the same steps in the same order. Returns the new row's
 * rowid (`row` is then the stored row), undefined when OR IGNORE skipped the row, or NEEDS_ASYNC
 * (nothing changed) when a check needs a page read.
 */
function insertOneSync(rc: RowContext, row: Value[], explicitRowid: Value): number | bigint | undefined | typeof NEEDS_ASYNC {
  const { def, action, run } = rc;
  assert(!rc.upserts.length && action !== 'REPLACE' && !def.triggers?.length && !run.foreignKeys, 'insertOneSync outside its shapes');
  const txn = run.txn;
  prepareRow(def, row);
  const given = def.rowidColumn >= 0 ? row[def.rowidColumn]! : explicitRowid;
  let rowid: number | bigint;
  if (given !== null) rowid = toRowid(given);
  else {
    const auto = autoRowidSync(def, run);
    if (auto === NEEDS_ASYNC) return NEEDS_ASYNC;
    rowid = auto;
  }
  if (def.rowidColumn >= 0) row[def.rowidColumn] = rowid;
  if (rc.checks.length && !checkRowSync(def, rc.checks, stored(rowid, row), run, action)) return undefined;
  // Above the largest rowid the transaction sees, no row can hold it (bulk loads in rowid order).
  const existing = txn.aboveKnownMax(def, rowid) ? undefined : txn.getRowCached(def, rowKey(def, rowid, row));
  if (existing === NOT_CACHED) return NEEDS_ASYNC;
  if (existing) {
    if (action === 'IGNORE') return undefined;
    throw uniqueError(def, def.primaryKey.length ? def.primaryKey : [def.rowidColumn]);
  }
  for (let u = 0; u < def.uniques.length; u++) {
    const k = uniqueKey(def, u, row);
    if (k === undefined) continue;
    const owner = txn.uniqueOwnerCached(def, u, k);
    if (owner === NOT_CACHED) return NEEDS_ASYNC;
    if (owner === undefined) continue;
    if (action === 'IGNORE') return undefined;
    throw uniqueError(def, def.uniques[u]!);
  }
  txn.insertRow(def, rowid, row);
  return rowid;
}

/** Random rowids tried once the largest rowid is taken, as SQLite does, before giving up as full. */
export const ROWID_RANDOM_TRIES_MAX = 100;

function fullError(): DosqlError {
  return new DosqlError('ERROR', 'database or disk is full (rowid space exhausted)');
}

/**
 * The rowid SQLite gives a row inserted without one: max(rowid in the table) + 1, 1 when empty.
 * AUTOINCREMENT uses the largest rowid ever given instead (never reusing one), as do tables
 * clustered by another PRIMARY KEY and concurrent transactions (see Txn.currentMaxRowid). When the
 * largest is INT64_MAX, unused random rowids are tried (from the run's random source, so replays
 * from a seed agree); AUTOINCREMENT fails at once, as in SQLite.
 */
function autoRowid(def: TableDef, run: DmlRun): number | bigint | Promise<number | bigint> {
  const txn = run.txn;
  const autoincrement = extrasOf(def).autoincrement;
  if (autoincrement || def.primaryKey.length > 0 || txn.snapshot !== undefined) {
    const max = txn.maxRowid(def);
    if (max < INT64_MAX) return successor(max);
    if (autoincrement || def.primaryKey.length > 0) throw fullError();
    return randomRowid(def, run);
  }
  const cur = txn.currentMaxRowid(def);
  if (cur instanceof Promise) return cur.then((m) => (m === null ? 1 : m < INT64_MAX ? successor(m) : randomRowid(def, run)));
  return cur === null ? 1 : cur < INT64_MAX ? successor(cur) : randomRowid(def, run);
}

/** `autoRowid` when it needs no read: NEEDS_ASYNC when the table's largest rowid is not known yet. */
function autoRowidSync(def: TableDef, run: DmlRun): number | bigint | typeof NEEDS_ASYNC {
  const txn = run.txn;
  const autoincrement = extrasOf(def).autoincrement;
  if (autoincrement || def.primaryKey.length > 0 || txn.snapshot !== undefined) {
    const max = txn.maxRowid(def);
    if (max < INT64_MAX) return successor(max);
    if (autoincrement || def.primaryKey.length > 0) throw fullError();
    return NEEDS_ASYNC;
  }
  const cur = txn.knownMaxRowid(def);
  if (cur === undefined) return NEEDS_ASYNC;
  return cur === null ? 1 : cur < INT64_MAX ? successor(cur) : NEEDS_ASYNC;
}

function successor(max: number | bigint): number | bigint {
  if (typeof max === 'bigint') return int(max + 1n);
  return max >= Number.MAX_SAFE_INTEGER ? int(BigInt(max) + 1n) : max + 1;
}

async function randomRowid(def: TableDef, run: DmlRun): Promise<number | bigint> {
  for (let tries = 0; tries < ROWID_RANDOM_TRIES_MAX; tries++) {
    const candidate = int((BigInt.asUintN(64, run.random()) & ((1n << 62n) - 1n)) + 1n);
    let hit = run.txn.getRow(def, rowKey(def, candidate, []));
    if (hit instanceof Promise) hit = await hit;
    if (hit === undefined) return candidate;
  }
  throw fullError();
}

async function findByRowid(def: TableDef, rowid: number | bigint, txn: Txn): Promise<StoredRow | undefined> {
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
  const sync = producer.sync;
  const condSync = cond && !cond.async ? (cond.fn as SyncFn) : undefined;
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
    /** `collect` without promises when the rows come from one key lookup (Producer.sync). */
    collectSync:
      sync && (!cond || condSync)
        ? (env: Env): StoredRow[] | typeof NEEDS_ASYNC => {
            const local: Env = { rows: [null], outer: env.outer, agg: undefined, run: env.run };
            const out: StoredRow[] = [];
            const done = sync(local, () => {
              if (!condSync || V.isTruthy(condSync(local)) === true) out.push(local.rows[0]!);
              return true;
            });
            return done === NEEDS_ASYNC ? NEEDS_ASYNC : out;
          }
        : undefined,
  };
}

/**
 * The rows a fast-path UPDATE or DELETE changes: at most one (a key lookup), so that a later
 * NEEDS_ASYNC can never follow a change already made.
 */
function collectOneSync(collect: (env: Env) => StoredRow[] | typeof NEEDS_ASYNC, env: Env): StoredRow[] | typeof NEEDS_ASYNC {
  if ((env.run as DmlRun).foreignKeys) return NEEDS_ASYNC;
  const rows = collect(env);
  return rows === NEEDS_ASYNC || rows.length > 1 ? NEEDS_ASYNC : rows;
}

export function compileUpdate(stmt: UpdateStmt, cx: PlanContext): DmlPlan {
  if (stmt.with) cx = withContext(stmt.with, cx);
  if (stmt.from || stmt.orderBy || stmt.limit) {
    cx.fail('ERROR', 'UPDATE with FROM, ORDER BY or LIMIT is not supported yet', stmt.pos);
  }
  const def = requireTable(stmt.table, stmt.pos, cx);
  const match = compileMatch(stmt.table, stmt.alias, stmt.where, stmt.pos, cx);
  const sets = compileSets(stmt.set, def, match.scope, cx);
  const action = stmt.orConflict ?? 'ABORT';
  const setColumns = stmt.set.flatMap((x) => x.columns.map((c) => c.toLowerCase()));
  const checks = compileChecks(def, cx);
  const returning = compileReturning(stmt.returning, def, stmt.alias ?? stmt.table, cx);
  const plan: DmlPlan = {
    columns: returning?.columns,
    run: (env) => withForeignKeys(env.run as DmlRun, async () => {
      const rc: RowContext = { def, checks, action, run: env.run as DmlRun, upserts: [], setColumns };
      const rows = await match.collect(env);
      const local: Env = { rows: [null], outer: env.outer, agg: undefined, run: env.run };
      let affected = 0;
      const out: Value[][] | undefined = returning ? [] : undefined;
      const fresh = mayChangeUnderfoot(def, rc.run, action);
      for (const collected of rows) {
        const rec = fresh ? await reread(def, collected, rc.run.txn) : collected;
        if (rec === undefined) continue;
        local.rows[0] = rec;
        const next = rec.slice(0, 1 + def.columns.length);
        for (const s of sets) next[s.index] = await s.value.fn(local);
        const done = await updateOne(rc, rec, next);
        if (done) {
          affected++;
          if (out) out.push(await returning!.row(done, env));
        }
      }
      return { rowsAffected: affected, rows: out };
    }),
  };
  const collect = match.collectSync;
  const syncable =
    collect !== undefined && allSync(sets.map((x) => x.value)) && allSync(checks.map((c) => c.fn)) && action !== 'REPLACE' &&
    !def.triggers?.length && (!returning || returning.rowSync !== undefined);
  if (syncable) {
    plan.runSync = (env) => {
      const rows = collectOneSync(collect, env);
      if (rows === NEEDS_ASYNC) return NEEDS_ASYNC;
      const out: Value[][] | undefined = returning ? [] : undefined;
      if (rows.length === 0) return { rowsAffected: 0, rows: out };
      const rec = rows[0]!;
      const local: Env = { rows: [rec], outer: env.outer, agg: undefined, run: env.run };
      const next = rec.slice(0, 1 + def.columns.length);
      for (const x of sets) next[x.index] = (x.value.fn as SyncFn)(local);
      const done = updateOneSync({ def, checks, action, run: env.run as DmlRun, upserts: [], setColumns }, rec, next);
      if (done === NEEDS_ASYNC) return NEEDS_ASYNC;
      if (done === undefined) return { rowsAffected: 0, rows: out };
      if (out) out.push(returning!.rowSync!(done, env));
      return { rowsAffected: 1, rows: out };
    };
  }
  return plan;
}

async function updateOne(rc: RowContext, rec: StoredRow, next: Value[]): Promise<StoredRow | undefined> {
  const { def, action, run } = rc;
  const txn = run.txn;
  const oldRowid = rec[0] as number | bigint;
  const before = columnsOf(def, rec);
  const row = columnsOf(def, next);
  prepareRow(def, row);
  const rowid: number | bigint = def.rowidColumn >= 0 ? toRowid(row[def.rowidColumn] ?? oldRowid) : toRowid(next[0] ?? oldRowid);
  if (def.rowidColumn >= 0) row[def.rowidColumn] = rowid;
  if (!(await checkRow(def, rc.checks, [rowid, ...row], run, action))) return undefined;
  const oldKey = rowKey(def, oldRowid, before);
  const newKey = rowKey(def, rowid, row);
  if (newKey !== oldKey) {
    let clash = txn.getRow(def, newKey);
    if (clash instanceof Promise) clash = await clash;
    if (clash) {
      if (action === 'IGNORE') return undefined;
      if (action !== 'REPLACE') throw uniqueError(def, def.primaryKey.length ? def.primaryKey : [def.rowidColumn]);
      await deleteOne(rc, clash, 0, false);
    }
  }
  for (let u = 0; u < def.uniques.length; u++) {
    const k = uniqueKey(def, u, row);
    if (k === undefined || k === uniqueKey(def, u, before)) continue;
    const owner = await txn.uniqueOwner(def, u, k);
    if (owner === undefined || owner === oldRowid) continue;
    if (action === 'IGNORE') return undefined;
    if (action !== 'REPLACE') throw uniqueError(def, def.uniques[u]!);
    const victim = await findByRowid(def, owner, txn);
    if (victim) await deleteOne(rc, victim, 0, false);
  }
  const images = { new: [rowid, ...row], old: rec };
  if (def.triggers && !(await fireTriggers(def, 'UPDATE', 'BEFORE', images, run, rc.setColumns))) return undefined;
  if (run.foreignKeys) await checkChild(run, def, newKey, row, before);
  if (newKey === oldKey && rowid === oldRowid) txn.updateRow(def, rowid, before, row);
  else {
    txn.deleteRow(def, oldRowid, before);
    txn.insertRow(def, rowid, row);
  }
  if (run.foreignKeys) await onParentChange(rc, [oldRowid, ...before], [rowid, ...row], 0);
  if (def.triggers) await fireTriggers(def, 'UPDATE', 'AFTER', images, run, rc.setColumns);
  return [rowid, ...row];
}

/**
 * `updateOne` without promises, for a statement with no triggers, no OR REPLACE and foreign keys
 * off (the caller checks): the same steps in the same order. Returns the new record, undefined
 * when OR IGNORE skipped the row, or NEEDS_ASYNC (nothing changed) when a check needs a page read.
 */
function updateOneSync(rc: RowContext, rec: StoredRow, next: Value[]): StoredRow | undefined | typeof NEEDS_ASYNC {
  const { def, action, run } = rc;
  assert(action !== 'REPLACE' && !def.triggers?.length && !run.foreignKeys, 'updateOneSync outside its shapes');
  const txn = run.txn;
  const oldRowid = rec[0] as number | bigint;
  const before = columnsOf(def, rec);
  const row = columnsOf(def, next);
  prepareRow(def, row);
  const rowid: number | bigint = def.rowidColumn >= 0 ? toRowid(row[def.rowidColumn] ?? oldRowid) : toRowid(next[0] ?? oldRowid);
  if (def.rowidColumn >= 0) row[def.rowidColumn] = rowid;
  if (rc.checks.length && !checkRowSync(def, rc.checks, stored(rowid, row), run, action)) return undefined;
  const oldKey = rowKey(def, oldRowid, before);
  const newKey = rowKey(def, rowid, row);
  if (newKey !== oldKey) {
    const clash = txn.getRowCached(def, newKey);
    if (clash === NOT_CACHED) return NEEDS_ASYNC;
    if (clash) {
      if (action === 'IGNORE') return undefined;
      throw uniqueError(def, def.primaryKey.length ? def.primaryKey : [def.rowidColumn]);
    }
  }
  for (let u = 0; u < def.uniques.length; u++) {
    const k = uniqueKey(def, u, row);
    if (k === undefined || k === uniqueKey(def, u, before)) continue;
    const owner = txn.uniqueOwnerCached(def, u, k);
    if (owner === NOT_CACHED) return NEEDS_ASYNC;
    if (owner === undefined || owner === oldRowid) continue;
    if (action === 'IGNORE') return undefined;
    throw uniqueError(def, def.uniques[u]!);
  }
  if (newKey === oldKey && rowid === oldRowid) txn.updateRow(def, rowid, before, row);
  else {
    txn.deleteRow(def, oldRowid, before);
    txn.insertRow(def, rowid, row);
  }
  return stored(rowid, row);
}

export function compileDelete(stmt: DeleteStmt, cx: PlanContext): DmlPlan {
  if (stmt.with) cx = withContext(stmt.with, cx);
  if (stmt.orderBy || stmt.limit) {
    cx.fail('ERROR', 'DELETE with ORDER BY or LIMIT is not supported yet', stmt.pos);
  }
  const def = requireTable(stmt.table, stmt.pos, cx);
  const match = compileMatch(stmt.table, stmt.alias, stmt.where, stmt.pos, cx);
  const returning = compileReturning(stmt.returning, def, stmt.alias ?? stmt.table, cx);
  const plan: DmlPlan = {
    columns: returning?.columns,
    run: (env) => withForeignKeys(env.run as DmlRun, async () => {
      const rc: RowContext = { def, checks: [], action: 'ABORT', run: env.run as DmlRun, upserts: [], setColumns: [] };
      const rows = await match.collect(env);
      let affected = 0;
      const out: Value[][] | undefined = returning ? [] : undefined;
      const fresh = mayChangeUnderfoot(def, rc.run, 'ABORT');
      for (const collected of rows) {
        const rec = fresh ? await reread(def, collected, rc.run.txn) : collected;
        if (rec === undefined) continue;
        if (!(await deleteOne(rc, rec, 0))) continue;
        affected++;
        if (out) out.push(await returning!.row(rec, env));
      }
      return { rowsAffected: affected, rows: out };
    }),
  };
  const collect = match.collectSync;
  if (collect && !def.triggers?.length && (!returning || returning.rowSync !== undefined)) {
    // `deleteOne` without triggers and foreign keys is one overlay change.
    plan.runSync = (env) => {
      const rows = collectOneSync(collect, env);
      if (rows === NEEDS_ASYNC) return NEEDS_ASYNC;
      const out: Value[][] | undefined = returning ? [] : undefined;
      for (const rec of rows) {
        (env.run as DmlRun).txn.deleteRow(def, rec[0] as number | bigint, columnsOf(def, rec));
        if (out) out.push(returning!.rowSync!(rec, env));
      }
      return { rowsAffected: rows.length, rows: out };
    };
  }
  return plan;
}

/**
 * Delete one row with its foreign-key actions and (unless `fire` is false: a REPLACE conflict's
 * victim, as SQLite without recursive_triggers) its triggers; false when a BEFORE trigger skipped it.
 */
async function deleteOne(rc: RowContext, rec: StoredRow, depth: number, fire = true): Promise<boolean> {
  const { def, run } = rc;
  if (fire && def.triggers && !(await fireTriggers(def, 'DELETE', 'BEFORE', { old: rec }, run))) return false;
  const before = columnsOf(def, rec);
  run.txn.deleteRow(def, rec[0] as number | bigint, before);
  if (run.foreignKeys) await onParentChange(rc, [rec[0]!, ...before], undefined, depth);
  if (fire && def.triggers) await fireTriggers(def, 'DELETE', 'AFTER', { old: rec }, run);
  return true;
}

// --- foreign keys ---------------------------------------------------------------------------------

function fkError(): DosqlError {
  return new DosqlError('CONSTRAINT_FOREIGNKEY', 'FOREIGN KEY constraint failed');
}

/** Parent column indexes a foreign key refers to: the named columns, or the parent's PRIMARY KEY. */
function parentColumns(fk: ForeignKey, parent: TableDef): number[] {
  if (fk.parentColumns) {
    return fk.parentColumns.map((n) => {
      const i = parent.columns.findIndex((c) => c.name.toLowerCase() === n.toLowerCase());
      if (i < 0) throw new DosqlError('ERROR', `foreign key mismatch - "${fk.parent}" referencing missing column ${n}`);
      return i;
    });
  }
  if (parent.rowidColumn >= 0) return [parent.rowidColumn];
  if (parent.primaryKey.length) return parent.primaryKey;
  throw new DosqlError('ERROR', `foreign key mismatch - referencing "${parent.name}", which has no PRIMARY KEY`);
}

/** The parent table of `fk`, which must exist as a table. */
function parentOf(fk: ForeignKey, txn: Txn): TableDef {
  const parent = txn.table(fk.parent);
  if (!parent || parent.view) throw new DosqlError('ERROR', `no such table: ${fk.parent}`);
  return parent;
}

/** True when every foreign key of the child row `row` finds its parent (or has a NULL column). */
async function parentsExist(def: TableDef, row: Value[], txn: Txn, before?: Value[]): Promise<boolean> {
  for (const fk of extrasOf(def).foreignKeys) {
    const vals = fk.columns.map((i) => row[i]!);
    if (vals.some((v) => v === null)) continue;
    if (before && encodeKey(fk.columns.map((i) => before[i]!)) === encodeKey(vals)) continue;
    const parent = parentOf(fk, txn);
    if (!(await parentExists(parent, parentColumns(fk, parent), vals, txn))) return false;
  }
  return true;
}

/**
 * A child row stored under `key` must reference existing parents by the end of the statement: one
 * missing now is noted for `settleForeignKeys` (a later row of the statement may add it).
 */
async function checkChild(run: DmlRun, def: TableDef, key: string, row: Value[], before?: Value[]): Promise<void> {
  if (await parentsExist(def, row, run.txn, before)) return;
  if (!run.fkPending) throw fkError();
  run.fkPending.children.set(`${def.id}:${key}`, { def, key });
}

/** The end of a top-level statement: every check it left open must now pass. */
async function settleForeignKeys(txn: Txn, pending: FkPending): Promise<void> {
  for (const { def, key } of pending.children.values()) {
    let rec = txn.getRow(def, key);
    if (rec instanceof Promise) rec = await rec;
    // Deleted again by the statement: no violation left (SQLite's counter goes back down).
    if (rec !== undefined && !(await parentsExist(def, columnsOf(def, rec), txn))) throw fkError();
  }
  for (const { child, fk, parent, keys } of pending.parents.values()) {
    const pcols = parentColumns(fk, parent);
    const settled = new Set<string>();
    for await (const rec of txn.scan(child)) {
      const vals = fk.columns.map((i, n) => V.applyAffinity(rec[1 + i]!, parent.columns[pcols[n]!]!.affinity));
      if (vals.some((v) => v === null)) continue;
      const k = encodeKey(vals);
      if (!keys.has(k) || settled.has(k)) continue;
      // A parent row may hold the key again (re-inserted, or another row updated into it).
      if (!(await parentExists(parent, pcols, vals, txn))) throw fkError();
      settled.add(k);
    }
  }
}

async function parentExists(parent: TableDef, pcols: number[], vals: Value[], txn: Txn): Promise<boolean> {
  const keyed = vals.map((v, i) => V.applyAffinity(v, parent.columns[pcols[i]!]!.affinity));
  if (pcols.length === 1 && pcols[0] === parent.rowidColumn) {
    if (!isInteger(keyed[0]!)) return false;
    let r = txn.getRow(parent, rowKey(parent, keyed[0] as number | bigint, []));
    if (r instanceof Promise) r = await r;
    return r !== undefined;
  }
  const want = encodeKey(keyed);
  for await (const rec of txn.scan(parent)) if (encodeKey(pcols.map((i) => rec[1 + i]!)) === want) return true;
  return false;
}

/** Children of every table that references `def`, with the foreign key. */
function childrenOf(def: TableDef, txn: Txn): Array<{ child: TableDef; fk: ForeignKey }> {
  const out: Array<{ child: TableDef; fk: ForeignKey }> = [];
  for (const t of txn.tableList()) {
    if (t.view) continue;
    for (const fk of extrasOf(t).foreignKeys) if (fk.parent.toLowerCase() === def.name.toLowerCase()) out.push({ child: t, fk });
  }
  return out;
}

/**
 * A parent row was deleted (`next` undefined) or updated: apply each referencing foreign key's
 * ON DELETE / ON UPDATE action to the child rows that referenced its old key.
 */
async function onParentChange(rc: RowContext, old: StoredRow, next: StoredRow | undefined, depth: number): Promise<void> {
  if (depth > CASCADE_DEPTH_MAX) throw new DosqlError('LIMIT_EXCEEDED', `foreign key actions nested deeper than CASCADE_DEPTH_MAX (${CASCADE_DEPTH_MAX})`);
  const txn = rc.run.txn;
  for (const { child, fk } of childrenOf(rc.def, txn)) {
    const pcols = parentColumns(fk, rc.def);
    const oldVals = pcols.map((i) => old[1 + i]!);
    if (oldVals.some((v) => v === null)) continue;
    if (next && encodeKey(oldVals) === encodeKey(pcols.map((i) => next[1 + i]!))) continue;
    const want = encodeKey(oldVals);
    const action = next ? fk.onUpdate : fk.onDelete;
    const pending = rc.run.fkPending;
    if (pending && action !== 'RESTRICT' && action !== 'CASCADE' && action !== 'SET NULL' && action !== 'SET DEFAULT') {
      // NO ACTION: children referencing the old key are a violation only if still there at the
      // statement's end; one scan of the child table then settles every key noted.
      const id = `${child.id}#${extrasOf(child).foreignKeys.indexOf(fk)}`;
      let entry = pending.parents.get(id);
      if (!entry) pending.parents.set(id, (entry = { child, fk, parent: rc.def, keys: new Set() }));
      entry.keys.add(want);
      continue;
    }
    const matches: StoredRow[] = [];
    for await (const rec of txn.scan(child)) {
      const vals = fk.columns.map((i, n) => V.applyAffinity(rec[1 + i]!, rc.def.columns[pcols[n]!]!.affinity));
      if (encodeKey(vals) === want) matches.push(rec.slice(0, 1 + child.columns.length));
    }
    if (!matches.length) continue;
    const crc: RowContext = { def: child, checks: [], action: 'ABORT', run: rc.run, upserts: [], setColumns: fk.columns.map((i) => child.columns[i]!.name.toLowerCase()) };
    if (action === 'CASCADE' && !next) {
      for (const m of matches) await deleteOne(crc, m, depth + 1);
    } else if (action === 'CASCADE' || action === 'SET NULL' || action === 'SET DEFAULT') {
      const defaults = extrasOf(child).defaults;
      for (const m of matches) {
        const upd = m.slice();
        fk.columns.forEach((ci, n) => {
          const d = defaults[ci];
          upd[1 + ci] = action === 'CASCADE' ? next![1 + pcols[n]!]! : action === 'SET NULL' || !d ? null : d.kind === 'literal' ? d.value : null;
        });
        await updateOne({ ...crc, checks: [] }, m, upd);
      }
    } else {
      // RESTRICT fails at once, as in SQLite (NO ACTION waits for the statement's end, above).
      throw fkError();
    }
  }
}
