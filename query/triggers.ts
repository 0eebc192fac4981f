/**
 * Triggers: statements that run before or after each row a table's INSERT, UPDATE or DELETE
 * touches, with the row in scope as NEW and OLD.
 *
 * A trigger is stored on its table's definition (log/types.ts TriggerDef), so it is logged,
 * versioned and dropped with the table like the rest of the schema. Its WHEN clause and body are
 * compiled on first use, per catalog version, with a scope holding two sources, `new` and `old`,
 * which the body's statements see as an enclosing query (like a correlated subquery's outer
 * row). The body runs inside the firing statement's transaction, so a failure anywhere rolls the
 * whole statement back. RAISE(IGNORE) in a BEFORE trigger skips the row; RAISE(ABORT | FAIL |
 * ROLLBACK, msg) fails the statement with that message. A trigger does not fire itself again
 * (SQLite's default, recursive_triggers off), and nesting is bounded by TRIGGER_DEPTH_MAX.
 */
import { DosqlError } from '../base/errors.js';
import type { TableDef, TriggerDef } from '../log/types.js';
import type { CreateTriggerStmt } from './ast.js';
import { compileExpr, type Compiled } from './expr.js';
import { parseOne } from './parser.js';
import { Scope, rowSource, type Env } from './scope.js';
import type { PlanContext, SelectRun } from './select.js';
import type { StoredRow, Txn } from './txn.js';
import * as V from './values/index.js';

/** Most triggers firing inside one another. */
export const TRIGGER_DEPTH_MAX = 32;

/** Thrown by RAISE(IGNORE): the current row's change is skipped. */
export class IgnoreRow {}

/** What firing needs from the database: planning contexts for trigger bodies. */
export interface TriggerHost {
  /** A planning context over `txn` whose statements see `outer` (NEW and OLD) as enclosing scope. */
  planContext(sql: string, txn: Txn, outer: Scope): PlanContext;
  catalogVersion(): number;
}

interface CompiledTrigger {
  version: number;
  when?: Compiled;
  steps: Array<{ select: boolean; run(env: Env): Promise<unknown> }>;
}

const compiled = new WeakMap<TriggerDef, CompiledTrigger>();

/**
 * Fire the triggers of `def` for one row. Returns false when a BEFORE trigger said RAISE(IGNORE):
 * the caller then skips the row.
 */
export async function fireTriggers(
  def: TableDef,
  event: TriggerDef['event'],
  timing: TriggerDef['timing'],
  rows: { new?: StoredRow; old?: StoredRow },
  run: SelectRun,
  setColumns?: readonly string[],
): Promise<boolean> {
  const triggers = def.triggers;
  if (!triggers || !run.triggers) return true;
  for (const t of triggers) {
    if (t.event !== event || t.timing !== timing) continue;
    if (t.columns && !t.columns.some((c) => setColumns?.includes(c))) continue;
    const stack = (run.triggerStack ??= []);
    if (stack.includes(t.name)) continue;
    if (stack.length >= TRIGGER_DEPTH_MAX) throw new DosqlError('LIMIT_EXCEEDED', `triggers nested deeper than TRIGGER_DEPTH_MAX (${TRIGGER_DEPTH_MAX})`);
    const c = compile(t, def, run);
    const env: Env = { rows: [rows.new ?? null, rows.old ?? null], outer: undefined, agg: undefined, run };
    if (c.when && V.isTruthy(await c.when.fn(env)) !== true) continue;
    stack.push(t.name);
    // Each step is a statement of its own: what the firing statement computed once per run
    // (uncorrelated subqueries, hash tables) is computed afresh, over the rows as they are now.
    const saved = run.subqueryCache;
    try {
      // A SELECT makes its own row Env under the one it is given; a DML statement evaluates in
      // the Env it is given, so it gets a fresh one under NEW and OLD.
      for (const step of c.steps) {
        run.subqueryCache = undefined;
        await step.run(step.select ? env : { rows: [], outer: env, agg: undefined, run });
      }
    } catch (e) {
      if (e instanceof IgnoreRow) return timing === 'AFTER';
      throw e;
    } finally {
      run.subqueryCache = saved;
      stack.pop();
    }
  }
  return true;
}

function compile(t: TriggerDef, def: TableDef, run: SelectRun): CompiledTrigger {
  const host = run.triggers!;
  const version = host.catalogVersion();
  const hit = compiled.get(t);
  if (hit && hit.version === version) return hit;
  const stmt = parseOne(t.sql).statement as CreateTriggerStmt;
  const fail = (code: import('../base/errors.js').ErrorCode, message: string): never => {
    throw new DosqlError(code, `${message} (in trigger ${t.name})`);
  };
  const outer = new Scope(fail);
  for (const [slot, name] of ['new', 'old'].entries()) outer.add(rowSource(def, name, slot));
  const cx = host.planContext(t.sql, run.txn, outer);
  const when = stmt.when ? compileExpr(stmt.when, outer, cx) : undefined;
  const steps = stmt.body.map((s) => {
    const plan = cx.compileStatement!(s);
    return { select: s.type === 'select', run: (env: Env) => plan.run(env) };
  });
  const out: CompiledTrigger = { version, when, steps };
  compiled.set(t, out);
  return out;
}
