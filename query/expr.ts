/**
 * The expression compiler: AST expressions to closures over an `Env` (see scope.ts).
 *
 * Compiling once per statement (and caching the result with the statement) keeps per-row work to
 * closure calls: no AST walks, no name lookups, no `eval` (which workerd forbids). Most expressions
 * are synchronous. Only a subquery needs to await B-tree reads, so each compiled node records
 * whether it is `async`; a node is async only if a child is, and the executor awaits only those.
 * That keeps the hot paths (INSERT ... VALUES (?, ?), WHERE id = ?) free of promises.
 *
 * Aggregates: when a SELECT groups, result columns, HAVING and ORDER BY are compiled in aggregate
 * mode: each aggregate call becomes a slot in `env.agg`, filled when its group is finished, and its
 * arguments are compiled separately for the per-row step.
 */
import { DosqlError, type ErrorCode } from '../base/errors.js';
import type { Value } from '../base/values.js';
import type { Expr, FunctionExpr, SelectStmt } from './ast.js';
import type { Env, Scope } from './scope.js';
import * as V from './values/index.js';
import { IgnoreRow } from './triggers.js';
import { WINDOW_ONLY, type WindowSet } from './window.js';

export type EvalFn = (env: Env) => Value | Promise<Value>;
export type SyncFn = (env: Env) => Value;

export interface Compiled {
  fn: EvalFn;
  async: boolean;
  /** Affinity when the expression is a bare column (or CAST): it steers comparisons. */
  affinity?: V.Affinity;
  collation?: V.Collation;
}

export interface AggSpec {
  name: string;
  args: Compiled[];
  star: boolean;
  distinct: boolean;
  filter?: Compiled;
  /** `agg(x ORDER BY ...)`: the order the rows are fed to the aggregate in. */
  orderBy?: Array<{ key: Compiled; desc: boolean; nullsFirst: boolean }>;
  pos: number;
}

/** A compiled subquery, run against the Env of the row that uses it. */
export interface SubPlan {
  columnCount: number;
  /** Affinity of each result column (a column reference's, or none), as SQLite gives subqueries. */
  affinities?: Array<V.Affinity | undefined>;
  correlated: boolean;
  run(env: Env, limit?: number): Promise<Value[][]>;
}

export interface CompileContext {
  sql: string;
  fail(code: ErrorCode, message: string, pos: number): never;
  compileSubquery(select: SelectStmt, scope: Scope): SubPlan;
  /** Set while compiling in aggregate mode: aggregate calls are collected here. */
  aggregates?: AggSpec[];
  /** Set while compiling result columns and ORDER BY of a core: window calls are collected here. */
  windows?: WindowSet;
  /** Set while compiling a trigger body: RAISE() is allowed. */
  inTrigger?: boolean;
}

/** Most nested compile depth; the parser bounds expression depth, this guards the compiler too. */
const COMPILE_DEPTH_MAX = 2000;

export function compileExpr(e: Expr, scope: Scope, ctx: CompileContext, depth = 0): Compiled {
  if (depth > COMPILE_DEPTH_MAX) ctx.fail('LIMIT_EXCEEDED', 'expression nested too deeply', e.pos);
  const sub = (x: Expr): Compiled => compileExpr(x, scope, ctx, depth + 1);
  switch (e.kind) {
    case 'literal': {
      const v = e.value;
      return { fn: () => v, async: false };
    }
    case 'param': {
      const i = e.index - 1;
      return { fn: (env) => env.run.params[i] ?? null, async: false };
    }
    case 'column':
      return compileColumn(e.name, e.table, e.pos, scope);
    case 'unary':
      return compileUnary(e.op, sub(e.operand));
    case 'binary':
      return compileBinary(e.op, sub(e.left), sub(e.right), e.pos, ctx);
    case 'is': {
      const [l, r] = [sub(e.left), sub(e.right)];
      const neg = e.negated;
      return lift([l, r], ([a, b]) => {
        const [x, y] = V.applyComparisonAffinity(a!, l.affinity, b!, r.affinity);
        const same = x === null || y === null ? x === y : V.compareValues(x, y, collationOf(l, r)) === 0;
        return same !== neg ? 1 : 0;
      });
    }
    case 'between': {
      const [x, lo, hi] = [sub(e.operand), sub(e.low), sub(e.high)];
      const coll = x.collation;
      const neg = e.negated;
      return lift([x, lo, hi], ([a, b, c]) => {
        const ge = cmp('>=', a!, x.affinity, b!, lo.affinity, coll);
        const le = cmp('<=', a!, x.affinity, c!, hi.affinity, coll);
        const r = and3(ge, le);
        return neg ? not3(r) : r;
      });
    }
    case 'in_list':
      return compileInList(sub(e.operand), e.list.map(sub), e.negated);
    case 'in_select':
      return compileInSelect(sub(e.operand), ctx.compileSubquery(e.select, scope), e.negated, e.pos, ctx);
    case 'like':
      return compileLike(e.op, sub(e.operand), sub(e.pattern), e.escape ? sub(e.escape) : undefined, e.negated, e.pos, ctx);
    case 'case':
      return compileCase(e.operand ? sub(e.operand) : undefined, e.whens.map((w) => [sub(w.when), sub(w.then)]), e.else ? sub(e.else) : undefined);
    case 'cast': {
      const x = sub(e.operand);
      const type = e.type;
      const c = lift([x], ([a]) => V.castTo(a!, type));
      return { ...c, affinity: V.affinityOfType(type) };
    }
    case 'collate': {
      const x = sub(e.operand);
      const name = e.collation.toUpperCase();
      if (name !== 'BINARY' && name !== 'NOCASE' && name !== 'RTRIM') ctx.fail('ERROR', `no such collation sequence: ${e.collation}`, e.pos);
      return { ...x, collation: name };
    }
    case 'function':
      return compileFunction(e, scope, ctx, depth);
    case 'subquery': {
      const plan = ctx.compileSubquery(e.select, scope);
      if (plan.columnCount !== 1) ctx.fail('ERROR', `sub-select returns ${plan.columnCount} columns - expected 1`, e.pos);
      return { fn: async (env) => (await runSub(plan, env, 1))[0]?.[0] ?? null, async: true, affinity: plan.affinities?.[0] };
    }
    case 'exists': {
      const plan = ctx.compileSubquery(e.select, scope);
      return { fn: async (env) => ((await runSub(plan, env, 1)).length > 0 ? 1 : 0), async: true };
    }
    case 'raise': {
      if (!ctx.inTrigger) return ctx.fail('ERROR', 'RAISE() may only be used within a trigger-program', e.pos);
      const { action, message } = e;
      return {
        fn: () => {
          if (action === 'IGNORE') throw new IgnoreRow();
          throw new DosqlError('ERROR', message ?? `RAISE(${action})`);
        },
        async: false,
      };
    }
  }
}

/** Run a subquery; uncorrelated ones run once per statement execution. */
async function runSub(plan: SubPlan, env: Env, limit?: number): Promise<Value[][]> {
  if (plan.correlated) return plan.run(env, limit);
  const cache = (env.run.subqueryCache ??= new Map());
  let hit = cache.get(plan) as Promise<Value[][]> | undefined;
  if (!hit) {
    hit = plan.run(env);
    cache.set(plan, hit);
  }
  return hit;
}

function compileColumn(name: string, table: string | undefined, pos: number, scope: Scope): Compiled {
  const r = scope.resolve(name, table, pos);
  if (r.depth > 0) {
    // A nested query reading an enclosing query's row: it must re-run per outer row.
    markCorrelated(scope, r.scope);
  }
  const { slot } = r.source;
  const { index, depth } = r;
  let fn: SyncFn;
  if (depth === 0) fn = (env) => env.rows[slot]?.[index] ?? null;
  else
    fn = (env) => {
      let e: Env = env;
      for (let d = 0; d < depth; d++) e = e.outer!;
      return e.rows[slot]?.[index] ?? null;
    };
  return { fn, async: false, affinity: r.affinity, collation: r.collation };
}

function markCorrelated(from: Scope, to: Scope): void {
  for (let s: Scope | undefined = from; s && s !== to; s = s.parent) s.referencedFromInside = true;
}

/** Combine children into one node, async only if a child is. */
export function lift(parts: Compiled[], f: (vals: Value[], env: Env) => Value): Compiled {
  if (parts.every((p) => !p.async)) {
    const fns = parts.map((p) => p.fn as SyncFn);
    if (fns.length === 1) {
      const a = fns[0]!;
      return { fn: (env) => f([a(env)], env), async: false };
    }
    if (fns.length === 2) {
      const [a, b] = fns as [SyncFn, SyncFn];
      return { fn: (env) => f([a(env), b(env)], env), async: false };
    }
    return { fn: (env) => f(fns.map((g) => g(env)), env), async: false };
  }
  const fns = parts.map((p) => p.fn);
  return {
    fn: async (env) => {
      const vals: Value[] = [];
      for (const g of fns) vals.push(await g(env));
      return f(vals, env);
    },
    async: true,
  };
}

function collationOf(l: Compiled, r: Compiled): V.Collation | undefined {
  return l.collation ?? r.collation;
}

type CmpOp = '=' | '<>' | '<' | '<=' | '>' | '>=';

function cmp(op: CmpOp, a: Value, aa: V.Affinity | undefined, b: Value, ba: V.Affinity | undefined, coll?: V.Collation): Value {
  if (a === null || b === null) return null;
  const [x, y] = V.applyComparisonAffinity(a, aa, b, ba);
  return V.compareOp(op, x, y, coll);
}

function truth(v: Value): boolean | null {
  return V.isTruthy(v);
}

function and3(a: Value, b: Value): Value {
  const x = truth(a);
  const y = truth(b);
  if (x === false || y === false) return 0;
  if (x === null || y === null) return null;
  return 1;
}

function not3(a: Value): Value {
  const x = truth(a);
  return x === null ? null : x ? 0 : 1;
}

function compileUnary(op: '-' | '+' | '~' | 'NOT', x: Compiled): Compiled {
  switch (op) {
    case '-':
      return lift([x], ([a]) => V.negate(a!));
    case '+':
      // Unary + keeps the value but, as in SQLite, not the column's affinity.
      return { ...x, affinity: undefined };
    case '~':
      return lift([x], ([a]) => V.bitNot(a!));
    case 'NOT':
      return lift([x], ([a]) => not3(a!));
  }
}

const ARITH: Partial<Record<string, (a: Value, b: Value) => Value>> = {
  '+': V.add,
  '-': V.sub,
  '*': V.mul,
  '/': V.div,
  '%': V.mod,
  '&': V.bitAnd,
  '|': V.bitOr,
  '<<': V.shiftLeft,
  '>>': V.shiftRight,
  '||': V.concat,
};

function compileBinary(op: string, l: Compiled, r: Compiled, pos: number, ctx: CompileContext): Compiled {
  if (op === 'AND' || op === 'OR') return compileLogic(op, l, r);
  const arith = ARITH[op];
  if (arith) return lift([l, r], ([a, b]) => arith(a!, b!));
  if (op === '->') return lift([l, r], ([a, b]) => V.jsonArrow(a!, b!));
  if (op === '->>') return lift([l, r], ([a, b]) => V.jsonArrow2(a!, b!));
  const coll = collationOf(l, r);
  const cop = op as CmpOp;
  const la = l.affinity;
  const ra = r.affinity;
  if (!l.async && !r.async) {
    const a = l.fn as SyncFn;
    const b = r.fn as SyncFn;
    return { fn: (env) => cmp(cop, a(env), la, b(env), ra, coll), async: false };
  }
  return lift([l, r], ([a, b]) => cmp(cop, a!, la, b!, ra, coll));
}

function compileLogic(op: 'AND' | 'OR', l: Compiled, r: Compiled): Compiled {
  const isAnd = op === 'AND';
  // Short-circuit like SQLite: the right side runs only when it can change the answer.
  const decide = (x: boolean | null, right: () => Value | Promise<Value>): Value | Promise<Value> => {
    if (isAnd && x === false) return 0;
    if (!isAnd && x === true) return 1;
    const finish = (rv: Value): Value => {
      const y = truth(rv);
      if (isAnd) return y === false ? 0 : x === null || y === null ? null : 1;
      return y === true ? 1 : x === null || y === null ? null : 0;
    };
    const rv = right();
    return rv instanceof Promise ? rv.then(finish) : finish(rv);
  };
  if (!l.async && !r.async) {
    const a = l.fn as SyncFn;
    const b = r.fn as SyncFn;
    return { fn: (env) => decide(truth(a(env)), () => b(env)) as Value, async: false };
  }
  return { fn: async (env) => decide(truth(await l.fn(env)), () => r.fn(env)), async: true };
}

function compileInList(x: Compiled, list: Compiled[], negated: boolean): Compiled {
  return lift([x, ...list], ([a, ...items]) => {
    if (items.length === 0) return negated ? 1 : 0;
    if (a === null) return null;
    let sawNull = false;
    for (let i = 0; i < items.length; i++) {
      const r = cmp('=', a!, x.affinity, items[i]!, list[i]!.affinity, x.collation ?? list[i]!.collation);
      if (r === null) sawNull = true;
      else if (r === 1) return negated ? 0 : 1;
    }
    if (sawNull) return null;
    return negated ? 1 : 0;
  });
}

function compileInSelect(x: Compiled, plan: SubPlan, negated: boolean, pos: number, ctx: CompileContext): Compiled {
  if (plan.columnCount !== 1) ctx.fail('ERROR', `sub-select returns ${plan.columnCount} columns - expected 1`, pos);
  return {
    fn: async (env) => {
      const a = await x.fn(env);
      const rows = await runSub(plan, env);
      if (rows.length === 0) return negated ? 1 : 0;
      if (a === null) return null;
      let sawNull = false;
      for (const row of rows) {
        const r = cmp('=', a, x.affinity, row[0]!, plan.affinities?.[0], x.collation);
        if (r === null) sawNull = true;
        else if (r === 1) return negated ? 0 : 1;
      }
      if (sawNull) return null;
      return negated ? 1 : 0;
    },
    async: true,
  };
}

function compileLike(
  op: 'LIKE' | 'GLOB' | 'REGEXP' | 'MATCH',
  x: Compiled,
  pattern: Compiled,
  escape: Compiled | undefined,
  negated: boolean,
  pos: number,
  ctx: CompileContext,
): Compiled {
  if (op !== 'LIKE' && op !== 'GLOB') ctx.fail('ERROR', `no such function: ${op.toLowerCase()}`, pos);
  const parts = escape ? [x, pattern, escape] : [x, pattern];
  return lift(parts, ([a, p, esc]) => {
    if (a === null || p === null || esc === null) return null;
    const text = V.toText(a!)!;
    const pat = V.toText(p!)!;
    let m: boolean;
    if (op === 'LIKE') {
      const e = esc === undefined ? undefined : V.toText(esc)!;
      if (e !== undefined && [...e].length !== 1) throw new DosqlError('ERROR', 'ESCAPE expression must be a single character');
      m = V.like(pat, text, e);
    } else m = V.glob(pat, text);
    return m !== negated ? 1 : 0;
  });
}

function compileCase(operand: Compiled | undefined, whens: Array<[Compiled, Compiled]>, otherwise: Compiled | undefined): Compiled {
  const all = [operand, ...whens.flat(), otherwise].filter((c): c is Compiled => c !== undefined);
  const isAsync = all.some((c) => c.async);
  const test = (base: Value | undefined, w: Value, when: Compiled): boolean =>
    operand === undefined ? truth(w) === true : cmp('=', base!, operand.affinity, w, when.affinity, operand.collation) === 1;
  if (!isAsync) {
    const fn: SyncFn = (env) => {
      const base = operand ? (operand.fn as SyncFn)(env) : undefined;
      for (const [when, then] of whens) {
        if (test(base, (when.fn as SyncFn)(env), when)) return (then.fn as SyncFn)(env);
      }
      return otherwise ? (otherwise.fn as SyncFn)(env) : null;
    };
    return { fn, async: false };
  }
  return {
    fn: async (env) => {
      const base = operand ? await operand.fn(env) : undefined;
      for (const [when, then] of whens) {
        if (test(base, await when.fn(env), when)) return then.fn(env);
      }
      return otherwise ? otherwise.fn(env) : null;
    },
    async: true,
  };
}

function compileFunction(e: FunctionExpr, scope: Scope, ctx: CompileContext, depth: number): Compiled {
  const name = e.name.toLowerCase();
  if (e.over !== undefined) {
    if (!ctx.windows) ctx.fail('ERROR', `misuse of window function ${name}()`, e.pos);
    return ctx.windows.compile(e, scope, ctx);
  }
  if (WINDOW_ONLY[name]) ctx.fail('ERROR', `misuse of window function ${name}()`, e.pos);
  const aggFactory = V.AGGREGATES[name];
  const scalar = V.SCALAR_FUNCTIONS[name];
  // min/max with one argument are aggregates; with more they are scalar.
  const isAggregate = aggFactory !== undefined && (scalar === undefined || e.args.length <= 1);
  if (isAggregate) return compileAggregateCall(e, name, scope, ctx, depth);
  if (!scalar) ctx.fail('ERROR', `no such function: ${e.name}`, e.pos);
  if (e.distinct || e.star || e.filter) ctx.fail('ERROR', `${name}() is not an aggregate function`, e.pos);
  const n = e.args.length;
  if (n < scalar.minArgs || (scalar.maxArgs >= 0 && n > scalar.maxArgs)) {
    ctx.fail('ERROR', `wrong number of arguments to function ${name}()`, e.pos);
  }
  const args = e.args.map((a) => compileExpr(a, scope, ctx, depth + 1));
  if (name === 'coalesce' || name === 'ifnull' || name === 'iif') return compileLazy(name, args);
  // SQLite passes "this text is JSON" along with values from JSON functions and ->; a Value
  // cannot carry it, so the call site tells the JSON function which arguments are JSON.
  const jsonArgs = V.JSON_FUNCTIONS[name] ? e.args.map(isJsonValued) : undefined;
  if (jsonArgs?.some(Boolean)) return lift(args, (vals, env) => scalar.fn(vals, { random: env.run.random, now: env.run.now, jsonArgs } as V.FunctionContext));
  return lift(args, (vals, env) => scalar.fn(vals, env.run));
}

function isJsonValued(e: Expr): boolean {
  if (e.kind === 'binary') return e.op === '->';
  return e.kind === 'function' && V.JSON_SUBTYPE_FUNCTIONS.has(e.name.toLowerCase());
}

function compileLazy(name: string, args: Compiled[]): Compiled {
  if (name === 'iif') return compileCase(undefined, [[args[0]!, args[1]!]], args[2] ?? { fn: () => null, async: false });
  // coalesce/ifnull: first non-NULL argument, evaluating no further.
  return lift(args, (vals) => vals.find((v) => v !== null) ?? null);
}

function compileAggregateCall(e: FunctionExpr, name: string, scope: Scope, ctx: CompileContext, depth: number): Compiled {
  if (!ctx.aggregates) ctx.fail('ERROR', `misuse of aggregate function ${name}()`, e.pos);
  if (e.star && name !== 'count') ctx.fail('ERROR', `wrong number of arguments to function ${name}()`, e.pos);
  const outer = ctx.aggregates;
  // Aggregate arguments are row expressions: an aggregate inside one is a misuse.
  const inner: CompileContext = { ...ctx, aggregates: undefined, windows: undefined };
  const args = e.args.map((a) => compileExpr(a, scope, inner, depth + 1));
  const maxArgs = name === 'group_concat' || name === 'string_agg' ? 2 : name === 'count' ? 1 : 1;
  if ((!e.star && args.length === 0 && name !== 'count') || args.length > maxArgs || (name === 'count' && !e.star && args.length === 0)) {
    ctx.fail('ERROR', `wrong number of arguments to function ${name}()`, e.pos);
  }
  if (e.distinct && args.length !== 1) ctx.fail('ERROR', 'DISTINCT aggregates must have exactly one argument', e.pos);
  const slot = outer.length;
  outer.push({
    name,
    args,
    star: e.star,
    distinct: e.distinct,
    filter: e.filter ? compileExpr(e.filter, scope, inner, depth + 1) : undefined,
    orderBy: e.orderBy?.map((o) => ({
      key: compileExpr(o.expr, scope, inner, depth + 1),
      desc: o.direction === 'DESC',
      nullsFirst: o.nulls ? o.nulls === 'FIRST' : o.direction !== 'DESC',
    })),
    pos: e.pos,
  });
  return { fn: (env) => env.agg![slot] ?? null, async: false };
}
