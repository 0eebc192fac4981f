/**
 * SELECT: planning and pull-based execution.
 *
 * A SELECT core runs as a pipeline: the FROM clause is a tree of producers (table access, derived
 * tables, nested-loop joins) that bind one record per source into the Env and yield; WHERE filters;
 * then either projection, or grouping with aggregates; then DISTINCT, ORDER BY, LIMIT/OFFSET.
 *
 * Table access is the planner's one real choice for now: for each base table it looks at WHERE's
 * top-level AND terms comparing the table's key (rowid, INTEGER PRIMARY KEY, or a one-column
 * PRIMARY KEY) with an expression that does not read the table, and picks a point lookup, a key
 * range scan, or a full scan. The WHERE clause is still evaluated on every produced row, so the
 * access path only has to be a superset of the answer, never exact.
 *
 * Window calls (window.ts) turn the core into two phases: the pipeline keeps a snapshot per row
 * (or per group), the windows are computed over all of them, then the projection runs. WITH
 * tables travel in the PlanContext (`ctes`), so nested selects see them; a reference compiles
 * the CTE's body as a derived table, and a recursive one runs SQLite's queue algorithm
 * (compileRecursive). RIGHT and FULL joins are nested loops that remember which right rows
 * matched and emit the others null-extended afterwards (compileJoin).
 */
import { DosqlError } from '../base/errors.js';
import type { Value } from '../base/values.js';
import { encodeKey } from '../materializers/btree/index.js';
import type { IndexDef, TableDef } from '../log/types.js';
import { parseOne } from './parser.js';
import type { CommonTableExpr, CreateViewStmt, BinaryOp, Expr, FromItem, OrderingTerm, ResultColumn, SelectCore, SelectStmt, ValuesCore } from './ast.js';
import { compileExpr, type AggSpec, type CompileContext, type Compiled, type SubPlan, type SyncFn } from './expr.js';
import { Scope, type Env, type RunContext, type Source } from './scope.js';
import { WindowSet, evaluateWindows, type Snapshot } from './window.js';
import type { KeyRange, Txn } from './txn.js';
import { PERIOD_COLUMNS, compileSystemTime, inLayout, periodRow, type TimeSpec } from './temporal.js';
import * as V from './values/index.js';

/** Planning needs the table definitions visible to the statement. */
export interface PlanContext extends CompileContext {
  table(name: string): TableDef | undefined;
  /** Set while compiling for EXPLAIN QUERY PLAN: planning decisions are recorded here. */
  explain?: ExplainLog;
  /** Inside a trigger body: the scope holding NEW and OLD, enclosing every statement's scopes. */
  outer?: Scope;
  /** Inside a trigger body: compile one of its statements. */
  compileStatement?(s: import('./ast.js').InsertStmt | import('./ast.js').UpdateStmt | import('./ast.js').DeleteStmt | SelectStmt): { run(env: Env): Promise<unknown> };
  /** Common table expressions visible here (WITH), by lower-cased name; they shadow tables. */
  ctes?: Map<string, CteBinding>;
}

/** A WITH table in scope: its definition and the context its body compiles in. */
export interface CteBinding {
  cte: CommonTableExpr;
  /** Context of the body: earlier CTEs of the same WITH (and itself when recursive). */
  cx: PlanContext;
  recursive: boolean;
  /** Inside a recursive CTE's recursive part: the current row being expanded. */
  working?: { rows: Value[][]; columns: string[] };
}

export interface SelectPlan extends SubPlan {
  columns: string[];
}

/** EXPLAIN QUERY PLAN rows, nested the way SQLite nests them (subqueries under their parent). */
export class ExplainLog {
  readonly rows: Array<{ id: number; parent: number; detail: string }> = [];
  private parent = 0;

  add(detail: string): number {
    const id = this.rows.length + 1;
    this.rows.push({ id, parent: this.parent, detail });
    return id;
  }

  /** Record `detail`, and what `f` records under it. */
  nest<T>(detail: string, f: () => T): T {
    const id = this.add(detail);
    const prev = this.parent;
    this.parent = id;
    try {
      return f();
    } finally {
      this.parent = prev;
    }
  }
}

/** What a run reads through: the transaction (its overlay over committed trees). */
export interface SelectRun extends RunContext {
  txn: Txn;
  /** Compiles trigger bodies; undefined where triggers cannot fire. */
  triggers?: import('./triggers.js').TriggerHost;
  /** Names of the triggers firing right now, innermost last (no trigger fires itself). */
  triggerStack?: string[];
}

/**
 * A FROM-clause producer binds one record per source into the Env and calls `emit` for each
 * combination; `emit` returns false to stop early (LIMIT), and so does the producer then.
 * Callbacks rather than async generators: a generator step costs more than the row work itself
 * on point lookups.
 */
export type Emit = () => boolean | Promise<boolean>;
export type Producer = (env: Env, emit: Emit) => Promise<boolean>;

export function compileSelect(stmt: SelectStmt, parent: Scope | undefined, cx: PlanContext): SelectPlan {
  if (stmt.with) cx = withContext(stmt.with, cx);
  const coreList = [stmt.first, ...stmt.compounds.map((c) => c.core)];
  const cores =
    coreList.length > 1 && cx.explain
      ? cx.explain.nest('COMPOUND QUERY', () =>
          coreList.map((core, i) => cx.explain!.nest(i === 0 ? 'LEFT-MOST SUBQUERY' : `${stmt.compounds[i - 1]!.op} USING TEMP B-TREE`, () => compileCore(core, parent, cx, stmt))),
        )
      : coreList.map((core) => compileCore(core, parent, cx, stmt));
  const first = cores[0]!;
  for (const c of cores) {
    if (c.columns.length !== first.columns.length) {
      cx.fail('ERROR', 'SELECTs to the left and right of a compound operator do not have the same number of result columns', stmt.pos);
    }
  }
  const correlated = cores.some((c) => c.correlated);
  const columns = first.columns;
  if (cores.length === 1) return first;
  const ops = stmt.compounds.map((c) => c.op);
  const order = stmt.orderBy ? compileCompoundOrder(stmt.orderBy, columns, cx) : undefined;
  const limit = compileLimit(stmt, parent, cx);
  return {
    columns,
    columnCount: columns.length,
    affinities: first.affinities,
    correlated,
    async run(env, cap) {
      let rows = await cores[0]!.run(env);
      for (let i = 0; i < ops.length; i++) rows = combine(ops[i]!, rows, await cores[i + 1]!.run(env));
      if (order) sortRows(rows, order);
      return limit.apply(rows, env, cap);
    },
  };
}

function combine(op: 'UNION' | 'UNION ALL' | 'INTERSECT' | 'EXCEPT', a: Value[][], b: Value[][]): Value[][] {
  if (op === 'UNION ALL') return a.concat(b);
  const keyOf = (r: Value[]): string => encodeKey(r);
  if (op === 'UNION') return distinct(a.concat(b));
  const right = new Set(b.map(keyOf));
  const seen = new Set<string>();
  const out: Value[][] = [];
  for (const r of a) {
    const k = keyOf(r);
    if (seen.has(k) || right.has(k) !== (op === 'INTERSECT')) continue;
    seen.add(k);
    out.push(r);
  }
  return op === 'INTERSECT' || op === 'EXCEPT' ? sortByKey(out) : out;
}

function sortByKey(rows: Value[][]): Value[][] {
  return rows.map((r) => [encodeKey(r), r] as const).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)).map((x) => x[1]);
}

function distinct(rows: Value[][]): Value[][] {
  const seen = new Set<string>();
  return rows.filter((r) => {
    const k = encodeKey(r);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

interface SortTerm {
  /** Index into the row being sorted. */
  index: number;
  desc: boolean;
  nullsFirst: boolean;
  collation?: V.Collation;
}

function sortRows(rows: Value[][], terms: SortTerm[]): void {
  rows.sort((a, b) => compareRows(a, b, terms));
}

function compileCompoundOrder(terms: OrderingTerm[], columns: string[], cx: PlanContext): SortTerm[] {
  return terms.map((t) => {
    let index = -1;
    let collation: V.Collation | undefined;
    let e = t.expr;
    if (e.kind === 'collate') {
      collation = e.collation.toUpperCase() as V.Collation;
      e = e.operand;
    }
    const position = termPosition(e);
    if (position !== undefined) index = position - 1;
    else if (e.kind === 'column' && !e.table) index = columns.findIndex((c) => c.toLowerCase() === e.name.toLowerCase());
    if (index < 0 || index >= columns.length) {
      cx.fail('ERROR', `1st ORDER BY term does not match any column in the result set`, t.pos);
    }
    return { index, desc: t.direction === 'DESC', nullsFirst: nullsFirst(t), collation };
  });
}

function nullsFirst(t: OrderingTerm): boolean {
  return t.nulls ? t.nulls === 'FIRST' : t.direction !== 'DESC';
}

interface LimitPlan {
  apply(rows: Value[][], env: Env, cap?: number): Promise<Value[][]>;
  /** How many rows the producer may stop after (OFFSET plus LIMIT, within `cap`). */
  stopAfter(env: Env, cap?: number): Promise<number | undefined>;
  /** Most rows the query can return, when known before running (undefined: no limit). */
}

function compileLimit(stmt: SelectStmt, parent: Scope | undefined, cx: PlanContext): LimitPlan {
  const empty = new Scope(cx.fail, parent);
  const lim = stmt.limit ? compileExpr(stmt.limit, empty, cx) : undefined;
  const off = stmt.offset ? compileExpr(stmt.offset, empty, cx) : undefined;
  return {
    async apply(rows, env, cap) {
      let start = 0;
      let count = Infinity;
      if (lim) count = limitNumber(await lim.fn(env), 'LIMIT');
      if (off) start = Math.max(0, limitNumber(await off.fn(env), 'OFFSET'));
      if (count < 0) count = Infinity;
      if (cap !== undefined) count = Math.min(count, cap);
      if (start === 0 && count >= rows.length) return rows;
      return rows.slice(start, start + count);
    },
    async stopAfter(env, cap) {
      let count = lim ? limitNumber(await lim.fn(env), 'LIMIT') : -1;
      if (count < 0) count = Infinity;
      if (cap !== undefined) count = Math.min(count, cap);
      const start = off ? Math.max(0, limitNumber(await off.fn(env), 'OFFSET')) : 0;
      return count === Infinity ? undefined : start + count;
    },
  };
}

function limitNumber(v: Value, what: string): number {
  const n = V.toNumeric(v);
  if (typeof n === 'bigint') return n > 0n ? Infinity : -1;
  if (typeof n === 'number' && Number.isSafeInteger(n)) return n;
  const d = V.toDouble(n);
  if (d !== undefined && Number.isInteger(d)) return d;
  throw new DosqlError('MISMATCH', `datatype mismatch in ${what}`);
}

// ---------------------------------------------------------------------------------------------

interface CorePlan extends SelectPlan {}

function compileCore(core: SelectCore | ValuesCore, parent: Scope | undefined, cx: PlanContext, stmt: SelectStmt): CorePlan {
  if (core.kind === 'values') return compileValues(core, parent, cx);
  const isOnly = stmt.compounds.length === 0;
  const scope = new Scope(cx.fail, parent);
  const joined = core.from ? planInnerJoins(core.from, scope, cx, core.where) : undefined;
  const from = joined ?? (core.from ? compileFrom(core.from, scope, cx, core.where) : undefined);
  // The join planner applies WHERE itself, each term as early as its columns are bound.
  const where = core.where && !joined ? compileExpr(core.where, scope, cx) : undefined;
  const columnsAst = expandStar(core.columns, scope, cx);
  const grouped = core.groupBy !== undefined || hasAggregate(columnsAst, core.having, isOnly ? stmt.orderBy : undefined);
  const aggregates: AggSpec[] = [];
  const acx: CompileContext = grouped ? { ...cx, aggregates } : cx;
  // Window calls in result columns and ORDER BY read one extra Env slot, after the sources.
  const windows = new WindowSet(scope.slotCount, core.windows, cx.fail);
  const wcx: CompileContext = { ...acx, windows };
  const outputs = columnsAst.map((c) => compileExpr(c.expr, scope, wcx));
  const names = columnsAst.map((c) => c.name);
  const having = core.having ? compileExpr(core.having, scope, acx) : undefined;
  if (core.having && !grouped) cx.fail('ERROR', 'a GROUP BY clause is required before HAVING', core.having.pos);
  const groupBy = (core.groupBy ?? []).map((g) => compileGroupTerm(g, columnsAst, scope, cx));
  // ORDER BY of a lone core may use expressions over the FROM sources, computed as hidden columns.
  const order = isOnly && stmt.orderBy ? compileOrder(stmt.orderBy, columnsAst, outputs, scope, wcx) : undefined;
  const windowed = windows.calls.length > 0;
  if (grouped && core.groupBy?.length) cx.explain?.add('USE TEMP B-TREE FOR GROUP BY');
  if (core.distinct) cx.explain?.add('USE TEMP B-TREE FOR DISTINCT');
  if (order) cx.explain?.add('USE TEMP B-TREE FOR ORDER BY');
  const limit = isOnly ? compileLimit(stmt, parent, cx) : undefined;
  const slotCount = scope.slotCount + (windowed ? 1 : 0);
  const width = names.length;
  const isDistinct = core.distinct;

  const plan: CorePlan = {
    columns: names,
    columnCount: width,
    affinities: outputs.map((o) => o.affinity),
    correlated: false,
    async run(outer, cap) {
      const env: Env = { rows: new Array(slotCount).fill(null), outer, agg: undefined, run: outer!.run };
      const produced: Value[][] = [];
      const snaps: Snapshot[] = [];
      const project = async (): Promise<void> => {
        const row: Value[] = [];
        for (const o of outputs) row.push(o.async ? await o.fn(env) : (o.fn as SyncFn)(env));
        if (order) for (const k of order.extra) row.push(k.async ? await k.fn(env) : (k.fn as SyncFn)(env));
        produced.push(row);
      };
      // With window calls, rows are kept until every window is computed over all of them.
      const emit = windowed
        ? async (): Promise<void> => {
            snaps.push({ rows: env.rows.slice(), agg: env.agg });
          }
        : project;
      // Without ORDER BY, DISTINCT, grouping or windows, rows stream and LIMIT can stop the scan early.
      const streams = !grouped && !order && !isDistinct && !windowed;
      const early = !streams ? undefined : limit === undefined ? cap : await limit.stopAfter(env, cap);
      if (early === 0) return [];
      if (!grouped) {
        await rowsOf(from, env, async () => {
          if (where && V.isTruthy(where.async ? await where.fn(env) : (where.fn as SyncFn)(env)) !== true) return true;
          await emit();
          return early === undefined || produced.length < early;
        });
      } else {
        await runGrouped(from, env, where, groupBy, aggregates, having, emit);
      }
      if (windowed) {
        const { results, order: emitted } = await evaluateWindows(windows, snaps, env);
        for (const i of emitted) {
          const snap = snaps[i]!;
          snap.rows[windows.slot] = results[i]!;
          env.rows = snap.rows;
          env.agg = snap.agg;
          await project();
        }
      }
      let rows = isDistinct ? distinctPrefix(produced, width) : produced;
      if (order) sortRows(rows, order.terms);
      if (order && order.extra.length) rows = rows.map((r) => r.slice(0, width));
      return limit ? limit.apply(rows, env, cap) : rows;
    },
  };
  // Correlation is known only after compiling everything that reads the enclosing scopes.
  plan.correlated = scope.referencedFromInside;
  return plan;
}

function rowsOf(from: Producer | undefined, env: Env, emit: Emit): Promise<boolean> {
  if (!from) return Promise.resolve(emit());
  return from(env, emit);
}

function distinctPrefix(rows: Value[][], width: number): Value[][] {
  const seen = new Set<string>();
  return rows.filter((r) => {
    const k = encodeKey(r.length === width ? r : r.slice(0, width));
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

async function runGrouped(
  from: Producer | undefined,
  env: Env,
  where: Compiled | undefined,
  groupBy: Compiled[],
  specs: AggSpec[],
  having: Compiled | undefined,
  emit: () => Promise<void>,
): Promise<void> {
  interface Group {
    rows: Array<Value[] | null>;
    aggs: V.Aggregate[];
    seen: Array<Set<string> | undefined>;
    /** For aggregates with their own ORDER BY: [sort keys, args] held until the group ends. */
    held: Array<Array<[Value[], Value[]]> | undefined>;
  }
  const groups = new Map<string, Group>();
  await rowsOf(from, env, async () => {
    if (where && V.isTruthy(await where.fn(env)) !== true) return true;
    const keyVals: Value[] = [];
    for (const g of groupBy) keyVals.push(await g.fn(env));
    const key = encodeKey(keyVals);
    let g = groups.get(key);
    if (!g) {
      g = {
        rows: [],
        aggs: specs.map((s) => V.AGGREGATES[s.name]!()),
        seen: specs.map((s) => (s.distinct ? new Set() : undefined)),
        held: specs.map((s) => (s.orderBy ? [] : undefined)),
      };
      groups.set(key, g);
    }
    // Bare columns in an aggregate query read the group's last row, as in SQLite.
    g.rows = env.rows.slice();
    for (let i = 0; i < specs.length; i++) {
      const s = specs[i]!;
      if (s.filter && V.isTruthy(await s.filter.fn(env)) !== true) continue;
      const args: Value[] = [];
      for (const a of s.args) args.push(await a.fn(env));
      if (s.distinct) {
        if (args[0] === null) continue;
        const k = encodeKey(args);
        if (g.seen[i]!.has(k)) continue;
        g.seen[i]!.add(k);
      }
      if (s.orderBy) {
        const keys: Value[] = [];
        for (const o of s.orderBy) keys.push(await o.key.fn(env));
        g.held[i]!.push([keys, args]);
      } else g.aggs[i]!.step(args);
    }
    return true;
  });
  if (groups.size === 0 && groupBy.length === 0) {
    // An aggregate over no rows still yields one row (count 0, sum NULL).
    groups.set('', { rows: env.rows.map(() => null), aggs: specs.map((s) => V.AGGREGATES[s.name]!()), seen: [], held: [] });
  }
  for (const g of groups.values()) {
    g.held.forEach((held, i) => {
      if (!held) return;
      const terms = specs[i]!.orderBy!.map((o, index) => ({ index, desc: o.desc, nullsFirst: o.nullsFirst }));
      const ordered = held.map(([keys, args]) => [...keys, args] as Value[]);
      sortRows(ordered, terms);
      for (const row of ordered) g.aggs[i]!.step(row[row.length - 1] as unknown as Value[]);
    });
    env.rows = g.rows;
    env.agg = g.aggs.map((a) => a.final());
    if (having && V.isTruthy(await having.fn(env)) !== true) continue;
    await emit();
  }
}

/**
 * The result-column position a GROUP BY or ORDER BY term names, as SQLite reads it: an integer
 * literal that fits 32 bits, possibly under unary + or - (a REAL like 1.0, or 1e18, is a constant).
 */
function termPosition(e: Expr): number | undefined {
  let sign = 1;
  for (let depth = 0; e.kind === 'unary' && (e.op === '+' || e.op === '-'); depth++) {
    if (depth > 64) return undefined;
    if (e.op === '-') sign = -sign;
    e = e.operand;
  }
  if (e.kind !== 'literal' || typeof e.value !== 'number' || !Number.isSafeInteger(e.value)) return undefined;
  const v = sign * e.value;
  return v >= -2147483648 && v <= 2147483647 ? v : undefined;
}

function compileGroupTerm(e: Expr, cols: ExpandedColumn[], scope: Scope, cx: PlanContext): Compiled {
  const position = termPosition(e);
  if (position !== undefined) {
    const i = position - 1;
    if (i < 0 || i >= cols.length) cx.fail('ERROR', `GROUP BY term out of range - should be between 1 and ${cols.length}`, e.pos);
    return compileExpr(cols[i]!.expr, scope, cx);
  }
  if (e.kind === 'column' && !e.table) {
    const alias = cols.find((c) => c.alias && c.alias.toLowerCase() === e.name.toLowerCase());
    if (alias && !scopeHas(scope, e.name)) return compileExpr(alias.expr, scope, cx);
  }
  return compileExpr(e, scope, cx);
}

function scopeHas(scope: Scope, name: string): boolean {
  const n = name.toLowerCase();
  return scope.sources.some((s) => s.columns.includes(n));
}

function compileOrder(
  terms: OrderingTerm[],
  cols: ExpandedColumn[],
  outputs: Compiled[],
  scope: Scope,
  cx: CompileContext,
): { terms: SortTerm[]; extra: Compiled[] } {
  const extra: Compiled[] = [];
  const sortTerms = terms.map((t, n): SortTerm => {
    let e = t.expr;
    let collation: V.Collation | undefined;
    if (e.kind === 'collate') {
      collation = e.collation.toUpperCase() as V.Collation;
      e = e.operand;
    }
    const base = { desc: t.direction === 'DESC', nullsFirst: nullsFirst(t) };
    const position = termPosition(e);
    if (position !== undefined) {
      const i = position - 1;
      if (i < 0 || i >= cols.length) cx.fail('ERROR', `${ordinal(n + 1)} ORDER BY term out of range - should be between 1 and ${cols.length}`, e.pos);
      return { ...base, index: i, collation: collation ?? outputs[i]!.collation };
    }
    if (e.kind === 'column' && !e.table) {
      const i = cols.findIndex((c) => c.alias !== undefined && c.alias.toLowerCase() === e.name.toLowerCase());
      if (i >= 0) return { ...base, index: i, collation: collation ?? outputs[i]!.collation };
    }
    const c = compileExpr(e, scope, cx);
    extra.push(c);
    return { ...base, index: cols.length + extra.length - 1, collation: collation ?? c.collation };
  });
  return { terms: sortTerms, extra };
}

function ordinal(n: number): string {
  return n === 1 ? '1st' : n === 2 ? '2nd' : n === 3 ? '3rd' : `${n}th`;
}

interface ExpandedColumn {
  expr: Expr;
  name: string;
  alias?: string;
}

function expandStar(cols: ResultColumn[], scope: Scope, cx: PlanContext): ExpandedColumn[] {
  const out: ExpandedColumn[] = [];
  for (const c of cols) {
    if (c.kind === 'expr') {
      out.push({ expr: c.expr, alias: c.alias, name: c.alias ?? defaultName(c.expr, c.end, cx.sql) });
      continue;
    }
    // Merged USING columns (`using:` sources) appear through mergedColumns, not on their own.
    const sources = c.kind === 'star' ? scope.sources.filter((s) => !s.name.startsWith('using:')) : scope.sources.filter((s) => s.name === c.table.toLowerCase());
    if (c.kind === 'table_star' && sources.length === 0) cx.fail('ERROR', `no such table: ${c.table}`, c.pos);
    if (c.kind === 'star' && sources.length === 0) cx.fail('ERROR', 'no tables specified', c.pos);
    for (const s of sources) {
      s.displayNames.forEach((name, i) => {
        // SQLite shows the merged value for `t.*` too.
        const merged = mergedColumns.get(s)?.get(i);
        if (merged) return void out.push({ expr: merged, name });
        if (c.kind === 'star' && s.hidden?.has(i)) return;
        out.push({ expr: { kind: 'column', table: s.name, name: s.columns[i]!, pos: c.pos }, name });
      });
    }
  }
  return out;
}

function defaultName(e: Expr, end: number | undefined, sql: string): string {
  if (e.kind === 'column') return e.name;
  if (end !== undefined) return sql.slice(e.pos, end);
  return sql.slice(e.pos).split(/[,\n]/)[0]!.trim();
}

function hasAggregate(cols: ExpandedColumn[], having: Expr | undefined, order: OrderingTerm[] | undefined): boolean {
  const exprs = [...cols.map((c) => c.expr), ...(having ? [having] : []), ...(order ?? []).map((o) => o.expr)];
  return exprs.some(containsAggregate);
}

function containsAggregate(e: Expr): boolean {
  let found = false;
  visit(e, (x) => {
    if (x.kind === 'function' && x.over === undefined && V.AGGREGATES[x.name.toLowerCase()] !== undefined) {
      if (!(V.SCALAR_FUNCTIONS[x.name.toLowerCase()] !== undefined && x.args.length > 1)) found = true;
    }
  });
  return found;
}

/** Visit an expression tree, not descending into subqueries (they aggregate on their own). */
function visit(e: Expr, f: (e: Expr) => void): void {
  f(e);
  const kids: Array<Expr | undefined> = [];
  switch (e.kind) {
    case 'unary':
      kids.push(e.operand);
      break;
    case 'binary':
      kids.push(e.left, e.right);
      break;
    case 'is':
      kids.push(e.left, e.right);
      break;
    case 'between':
      kids.push(e.operand, e.low, e.high);
      break;
    case 'in_list':
      kids.push(e.operand, ...e.list);
      break;
    case 'in_select':
      kids.push(e.operand);
      break;
    case 'like':
      kids.push(e.operand, e.pattern, e.escape);
      break;
    case 'case':
      kids.push(e.operand, ...e.whens.flatMap((w) => [w.when, w.then]), e.else);
      break;
    case 'cast':
    case 'collate':
      kids.push(e.operand);
      break;
    case 'function':
      kids.push(...e.args, e.filter);
      if (e.over && typeof e.over !== 'string') kids.push(...e.over.partitionBy, ...e.over.orderBy.map((o) => o.expr));
      break;
  }
  for (const k of kids) if (k) visit(k, f);
}

function compileValues(core: ValuesCore, parent: Scope | undefined, cx: PlanContext): CorePlan {
  const scope = new Scope(cx.fail, parent);
  const rows = core.rows.map((r) => r.map((e) => compileExpr(e, scope, cx)));
  const width = rows[0]?.length ?? 0;
  for (const r of rows) if (r.length !== width) cx.fail('ERROR', 'all VALUES must have the same number of terms', core.pos);
  const plan: CorePlan = {
    columns: Array.from({ length: width }, (_, i) => `column${i + 1}`),
    columnCount: width,
    correlated: false,
    async run(outer) {
      const env: Env = { rows: [], outer, agg: undefined, run: outer!.run };
      const out: Value[][] = [];
      for (const r of rows) {
        const vals: Value[] = [];
        for (const c of r) vals.push(await c.fn(env));
        out.push(vals);
      }
      return out;
    },
  };
  plan.correlated = scope.referencedFromInside;
  return plan;
}

// ---------------------------------------------------------------------------------------------
// FROM

function compileFrom(item: FromItem, scope: Scope, cx: PlanContext, where: Expr | undefined): Producer {
  switch (item.kind) {
    case 'table': {
      const cte = item.schema === undefined ? cx.ctes?.get(item.name.toLowerCase()) : undefined;
      if (cte) return compileCteRef(cte, item, scope, cx);
      return compileTable(item, scope, cx, where);
    }
    case 'subquery':
      return compileDerived(item.select, item.alias, scope, cx);
    case 'function':
      return cx.fail('ERROR', `no such table-valued function: ${item.name}`, item.pos);
    case 'join':
      return compileJoin(item, scope, cx, where);
  }
}

type TableItem = Extract<FromItem, { kind: 'table' }>;

/** Leaves of a FROM tree of base tables joined by INNER, CROSS or comma joins with ON only. */
function innerJoinLeaves(item: FromItem, leaves: TableItem[], ons: Expr[]): boolean {
  if (item.kind === 'table') {
    leaves.push(item);
    return true;
  }
  if (item.kind !== 'join' || item.join === 'LEFT' || item.join === 'RIGHT' || item.join === 'FULL' || item.natural || item.using) return false;
  if (!innerJoinLeaves(item.left, leaves, ons) || !innerJoinLeaves(item.right, leaves, ons)) return false;
  if (item.on) ons.push(item.on);
  return true;
}

interface Predicate {
  expr: Expr;
  /** Slots of this query level the predicate reads; undefined when it cannot be placed early. */
  slots: Set<number> | undefined;
  applied: boolean;
}

/** Slots a predicate reads at this level (outer references are constants here). */
function predicateSlots(e: Expr, scope: Scope): Set<number> | undefined {
  const slots = new Set<number>();
  let placeable = true;
  visit(e, (x) => {
    if (x.kind === 'subquery' || x.kind === 'exists' || x.kind === 'in_select') placeable = false;
    if (x.kind === 'function' && V.SCALAR_FUNCTIONS[x.name.toLowerCase()]?.deterministic === false) placeable = false;
    if (x.kind !== 'column') return;
    const hit = tryResolve(scope, x);
    if (!hit) placeable = false;
    else if (hit.depth === 0) slots.add(hit.source.slot);
  });
  return placeable ? slots : undefined;
}

function tryResolve(scope: Scope, e: Extract<Expr, { kind: 'column' }>): ReturnType<Scope['resolve']> | undefined {
  try {
    return scope.resolve(e.name, e.table, e.pos);
  } catch {
    return undefined;
  }
}

/** Most tables the join planner orders by itself; beyond, FROM order is kept. */
const JOIN_ORDER_TABLES_MAX = 64;

/**
 * Inner joins of base tables: choose an order, push every WHERE and ON term down to the first
 * level where its columns are bound, and let each table use its primary key or an index with
 * values from the tables before it (index nested loops). Order: greedily, the next table is the
 * one whose key or index an equality with already-bound columns reaches; else one joined to the
 * bound tables by any term; else the next in FROM order. No intermediate result is materialized:
 * levels are nested loops over callbacks, so memory stays bounded whatever the number of tables.
 * Returns undefined (the general path applies) for other FROM shapes.
 */
function planInnerJoins(from: FromItem, scope: Scope, cx: PlanContext, where: Expr | undefined): Producer | undefined {
  const leaves: TableItem[] = [];
  const ons: Expr[] = [];
  if (!innerJoinLeaves(from, leaves, ons) || leaves.length < 2 || leaves.length > JOIN_ORDER_TABLES_MAX) return undefined;
  if (cx.ctes && leaves.some((l) => cx.ctes!.has(l.name.toLowerCase()))) return undefined;
  const defs = leaves.map((l) => cx.table(l.name));
  if (defs.some((d, i) => !d || d.view || leaves[i]!.systemTime)) return undefined;
  const tables = leaves.map((leaf, i) => {
    const def = defs[i]!;
    const name = leaf.alias ?? leaf.name;
    if (scope.hasTable(name)) cx.fail('ERROR', `ambiguous table name: ${name}`, leaf.pos);
    const source = tableSource(def, name, scope.slotCount, false);
    scope.add(source);
    return { def, source };
  });
  const preds: Predicate[] = [...ons.flatMap(conjuncts), ...(where ? conjuncts(where) : [])].map((expr) => ({ expr, slots: predicateSlots(expr, scope), applied: false }));
  const bound = new Set<number>();
  const isBound: BoundCheck = (e) => {
    const hit = tryResolve(scope, e);
    return hit !== undefined && (hit.depth > 0 || bound.has(hit.source.slot));
  };
  const usable = (slot: number): Expr[] =>
    preds.filter((p) => p.slots && [...p.slots].every((s) => s === slot || bound.has(s))).map((p) => p.expr);
  const levels: Producer[] = [];
  const remaining = tables.slice();
  for (let step = 0; step < tables.length; step++) {
    const next = pickNext(remaining, usable, isBound, bound);
    remaining.splice(remaining.indexOf(next), 1);
    const { def, source } = next;
    const terms = usable(source.slot);
    const access = planAccess(def, source, scope, cx, terms.length ? andAll(terms) : undefined, isBound);
    bound.add(source.slot);
    const last = step === tables.length - 1;
    const here = preds.filter((p) => !p.applied && (last || (p.slots && [...p.slots].every((s) => bound.has(s)))));
    for (const p of here) p.applied = true;
    const filter = here.length ? compileExpr(andAll(here.map((p) => p.expr)), scope, cx) : undefined;
    levels.push(filtered(tableProducer(def, source.slot, access), filter));
  }
  return levels.reduceRight<Producer | undefined>(
    (inner, level) => (inner ? (env, emit) => level(env, () => inner(env, emit)) : level),
    undefined,
  );
}

function pickNext(
  remaining: Array<{ def: TableDef; source: Source }>,
  usable: (slot: number) => Expr[],
  isBound: BoundCheck,
  bound: Set<number>,
): { def: TableDef; source: Source } {
  let best = remaining[0]!;
  let bestScore = -1;
  for (const t of remaining) {
    const terms = usable(t.source.slot);
    let score = terms.length && bound.size ? 1 : 0;
    const keyCol = keyColumnIndex(t.def);
    if (keyCol !== undefined && boundsFor(terms, keyMatcher(t.def, t.source, keyCol), t.source, isBound).eq) score = 3;
    else if ((t.def.indexes ?? []).some((x) => boundsFor(terms, columnMatcher(t.source, x.columns[0]!), t.source, isBound).eq)) score = 2;
    if (score > bestScore) {
      best = t;
      bestScore = score;
    }
  }
  return best;
}

function andAll(terms: Expr[]): Expr {
  return terms.reduce((a, b) => ({ kind: 'binary', op: 'AND', left: a, right: b, pos: a.pos }));
}

function filtered(producer: Producer, filter: Compiled | undefined): Producer {
  if (!filter) return producer;
  return (env, emit) =>
    producer(env, async () => (V.isTruthy(filter.async ? await filter.fn(env) : (filter.fn as SyncFn)(env)) === true ? emit() : true));
}

function tableSource(def: TableDef, name: string, slot: number, periods: boolean): Source {
  const extra = periods ? PERIOD_COLUMNS : [];
  return {
    name: name.toLowerCase(),
    columns: [...def.columns.map((c) => c.name.toLowerCase()), ...extra],
    displayNames: [...def.columns.map((c) => c.name), ...extra],
    affinities: [...def.columns.map((c) => c.affinity), ...extra.map(() => undefined)],
    collations: [...def.columns.map(() => undefined), ...extra.map(() => undefined)],
    slot,
    offset: 1,
    hasRowid: true,
    def,
  };
}

export function compileTable(item: Extract<FromItem, { kind: 'table' }>, scope: Scope, cx: PlanContext, where: Expr | undefined): Producer {
  const def = cx.table(item.name);
  if (!def && SCHEMA_TABLE_NAMES.has(item.name.toLowerCase())) return compileSchemaTable(item.alias ?? item.name, scope);
  if (!def) return cx.fail('NO_SUCH_TABLE', `no such table: ${item.name}`, item.pos);
  if (def.view) return compileView(def, item, scope, cx);
  const name = item.alias ?? item.name;
  if (scope.hasTable(name)) cx.fail('ERROR', `ambiguous table name: ${name}`, item.pos);
  const slot = scope.slotCount;
  const clause = item.systemTime ? compileSystemTime(item.systemTime, cx) : undefined;
  const periods = item.systemTime?.kind === 'between' || item.systemTime?.kind === 'all';
  const source = tableSource(def, name, slot, periods);
  scope.add(source);
  const access = planAccess(def, source, scope, cx, where);
  return tableProducer(def, slot, access, clause);
}

/** Rows of a base table through an access path, at the present or at a time-travel point. */
function tableProducer(def: TableDef, slot: number, access: Access, clause?: (env: Env) => Promise<TimeSpec>): Producer {
  return async (env, emit) => {
    const run = env.run as SelectRun;
    const txn = run.txn;
    const time: TimeSpec | undefined = clause ? await clause(env) : run.asOf !== undefined ? { kind: 'as_of', lsn: run.asOf } : undefined;
    if (time) return readPast(def, access, time, env, slot, emit);
    if (access.kind === 'point') {
      let v = access.value(env);
      if (v instanceof Promise) v = await v;
      if (v === undefined) return true;
      let row = txn.getRow(def, encodeKey([v]));
      if (row instanceof Promise) row = await row;
      if (!row) return true;
      env.rows[slot] = row;
      return emit();
    }
    if (access.kind === 'index' && txn.readsCurrentTrees(def)) return scanIndex(def, access, env, slot, emit);
    const range = access.kind === 'range' ? await access.range(env) : {};
    if (range === undefined) return true;
    for await (const row of txn.scan(def, range)) {
      env.rows[slot] = row;
      if ((await emit()) === false) return false;
    }
    return true;
  };
}

/** Rows through a secondary index: a range of the index tree, then each row by its key. */
async function scanIndex(def: TableDef, access: Extract<Access, { kind: 'index' }>, env: Env, slot: number, emit: Emit): Promise<boolean> {
  const txn = (env.run as SelectRun).txn;
  const range = await access.range(env);
  if (range === undefined) return true;
  const tree = txn.store.indexTree(def, access.index.name)!;
  // Collect the row keys first: emitting may run statements that change the index (none today,
  // but a scan must not depend on that).
  const keys: string[] = [];
  for await (const [, v] of tree.scan(range)) keys.push(v[0] as string);
  for (const key of keys) {
    let row = txn.getRow(def, key);
    if (row instanceof Promise) row = await row;
    if (!row) continue;
    env.rows[slot] = row;
    if ((await emit()) === false) return false;
  }
  return true;
}

/** A table reference reading the past: versioned reads that bypass the transaction's overlay. */
async function readPast(def: TableDef, access: Access, time: TimeSpec, env: Env, slot: number, emit: Emit): Promise<boolean> {
  const store = (env.run as SelectRun).txn.store;
  // Rows visible at an LSN have the column layout of the definition in force then.
  const pastDef = time.kind === 'as_of' ? store.catalog.definitionAt(def.id, time.lsn) : undefined;
  const layout = (rec: Value[]): Value[] => inLayout(def, pastDef, rec);
  const versionLayout = (rec: Value[]): Value[] => inLayout(def, store.catalog.definitionAt(def.id, BigInt(rec[rec.length - 4] as number | bigint)), rec);
  let range: KeyRange | undefined = {};
  if (access.kind === 'point') {
    let v = access.value(env);
    if (v instanceof Promise) v = await v;
    if (v === undefined) return true;
    const key = encodeKey([v]);
    if (time.kind === 'as_of') {
      const row = await store.getAsOf(def, key, time.lsn);
      if (!row) return true;
      env.rows[slot] = layout(row);
      return emit();
    }
    range = { lo: key, hi: key };
  } else if (access.kind === 'range') range = await access.range(env);
  else if (access.kind === 'index' && time.kind === 'as_of') {
    // Secondary indexes keep their replaced entries too, so a past read can use them.
    const r = await access.range(env);
    if (r === undefined) return true;
    for await (const rec of store.indexScanAsOf(def, access.index.name, r, time.lsn)) {
      env.rows[slot] = layout(rec);
      if ((await emit()) === false) return false;
    }
    return true;
  }
  if (range === undefined) return true;
  const rows = time.kind === 'as_of' ? store.scanAsOf(def, range, time.lsn) : store.versions(def, range, time.from, time.to);
  for await (const rec of rows) {
    env.rows[slot] = time.kind === 'as_of' ? layout(rec) : periodRow(def, versionLayout(rec));
    if ((await emit()) === false) return false;
  }
  return true;
}

const SCHEMA_TABLE_NAMES = new Set(['sqlite_schema', 'sqlite_master']);
const SCHEMA_COLUMNS = ['type', 'name', 'tbl_name', 'rootpage', 'sql'];

/**
 * `sqlite_schema` (alias `sqlite_master`), read-only, as in SQLite: one row per table with its
 * CREATE statement, so tools and shells can list the schema with plain SQL. `rootpage` holds the
 * table's id (DoSQL has no fixed root pages: roots move under copy-on-write).
 */
function compileSchemaTable(name: string, scope: Scope): Producer {
  const slot = scope.slotCount;
  scope.add({
    name: name.toLowerCase(),
    columns: SCHEMA_COLUMNS,
    displayNames: SCHEMA_COLUMNS,
    affinities: ['TEXT', 'TEXT', 'TEXT', 'INTEGER', 'TEXT'],
    collations: SCHEMA_COLUMNS.map(() => undefined),
    slot,
    offset: 0,
    hasRowid: false,
  });
  return async (env, emit) => {
    for (const t of (env.run as SelectRun).txn.tableList()) {
      env.rows[slot] = [t.view ? 'view' : 'table', t.name, t.name, t.id, t.sql];
      if ((await emit()) === false) return false;
      for (const x of t.indexes ?? []) {
        env.rows[slot] = ['index', x.name, t.name, t.id, x.sql];
        if ((await emit()) === false) return false;
      }
      for (const x of t.triggers ?? []) {
        env.rows[slot] = ['trigger', x.name, t.name, 0, x.sql];
        if ((await emit()) === false) return false;
      }
    }
    return true;
  };
}

const viewCache = new WeakMap<TableDef, CreateViewStmt>();

/** A view reference: its SELECT, parsed once per definition, as a derived table. */
function compileView(def: TableDef, item: Extract<FromItem, { kind: 'table' }>, scope: Scope, cx: PlanContext): Producer {
  if (item.systemTime) cx.fail('ERROR', 'FOR SYSTEM_TIME applies to tables, not views', item.pos);
  let stmt = viewCache.get(def);
  if (!stmt) {
    stmt = parseOne(def.sql).statement as CreateViewStmt;
    viewCache.set(def, stmt);
  }
  // A view's body sees the schema, not the WITH tables of the statement that reads it.
  const viewCx = cx.ctes?.size ? contextWithCtes(cx, new Map()) : cx;
  return compileDerived(stmt.select, item.alias ?? def.name, scope, viewCx, stmt.columns);
}

function compileDerived(select: SelectStmt, alias: string | undefined, scope: Scope, cx: PlanContext, names?: string[], pos = select.pos): Producer {
  const plan = compileSelect(select, scope.parent, cx);
  if (names && names.length !== plan.columns.length) {
    cx.fail('ERROR', `table ${alias ?? ''} has ${plan.columns.length} values for ${names.length} columns`, pos);
  }
  const columns = names ?? plan.columns;
  const slot = addDerivedSource(scope, alias, columns, plan.affinities);
  return async (env, emit) => {
    for (const row of await plan.run(env.outer ?? env)) {
      env.rows[slot] = row;
      if ((await emit()) === false) return false;
    }
    return true;
  };
}

/** A source for rows computed by a query (derived table, view, CTE); returns its slot. */
function addDerivedSource(scope: Scope, alias: string | undefined, columns: string[], affinities?: Array<V.Affinity | undefined>): number {
  const slot = scope.slotCount;
  const lower = columns.map((c) => c.toLowerCase());
  scope.add({
    name: (alias ?? `subquery_${slot}`).toLowerCase(),
    columns: lower,
    displayNames: columns,
    // A derived table's columns keep the affinity of the expressions they come from.
    affinities: columns.map((_, i) => affinities?.[i]),
    collations: columns.map(() => undefined),
    slot,
    offset: 0,
    hasRowid: false,
  });
  return slot;
}

/**
 * Nested-loop joins. LEFT emits a left row null-extended when no right row matched it. RIGHT
 * and FULL also remember which right rows matched (by their ordinal in the right side's
 * production, which is a full scan and so the same on every run) and, after the left loop, run
 * the right side once more to emit the unmatched ones with the left side's slots null.
 */
function compileJoin(item: Extract<FromItem, { kind: 'join' }>, scope: Scope, cx: PlanContext, where: Expr | undefined): Producer {
  const outerRight = item.join === 'RIGHT' || item.join === 'FULL';
  const leftFirst = scope.sources.length;
  const left = compileFrom(item.left, scope, cx, outerRight ? undefined : where);
  const leftSources = scope.sources.length;
  const leftSlots = scope.sources.slice(leftFirst, leftSources).map((s) => s.slot);
  // Key lookups on the right side may use the left side's columns only for inner joins.
  const right = compileFrom(item.right, scope, cx, item.join === 'LEFT' || outerRight ? undefined : where);
  const rightSlots = scope.sources.slice(leftSources).map((s) => s.slot);
  const pairs: UsingPair[] = [];
  const on = compileJoinCondition(item, scope, leftSources, cx, pairs);
  const isLeft = item.join === 'LEFT' || item.join === 'FULL';
  if (outerRight && pairs.length) {
    const merged = mergeUsingColumns(pairs, scope);
    const inner = emit0Wrap(merged);
    const plain = joinProducer(left, right, on, isLeft, outerRight, leftSlots, rightSlots);
    return (env, emit) => plain(env, () => inner(env, emit));
  }
  return joinProducer(left, right, on, isLeft, outerRight, leftSlots, rightSlots);
}

interface UsingPair {
  left: Source;
  right: Source;
  name: string;
}

/** Sources whose columns `*` replaces by a merged USING column: source -> column -> reference. */
const mergedColumns = new WeakMap<Source, Map<number, Expr>>();

/**
 * In RIGHT and FULL joins, an unqualified USING column is coalesce(left, right), as in SQLite: a
 * hidden source holds the merged values, both sides' columns are hidden from unqualified names,
 * and `*` shows the merged column where the left one stood.
 */
function mergeUsingColumns(pairs: UsingPair[], scope: Scope): (env: Env) => void {
  const slot = scope.slotCount;
  const name = `using:${slot}`;
  const columns = pairs.map((p) => p.name);
  scope.add({ name, columns, displayNames: columns, affinities: columns.map(() => undefined), collations: columns.map(() => undefined), slot, offset: 0, hasRowid: false });
  const reads = pairs.map((p, i) => {
    const li = p.left.columns.indexOf(p.name);
    const ri = p.right.columns.indexOf(p.name);
    (p.left.hidden ??= new Set()).add(li);
    let m = mergedColumns.get(p.left);
    if (!m) mergedColumns.set(p.left, (m = new Map()));
    m.set(li, { kind: 'column', table: name, name: columns[i]!, pos: 0 });
    return { l: p.left.slot, li: p.left.offset + li, r: p.right.slot, ri: p.right.offset + ri };
  });
  return (env) => {
    env.rows[slot] = reads.map((x) => env.rows[x.l]?.[x.li] ?? env.rows[x.r]?.[x.ri] ?? null);
  };
}

function emit0Wrap(fill: (env: Env) => void): (env: Env, emit: Emit) => boolean | Promise<boolean> {
  return (env, emit) => {
    fill(env);
    return emit();
  };
}

function joinProducer(
  left: Producer,
  right: Producer,
  on: Compiled | undefined,
  isLeft: boolean,
  outerRight: boolean,
  leftSlots: number[],
  rightSlots: number[],
): Producer {
  return async (env, emit) => {
    const matchedRight = outerRight ? new Set<number>() : undefined;
    const more = await left(env, async () => {
      let matched = false;
      let ordinal = 0;
      const more = await right(env, async () => {
        const n = ordinal++;
        if (on && V.isTruthy(await on.fn(env)) !== true) return true;
        matched = true;
        matchedRight?.add(n);
        return emit();
      });
      if (!more) return false;
      if (isLeft && !matched) {
        for (const s of rightSlots) env.rows[s] = null;
        return emit();
      }
      return true;
    });
    if (!more || !matchedRight) return more;
    let ordinal = 0;
    return right(env, async () => {
      if (matchedRight.has(ordinal++)) return true;
      for (const s of leftSlots) env.rows[s] = null;
      return emit();
    });
  };
}

function compileJoinCondition(item: Extract<FromItem, { kind: 'join' }>, scope: Scope, leftCount: number, cx: PlanContext, pairs: UsingPair[] = []): Compiled | undefined {
  let using = item.using;
  const leftSources = scope.sources.slice(0, leftCount);
  const rightSources = scope.sources.slice(leftCount);
  if (item.natural) {
    using = rightSources.flatMap((r) => r.columns.filter((c) => leftSources.some((l) => l.columns.includes(c))));
  }
  if (!using) return item.on ? compileExpr(item.on, scope, cx) : undefined;
  const terms: Expr[] = [];
  for (const col of using) {
    const name = col.toLowerCase();
    // After a RIGHT or FULL join, the left side's value of a USING column is the merged one.
    const l = leftSources.find((s) => s.name.startsWith('using:') && s.columns.includes(name)) ?? leftSources.find((s) => s.columns.includes(name));
    const r = rightSources.find((s) => s.columns.includes(name));
    if (!l || !r) cx.fail('ERROR', `cannot join using column ${col} - column not present in both tables`, item.pos);
    (r.hidden ??= new Set()).add(r.columns.indexOf(name));
    pairs.push({ left: l, right: r, name });
    terms.push({
      kind: 'binary',
      op: '=',
      pos: item.pos,
      left: { kind: 'column', table: l.name, name, pos: item.pos },
      right: { kind: 'column', table: r.name, name, pos: item.pos },
    });
  }
  const all = item.on ? [...terms, item.on] : terms;
  // A NATURAL join with no common column is a cross join.
  if (all.length === 0) return undefined;
  const cond = all.reduce((a, b) => ({ kind: 'binary', op: 'AND', left: a, right: b, pos: item.pos }));
  return compileExpr(cond, scope, cx);
}

// ---------------------------------------------------------------------------------------------
// Access paths

type Access =
  | { kind: 'scan' }
  | { kind: 'index'; index: IndexDef; detail: string; range: (env: Env) => Promise<KeyRange | undefined> }
  | { kind: 'point'; value: (env: Env) => Value | undefined | Promise<Value | undefined> }
  | { kind: 'range'; detail: string; range: (env: Env) => Promise<import('./txn.js').KeyRange | undefined> };

/** The key column of a table when its tree is ordered by one column's value (or the rowid). */
function keyColumnIndex(def: TableDef): number | 'rowid' | undefined {
  if (def.primaryKey.length === 0) return 'rowid';
  if (def.primaryKey.length === 1) return def.primaryKey[0];
  return undefined;
}

/** What WHERE says about one column: an equality, and lower and upper bounds. */
interface ColumnBounds {
  eq?: Expr;
  lows: Array<{ e: Expr; inclusive: boolean }>;
  highs: Array<{ e: Expr; inclusive: boolean }>;
}

function boundsFor(terms: Expr[], isColumn: (e: Expr) => boolean, source: Source, bound: BoundCheck = NOTHING_BOUND): ColumnBounds {
  const b: ColumnBounds = { lows: [], highs: [] };
  for (const t of terms) {
    if (t.kind === 'between' && !t.negated && isColumn(t.operand) && independent(t.low, source, bound) && independent(t.high, source, bound)) {
      b.lows.push({ e: t.low, inclusive: true });
      b.highs.push({ e: t.high, inclusive: true });
      continue;
    }
    if (t.kind !== 'binary') continue;
    let op = t.op;
    let other: Expr;
    if (isColumn(t.left) && independent(t.right, source, bound)) other = t.right;
    else if (isColumn(t.right) && independent(t.left, source, bound)) {
      other = t.left;
      op = flip(op);
    } else continue;
    if (other.kind === 'collate') continue;
    if (op === '=') b.eq ??= other;
    if (op === '>' || op === '>=') b.lows.push({ e: other, inclusive: op === '>=' });
    if (op === '<' || op === '<=') b.highs.push({ e: other, inclusive: op === '<=' });
  }
  return b;
}

function columnMatcher(source: Source, column: number): (e: Expr) => boolean {
  const name = source.columns[column]!;
  return (e) => e.kind === 'column' && e.name.toLowerCase() === name && (!e.table || e.table.toLowerCase() === source.name);
}

/**
 * The access path: a primary-key point lookup, an index equality, a key range, an index range,
 * or a full scan, in that order of preference. WHERE is still checked on every row produced.
 */
function planAccess(def: TableDef, source: Source, scope: Scope, cx: PlanContext, where: Expr | undefined, bound: BoundCheck = NOTHING_BOUND): Access {
  const access = chooseAccess(def, source, scope, cx, where, bound);
  cx.explain?.add(describeAccess(def, source, access));
  return access;
}

/** The EXPLAIN QUERY PLAN line of an access path, in SQLite's words. */
function describeAccess(def: TableDef, source: Source, a: Access): string {
  const name = source.name === def.name.toLowerCase() ? def.name : `${def.name} AS ${source.name}`;
  const keyName = def.primaryKey.length ? def.columns[def.primaryKey[0]!]!.name : 'rowid';
  const using = def.primaryKey.length ? 'PRIMARY KEY' : 'INTEGER PRIMARY KEY';
  switch (a.kind) {
    case 'scan':
      return `SCAN ${name}`;
    case 'point':
      return `SEARCH ${name} USING ${using} (${keyName}=?)`;
    case 'range':
      return `SEARCH ${name} USING ${using} (${a.detail.replaceAll('$', keyName)})`;
    case 'index':
      return `SEARCH ${name} USING INDEX ${a.index.name} (${a.detail.replaceAll('$', def.columns[a.index.columns[0]!]!.name)})`;
  }
}

/** `$>? AND $<?` for the bounds used: `$` stands for the column's name. */
function boundsText(b: ColumnBounds): string {
  if (b.eq) return '$=?';
  const parts: string[] = [];
  if (b.lows[0]) parts.push(b.lows[0].inclusive ? '$>=?' : '$>?');
  if (b.highs[0]) parts.push(b.highs[0].inclusive ? '$<=?' : '$<?');
  return parts.join(' AND ');
}

function chooseAccess(def: TableDef, source: Source, scope: Scope, cx: PlanContext, where: Expr | undefined, bound: BoundCheck): Access {
  if (!where) return { kind: 'scan' };
  const terms = conjuncts(where);
  const keyCol = keyColumnIndex(def);
  const key = keyCol === undefined ? undefined : boundsFor(terms, keyMatcher(def, source, keyCol), source, bound);
  const keyAffinity: V.Affinity = keyCol === 'rowid' || keyCol === undefined ? 'INTEGER' : def.columns[keyCol]!.affinity;
  if (key?.eq) {
    const c = compileIndependent(key.eq, scope, cx);
    if (!c.async) {
      const f = c.fn as SyncFn;
      return { kind: 'point', value: (env) => keyValue(f(env), keyAffinity) };
    }
    return { kind: 'point', value: async (env) => keyValue(await c.fn(env), keyAffinity) };
  }
  const indexes = (def.indexes ?? [])
    .map((index) => ({ index, b: boundsFor(terms, columnMatcher(source, index.columns[0]!), source, bound) }))
    .filter(({ index, b }) => indexComparable(def.columns[index.columns[0]!]!.affinity, b, scope, cx));
  const byEq = indexes.find((x) => x.b.eq);
  if (byEq) return indexAccess(def, byEq.index, { lows: [{ e: byEq.b.eq!, inclusive: true }], highs: [{ e: byEq.b.eq!, inclusive: true }] }, scope, cx, '$=?');
  if (key && (key.lows.length || key.highs.length)) return { kind: 'range', range: rangeOf(key, keyAffinity, scope, cx), detail: boundsText(key) };
  const byRange = indexes.find((x) => x.b.lows.length || x.b.highs.length);
  if (byRange) return indexAccess(def, byRange.index, byRange.b, scope, cx, boundsText(byRange.b));
  return { kind: 'scan' };
}

/**
 * Whether an index on a column of this affinity can serve these bounds. When the column is TEXT
 * or BLOB (no affinity) and the other side has a numeric affinity, the comparison converts the
 * column's values (text '0.0' equals 0), which an index ordered by stored values cannot follow.
 */
function indexComparable(column: V.Affinity, b: ColumnBounds, scope: Scope, cx: PlanContext): boolean {
  if (column !== 'TEXT' && column !== 'BLOB') return true;
  const probes = [b.eq, ...b.lows.map((x) => x.e), ...b.highs.map((x) => x.e)].filter((e): e is Expr => e !== undefined);
  return probes.every((e) => {
    const a = compileIndependent(e, scope, cx).affinity;
    return a !== 'INTEGER' && a !== 'REAL' && a !== 'NUMERIC';
  });
}

function keyMatcher(def: TableDef, source: Source, keyCol: number | 'rowid'): (e: Expr) => boolean {
  return (e) => {
    if (e.kind !== 'column') return false;
    if (e.table && e.table.toLowerCase() !== source.name) return false;
    const n = e.name.toLowerCase();
    if (keyCol === 'rowid') {
      if (def.rowidColumn >= 0 && n === def.columns[def.rowidColumn]!.name.toLowerCase()) return true;
      return (n === 'rowid' || n === 'oid' || n === '_rowid_') && !source.columns.includes(n);
    }
    return n === def.columns[keyCol]!.name.toLowerCase();
  };
}

/** Key range over the table's own key from the first lower and upper bound. */
function rangeOf(b: ColumnBounds, affinity: V.Affinity, scope: Scope, cx: PlanContext): (env: Env) => Promise<KeyRange | undefined> {
  const lo = b.lows[0] && { c: compileIndependent(b.lows[0].e, scope, cx), inclusive: b.lows[0].inclusive };
  const hi = b.highs[0] && { c: compileIndependent(b.highs[0].e, scope, cx), inclusive: b.highs[0].inclusive };
  return async (env) => {
    const r: KeyRange = {};
    if (lo) {
      const v = boundValue(await lo.c.fn(env), affinity);
      if (v === null) return undefined;
      r.lo = encodeKey([v]);
      r.loInclusive = lo.inclusive;
    }
    if (hi) {
      const v = boundValue(await hi.c.fn(env), affinity);
      if (v === null) return undefined;
      r.hi = encodeKey([v]);
      r.hiInclusive = hi.inclusive;
    }
    return r;
  };
}

/**
 * A range of an index tree from bounds on its first column. Index keys are the encoded values
 * followed by the row key, so "first column = v" is every key starting with encode(v): from
 * encode(v) up to encode(v) + U+FFFF, which sorts after any continuation.
 */
function indexAccess(def: TableDef, index: IndexDef, b: ColumnBounds, scope: Scope, cx: PlanContext, detail: string): Access {
  const affinity = def.columns[index.columns[0]!]!.affinity;
  const keyRange = rangeOf(b, affinity, scope, cx);
  return {
    kind: 'index',
    index,
    detail,
    range: async (env) => {
      const r = await keyRange(env);
      if (!r) return undefined;
      const out: KeyRange = { hiInclusive: false };
      if (r.lo !== undefined) {
        out.lo = r.loInclusive ? r.lo : r.lo + INDEX_KEY_END;
        out.loInclusive = true;
      }
      if (r.hi !== undefined) out.hi = r.hiInclusive ? r.hi + INDEX_KEY_END : r.hi;
      return out;
    },
  };
}

/** Sorts after every continuation of an encoded index value (see indexAccess). */
const INDEX_KEY_END = '\uffff';

function compileIndependent(e: Expr, scope: Scope, cx: PlanContext): Compiled {
  return compileExpr(e, scope, cx);
}

/** A value compared with the key column, converted as the comparison would convert it. */
function boundValue(v: Value, affinity: V.Affinity): Value {
  if (v === null) return null;
  return V.applyComparisonAffinity(0, affinity, v, undefined)[1];
}

/** The key to look up for `key = v`, or undefined when no key can equal v. */
function keyValue(v: Value, affinity: V.Affinity): Value | undefined {
  const b = boundValue(v, affinity);
  if (b === null) return undefined;
  if (affinity === 'INTEGER' && !V.isInteger(b)) {
    const d = V.toDouble(b);
    return d !== undefined && Number.isSafeInteger(d) ? d : undefined;
  }
  return b;
}

function flip(op: BinaryOp): BinaryOp {
  return op === '<' ? '>' : op === '<=' ? '>=' : op === '>' ? '<' : op === '>=' ? '<=' : op;
}

function conjuncts(e: Expr): Expr[] {
  if (e.kind === 'binary' && e.op === 'AND') return [...conjuncts(e.left), ...conjuncts(e.right)];
  return [e];
}

/** True when the expression reads no column of `source` and no subquery (so it is fixed per scan). */
function independent(e: Expr, source: Source, bound: BoundCheck = NOTHING_BOUND): boolean {
  let ok = true;
  visit(e, (x) => {
    if (x.kind === 'subquery' || x.kind === 'exists' || x.kind === 'in_select') ok = false;
    if (x.kind === 'function' && V.SCALAR_FUNCTIONS[x.name.toLowerCase()]?.deterministic === false) ok = false;
    if (x.kind === 'column' && !bound(x, source)) ok = false;
  });
  return ok;
}

/** Whether a column reference is fixed while `source` is scanned (an earlier join level's). */
type BoundCheck = (e: Extract<Expr, { kind: 'column' }>, source: Source) => boolean;
const NOTHING_BOUND: BoundCheck = () => false;

// ---------------------------------------------------------------------------------------------
// WITH

/** Most rows a recursive CTE may produce (queue pops) before the statement fails. */
export const CTE_RECURSION_ROWS_MAX = 10_000_000;

/** A context in which the WITH clause's tables are visible, to this select and those nested in it. */
export function withContext(w: NonNullable<SelectStmt['with']>, cx: PlanContext): PlanContext {
  const ctes = new Map(cx.ctes);
  const local = new Set<string>();
  let current = cx;
  for (const cte of w.ctes) {
    const name = cte.name.toLowerCase();
    if (local.has(name)) cx.fail('ERROR', `duplicate WITH table name: ${cte.name}`, cte.pos);
    local.add(name);
    // As in SQLite, a CTE naming itself is recursive whether or not RECURSIVE was written.
    const recursive = referencesTable(cte.select, name);
    const binding: CteBinding = { cte, cx: current, recursive };
    ctes.set(name, binding);
    const next = contextWithCtes(cx, new Map(ctes));
    if (recursive) binding.cx = next;
    current = next;
  }
  return current;
}

function contextWithCtes(cx: PlanContext, ctes: Map<string, CteBinding>): PlanContext {
  const out: PlanContext = {
    ...cx,
    ctes,
    compileSubquery: (select, scope) =>
      cx.explain ? cx.explain.nest('SUBQUERY', () => compileSelect(select, scope, out)) : compileSelect(select, scope, out),
  };
  return out;
}

/** Whether any FROM clause in the statement (subqueries included) names `name`. */
function referencesTable(node: unknown, name: string, depth = 0): boolean {
  if (depth > COMPILE_AST_DEPTH_MAX || node === null || typeof node !== 'object') return false;
  if (Array.isArray(node)) return node.some((x) => referencesTable(x, name, depth + 1));
  const o = node as Record<string, unknown>;
  if (o.kind === 'table' && typeof o.name === 'string' && o.schema === undefined && o.name.toLowerCase() === name) return true;
  for (const k in o) if (k !== 'pos' && referencesTable(o[k], name, depth + 1)) return true;
  return false;
}

/** Deepest AST walked when looking for a recursive reference (the parser bounds depth below this). */
const COMPILE_AST_DEPTH_MAX = 10_000;

function compileCteRef(b: CteBinding, item: Extract<FromItem, { kind: 'table' }>, scope: Scope, cx: PlanContext): Producer {
  if (item.systemTime) cx.fail('ERROR', 'FOR SYSTEM_TIME applies to tables, not common table expressions', item.pos);
  const alias = item.alias ?? b.cte.name;
  if (scope.hasTable(alias)) cx.fail('ERROR', `ambiguous table name: ${alias}`, item.pos);
  if (b.working) {
    const working = b.working;
    const slot = addDerivedSource(scope, alias, working.columns);
    return async (env, emit) => {
      for (const row of working.rows) {
        env.rows[slot] = row;
        if ((await emit()) === false) return false;
      }
      return true;
    };
  }
  if (!b.recursive) {
    return compileDerived(b.cte.select, alias, scope, b.cx, b.cte.columns, b.cte.pos);
  }
  return compileRecursive(b, alias, scope, cx);
}

function checkCteWidth(b: CteBinding, width: number, cx: PlanContext): void {
  const cols = b.cte.columns;
  if (cols && cols.length !== width) cx.fail('ERROR', `table ${b.cte.name} has ${width} values for ${cols.length} columns`, b.cte.pos);
}

/**
 * A recursive CTE, as SQLite runs it: the non-recursive cores fill a queue; each row popped is
 * emitted, then the recursive cores run with that one row as the CTE's content and append their
 * rows to the queue (UNION drops rows already seen). ORDER BY in the CTE makes the queue a
 * priority queue; its LIMIT/OFFSET count rows popped. Bounded by CTE_RECURSION_ROWS_MAX.
 */
function compileRecursive(b: CteBinding, alias: string, scope: Scope, cx: PlanContext): Producer {
  const stmt = b.cte.select;
  const name = b.cte.name.toLowerCase();
  const cores = [stmt.first, ...stmt.compounds.map((c) => c.core)];
  const k = cores.findIndex((c) => referencesTable(c, name));
  if (k <= 0) cx.fail('ERROR', `circular reference: ${b.cte.name}`, b.cte.pos);
  const ops = stmt.compounds.slice(k - 1).map((c) => c.op);
  if (ops.some((op) => op !== 'UNION' && op !== 'UNION ALL')) cx.fail('ERROR', `circular reference: ${b.cte.name}`, b.cte.pos);
  for (const core of cores.slice(k)) {
    if (core.kind === 'select' && (core.groupBy || core.columns.some((c) => c.kind === 'expr' && containsAggregate(c.expr)))) {
      cx.fail('ERROR', 'recursive aggregate queries not supported', b.cte.pos);
    }
  }
  const isUnion = ops[0] === 'UNION';
  const init = compileSelect({ type: 'select', pos: stmt.pos, first: cores[0]!, compounds: stmt.compounds.slice(0, k - 1) }, scope.parent, b.cx);
  const columns = b.cte.columns ?? init.columns;
  checkCteWidth(b, init.columns.length, cx);
  const working = { rows: [] as Value[][], columns };
  const recCx = contextWithCtes(b.cx, new Map(b.cx.ctes).set(name, { ...b, working }));
  const recs = cores.slice(k).map((core) => {
    const p = compileSelect({ type: 'select', pos: stmt.pos, first: core, compounds: [] }, scope.parent, recCx);
    if (p.columnCount !== init.columnCount) cx.fail('ERROR', 'SELECTs to the left and right of UNION do not have the same number of result columns', stmt.pos);
    return p;
  });
  const order = stmt.orderBy ? compileCompoundOrder(stmt.orderBy, columns, cx) : undefined;
  const empty = new Scope(cx.fail, scope.parent);
  const lim = stmt.limit ? compileExpr(stmt.limit, empty, cx) : undefined;
  const off = stmt.offset ? compileExpr(stmt.offset, empty, cx) : undefined;
  const slot = addDerivedSource(scope, alias, columns);
  return async (env, emit) => {
    const outer = env.outer ?? env;
    let limit = lim ? limitNumber(await lim.fn(outer), 'LIMIT') : -1;
    if (limit < 0) limit = Infinity;
    let skip = off ? Math.max(0, limitNumber(await off.fn(outer), 'OFFSET')) : 0;
    if (limit === 0) return true;
    const seen = isUnion ? new Set<string>() : undefined;
    const queue: Value[][] = [];
    let head = 0;
    const push = (row: Value[]): void => {
      if (seen) {
        const key = encodeKey(row);
        if (seen.has(key)) return;
        seen.add(key);
      }
      if (!order) {
        queue.push(row);
        return;
      }
      // Stable priority queue: after every queued row that sorts at or before the new one.
      let lo = head;
      let hi = queue.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (compareRows(queue[mid]!, row, order) <= 0) lo = mid + 1;
        else hi = mid;
      }
      queue.splice(lo, 0, row);
    };
    for (const row of await init.run(outer)) push(row);
    let emitted = 0;
    for (let popped = 0; head < queue.length; popped++) {
      if (popped >= CTE_RECURSION_ROWS_MAX) throw new DosqlError('LIMIT_EXCEEDED', `recursive common table expression ${b.cte.name} produced more than ${CTE_RECURSION_ROWS_MAX} rows`);
      const row = queue[head++]!;
      // Drop the consumed prefix now and then, so the queue holds only pending rows.
      if (head > 1024 && head * 2 > queue.length) {
        queue.splice(0, head);
        head = 0;
      }
      if (skip > 0) skip--;
      else {
        env.rows[slot] = row;
        if ((await emit()) === false) return false;
        if (++emitted >= limit) return true;
      }
      working.rows = [row];
      for (const r of recs) for (const out of await r.run(outer)) push(out);
    }
    return true;
  };
}

function compareRows(a: Value[], b: Value[], terms: SortTerm[]): number {
  for (const t of terms) {
    const x = a[t.index]!;
    const y = b[t.index]!;
    if (x === null || y === null) {
      if (x === y) continue;
      return (x === null) === t.nullsFirst ? -1 : 1;
    }
    const c = V.compareValues(x, y, t.collation);
    if (c !== 0) return t.desc ? -c : c;
  }
  return 0;
}
