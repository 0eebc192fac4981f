/**
 * A compact printed form of expressions for golden tests: operators as S-expressions
 * (`(+ 1 (* 2 3))`), so a table of SQL -> expected text shows precedence at a glance.
 */
import type * as A from '../../query/ast.js';
import { Real, type Value } from '../../base/values.js';

export function showValue(v: Value): string {
  if (v === null) return 'NULL';
  if (v instanceof Real) return `real(${v.value})`;
  if (v instanceof Uint8Array) return `x'${Array.from(v, (b) => b.toString(16).padStart(2, '0')).join('')}'`;
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'bigint') return `${v}n`;
  return Number.isSafeInteger(v) ? String(v) : `${v}r`;
}

export function show(e: A.Expr): string {
  switch (e.kind) {
    case 'literal':
      return showValue(e.value);
    case 'param':
      return e.style === 'named' ? `${e.name}#${e.index}` : `?${e.index}`;
    case 'column':
      return [e.schema, e.table, e.name].filter((x) => x !== undefined).join('.');
    case 'unary':
      return `(${e.op} ${show(e.operand)})`;
    case 'binary':
      return `(${e.op} ${show(e.left)} ${show(e.right)})`;
    case 'is':
      return `(${e.negated ? 'IS NOT' : 'IS'} ${show(e.left)} ${show(e.right)})`;
    case 'between':
      return `(${e.negated ? 'NOT ' : ''}BETWEEN ${show(e.operand)} ${show(e.low)} ${show(e.high)})`;
    case 'in_list':
      return `(${e.negated ? 'NOT ' : ''}IN ${show(e.operand)} [${e.list.map(show).join(' ')}])`;
    case 'in_select':
      return `(${e.negated ? 'NOT ' : ''}IN ${show(e.operand)} <select>)`;
    case 'like':
      return `(${e.negated ? 'NOT ' : ''}${e.op} ${show(e.operand)} ${show(e.pattern)}${e.escape ? ` ESCAPE ${show(e.escape)}` : ''})`;
    case 'case':
      return `(CASE${e.operand ? ` ${show(e.operand)}` : ''}${e.whens.map((w) => ` (WHEN ${show(w.when)} ${show(w.then)})`).join('')}${e.else ? ` (ELSE ${show(e.else)})` : ''})`;
    case 'cast':
      return `(CAST ${show(e.operand)} AS ${e.type})`;
    case 'collate':
      return `(COLLATE ${show(e.operand)} ${e.collation})`;
    case 'function': {
      const args = e.star ? '*' : (e.distinct ? 'DISTINCT ' : '') + e.args.map(show).join(', ');
      let s = `${e.name}(${args})`;
      if (e.filter) s += ` FILTER ${show(e.filter)}`;
      if (e.over !== undefined) s += typeof e.over === 'string' ? ` OVER ${e.over}` : ' OVER (...)';
      return s;
    }
    case 'subquery':
      return '<select>';
    case 'exists':
      return '(EXISTS <select>)';
    case 'raise':
      return `RAISE(${e.action}${e.message !== undefined ? `, '${e.message}'` : ''})`;
  }
}
