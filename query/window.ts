/**
 * Window functions (SQLite's windowfunctions.html), evaluated over a materialized row set.
 *
 * A SELECT core with window calls runs in two phases. First the FROM/WHERE (or GROUP BY/HAVING)
 * pipeline runs as usual, but instead of projecting each row it keeps a snapshot of the row's
 * Env (its source records and, when grouped, its aggregate values). Then every window call is
 * computed over those snapshots: the rows are sorted by the window's PARTITION BY and ORDER BY,
 * split into partitions, and each function is evaluated per row over its partition and frame.
 * The results land in one extra Env slot (`WindowSet.slot`) that compiled window calls read, the
 * way aggregate calls read `env.agg`; the projection then runs per snapshot.
 *
 * Frames are computed per row as a half-open range [start, end) of partition positions, from the
 * ROWS, GROUPS or RANGE units and their bounds, with EXCLUDE applied on top. Aggregates whose
 * frame starts at UNBOUNDED PRECEDING without EXCLUDE accumulate incrementally (the frame end only
 * grows); other frames re-run the aggregate over the frame, O(partition x frame).
 */
import { DosqlError } from '../base/errors.js';
import { real, storageClass, type Value } from '../base/values.js';
import type { Expr, FunctionExpr, FrameBound, OrderingTerm, WindowFrame, WindowSpec } from './ast.js';
import { compileExpr, type CompileContext, type Compiled } from './expr.js';
import type { Env, Scope } from './scope.js';
import * as V from './values/index.js';

/** Functions that exist only as window functions, with their argument counts. */
export const WINDOW_ONLY: Record<string, { min: number; max: number }> = {
  row_number: { min: 0, max: 0 },
  rank: { min: 0, max: 0 },
  dense_rank: { min: 0, max: 0 },
  percent_rank: { min: 0, max: 0 },
  cume_dist: { min: 0, max: 0 },
  ntile: { min: 1, max: 1 },
  lag: { min: 1, max: 3 },
  lead: { min: 1, max: 3 },
  first_value: { min: 1, max: 1 },
  last_value: { min: 1, max: 1 },
  nth_value: { min: 2, max: 2 },
};

interface OrderKey {
  c: Compiled;
  desc: boolean;
  nullsFirst: boolean;
  collation?: V.Collation;
}

interface FrameSpec {
  units: 'ROWS' | 'RANGE' | 'GROUPS';
  start: FrameBound['type'];
  startOffset?: Compiled;
  end: FrameBound['type'];
  endOffset?: Compiled;
  exclude: 'NO OTHERS' | 'CURRENT ROW' | 'GROUP' | 'TIES';
}

interface WindowCall {
  name: string;
  args: Compiled[];
  star: boolean;
  distinct: boolean;
  filter?: Compiled;
  partition: Compiled[];
  order: OrderKey[];
  frame: FrameSpec;
  pos: number;
}

/** Window calls of one SELECT core, collected while its result columns and ORDER BY compile. */
export class WindowSet {
  readonly calls: WindowCall[] = [];
  private readonly named = new Map<string, WindowSpec>();

  constructor(
    /** The Env slot holding the current row's window results. */
    readonly slot: number,
    windows: Array<{ name: string; spec: WindowSpec }> | undefined,
    private readonly fail: CompileContext['fail'],
  ) {
    for (const w of windows ?? []) this.named.set(w.name.toLowerCase(), w.spec);
  }

  /** Compile one `f(...) OVER ...` call into a reader of its result slot. */
  compile(e: FunctionExpr, scope: Scope, ctx: CompileContext): Compiled {
    const name = e.name.toLowerCase();
    const inner: CompileContext = { ...ctx, windows: undefined };
    const only = WINDOW_ONLY[name];
    const agg = V.AGGREGATES[name] as (() => V.Aggregate) | undefined;
    if (!only && !agg) this.fail('ERROR', V.SCALAR_FUNCTIONS[name] ? `${name}() may not be used as a window function` : `no such function: ${e.name}`, e.pos);
    if (only && (e.args.length < only.min || e.args.length > only.max || e.star)) this.fail('ERROR', `wrong number of arguments to function ${name}()`, e.pos);
    if (agg && !only) {
      const maxArgs = name === 'group_concat' || name === 'string_agg' ? 2 : 1;
      const bad = e.star ? name !== 'count' : e.args.length === 0 ? name !== 'count' : e.args.length > maxArgs;
      if (bad || (name === 'count' && !e.star && e.args.length === 0)) this.fail('ERROR', `wrong number of arguments to function ${name}()`, e.pos);
    }
    if (e.distinct) this.fail('ERROR', 'DISTINCT is not supported for window functions', e.pos);
    if (e.filter && only) this.fail('ERROR', 'FILTER clause may only be used with aggregate window functions', e.pos);
    const spec = this.resolve(e.over!, e.pos);
    const call: WindowCall = {
      name,
      args: e.args.map((a) => compileExpr(a, scope, inner)),
      star: e.star,
      distinct: e.distinct,
      filter: e.filter ? compileExpr(e.filter, scope, inner) : undefined,
      partition: spec.partitionBy.map((p) => compileExpr(p, scope, inner)),
      order: spec.orderBy.map((t) => orderKey(t, scope, inner)),
      frame: this.frame(spec, scope, inner),
      pos: e.pos,
    };
    if (call.frame.units === 'RANGE' && (call.frame.startOffset || call.frame.endOffset) && call.order.length !== 1) {
      this.fail('ERROR', 'RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER BY term', e.pos);
    }
    const index = this.calls.length;
    this.calls.push(call);
    const slot = this.slot;
    return { fn: (env) => env.rows[slot]?.[index] ?? null, async: false };
  }

  private resolve(over: WindowSpec | string, pos: number): WindowSpec {
    if (typeof over === 'string') {
      const w = this.named.get(over.toLowerCase());
      if (!w) return this.fail('ERROR', `no such window: ${over}`, pos);
      return this.resolveBase(w, pos);
    }
    return this.resolveBase(over, pos);
  }

  private resolveBase(spec: WindowSpec, pos: number, depth = 0): WindowSpec {
    if (!spec.base) return spec;
    const base = this.named.get(spec.base.toLowerCase());
    if (!base || depth > 100) return this.fail('ERROR', `no such window: ${spec.base}`, pos);
    const b = this.resolveBase(base, pos, depth + 1);
    if (spec.partitionBy.length) this.fail('ERROR', `cannot override PARTITION clause of window: ${spec.base}`, pos);
    if (b.orderBy.length && spec.orderBy.length) this.fail('ERROR', `cannot override ORDER BY clause of window: ${spec.base}`, pos);
    if (b.frame) this.fail('ERROR', `cannot override frame specification of window: ${spec.base}`, pos);
    return { ...spec, base: undefined, partitionBy: b.partitionBy, orderBy: spec.orderBy.length ? spec.orderBy : b.orderBy, frame: spec.frame };
  }

  private frame(spec: WindowSpec, scope: Scope, ctx: CompileContext): FrameSpec {
    const f: WindowFrame | undefined = spec.frame;
    if (!f) return { units: 'RANGE', start: 'UNBOUNDED PRECEDING', end: 'CURRENT ROW', exclude: 'NO OTHERS' };
    const end: FrameBound = f.end ?? { type: 'CURRENT ROW' };
    const rank = (t: FrameBound['type']): number => ['UNBOUNDED PRECEDING', 'PRECEDING', 'CURRENT ROW', 'FOLLOWING', 'UNBOUNDED FOLLOWING'].indexOf(t);
    if (f.start.type === 'UNBOUNDED FOLLOWING') this.fail('ERROR', 'unsupported frame specification', spec.pos);
    if (end.type === 'UNBOUNDED PRECEDING') this.fail('ERROR', 'unsupported frame specification', spec.pos);
    if (rank(end.type) < rank(f.start.type) && !(f.start.type === 'PRECEDING' && end.type === 'PRECEDING')) {
      this.fail('ERROR', 'unsupported frame specification', spec.pos);
    }
    const off = (b: FrameBound): Compiled | undefined => ('offset' in b ? compileExpr(b.offset, scope, ctx) : undefined);
    return { units: f.units, start: f.start.type, startOffset: off(f.start), end: end.type, endOffset: off(end), exclude: f.exclude ?? 'NO OTHERS' };
  }
}

function orderKey(t: OrderingTerm, scope: Scope, ctx: CompileContext): OrderKey {
  let e: Expr = t.expr;
  let collation: V.Collation | undefined;
  if (e.kind === 'collate') {
    collation = e.collation.toUpperCase() as V.Collation;
    e = e.operand;
  }
  const c = compileExpr(e, scope, ctx);
  const desc = t.direction === 'DESC';
  return { c, desc, nullsFirst: t.nulls ? t.nulls === 'FIRST' : !desc, collation: collation ?? c.collation };
}

/** A row kept for window evaluation: its source records and its group's aggregate values. */
export interface Snapshot {
  rows: Array<Value[] | null>;
  agg: Value[] | undefined;
  groupKeys?: Value[];
}

/**
 * Compute every window call over the snapshots. Returns, per snapshot, its window results, and
 * the order SQLite would emit rows in.
 */
export async function evaluateWindows(set: WindowSet, snaps: Snapshot[], env: Env): Promise<{ results: Value[][]; order: number[] }> {
  const results: Value[][] = snaps.map(() => new Array<Value>(set.calls.length).fill(null));
  // As in SQLite, windows are computed last to first, each sorting the previous one's output
  // stably: rows come out in the first window's order, ties in the following windows' order.
  let order: number[] = Array.from({ length: snaps.length }, (_, i) => i);
  for (let ci = set.calls.length - 1; ci >= 0; ci--) {
    const call = set.calls[ci]!;
    const n = snaps.length;
    const parts: Value[][] = [];
    const keys: Value[][] = [];
    const args: Value[][] = [];
    const filters: boolean[] = [];
    for (let i = 0; i < n; i++) {
      bind(env, snaps[i]!);
      parts.push(await evalAll(call.partition, env));
      keys.push(await evalAll(call.order.map((o) => o.c), env));
      args.push(await evalAll(call.args, env));
      filters.push(call.filter ? V.isTruthy(await call.filter.fn(env)) === true : true);
    }
    const idx = order.slice();
    const cmpPart = (a: number, b: number): number => {
      for (let k = 0; k < call.partition.length; k++) {
        const c = compareNullable(parts[a]![k]!, parts[b]![k]!, true, call.partition[k]!.collation);
        if (c !== 0) return c;
      }
      return 0;
    };
    const cmpOrder = (a: number, b: number): number => {
      for (let k = 0; k < call.order.length; k++) {
        const o = call.order[k]!;
        let c = compareNullable(keys[a]![k]!, keys[b]![k]!, o.nullsFirst !== o.desc, o.collation);
        if (o.desc) c = -c;
        if (c !== 0) return c;
      }
      return 0;
    };
    idx.sort((a, b) => cmpPart(a, b) || cmpOrder(a, b));
    order = idx;
    let start = 0;
    for (let guard = 0; start < n && guard <= n; guard++) {
      let end = start + 1;
      while (end < n && cmpPart(idx[start]!, idx[end]!) === 0) end++;
      const rows = idx.slice(start, end);
      const values = await evaluatePartition(call, rows, keys, args, filters, cmpOrder, env, snaps);
      for (let i = 0; i < rows.length; i++) results[rows[i]!]![ci] = values[i]!;
      start = end;
    }
  }
  return { results, order };
}

function bind(env: Env, s: Snapshot): void {
  env.rows = s.rows;
  env.agg = s.agg;
}

async function evalAll(cs: Compiled[], env: Env): Promise<Value[]> {
  const out: Value[] = [];
  for (const c of cs) out.push(c.async ? await c.fn(env) : (c.fn(env) as Value));
  return out;
}

/** NULLs sort first when `nullsLow` (before the DESC flip), as ORDER BY's defaults do. */
function compareNullable(x: Value, y: Value, nullsLow: boolean, collation: V.Collation | undefined): number {
  if (x === null || y === null) {
    if (x === y) return 0;
    return (x === null) === nullsLow ? -1 : 1;
  }
  return V.compareValues(x, y, collation);
}

/** Window results for one partition, `rows` being snapshot indices in window order. */
async function evaluatePartition(
  call: WindowCall,
  rows: number[],
  keys: Value[][],
  args: Value[][],
  filters: boolean[],
  cmpOrder: (a: number, b: number) => number,
  env: Env,
  snaps: Snapshot[],
): Promise<Value[]> {
  const n = rows.length;
  // Peer groups: group[i] is i's group number, groupStart/groupEnd its bounds.
  const group: number[] = new Array(n);
  const groupStart: number[] = [];
  const groupEnd: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i === 0 || cmpOrder(rows[i - 1]!, rows[i]!) !== 0) {
      groupStart.push(i);
      if (i > 0) groupEnd.push(i);
    }
    group[i] = groupStart.length - 1;
  }
  if (n > 0) groupEnd.push(n);
  const out: Value[] = new Array(n).fill(null);
  const argOf = (i: number, k: number): Value => args[rows[i]!]![k] ?? null;
  switch (call.name) {
    case 'row_number':
      for (let i = 0; i < n; i++) out[i] = i + 1;
      return out;
    case 'rank':
      for (let i = 0; i < n; i++) out[i] = groupStart[group[i]!]! + 1;
      return out;
    case 'dense_rank':
      for (let i = 0; i < n; i++) out[i] = group[i]! + 1;
      return out;
    case 'percent_rank':
      for (let i = 0; i < n; i++) out[i] = real(n > 1 ? groupStart[group[i]!]! / (n - 1) : 0);
      return out;
    case 'cume_dist':
      for (let i = 0; i < n; i++) out[i] = real(groupEnd[group[i]!]! / n);
      return out;
    case 'ntile':
      for (let i = 0; i < n; i++) {
        const t = positiveInt(argOf(i, 0), 'argument of ntile must be a positive integer');
        const size = Math.floor(n / t);
        const large = n % t;
        const bigRows = large * (size + 1);
        out[i] = i < bigRows ? Math.floor(i / (size + 1)) + 1 : Math.floor((i - bigRows) / size) + large + 1;
      }
      return out;
    case 'lag':
    case 'lead':
      for (let i = 0; i < n; i++) {
        const offArg = call.args.length > 1 ? argOf(i, 1) : 1;
        if (offArg === null) continue;
        const off = nonNegativeInt(offArg, `argument of ${call.name} must be a non-negative integer`);
        const j = call.name === 'lag' ? i - off : i + off;
        out[i] = j >= 0 && j < n ? argOf(j, 0) : call.args.length > 2 ? argOf(i, 2) : null;
      }
      return out;
  }
  const frames = await frameBounds(call, rows, keys, group, groupStart, groupEnd, env, snaps);
  const inFrame = (i: number): number[] => {
    const [s, e] = frames[i]!;
    const list: number[] = [];
    for (let j = s; j < e; j++) {
      if (call.frame.exclude === 'CURRENT ROW' && j === i) continue;
      if (call.frame.exclude === 'GROUP' && group[j] === group[i]) continue;
      if (call.frame.exclude === 'TIES' && group[j] === group[i] && j !== i) continue;
      list.push(j);
    }
    return list;
  };
  if (call.name === 'first_value' || call.name === 'last_value' || call.name === 'nth_value') {
    for (let i = 0; i < n; i++) {
      if (call.frame.exclude === 'NO OTHERS') {
        // The frame is a contiguous range: index it directly.
        const [fs, fe] = frames[i]!;
        const k = call.name === 'first_value' ? 0 : call.name === 'last_value' ? fe - fs - 1 : positiveInt(argOf(i, 1), 'second argument to nth_value must be a positive integer') - 1;
        out[i] = k >= 0 && k < fe - fs ? argOf(fs + k, 0) : null;
        continue;
      }
      const list = inFrame(i);
      let k = call.name === 'first_value' ? 0 : list.length - 1;
      if (call.name === 'nth_value') k = positiveInt(argOf(i, 1), 'second argument to nth_value must be a positive integer') - 1;
      out[i] = k >= 0 && k < list.length ? argOf(list[k]!, 0) : null;
    }
    return out;
  }
  const factory = V.AGGREGATES[call.name]!;
  const step = (agg: V.Aggregate, j: number): void => {
    if (!filters[rows[j]!]) return;
    agg.step(call.star ? [] : args[rows[j]!]!);
  };
  if (call.frame.start === 'UNBOUNDED PRECEDING' && call.frame.exclude === 'NO OTHERS') {
    const agg = factory();
    let done = 0;
    for (let i = 0; i < n; i++) {
      const e = frames[i]![1];
      for (; done < e; done++) step(agg, done);
      out[i] = agg.final();
    }
    return out;
  }
  for (let i = 0; i < n; i++) {
    const agg = factory();
    for (const j of inFrame(i)) step(agg, j);
    out[i] = agg.final();
  }
  return out;
}

function positiveInt(v: Value, message: string): number {
  const n = exactInt(v);
  if (n === undefined || n <= 0) throw new DosqlError('ERROR', message);
  return n;
}

function nonNegativeInt(v: Value, message: string): number {
  const n = exactInt(v);
  if (n === undefined || n < 0) throw new DosqlError('ERROR', message);
  return n;
}

function exactInt(v: Value): number | undefined {
  if (typeof v === 'bigint') return v > 0n ? Number.MAX_SAFE_INTEGER : -1;
  if (v === null) return undefined;
  const num = V.toNumeric(v);
  if (!isNumeric(num)) return undefined;
  const d = V.toDouble(num);
  if (!Number.isInteger(d)) return undefined;
  return d;
}

/** [start, end) of each row's frame, before EXCLUDE. */
async function frameBounds(
  call: WindowCall,
  rows: number[],
  keys: Value[][],
  group: number[],
  groupStart: number[],
  groupEnd: number[],
  env: Env,
  snaps: Snapshot[],
): Promise<Array<[number, number]>> {
  const n = rows.length;
  const f = call.frame;
  const offset = async (c: Compiled | undefined, i: number): Promise<number> => {
    if (!c) return 0;
    bind(env, snaps[rows[i]!]!);
    const v = c.async ? await c.fn(env) : (c.fn(env) as Value);
    if (f.units === 'RANGE') {
      const num = v === null ? null : V.toNumeric(v);
      const d = num !== null && isNumeric(num) ? V.toDouble(num) : undefined;
      if (d === undefined || d < 0) {
        throw new DosqlError('ERROR', 'frame starting offset must be a non-negative number');
      }
      return d;
    }
    const k = exactInt(v);
    if (k === undefined || k < 0 || v === null) throw new DosqlError('ERROR', `frame ${c === f.startOffset ? 'starting' : 'ending'} offset must be a non-negative integer`);
    return k;
  };
  const out: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    const s = await bound(f.start, await offset(f.startOffset, i), i, true);
    const e = await bound(f.end, await offset(f.endOffset, i), i, false);
    out.push([s, Math.max(s, e)]);
  }
  return out;

  /** Position where the frame starts (isStart) or one past where it ends. */
  async function bound(type: FrameBound['type'], off: number, i: number, isStart: boolean): Promise<number> {
    if (type === 'UNBOUNDED PRECEDING') return 0;
    if (type === 'UNBOUNDED FOLLOWING') return n;
    if (f.units === 'ROWS') {
      const p = type === 'PRECEDING' ? i - off : type === 'FOLLOWING' ? i + off : i;
      return clamp(isStart ? p : p + 1);
    }
    if (f.units === 'GROUPS' || type === 'CURRENT ROW') {
      const g = group[i]! + (type === 'PRECEDING' ? -off : type === 'FOLLOWING' ? off : 0);
      if (g < 0) return 0;
      if (g >= groupStart.length) return n;
      return isStart ? groupStart[g]! : groupEnd[g]!;
    }
    return rangeBound(type, off, i, isStart);
  }

  function clamp(p: number): number {
    return Math.min(n, Math.max(0, p));
  }

  /** RANGE with an offset: rows whose ORDER BY value lies within `off` of the current row's. */
  function rangeBound(type: 'PRECEDING' | 'FOLLOWING', off: number, i: number, isStart: boolean): number {
    const o = call.order[0]!;
    const key = (j: number): Value => keys[rows[j]!]![0]!;
    const v = key(i);
    if (v === null || !isNumeric(v)) {
      // NULL (and non-numeric) ORDER BY values: the frame bound is the row's peer group.
      return isStart ? groupStart[group[i]!]! : groupEnd[group[i]!]!;
    }
    const x = V.toDouble(v)!;
    // Moving "forward" in sort order means larger values for ASC, smaller for DESC.
    const forward = type === 'FOLLOWING';
    const target = (o.desc ? !forward : forward) ? x + off : x - off;
    // Start: first row at or after the target in sort order; end: first row beyond it.
    const beyond = (j: number): boolean => {
      const w = key(j);
      if (w === null) return !o.nullsFirst;
      if (!isNumeric(w)) return !o.desc;
      const d = V.toDouble(w)!;
      const past = o.desc ? d < target : d > target;
      const reached = o.desc ? d <= target : d >= target;
      return isStart ? reached : past;
    };
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (beyond(mid)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

function isNumeric(v: Value): boolean {
  const c = storageClass(v);
  return c === 'integer' || c === 'real';
}
