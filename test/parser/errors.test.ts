/** Errors: SQLite's messages, line and column of the offending token, and the named limits. */
import { describe, expect, it } from 'vitest';
import { DosqlError } from '../../base/errors.js';
import { positionAt, tokenize } from '../../query/lexer.js';
import { EXPR_DEPTH_MAX, PARAMETER_NUMBER_MAX, SQL_TEXT_CHARS_MAX, parse, parseExpr, parseOne } from '../../query/parser.js';

function errorOf(f: () => unknown): DosqlError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DosqlError);
    return e as DosqlError;
  }
  throw new Error('expected an error');
}

describe('syntax errors', () => {
  const cases: Array<[string, string, number, number]> = [
    ['SELECT * FROM t WHERE FROM', 'near "FROM": syntax error', 1, 23],
    ['SELECT 1 FROM', 'incomplete input', 1, 14],
    ["SELECT 'abc", `unrecognized token: "'abc"`, 1, 8],
    ['SELECT\n  a,\n  b\nFROM t\nWHERE a = = 1', 'near "=": syntax error', 5, 11],
    ['SELECT 1;\nSELECT 2\n  2', 'near "2": syntax error', 3, 3],
    ["SELECT x'0'", `unrecognized token: "x'0'"`, 1, 8],
    ["SELECT x'zz'", `unrecognized token: "x'zz'"`, 1, 8],
    ['SELECT 0x1FFFFFFFFFFFFFFFF', 'hex literal too big: 0x1FFFFFFFFFFFFFFFF', 1, 8],
    ['SELECT 12abc', 'unrecognized token: "12abc"', 1, 8],
    ['SELECT 1e', 'unrecognized token: "1e"', 1, 8],
    ['SELECT !', 'unrecognized token: "!"', 1, 8],
    ['SELECT "abc', 'unrecognized token: ""abc"', 1, 8],
    ['SELECT [abc', 'unrecognized token: "[abc"', 1, 8],
    ['SELECT :', 'unrecognized token: ":"', 1, 8],
    ['SELECT (1, 2)', 'near ",": syntax error', 1, 10],
    ['SELECT a FROM t LEFT', 'incomplete input', 1, 21],
    ['CREATE TABLE t(a INT,)', 'near ")": syntax error', 1, 22],
    ['INSERT INTO t VALUES (1', 'incomplete input', 1, 24],
    ['SELECT count(DISTINCT *) FROM t', 'near "*": syntax error', 1, 23],
    ['FOO BAR', 'near "FOO": syntax error', 1, 1],
    ['SELECT 1 +', 'incomplete input', 1, 11],
  ];
  for (const [sql, message, line, column] of cases) {
    it(JSON.stringify(sql), () => {
      const e = errorOf(() => parse(sql));
      expect(e.code).toBe('SYNTAX_ERROR');
      expect(e.message).toBe(`${message} (line ${line}, column ${column})`);
      expect([e.line, e.column]).toEqual([line, column]);
    });
  }

  it('reports the first error in reading order', () => {
    expect(errorOf(() => parse("SELECT FROM 'abc")).message).toMatch(/^near "FROM"/);
  });

  it('parseExpr rejects trailing tokens', () => {
    expect(errorOf(() => parseExpr('1 2')).message).toMatch(/^near "2"/);
  });
});

describe('positionAt', () => {
  it('gives 1-based line and column', () => {
    const sql = 'ab\ncd\r\nef';
    expect(positionAt(sql, 0)).toEqual({ line: 1, column: 1, offset: 0 });
    expect(positionAt(sql, 4)).toEqual({ line: 2, column: 2, offset: 4 });
    expect(positionAt(sql, 7)).toEqual({ line: 3, column: 1, offset: 7 });
    expect(positionAt(sql, 99)).toEqual({ line: 3, column: 3, offset: 9 });
  });
});

describe('limits', () => {
  it('parameter numbers', () => {
    expect(errorOf(() => parse('SELECT ?0')).code).toBe('RANGE');
    expect(errorOf(() => parse(`SELECT ?${PARAMETER_NUMBER_MAX + 1}`)).message).toMatch(/^variable number must be between \?1 and \?32766/);
    expect(errorOf(() => parse('SELECT ?99999999999999999999')).code).toBe('RANGE');
    expect(parseOne(`SELECT ?${PARAMETER_NUMBER_MAX}`).parameterCount).toBe(PARAMETER_NUMBER_MAX);
    expect(errorOf(() => parse(`SELECT ?${PARAMETER_NUMBER_MAX}, ?`)).message).toMatch(/too many SQL variables/);
  });

  it('SQL text length', () => {
    const sql = `SELECT '${'x'.repeat(SQL_TEXT_CHARS_MAX)}'`;
    expect(errorOf(() => parse(sql)).code).toBe('LIMIT_EXCEEDED');
    expect(errorOf(() => tokenize(sql)).code).toBe('LIMIT_EXCEEDED');
  });

  it('expression height like SQLITE_MAX_EXPR_DEPTH', () => {
    expect(() => parseExpr(Array(EXPR_DEPTH_MAX).fill('1').join('+'))).not.toThrow();
    expect(errorOf(() => parseExpr(Array(EXPR_DEPTH_MAX + 1).fill('1').join('+'))).code).toBe('LIMIT_EXCEEDED');
    expect(errorOf(() => parseExpr(Array(EXPR_DEPTH_MAX + 1).fill('a').join(' AND '))).message).toMatch(/Expression tree is too large/);
    // height sums through parentheses placed where the tree deepens
    const half = Array(600).fill('1').join('+');
    expect(errorOf(() => parseExpr(`(${half}) + ${half}`)).code).toBe('LIMIT_EXCEEDED');
  });

  const deep: Array<[string, string]> = [
    ['100k nested parentheses', `SELECT ${'('.repeat(100_000)}1${')'.repeat(100_000)}`],
    ['100k unary minus', `SELECT ${'- '.repeat(100_000)}1`],
    ['100k NOT', `SELECT ${'NOT '.repeat(100_000)}1`],
    ['100k unclosed parentheses', `SELECT ${'('.repeat(100_000)}`],
    ['nested subqueries', `SELECT ${'(SELECT '.repeat(50_000)}1${')'.repeat(50_000)}`],
    ['nested FROM subqueries', `SELECT * FROM ${'(SELECT * FROM '.repeat(40_000)}t${')'.repeat(40_000)}`],
    ['nested function calls', `SELECT ${'f('.repeat(100_000)}1${')'.repeat(100_000)}`],
    ['nested CASE', `SELECT ${'CASE WHEN 1 THEN '.repeat(20_000)}1${' END'.repeat(20_000)}`],
    ['nested IN lists', `SELECT ${'1 IN ('.repeat(50_000)}1${')'.repeat(50_000)}`],
    ['nested CTEs', `WITH ${'a AS (WITH '.repeat(20_000)}b AS (SELECT 1) SELECT 1${') SELECT 1'.repeat(20_000)}`],
    ['nested FROM parentheses', `SELECT * FROM ${'('.repeat(100_000)}t${')'.repeat(100_000)}`],
    ['long COLLATE chain', `SELECT a${' COLLATE x'.repeat(50_000)}`],
    ['long BETWEEN chain', `SELECT ${'a BETWEEN '.repeat(20_000)}1${' AND 2'.repeat(20_000)}`],
  ];
  for (const [name, sql] of deep) {
    it(`${name}: DosqlError, no stack overflow`, () => {
      const e = errorOf(() => parse(sql));
      expect(e.code).toBe('LIMIT_EXCEEDED');
      expect(e.message).not.toMatch(/stack overflow/);
    });
  }

  it('a long flat statement is fine', () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => `(${i}, 'v${i}')`).join(', ');
    expect(parseOne(`INSERT INTO t VALUES ${rows}`).statement).toMatchObject({ source: { kind: 'values' } });
    expect(parseOne(`SELECT 1${' UNION ALL SELECT 1'.repeat(20_000)}`).statement).toMatchObject({ type: 'select' });
  });
});
