/**
 * The expression compiler: AST expressions to closures over an `Env` (see scope.ts).
 *
 * Compiling once per statement (and caching the result with the statement) keeps per-row work to
 * closure calls: no AST walks, no name lookups, no `eval` (which workerd forbids). Most expressions
 * are synchronous. Only a subquery needs to await B-tree reads, so each compiled node records
 * whether it is `async`; a node is async only if a child is, and the executor awaits only those.
 * That keeps the hot paths (INSERT ... VALUES (?, ?), WHERE id = ?) free of promises.
 *
 * Collations follow SQLite (datatype3.html, 7.1): a comparison uses the left operand's explicit
 * collation (a postfix COLLATE), else the right operand's, else a column's declared one, else
 * BINARY. An explicit collation is carried outward through every operator and function call, so
 * `('A' COLLATE NOCASE || 'b') = 'ab'` compares with NOCASE; when several operands carry one, the
 * first in SQLite's search order wins (the left operand, then the argument list in order, then the
 * right operand; LIKE and GLOB are calls whose pattern comes first). A column's own collation
 * passes only through CAST and unary +. Subqueries stop both. `Compiled.collation` is therefore
 * exactly what SQLite's sqlite3ExprCollSeq() returns, which ORDER BY and min()/max() use too.
 *
 * Aggregates: when a SELECT groups, result columns, HAVING and ORDER BY are compiled in aggregate
 * mode: each aggregate call becomes a slot in `env.agg`, filled when its group is finished, and its
 * arguments are compiled separately for the per-row step.
 */
import { DosqlError, type ErrorCode } from '../base/errors.js';
import { real, type Value } from '../base/values.js';
import type { Expr, FunctionExpr, SelectStmt } from './ast.js';
import { oncePerRun, type Env, type Scope } from './scope.js';
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
  /** The collation SQLite gives the expression: explicit (carried outward) or a column's. */
  collation?: V.Collation;
  /** True when `collation` comes from a COLLATE operator, which outranks a column's collation. */
  explicitCollation?: boolean;
}

export interface AggSpec {
  name: string;
  args: Compiled[];
  star: boolean;
  distinct: boolean;
  filter?: Compiled;
  /** `agg(x ORDER BY ...)`: the order the rows are fed to the aggregate in. */
  orderBy?: Array<{ key: Compiled; desc: boolean; nullsFirst: boolean }>;
  /** The argument's collation (explicit or a column's), which min() and max() compare with. */
  collation?: V.Collation;
  pos: number;
}

/** A compiled subquery, run against the Env of the row that uses it. */
export interface SubPlan {
  columnCount: number;
  /** Affinity of each result column (a column reference's, or none), as SQLite gives subqueries. */
  affinities?: Array<V.Affinity | undefined>;
  /** Collation of each result column, for `x IN (SELECT ...)`; none when absent. */
  collations?: Array<Pick<Compiled, 'collation' | 'explicitCollation'> | undefined>;
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
      if (e.doubleQuoted) return compileQuoted(e.name, e.pos, scope);
      return compileColumn(e.name, e.table, e.pos, scope);
    case 'unary': {
      const x = sub(e.operand);
      // Unary + passes its operand's collation whole, a column's included (compileUnary).
      return e.op === '+' ? compileUnary(e.op, x) : carry(compileUnary(e.op, x), x);
    }
    case 'binary': {
      const [l, r] = [sub(e.left), sub(e.right)];
      return carry(compileBinary(e.op, l, r, e.pos, ctx), l, r);
    }
    case 'is': {
      const [l, r] = [sub(e.left), sub(e.right)];
      const neg = e.negated;
      const coll = comparisonCollation(l, r);
      const c = lift([l, r], ([a, b]) => {
        const [x, y] = V.applyComparisonAffinity(a!, l.affinity, b!, r.affinity);
        const same = x === null || y === null ? x === y : V.compareValues(x, y, coll) === 0;
        return same !== neg ? 1 : 0;
      });
      return carry(c, l, r);
    }
    case 'between': {
      const [x, lo, hi] = [sub(e.operand), sub(e.low), sub(e.high)];
      // SQLite runs BETWEEN as x >= lo AND x <= hi: each comparison picks its own collation.
      const loColl = comparisonCollation(x, lo);
      const hiColl = comparisonCollation(x, hi);
      const neg = e.negated;
      const c = lift([x, lo, hi], ([a, b, c]) => {
        const ge = cmp('>=', a!, x.affinity, b!, lo.affinity, loColl);
        const le = cmp('<=', a!, x.affinity, c!, hi.affinity, hiColl);
        const r = and3(ge, le);
        return neg ? not3(r) : r;
      });
      return carry(c, x, lo, hi);
    }
    case 'in_list': {
      const [x, list] = [sub(e.operand), e.list.map(sub)];
      return carry(compileInList(x, list, e.negated), x, ...list);
    }
    case 'in_select': {
      const x = sub(e.operand);
      return carry(compileInSelect(x, ctx.compileSubquery(e.select, scope), e.negated, e.pos, ctx), x);
    }
    case 'like': {
      const [x, pattern, escape] = [sub(e.operand), sub(e.pattern), e.escape ? sub(e.escape) : undefined];
      // SQLite turns `x LIKE p ESCAPE c` into like(p, x, c): the pattern comes first.
      return carry(compileLike(e.op, x, pattern, escape, e.negated, e.pos, ctx), pattern, x, escape);
    }
    case 'case': {
      const operand = e.operand ? sub(e.operand) : undefined;
      const whens = e.whens.map((w): [Compiled, Compiled] => [sub(w.when), sub(w.then)]);
      const otherwise = e.else ? sub(e.else) : undefined;
      return carry(compileCase(operand, whens, otherwise), operand, ...whens.flat(), otherwise);
    }
    case 'cast': {
      const x = sub(e.operand);
      const type = e.type;
      const c = lift([x], ([a]) => V.castTo(a!, type));
      // CAST keeps its operand's collation, a column's included, as unary + does.
      return { ...c, affinity: V.affinityOfType(type), collation: x.collation, explicitCollation: x.explicitCollation };
    }
    case 'collate': {
      const x = sub(e.operand);
      const name = e.collation.toUpperCase();
      if (name !== 'BINARY' && name !== 'NOCASE' && name !== 'RTRIM') ctx.fail('ERROR', `no such collation sequence: ${e.collation}`, e.pos);
      return { ...x, collation: name, explicitCollation: true };
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
  return oncePerRun(env.run, plan, () => plan.run(env));
}

/**
 * `"name"` names a column. SQLite built without legacy double-quoted strings (SQLITE_DQS=0, as
 * SQLite recommends and better-sqlite3 ships) rejects one that names no column with a hint, as
 * this does, rather than reading it as a string.
 */
function compileQuoted(name: string, pos: number, scope: Scope): Compiled {
  try {
    return compileColumn(name, undefined, pos, scope);
  } catch (e) {
    if (!(e instanceof DosqlError) || e.code !== 'NO_SUCH_COLUMN') throw e;
    return scope.fail('NO_SUCH_COLUMN', `no such column: "${name}" - should this be a string literal in single-quotes?`, pos);
  }
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

/**
 * The collation a comparison of `l` with `r` uses: an explicit one, the left operand's first,
 * else a column's, the left operand's first (datatype3.html, 7.1).
 */
function comparisonCollation(l: Pick<Compiled, 'collation' | 'explicitCollation'>, r: Pick<Compiled, 'collation' | 'explicitCollation'>): V.Collation | undefined {
  if (l.explicitCollation) return l.collation;
  if (r.explicitCollation) return r.collation;
  return l.collation ?? r.collation;
}

/**
 * `node` with the first explicit collation among `parts` (given in SQLite's search order), as
 * SQLite's EP_Collate carries it outward; a column's collation does not pass (see CAST and +).
 */
function carry(node: Compiled, ...parts: Array<Compiled | undefined>): Compiled {
  for (const p of parts) {
    if (p?.explicitCollation) return { ...node, collation: p.collation, explicitCollation: true };
  }
  if (node.collation === undefined && node.explicitCollation === undefined) return node;
  return { ...node, collation: undefined, explicitCollation: undefined };
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
      // Unary + keeps the value and its collation but, as in SQLite, not the column's affinity.
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
  const coll = comparisonCollation(l, r);
  const cop = op as CmpOp;
  const la = l.affinity;
  const ra = r.affinity;
  if (!l.async && !r.async) {
    const a = l.fn as SyncFn;
    const b = r.fn as SyncFn;
    const aff = V.comparisonAffinity(la, ra);
    // Two numbers compare as they are unless a TEXT affinity would make text of them; the
    // common `column = ?` on an integer key then costs two typeofs and one comparison.
    if (aff === undefined || V.isNumericAffinity(aff)) {
      return {
        fn: (env) => {
          const x = a(env);
          const y = b(env);
          return typeof x === 'number' && typeof y === 'number' ? V.comparisonResult(cop, x < y ? -1 : x > y ? 1 : 0) : cmp(cop, x, la, y, ra, coll);
        },
        async: false,
      };
    }
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
  // SQLite rewrites `x IN (y)` to `x = y` (the comparison's collation rule); a longer list
  // compares with the left operand's collation only.
  const colls = list.length === 1 ? [comparisonCollation(x, list[0]!)] : list.map(() => x.collation);
  return lift([x, ...list], ([a, ...items]) => {
    if (items.length === 0) return negated ? 1 : 0;
    if (a === null) return null;
    let sawNull = false;
    for (let i = 0; i < items.length; i++) {
      const r = cmp('=', a!, x.affinity, items[i]!, list[i]!.affinity, colls[i]);
      if (r === null) sawNull = true;
      else if (r === 1) return negated ? 0 : 1;
    }
    if (sawNull) return null;
    return negated ? 1 : 0;
  });
}

function compileInSelect(x: Compiled, plan: SubPlan, negated: boolean, pos: number, ctx: CompileContext): Compiled {
  if (plan.columnCount !== 1) ctx.fail('ERROR', `sub-select returns ${plan.columnCount} columns - expected 1`, pos);
  const coll = comparisonCollation(x, plan.collations?.[0] ?? {});
  const realProbe = V.comparisonAffinity(x.affinity, plan.affinities?.[0]) === 'REAL';
  return {
    fn: async (env) => {
      const a = realProbe ? realProbeOf(await x.fn(env)) : await x.fn(env);
      const rows = await runSub(plan, env);
      if (rows.length === 0) return negated ? 1 : 0;
      if (a === null) return null;
      let sawNull = false;
      for (const row of rows) {
        const r = cmp('=', a, x.affinity, row[0]!, plan.affinities?.[0], coll);
        if (r === null) sawNull = true;
        else if (r === 1) return negated ? 0 : 1;
      }
      if (sawNull) return null;
      return negated ? 1 : 0;
    },
    async: true,
  };
}

/**
 * SQLite probes an IN subquery under REAL affinity with the left value made REAL (OP_Affinity), so
 * an integer past 2^53 matches the REAL it rounds to, unlike in `=`.
 */
function realProbeOf(v: Value): Value {
  const [n] = V.applyComparisonAffinity(v, 'REAL', null, undefined);
  return typeof n === 'bigint' ? real(Number(n)) : n;
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
  // `CASE x WHEN w` compares as x = w does.
  const colls = whens.map(([when]) => (operand ? comparisonCollation(operand, when) : undefined));
  const test = (base: Value | undefined, w: Value, i: number): boolean =>
    operand === undefined ? truth(w) === true : cmp('=', base!, operand.affinity, w, whens[i]![0].affinity, colls[i]) === 1;
  if (!isAsync) {
    const fn: SyncFn = (env) => {
      const base = operand ? (operand.fn as SyncFn)(env) : undefined;
      for (let i = 0; i < whens.length; i++) {
        const [when, then] = whens[i]!;
        if (test(base, (when.fn as SyncFn)(env), i)) return (then.fn as SyncFn)(env);
      }
      return otherwise ? (otherwise.fn as SyncFn)(env) : null;
    };
    return { fn, async: false };
  }
  return {
    fn: async (env) => {
      const base = operand ? await operand.fn(env) : undefined;
      for (let i = 0; i < whens.length; i++) {
        const [when, then] = whens[i]!;
        if (test(base, await when.fn(env), i)) return then.fn(env);
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
  return carry(compileScalarCall(name, scalar, e, args), ...args);
}

/** Scalar functions that compare their arguments, under the first argument's collation that has one. */
const COLLATING_FUNCTIONS = new Set(['min', 'max', 'nullif']);

function compileScalarCall(name: string, scalar: V.ScalarFunction, e: FunctionExpr, args: Compiled[]): Compiled {
  if (name === 'coalesce' || name === 'ifnull' || name === 'iif') return compileLazy(name, args);
  const collation = COLLATING_FUNCTIONS.has(name) ? args.find((a) => a.collation !== undefined)?.collation : undefined;
  // SQLite passes "this text is JSON" along with values from JSON functions and ->; a Value
  // cannot carry it, so the call site tells the JSON function which arguments are JSON.
  const jsonArgs = V.JSON_FUNCTIONS[name] ? e.args.map(isJsonValued) : undefined;
  if (jsonArgs?.some(Boolean)) return lift(args, (vals, env) => scalar.fn(vals, { random: env.run.random, now: env.run.now, jsonArgs } as V.FunctionContext));
  if (collation !== undefined) return lift(args, (vals, env) => scalar.fn(vals, { random: env.run.random, now: env.run.now, collation }));
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
    collation: args[0]?.collation,
    pos: e.pos,
  });
  return carry({ fn: (env) => env.agg![slot] ?? null, async: false }, ...args);
}
