/**
 * SELECT: planning and pull-based execution.
 *
 * A SELECT core runs as a pipeline: the FROM clause is a tree of producers (table access, derived
 * tables, nested-loop joins) that bind one record per source into the Env and yield; WHERE filters;
 * then either projection, or grouping with aggregates; then DISTINCT, ORDER BY, LIMIT/OFFSET.
 *
 * Each base table is read through an access path chosen by estimated cost (access.ts): a key
 * lookup or range of its own tree, index ranges, a union of lookups for an OR, or a full scan,
 * with statistics the table materializer keeps current. Inner joins of base tables get an order
 * chosen by cost (planInnerJoins), each level a nested loop over a key path with values from the
 * levels before it, or over a hash table built once per run. The WHERE clause is still evaluated
 * on every produced row, so an access path only has to be a superset of the answer, never exact.
 *
 * Window calls (window.ts) turn the core into two phases: the pipeline keeps a snapshot per row
 * (or per group), the windows are computed over all of them, then the projection runs. WITH
 * tables travel in the PlanContext (`ctes`), so nested selects see them; a reference compiles
 * the CTE's body as a derived table, and a recursive one runs SQLite's queue algorithm
 * (compileRecursive). RIGHT and FULL joins are nested loops that remember which right rows
 * matched and emit the others null-extended afterwards (compileJoin).
 */
import { DosqlError } from '../base/errors.js';
import { nullRow, type Value } from '../base/values.js';
import { encodeKey } from '../materializers/btree/index.js';
import type { IndexDef, TableDef } from '../log/types.js';
import { parseOne } from './parser.js';
import type { CommonTableExpr, CreateViewStmt, BinaryOp, Expr, FromItem, OrderingTerm, ResultColumn, SelectCore, SelectStmt, ValuesCore } from './ast.js';
import { compileExpr, type AggSpec, type CompileContext, type Compiled, type SubPlan, type SyncFn } from './expr.js';
import { Scope, oncePerRun, rowSource, type Env, type RunContext, type Source } from './scope.js';
import { WindowSet, evaluateWindows, type Snapshot } from './window.js';
import type { KeyRange, Txn } from './txn.js';
import { PERIOD_COLUMNS, compileSystemTime } from './temporal.js';
import type { TableStats } from '../materializers/stats.js';
import { NEEDS_ASYNC } from './access.js';
import {
  TERM_SHARE, bestAccess, explain as explainAccess, hashChoice, planAccess, tableProducer, tableRef,
  type AccessChoice, type BoundCheck, type TableRef,
} from './access.js';
import { andAll, conjuncts, visit } from './walk.js';

export { NEEDS_ASYNC };
import * as V from './values/index.js';

/** Planning needs the table definitions visible to the statement. */
export interface PlanContext extends CompileContext {
  table(name: string): TableDef | undefined;
  /** Row counts and index selectivity of a committed table; undefined when not known. */
  stats?(def: TableDef): TableStats | undefined;
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
  /**
   * Result columns the reader uses (a derived table's, filled in as the outer query compiles);
   * a plan may leave the others NULL instead of computing them. Undefined: all are used.
   */
  columnsNeeded?: Set<number>;
  /** `run` without promises, for plans that allow it (see Producer.sync); NEEDS_ASYNC otherwise. */
  runSync?(env: Env): Value[][] | typeof NEEDS_ASYNC;
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
  /** Rows a hash join may hold before falling back to scanning (OpenOptions.hashJoinRowsMax). */
  hashJoinRowsMax?: number;
}

/**
 * A FROM-clause producer binds one record per source into the Env and calls `emit` for each
 * combination; `emit` returns false to stop early (LIMIT), and so does the producer then.
 * Callbacks rather than async generators: a generator step costs more than the row work itself
 * on point lookups.
 */
export type Emit = () => boolean | Promise<boolean>;
export type Producer = ((env: Env, emit: Emit) => Promise<boolean>) & {
  /**
   * The same production without a promise, where it can run without I/O (a key lookup on cached
   * pages): returns NEEDS_ASYNC, having emitted nothing, when it cannot, and the caller runs the
   * producer itself. Emits at most one row (callers rely on it, see levelInside). The hot path of
   * prepared point queries and of key lookups inside joins.
   */
  sync?: (env: Env, emit: () => boolean) => boolean | typeof NEEDS_ASYNC;
};


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
    collations: first.collations,
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
  if (!core.from) cx.explain?.add('SCAN CONSTANT ROW');
  // The join planner applies WHERE itself, each term as early as its columns are bound.
  const where = core.where && !joined ? compileExpr(core.where, scope, cx) : undefined;
  const columnsAst = expandStar(core.columns, scope, cx);
  const grouped = core.groupBy !== undefined || hasAggregate(columnsAst, core.having, isOnly ? stmt.orderBy : undefined);
  const aggregates: AggSpec[] = [];
  const acx: CompileContext = grouped ? { ...cx, aggregates } : cx;
  // Window calls in result columns and ORDER BY read one extra Env slot, after the sources.
  const windows = new WindowSet(scope.slotCount, core.windows, cx.fail);
  const wcx: CompileContext = { ...acx, windows };
  const groupExprs = (core.groupBy ?? []).map((g) => groupTermExpr(g, columnsAst, scope, cx));
  const groupBy = groupExprs.map((g) => compileExpr(g, scope, cx));
  const outputs = columnsAst.map((c) => compileOutput(c.expr, groupExprs, groupBy, scope, wcx));
  const names = columnsAst.map((c) => c.name);
  const having = core.having ? compileExpr(core.having, scope, acx) : undefined;
  if (core.having && !grouped) cx.fail('ERROR', 'a GROUP BY clause is required before HAVING', core.having.pos);
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

  const outputCollations = outputs.map((o) => o.collation);
  const extras = order?.extra ?? [];
  const syncRow =
    !windowed && !where?.async && outputs.every((o) => !o.async) && extras.every((k) => !k.async)
      ? (env: Env, needed: Set<number> | undefined): Value[] => {
          // Packed, sized and all NULL (see nullRow): pushing into [] would allocate room for 17.
          const row = nullRow(outputs.length + extras.length);
          for (let i = 0; i < outputs.length; i++) if (!needed || needed.has(i)) row[i] = (outputs[i]!.fn as SyncFn)(env);
          for (let i = 0; i < extras.length; i++) row[outputs.length + i] = (extras[i]!.fn as SyncFn)(env);
          return row;
        }
      : undefined;
  const plan: CorePlan = {
    columns: names,
    columnCount: width,
    affinities: outputs.map((o) => o.affinity),
    collations: outputs.map((o) => ({ collation: o.collation, explicitCollation: o.explicitCollation })),
    correlated: false,
    async run(outer, cap) {
      const env: Env = { rows: new Array(slotCount).fill(null), outer, agg: undefined, run: outer!.run };
      const produced: Value[][] = [];
      const snaps: Snapshot[] = [];
      // SQLite leaves a subquery's unused result columns uncomputed (errors in them included),
      // where that cannot change the rows: no DISTINCT, compound or ORDER BY over them.
      const needed = isOnly && !isDistinct && !order ? plan.columnsNeeded : undefined;
      const project = async (): Promise<void> => {
        const row: Value[] = [];
        for (let i = 0; i < outputs.length; i++) {
          const o = outputs[i]!;
          if (needed && !needed.has(i)) row.push(null);
          else row.push(o.async ? await o.fn(env) : (o.fn as SyncFn)(env));
        }
        if (order) for (const k of order.extra) row.push(k.async ? await k.fn(env) : (k.fn as SyncFn)(env));
        produced.push(row);
      };
      // With window calls, rows are kept until every window is computed over all of them.
      const emit = windowed
        ? async (): Promise<void> => {
            snaps.push({ rows: env.rows.slice(), agg: env.agg, groupKeys: env.groupKeys });
          }
        : project;
      // Without ORDER BY, DISTINCT, grouping or windows, rows stream and LIMIT can stop the scan early.
      const streams = !grouped && !order && !isDistinct && !windowed;
      const early = !streams ? undefined : limit === undefined ? cap : await limit.stopAfter(env, cap);
      if (early === 0) return [];
      // ORDER BY with LIMIT (top-N): only the first OFFSET + LIMIT rows in order can be returned,
      // so the buffer is sorted and cut back to them whenever it grows past TOP_N_BUFFER_FACTOR
      // times that (sorting is stable: ties keep their order, as with one sort at the end).
      const keep = order && !isDistinct && !windowed && !grouped && limit ? await limit.stopAfter(env, cap) : undefined;
      const pruneAt = keep === undefined ? Infinity : Math.max(keep * TOP_N_BUFFER_FACTOR, TOP_N_BUFFER_ROWS_MIN);
      if (!grouped && syncRow) {
        // Every expression is synchronous: the row callback returns without a promise, so a
        // scan does not pay a microtask per row.
        const whereFn = where?.fn as SyncFn | undefined;
        await rowsOf(from, env, () => {
          if (whereFn && V.isTruthy(whereFn(env)) !== true) return true;
          produced.push(syncRow(env, needed));
          if (produced.length >= pruneAt) {
            sortRows(produced, order!.terms);
            produced.length = keep!;
          }
          return early === undefined || produced.length < early;
        });
      } else if (!grouped) {
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
          env.groupKeys = snap.groupKeys;
          await project();
        }
      }
      let rows = isDistinct ? distinctPrefix(produced, width, outputCollations) : produced;
      if (order) sortRows(rows, order.terms);
      if (order && order.extra.length) rows = rows.map((r) => r.slice(0, width));
      return limit ? limit.apply(rows, env, cap) : rows;
    },
  };
  const sync = from?.sync;
  // syncRow exists only when WHERE and every output are synchronous.
  if (sync && syncRow && !grouped && !order && !isDistinct && !stmt.limit && !stmt.offset) {
    const whereFn = where?.fn as SyncFn | undefined;
    const makeRunner = (): SyncRunner => {
      const r: SyncRunner = {
        env: { rows: new Array<Value[] | null>(slotCount).fill(null), outer: undefined, agg: undefined, run: undefined! },
        produced: [],
        emit: () => {
          if (whereFn && V.isTruthy(whereFn(r.env)) !== true) return true;
          const row = syncRow(r.env, plan.columnsNeeded);
          // A point lookup's one row goes in an array of one, not one with room for 17.
          if (r.produced.length === 0) r.produced = [row];
          else r.produced.push(row);
          return true;
        },
      };
      return r;
    };
    // A runner (its Env, row slots and callback) is reused by the next run once this one has
    // returned: a point lookup's own allocations cost about as much as its B-tree descent.
    let spare: SyncRunner | undefined;
    plan.runSync = (outer) => {
      const r = spare ?? makeRunner();
      spare = undefined; // a nested run of this plan, should one happen, makes its own
      r.env.outer = outer;
      r.env.run = outer.run;
      r.produced = [];
      const done = sync(r.env, r.emit);
      // Not in a finally: a run that throws just leaves its runner to the garbage collector.
      for (let i = 0; i < slotCount; i++) r.env.rows[i] = null;
      r.env.outer = undefined;
      spare = r;
      return done === NEEDS_ASYNC ? NEEDS_ASYNC : r.produced;
    };
  }
  // Correlation is known only after compiling everything that reads the enclosing scopes.
  plan.correlated = scope.referencedFromInside;
  return plan;
}

/** What a synchronous run of a plan works in (see runSync). */
interface SyncRunner {
  env: Env;
  produced: Value[][];
  emit: () => boolean;
}

function rowsOf(from: Producer | undefined, env: Env, emit: Emit): Promise<boolean> {
  if (!from) return Promise.resolve(emit());
  return from(env, emit);
}

/**
 * The key rows are grouped or made distinct by: the encoded values, texts folded by the
 * collation of their column (GROUP BY x COLLATE NOCASE puts 'a' and 'A' in one group).
 */
function groupKey(values: Value[], collations: ReadonlyArray<V.Collation | undefined>): string {
  if (!collations.some((c) => c !== undefined && c !== 'BINARY')) return encodeKey(values);
  return encodeKey(values.map((v, i) => (typeof v === 'string' && collations[i] ? V.collationKey(v, collations[i]!) : v)));
}

function distinctPrefix(rows: Value[][], width: number, collations: ReadonlyArray<V.Collation | undefined> = []): Value[][] {
  const seen = new Set<string>();
  return rows.filter((r) => {
    const k = groupKey(r.length === width ? r : r.slice(0, width), collations);
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
    /** The GROUP BY values of the group's first row. */
    keys: Value[];
    aggs: V.Aggregate[];
    seen: Array<Set<string> | undefined>;
    /** For aggregates with their own ORDER BY: [sort keys, args] held until the group ends. */
    held: Array<Array<[Value[], Value[]]> | undefined>;
  }
  const groups = new Map<string, Group>();
  const groupCollations = groupBy.map((g) => g.collation);
  const groupOf = (keyVals: Value[]): Group => {
    const key = groupKey(keyVals, groupCollations);
    let g = groups.get(key);
    if (!g) {
      g = {
        rows: [],
        keys: keyVals,
        aggs: specs.map(newAggregate),
        seen: specs.map((s) => (s.distinct ? new Set() : undefined)),
        held: specs.map((s) => (s.orderBy ? [] : undefined)),
      };
      groups.set(key, g);
    }
    // Bare columns in an aggregate query read the group's last row, as in SQLite.
    g.rows = env.rows.slice();
    return g;
  };
  /** One row's arguments into aggregate i: skipped when DISTINCT saw them, held when ordered. */
  const feed = (g: Group, i: number, args: Value[], sortKeys: Value[] | undefined): void => {
    const s = specs[i]!;
    if (s.distinct) {
      if (args[0] === null) return;
      const k = groupKey(args, [s.collation]);
      if (g.seen[i]!.has(k)) return;
      g.seen[i]!.add(k);
    }
    if (sortKeys) g.held[i]!.push([sortKeys, args]);
    else g.aggs[i]!.step(args);
  };
  const isSync = (c: Compiled | undefined): boolean => c === undefined || !c.async;
  const allSync =
    isSync(where) && groupBy.every(isSync) && specs.every((s) => isSync(s.filter) && s.args.every(isSync) && (s.orderBy ?? []).every((o) => isSync(o.key)));
  const val = (c: Compiled): Value => (c.fn as SyncFn)(env);
  // Every expression synchronous (the usual case): the row callback returns without a promise.
  const rowSync = (): boolean => {
    if (where && V.isTruthy(val(where)) !== true) return true;
    const g = groupOf(groupBy.map(val));
    for (let i = 0; i < specs.length; i++) {
      const s = specs[i]!;
      if (s.filter && V.isTruthy(val(s.filter)) !== true) continue;
      feed(g, i, s.args.map(val), s.orderBy?.map((o) => val(o.key)));
    }
    return true;
  };
  const rowAsync = async (): Promise<boolean> => {
    if (where && V.isTruthy(await where.fn(env)) !== true) return true;
    const keyVals: Value[] = [];
    for (const c of groupBy) keyVals.push(await c.fn(env));
    const g = groupOf(keyVals);
    for (let i = 0; i < specs.length; i++) {
      const s = specs[i]!;
      if (s.filter && V.isTruthy(await s.filter.fn(env)) !== true) continue;
      const args: Value[] = [];
      for (const a of s.args) args.push(await a.fn(env));
      let sortKeys: Value[] | undefined;
      if (s.orderBy) {
        sortKeys = [];
        for (const o of s.orderBy) sortKeys.push(await o.key.fn(env));
      }
      feed(g, i, args, sortKeys);
    }
    return true;
  };
  await rowsOf(from, env, allSync ? rowSync : rowAsync);
  if (groups.size === 0 && groupBy.length === 0) {
    // An aggregate over no rows still yields one row (count 0, sum NULL).
    groups.set('', { rows: env.rows.map(() => null), keys: [], aggs: specs.map(newAggregate), seen: [], held: [] });
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
    env.groupKeys = g.keys;
    env.agg = g.aggs.map((a) => a.final());
    if (having && V.isTruthy(await having.fn(env)) !== true) continue;
    await emit();
  }
}

/** An aggregate's state; min() and max() compare under their argument's collation. */
function newAggregate(s: AggSpec): V.Aggregate {
  if ((s.name === 'min' || s.name === 'max') && s.collation !== undefined && s.collation !== 'BINARY') return V.minMaxWithCollation(s.name, s.collation);
  return V.AGGREGATES[s.name]!();
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

/** The expression a GROUP BY term stands for: itself, or the result column it names by position or alias. */
function groupTermExpr(e: Expr, cols: ExpandedColumn[], scope: Scope, cx: PlanContext): Expr {
  const position = termPosition(e);
  if (position !== undefined) {
    const i = position - 1;
    if (i < 0 || i >= cols.length) cx.fail('ERROR', `GROUP BY term out of range - should be between 1 and ${cols.length}`, e.pos);
    return cols[i]!.expr;
  }
  if (e.kind === 'column' && !e.table) {
    const alias = cols.find((c) => c.alias && c.alias.toLowerCase() === e.name.toLowerCase());
    if (alias && !scopeHas(scope, e.name)) return alias.expr;
  }
  return e;
}

/**
 * A result column that is a GROUP BY term shows the group's key, the value of the group's first
 * row, as in SQLite: it differs from the last row's (what other bare columns show) when the
 * grouping folds values together ('a' and 'A' under NOCASE, 1 and 1.0).
 */
function compileOutput(e: Expr, groupExprs: Expr[], groupBy: Compiled[], scope: Scope, cx: CompileContext): Compiled {
  const key = groupExprs.length ? exprShape(e) : '';
  const j = groupExprs.findIndex((g) => exprShape(g) === key);
  if (j < 0) return compileExpr(e, scope, cx);
  const g = groupBy[j]!;
  return { fn: (env: Env) => env.groupKeys?.[j] ?? null, async: false, affinity: g.affinity, collation: g.collation, explicitCollation: g.explicitCollation };
}

/** An expression's structure without source positions, to compare two expressions. */
function exprShape(e: Expr): string {
  return JSON.stringify(e, (k, v: unknown) => (k === 'pos' || k === 'end' ? undefined : typeof v === 'bigint' ? `${v}n` : v));
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

function compileFrom(item: FromItem, scope: Scope, cx: PlanContext, where: Expr | undefined, bound?: BoundCheck): Producer {
  switch (item.kind) {
    case 'table': {
      const cte = item.schema === undefined ? cx.ctes?.get(item.name.toLowerCase()) : undefined;
      if (cte) return compileCteRef(cte, item, scope, cx);
      return compileTable(item, scope, cx, where, bound);
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
/** Up to this many tables, every table is tried first and the cheapest greedy order kept. */
const JOIN_ORDER_EVERY_START_MAX = 16;

interface JoinTable extends TableRef {
  leaf: TableItem;
}

interface JoinStep {
  table: JoinTable;
  choice: AccessChoice;
}

/**
 * Inner joins of base tables: choose an order and an access path per table, push every WHERE and
 * ON term down to the first level where its columns are bound, and run the levels as nested
 * loops over callbacks, so no intermediate result is materialized and memory stays bounded
 * whatever the number of tables.
 *
 * Order, by cost: from a first table, the next is always the remaining one cheapest to join
 * (outer rows x cost per lookup, plus any hash-table build), using primary keys and indexes with
 * values from the tables before it, a hash table on an equality with them, or a scan. Each table
 * is tried as the first (up to JOIN_ORDER_EVERY_START_MAX tables), and the order with the lowest
 * total estimated cost wins. Estimates come from access.ts. Returns undefined (the general path
 * applies) for other FROM shapes.
 */
function planInnerJoins(from: FromItem, scope: Scope, cx: PlanContext, where: Expr | undefined): Producer | undefined {
  const leaves: TableItem[] = [];
  const ons: Expr[] = [];
  if (!innerJoinLeaves(from, leaves, ons) || leaves.length < 2 || leaves.length > JOIN_ORDER_TABLES_MAX) return undefined;
  if (cx.ctes && leaves.some((l) => cx.ctes!.has(l.name.toLowerCase()))) return undefined;
  const defs = leaves.map((l) => cx.table(l.name));
  if (defs.some((d, i) => !d || d.view || leaves[i]!.systemTime)) return undefined;
  const tables: JoinTable[] = leaves.map((leaf, i) => {
    const def = defs[i]!;
    const name = leaf.alias ?? leaf.name;
    if (scope.hasTable(name)) cx.fail('ERROR', `ambiguous table name: ${name}`, leaf.pos);
    const source = rowSource(def, name, scope.slotCount);
    scope.add(source);
    return { ...tableRef(def, source, cx), leaf };
  });
  const preds: Predicate[] = [...ons.flatMap(conjuncts), ...(where ? conjuncts(where) : [])].map((expr) => ({ expr, slots: predicateSlots(expr, scope), applied: false }));
  const steps = chooseJoinOrder(tables, preds, scope, cx);
  const bound = new Set<number>();
  const levels: Producer[] = [];
  for (const [i, { table, choice }] of steps.entries()) {
    const access = choice.make();
    explainAccess(access.explain, cx);
    bound.add(table.source.slot);
    const last = i === steps.length - 1;
    const here = preds.filter((p) => !p.applied && (last || (p.slots && [...p.slots].every((s) => bound.has(s)))));
    for (const p of here) p.applied = true;
    const filter = here.length ? compileExpr(andAll(here.map((p) => p.expr)), scope, cx) : undefined;
    levels.push(filtered(tableProducer(table.def, table.source.slot, access), filter));
  }
  return levels.reduceRight<Producer | undefined>(
    (inner, level) => (inner ? (env, emit) => level(env, () => levelInside(inner, env, emit)) : level),
    undefined,
  );
}

/**
 * An inner join level, run for one row of the levels outside it: without a promise when it is a
 * key lookup on cached pages (Producer.sync). Such a lookup emits at most one row, so a promise
 * the consumer returns for it can be handed back after the lookup returns.
 */
function levelInside(inner: Producer, env: Env, emit: Emit): boolean | Promise<boolean> {
  const sync = inner.sync;
  if (!sync) return inner(env, emit);
  let pending: Promise<boolean> | undefined;
  const done = sync(env, () => {
    const r = emit();
    if (r instanceof Promise) {
      pending = r;
      return true;
    }
    return r;
  });
  if (done === NEEDS_ASYNC) return inner(env, emit);
  return pending ?? done;
}

function chooseJoinOrder(tables: JoinTable[], preds: Predicate[], scope: Scope, cx: PlanContext): JoinStep[] {
  const starts = tables.length <= JOIN_ORDER_EVERY_START_MAX ? tables : [undefined];
  let best: { steps: JoinStep[]; cost: number } | undefined;
  for (const first of starts) {
    const plan = greedyOrder(tables, preds, scope, cx, first);
    if (!best || plan.cost < best.cost) best = plan;
  }
  return best!.steps;
}

/** Greedy order from `first` (or the cheapest table): each step joins the cheapest remaining table. */
function greedyOrder(tables: JoinTable[], preds: Predicate[], scope: Scope, cx: PlanContext, first: JoinTable | undefined): { steps: JoinStep[]; cost: number } {
  const bound = new Set<number>();
  const isBound: BoundCheck = (e) => {
    const hit = tryResolve(scope, e);
    return hit !== undefined && (hit.depth > 0 || bound.has(hit.source.slot));
  };
  const remaining = tables.slice();
  const steps: JoinStep[] = [];
  let outerRows = 1;
  let total = 0;
  for (let step = 0; step < tables.length; step++) {
    let pick: { table: JoinTable; choice: AccessChoice; cost: number; rows: number } | undefined;
    for (const t of step === 0 && first ? [first] : remaining) {
      const terms = usableTerms(preds, t.source.slot, bound);
      const choice = joinAccess(t, terms, preds, step > 0, scope, cx, isBound, outerRows);
      const cost = choice.setup + outerRows * choice.cost;
      const unused = terms.filter((x) => !choice.used.has(x)).length;
      const rows = Math.max(1, outerRows * choice.rows * TERM_SHARE ** unused);
      if (!pick || cost < pick.cost || (cost === pick.cost && rows < pick.rows)) pick = { table: t, choice, cost, rows };
    }
    remaining.splice(remaining.indexOf(pick!.table), 1);
    steps.push({ table: pick!.table, choice: pick!.choice });
    bound.add(pick!.table.source.slot);
    total += pick!.cost;
    outerRows = pick!.rows;
  }
  return { steps, cost: total };
}

/** Terms that can be evaluated once this table's row is bound, given what is bound already. */
function usableTerms(preds: Predicate[], slot: number, bound: Set<number>): Expr[] {
  return preds.filter((p) => p.slots && [...p.slots].every((s) => s === slot || bound.has(s))).map((p) => p.expr);
}

/** The cheapest access for a join level: a key path, a hash table on an equality, or a scan. */
function joinAccess(
  t: JoinTable,
  terms: Expr[],
  preds: Predicate[],
  joined: boolean,
  scope: Scope,
  cx: PlanContext,
  isBound: BoundCheck,
  outerRows: number,
): AccessChoice {
  const keyed = bestAccess(t, terms, scope, cx, isBound);
  if (!joined) return keyed;
  const local = preds.filter((p) => p.slots && p.slots.size === 1 && p.slots.has(t.source.slot) && !readsOuter(p.expr, scope)).map((p) => p.expr);
  const hash = hashChoice(t, terms, local, scope, cx, isBound);
  if (hash && hash.setup + outerRows * hash.cost < outerRows * keyed.cost) return hash;
  return keyed;
}

/** Whether an expression reads a column of an enclosing query (fixed per run of this one). */
function readsOuter(e: Expr, scope: Scope): boolean {
  let outer = false;
  visit(e, (x) => {
    if (x.kind === 'column' && (tryResolve(scope, x)?.depth ?? 1) > 0) outer = true;
  });
  return outer;
}

function filtered(producer: Producer, filter: Compiled | undefined): Producer {
  if (!filter) return producer;
  if (!filter.async) {
    const fn = filter.fn as SyncFn;
    const out: Producer = (env, emit) => producer(env, () => (V.isTruthy(fn(env)) === true ? emit() : true));
    const sync = producer.sync;
    if (sync) out.sync = (env, emit) => sync(env, () => (V.isTruthy(fn(env)) === true ? emit() : true));
    return out;
  }
  return (env, emit) => producer(env, async () => (V.isTruthy(await filter.fn(env)) === true ? emit() : true));
}

/**
 * A base table (or view, CTE, schema table) in FROM. `where` holds the terms its access path may
 * use; `bound` says which column references are fixed while it is read (an outer join's left side).
 */
export function compileTable(item: Extract<FromItem, { kind: 'table' }>, scope: Scope, cx: PlanContext, where: Expr | undefined, bound?: BoundCheck): Producer {
  const def = cx.table(item.name);
  if (!def && SCHEMA_TABLE_NAMES.has(item.name.toLowerCase())) return compileSchemaTable(item.alias ?? item.name, scope);
  if (!def) return cx.fail('NO_SUCH_TABLE', `no such table: ${item.name}`, item.pos);
  if (def.view) return compileView(def, item, scope, cx);
  const name = item.alias ?? item.name;
  if (scope.hasTable(name)) cx.fail('ERROR', `ambiguous table name: ${name}`, item.pos);
  const slot = scope.slotCount;
  const clause = item.systemTime ? compileSystemTime(item.systemTime, cx) : undefined;
  const periods = item.systemTime?.kind === 'between' || item.systemTime?.kind === 'all';
  const source = rowSource(def, name, slot, periods ? PERIOD_COLUMNS : []);
  scope.add(source);
  const access = planAccess(tableRef(def, source, cx), where, scope, cx, bound);
  return tableProducer(def, slot, access, clause);
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
  const shown = alias ?? `(subquery-${scope.slotCount})`;
  const plan = explained(cx, `MATERIALIZE ${shown}`, () => compileSelect(select, scope.parent, cx));
  cx.explain?.add(`SCAN ${shown}`);
  if (names && names.length !== plan.columns.length) {
    cx.fail('ERROR', `table ${alias ?? ''} has ${plan.columns.length} values for ${names.length} columns`, pos);
  }
  const columns = names ?? plan.columns;
  const slot = addDerivedSource(scope, alias, columns, plan.affinities, plan.collations?.map((c) => c?.collation));
  plan.columnsNeeded = scope.sources[scope.sources.length - 1]!.used = new Set();
  // A derived table that reads nothing of an enclosing query (nor a recursive CTE's working
  // rows) is the same for the whole run: computed once, not once per outer row of a join.
  const once = !plan.correlated && ![...(cx.ctes?.values() ?? [])].some((b) => b.recursive);
  return async (env, emit) => {
    const rows = await (once ? oncePerRun(env.run, plan, () => plan.run(env.outer ?? env)) : plan.run(env.outer ?? env));
    for (const row of rows) {
      env.rows[slot] = row;
      if ((await emit()) === false) return false;
    }
    return true;
  };
}


/** `f`, with what it records in EXPLAIN QUERY PLAN nested under `detail`. */
function explained<T>(cx: PlanContext, detail: string, f: () => T): T {
  return cx.explain ? cx.explain.nest(detail, f) : f();
}

/** Top-N buffers (see compileCore) are cut back at this many times OFFSET + LIMIT rows... */
const TOP_N_BUFFER_FACTOR = 2;
/** ...but not below this many rows, so a small LIMIT does not sort after every few rows. */
const TOP_N_BUFFER_ROWS_MIN = 1024;

/** A source for rows computed by a query (derived table, view, CTE); returns its slot. */
function addDerivedSource(
  scope: Scope,
  alias: string | undefined,
  columns: string[],
  affinities?: Array<V.Affinity | undefined>,
  collations?: Array<V.Collation | undefined>,
): number {
  const slot = scope.slotCount;
  const lower = columns.map((c) => c.toLowerCase());
  scope.add({
    name: (alias ?? `subquery_${slot}`).toLowerCase(),
    columns: lower,
    displayNames: columns,
    // A derived table's columns keep the affinity of the expressions they come from.
    affinities: columns.map((_, i) => affinities?.[i]),
    // And their collations, as a column's own (an outer COLLATE outranks them).
    collations: columns.map((_, i) => collations?.[i]),
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
  const right = compileJoinRight(item, scope, cx, outerRight ? undefined : where);
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

/**
 * The right side of a join. A base table there may look rows up by values of the left side's
 * columns: through WHERE and ON for inner joins, through ON alone for LEFT joins (WHERE applies
 * after null-extension). RIGHT and FULL joins read it whole: its unmatched rows are emitted
 * afterwards, with no left row to look up by.
 */
function compileJoinRight(item: Extract<FromItem, { kind: 'join' }>, scope: Scope, cx: PlanContext, where: Expr | undefined): Producer {
  const outerRight = item.join === 'RIGHT' || item.join === 'FULL';
  if (item.right.kind !== 'table' || outerRight) return compileFrom(item.right, scope, cx, item.join === 'LEFT' || outerRight ? undefined : where);
  const terms = [...(item.on ? [item.on] : []), ...(item.join === 'LEFT' || !where ? [] : [where])];
  const leftSide: BoundCheck = (e, source) => {
    const hit = tryResolve(scope, e);
    return hit !== undefined && (hit.depth > 0 || hit.source !== source);
  };
  return compileFrom(item.right, scope, cx, terms.length ? andAll(terms) : undefined, leftSide);
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
    p.left.used?.add(li);
    p.right.used?.add(ri);
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
    cx.explain?.add(`SCAN ${alias}`);
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
  const { init, recs, columns, working } = explained(cx, `MATERIALIZE ${alias}`, () => {
    const init = explained(cx, 'SETUP', () =>
      compileSelect({ type: 'select', pos: stmt.pos, first: cores[0]!, compounds: stmt.compounds.slice(0, k - 1) }, scope.parent, b.cx),
    );
    const columns = b.cte.columns ?? init.columns;
    checkCteWidth(b, init.columns.length, cx);
    const working = { rows: [] as Value[][], columns };
    const recCx = contextWithCtes(b.cx, new Map(b.cx.ctes).set(name, { ...b, working }));
    const recs = explained(cx, 'RECURSIVE STEP', () =>
      cores.slice(k).map((core) => {
        const p = compileSelect({ type: 'select', pos: stmt.pos, first: core, compounds: [] }, scope.parent, recCx);
        if (p.columnCount !== init.columnCount) cx.fail('ERROR', 'SELECTs to the left and right of UNION do not have the same number of result columns', stmt.pos);
        return p;
      }),
    );
    return { init, recs, columns, working };
  });
  cx.explain?.add(`SCAN ${alias}`);
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
