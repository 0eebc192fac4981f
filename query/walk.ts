/** Walking expression trees, shared by the planner's analyses. */
import type { Expr } from './ast.js';

/** Visit an expression tree, not descending into subqueries (they aggregate on their own). */
export function visit(e: Expr, f: (e: Expr) => void): void {
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

/** The top-level AND terms of an expression. */
export function conjuncts(e: Expr): Expr[] {
  if (e.kind === 'binary' && e.op === 'AND') return [...conjuncts(e.left), ...conjuncts(e.right)];
  return [e];
}

/** The top-level OR terms of an expression. */
export function disjuncts(e: Expr): Expr[] {
  if (e.kind === 'binary' && e.op === 'OR') return [...disjuncts(e.left), ...disjuncts(e.right)];
  return [e];
}

export function andAll(terms: Expr[]): Expr {
  return terms.reduce((a, b) => ({ kind: 'binary', op: 'AND', left: a, right: b, pos: a.pos }));
}
