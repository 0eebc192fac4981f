/** Golden tests of expression parsing: SQLite's operator precedence and literal values. */
import { describe, expect, it } from 'vitest';
import { Real } from '../../base/values.js';
import { parseExpr } from '../../query/parser.js';
import { show } from './print.js';

const GOLDEN: Array<[string, string]> = [
  // arithmetic and precedence levels
  ['1 + 2 * 3', '(+ 1 (* 2 3))'],
  ['(1 + 2) * 3', '(* (+ 1 2) 3)'],
  ['1 - 2 - 3', '(- (- 1 2) 3)'],
  ['a / b % c', '(% (/ a b) c)'],
  ['a || b || c', '(|| (|| a b) c)'],
  ['a || b * c', '(* (|| a b) c)'],
  ['a + b || c', '(+ a (|| b c))'],
  ['a -> b ->> c', '(->> (-> a b) c)'],
  ['a & b | c << 1 >> 2', '(>> (<< (| (& a b) c) 1) 2)'],
  ['a + 1 << 2', '(<< (+ a 1) 2)'],
  ['a < b = c > d', '(= (< a b) (> c d))'],
  ['a == b', '(= a b)'],
  ['a != b', '(<> a b)'],
  ['a <> b', '(<> a b)'],
  ['a = b AND c = d OR e', '(OR (AND (= a b) (= c d)) e)'],
  ['a OR b AND c', '(OR a (AND b c))'],
  // NOT binds looser than comparison
  ['NOT a = b', '(NOT (= a b))'],
  ['NOT a AND b', '(AND (NOT a) b)'],
  ['NOT NOT a', '(NOT (NOT a))'],
  ['a = NOT b', '(= a (NOT b))'],
  ['NOT EXISTS (SELECT 1)', '(NOT (EXISTS <select>))'],
  // unary
  ['-a * b', '(* (- a) b)'],
  ['- - 1', '(- -1)'],
  ['~a + +b', '(+ (~ a) (+ b))'],
  ['-1', '-1'],
  ['- 1', '-1'],
  ['-(1)', '(- 1)'],
  ['-1.5', '(- 1.5r)'],
  ['-9223372036854775808', '-9223372036854775808n'],
  ['9223372036854775807', '9223372036854775807n'],
  ['-a COLLATE nocase', '(COLLATE (- a) NOCASE)'],
  // COLLATE binds tightest among the binary operators
  ['a || b COLLATE NOCASE', '(|| a (COLLATE b NOCASE))'],
  ['a = b COLLATE rtrim', '(= a (COLLATE b RTRIM))'],
  // IS / NULL tests
  ['x IS NOT NULL', '(IS NOT x NULL)'],
  ['x IS NULL', '(IS x NULL)'],
  ['x IS y', '(IS x y)'],
  ['x ISNULL', '(IS x NULL)'],
  ['x NOTNULL', '(IS NOT x NULL)'],
  ['x NOT NULL', '(IS NOT x NULL)'],
  ['x IS DISTINCT FROM y', '(IS NOT x y)'],
  ['x IS NOT DISTINCT FROM y', '(IS x y)'],
  ['a + 1 IS NULL', '(IS (+ a 1) NULL)'],
  ['a = 1 NOT NULL', '(IS NOT (= a 1) NULL)'],
  // BETWEEN binds its AND
  ['a BETWEEN 1 AND 2', '(BETWEEN a 1 2)'],
  ['a BETWEEN 1 AND 2 AND c', '(AND (BETWEEN a 1 2) c)'],
  ['a NOT BETWEEN b + 1 AND c * 2', '(NOT BETWEEN a (+ b 1) (* c 2))'],
  ['a BETWEEN 1 AND 2 OR c', '(OR (BETWEEN a 1 2) c)'],
  // IN
  ['a IN (1, 2, 3)', '(IN a [1 2 3])'],
  ['a NOT IN ()', '(NOT IN a [])'],
  ['a IN (SELECT b FROM t)', '(IN a <select>)'],
  ['a IN t', '(IN a <select>)'],
  ['a + 1 IN (2) = 1', '(= (IN (+ a 1) [2]) 1)'],
  // LIKE family
  ["a LIKE 'x%'", "(LIKE a 'x%')"],
  ["a NOT LIKE 'x!%' ESCAPE '!'", "(NOT LIKE a 'x!%' ESCAPE '!')"],
  ["a GLOB 'x*' AND b REGEXP 'y' OR c MATCH 'z'", "(OR (AND (GLOB a 'x*') (REGEXP b 'y')) (MATCH c 'z'))"],
  ["a || 'x' LIKE b", "(LIKE (|| a 'x') b)"],
  // CASE / CAST / functions / subqueries
  ['CASE WHEN a THEN 1 ELSE 2 END', '(CASE (WHEN a 1) (ELSE 2))'],
  ['CASE x WHEN 1 THEN 2 WHEN 3 THEN 4 END', '(CASE x (WHEN 1 2) (WHEN 3 4))'],
  ['CAST(a AS INTEGER)', '(CAST a AS INTEGER)'],
  ['CAST(a + 1 AS VARCHAR(10))', '(CAST (+ a 1) AS VARCHAR(10))'],
  ['CAST(a AS DOUBLE PRECISION)', '(CAST a AS DOUBLE PRECISION)'],
  ['count(*)', 'count(*)'],
  ['COUNT(DISTINCT a)', 'count(DISTINCT a)'],
  ['Max(a, b + 1)', 'max(a, (+ b 1))'],
  ['f()', 'f()'],
  ['sum(x) FILTER (WHERE x > 0)', 'sum(x) FILTER (> x 0)'],
  ['row_number() OVER (PARTITION BY a ORDER BY b)', 'row_number() OVER (...)'],
  ['sum(x) OVER w', 'sum(x) OVER w'],
  ['replace(a, b, c)', 'replace(a, b, c)'],
  ['like(a, b)', 'like(a, b)'],
  ['(SELECT 1)', '<select>'],
  ['EXISTS (SELECT 1)', '(EXISTS <select>)'],
  ['CURRENT_TIMESTAMP', 'current_timestamp()'],
  ["RAISE(ABORT, 'no')", "RAISE(ABORT, 'no')"],
  ['RAISE(IGNORE)', 'RAISE(IGNORE)'],
  // names and literals
  ['t.a + main.t.b', '(+ t.a main.t.b)'],
  ['"a b" + [c d] + `e``f`', '(+ (+ a b c d) e`f)'],
  ['key + value + text + date + replace', '(+ (+ (+ (+ key value) text) date) replace)'],
  ['t.left', 't.left'],
  ['TRUE AND false', '(AND 1 0)'],
  ["'it''s'", "'it's'"],
  ["X'0A0b'", "x'0a0b'"],
  ["x''", "x''"],
  ['NULL', 'NULL'],
  ['1.0', 'real(1)'],
  ['.5 + 5. + 1e3 + 2.5E-1', '(+ (+ (+ 0.5r real(5)) real(1000)) 0.25r)'],
  ['0x1F', '31'],
  ['0xFFFFFFFFFFFFFFFF', '-1'],
  ['0x7FFFFFFFFFFFFFFF', '9223372036854775807n'],
  ['9223372036854775808', '9223372036854776000r'],
  ['a /* comment */ + -- line\n b', '(+ a b)'],
];

describe('expression precedence and literals (golden)', () => {
  for (const [sql, expected] of GOLDEN) {
    it(sql, () => {
      expect(show(parseExpr(sql))).toBe(expected);
    });
  }

  it('keeps INTEGER and REAL apart', () => {
    expect(parseExpr('1')).toMatchObject({ kind: 'literal', value: 1 });
    const r = parseExpr('1.0');
    expect(r.kind === 'literal' && r.value instanceof Real).toBe(true);
    expect(parseExpr('-9223372036854775808')).toMatchObject({ value: -9223372036854775808n });
    expect(parseExpr("x'00ff'")).toMatchObject({ value: new Uint8Array([0, 255]) });
  });

  it('records positions of nodes', () => {
    const e = parseExpr('a +\n  b * c');
    expect(e).toMatchObject({ kind: 'binary', pos: 0, right: { kind: 'binary', pos: 6, left: { pos: 6 }, right: { pos: 10 } } });
  });

  it('parses window specs and frames', () => {
    const e = parseExpr(
      'sum(x) OVER (w PARTITION BY a ORDER BY b DESC NULLS LAST ROWS BETWEEN 2 PRECEDING AND CURRENT ROW EXCLUDE TIES)',
    );
    expect(e).toMatchObject({
      kind: 'function',
      over: {
        base: 'w',
        partitionBy: [{ kind: 'column', name: 'a' }],
        orderBy: [{ direction: 'DESC', nulls: 'LAST', expr: { name: 'b' } }],
        frame: { units: 'ROWS', start: { type: 'PRECEDING', offset: { value: 2 } }, end: { type: 'CURRENT ROW' }, exclude: 'TIES' },
      },
    });
    expect(parseExpr('rank() OVER (RANGE UNBOUNDED PRECEDING)')).toMatchObject({
      over: { frame: { units: 'RANGE', start: { type: 'UNBOUNDED PRECEDING' } } },
    });
    expect(parseExpr('group_concat(x, \',\' ORDER BY y)')).toMatchObject({ orderBy: [{ expr: { name: 'y' } }] });
  });
});
