/**
 * The SQL parser: recursive descent over the token array from query/lexer.ts, producing the tree
 * of query/ast.ts in SQLite's dialect.
 *
 * Expressions use precedence climbing with SQLite's operator levels (parse.y `%left` lines), from
 * loosest: OR; AND; NOT (prefix); the equality group (= == != <> IS IN LIKE GLOB MATCH REGEXP
 * BETWEEN ISNULL NOTNULL NOT NULL); < <= > >=; & | << >>; + -; * / %; || -> ->>; COLLATE; and the
 * prefix - + ~. Binary chains are built in a loop, so `1+1+...+1` costs no recursion; nesting
 * (parentheses, prefix operators, subqueries) recurses and is counted against EXPR_DEPTH_MAX, and
 * the height of every expression tree built is tracked (`this.h`) and held to the same limit as
 * SQLite's SQLITE_MAX_EXPR_DEPTH, so later tree walks cannot overflow the stack either.
 *
 * Keywords: where a name is expected, SQLite's `%fallback ID` keywords (KEY, REPLACE, TEMP, DESC,
 * ...) are accepted as names, as SQLite does when the keyword cannot be meant there; JOIN keywords
 * (LEFT, RIGHT, ...) are also accepted where a column or table name stands. Reserved words
 * (SELECT, FROM, ORDER, ...) never are. Differences from SQLite are deliberate leniencies only
 * (a statement SQLite accepts must parse here; test/parser/sqlite-diff.test.ts checks it).
 *
 * Shapes the AST has no node for: a row value `(a, b) = (1, 2)` in UPDATE SET becomes the
 * subquery `(SELECT 1, 2)`; a comma join is JoinKind 'CROSS' (an unconstrained inner join);
 * PRAGMA values that are words (ON, WAL, a table name) become TEXT literals.
 *
 * Parameters are numbered as SQLite does: `?` takes the largest number so far plus one, `?NNN`
 * takes NNN, and a named parameter takes the next number on its first appearance and reuses it.
 *
 * Every error is a DosqlError: SYNTAX_ERROR with SQLite's wording (`near "X": syntax error`,
 * `unrecognized token: "..."`, `incomplete input`) and the line and column of the token.
 */
import { DosqlError } from '../base/errors.js';
import { INT64_MIN, type Value } from '../base/values.js';
import type * as A from './ast.js';
import { KEYWORDS, positionAt, tokenize, type Token } from './lexer.js';

export { SQL_TEXT_CHARS_MAX } from './lexer.js';

/** SQLite's SQLITE_MAX_EXPR_DEPTH: deepest expression tree (and parse nesting) accepted. */
export const EXPR_DEPTH_MAX = 1000;

/** SQLite's SQLITE_MAX_VARIABLE_NUMBER: largest parameter number. */
export const PARAMETER_NUMBER_MAX = 32766;

/** Most statements in one trigger body; the text limit bounds it anyway, this names the bound. */
const TRIGGER_STATEMENTS_MAX = 100_000;

/** Keywords SQLite lets stand for a name (parse.y `%fallback ID`), plus the contextual words. */
const FALLBACK: ReadonlySet<string> = new Set(
  (
    'ABORT ACTION AFTER ANALYZE ASC ATTACH BEFORE BEGIN BY CASCADE CAST COLUMN CONFLICT DATABASE ' +
    'DEFERRED DESC DETACH DO EACH END EXCLUSIVE EXPLAIN FAIL FOR IGNORE IMMEDIATE INITIALLY INSTEAD ' +
    'LIKE GLOB REGEXP MATCH NO PLAN QUERY KEY OF OFFSET PRAGMA RAISE RECURSIVE RELEASE REPLACE ' +
    'RESTRICT ROW ROWS SAVEPOINT TEMP TEMPORARY TRIGGER VACUUM VIEW VIRTUAL WITH WITHOUT NULLS FIRST ' +
    'LAST CURRENT FOLLOWING PARTITION PRECEDING RANGE UNBOUNDED EXCLUDE GROUPS OTHERS TIES GENERATED ' +
    'ALWAYS MATERIALIZED REINDEX RENAME CURRENT_TIME CURRENT_DATE CURRENT_TIMESTAMP IF FILTER OVER WINDOW'
  ).split(' '),
);

const JOIN_KW: ReadonlySet<string> = new Set(['CROSS', 'FULL', 'INNER', 'LEFT', 'NATURAL', 'OUTER', 'RIGHT']);

// Binding levels, loosest first (see the module header).
const P_OR = 1;
const P_AND = 2;
const P_NOT = 3;
const P_EQ = 4;
const P_CMP = 5;
const P_BIT = 7;
const P_ADD = 8;
const P_MUL = 9;
const P_CONCAT = 10;
const P_COLLATE = 11;

const OP_PREC: Readonly<Record<string, number>> = {
  '||': P_CONCAT,
  '->': P_CONCAT,
  '->>': P_CONCAT,
  '*': P_MUL,
  '/': P_MUL,
  '%': P_MUL,
  '+': P_ADD,
  '-': P_ADD,
  '&': P_BIT,
  '|': P_BIT,
  '<<': P_BIT,
  '>>': P_BIT,
  '<': P_CMP,
  '<=': P_CMP,
  '>': P_CMP,
  '>=': P_CMP,
  '=': P_EQ,
  '==': P_EQ,
  '!=': P_EQ,
  '<>': P_EQ,
};

const KW_PREC: Readonly<Record<string, number>> = {
  OR: P_OR,
  AND: P_AND,
  IS: P_EQ,
  IN: P_EQ,
  LIKE: P_EQ,
  GLOB: P_EQ,
  REGEXP: P_EQ,
  MATCH: P_EQ,
  BETWEEN: P_EQ,
  ISNULL: P_EQ,
  NOTNULL: P_EQ,
  NOT: P_EQ,
  COLLATE: P_COLLATE,
};

const CONFLICT_ACTIONS: ReadonlySet<string> = new Set(['ROLLBACK', 'ABORT', 'FAIL', 'IGNORE', 'REPLACE']);

type TriggerBodyStmt = A.InsertStmt | A.UpdateStmt | A.DeleteStmt | A.SelectStmt;

/** Parse one or more `;`-separated statements; empty or comment-only text gives []. */
export function parse(sql: string): A.ParsedStatement[] {
  const p = new Parser(sql);
  return guardStack(() => p.statements());
}

/** Parse exactly one statement (a trailing `;` is allowed). */
export function parseOne(sql: string): A.ParsedStatement {
  const p = new Parser(sql);
  return guardStack(() => p.single());
}

/** Parse a lone expression (e.g. a DEFAULT stored as text). */
export function parseExpr(sql: string): A.Expr {
  const p = new Parser(sql);
  return guardStack(() => p.lone());
}

/**
 * The depth counters keep recursion far below the engine's stack; this only turns a stack
 * overflow into a DosqlError should the parser be called with the stack already nearly full.
 */
function guardStack<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RangeError) {
      throw new DosqlError('LIMIT_EXCEEDED', 'parser stack overflow', { cause: e });
    }
    throw e;
  }
}

class Parser {
  private readonly toks: Token[];
  private i = 0;
  /** Current recursion nesting (expressions and selects), held to EXPR_DEPTH_MAX. */
  private depth = 0;
  /** Height of the expression tree most recently built. */
  private h = 0;
  private paramMax = 0;
  private paramNames = new Map<string, number>();

  constructor(private readonly sql: string) {
    this.toks = tokenize(sql);
  }

  // ------------------------------------------------------------------------------------------
  // Token helpers

  private atEnd(): boolean {
    return this.toks[this.i]!.type === 'eof';
  }

  private get t(): Token {
    return this.toks[this.i]!;
  }

  private peek(k = 1): Token {
    const j = Math.min(this.i + k, this.toks.length - 1);
    return this.toks[j]!;
  }

  private next(): Token {
    const t = this.toks[this.i]!;
    if (t.type !== 'eof') this.i++;
    return t;
  }

  private isKw(kw: string, t: Token = this.t): boolean {
    return t.kw === kw && t.type === 'id';
  }

  private isOp(op: string, t: Token = this.t): boolean {
    return t.type === 'op' && t.text === op;
  }

  private acceptKw(kw: string): boolean {
    if (this.t.kw === kw) {
      this.i++;
      return true;
    }
    return false;
  }

  private acceptOp(op: string): boolean {
    const t = this.t;
    if (t.type === 'op' && t.text === op) {
      this.i++;
      return true;
    }
    return false;
  }

  private expectKw(kw: string): Token {
    const t = this.t;
    if (t.kw !== kw) this.fail(t);
    this.i++;
    return t;
  }

  private expectOp(op: string): Token {
    const t = this.t;
    if (t.type !== 'op' || t.text !== op) this.fail(t);
    this.i++;
    return t;
  }

  /** Throw SQLite's syntax error for token `t`. */
  private fail(t: Token = this.t): never {
    let msg: string;
    if (t.type === 'eof') msg = 'incomplete input';
    else if (t.type === 'illegal') msg = t.value as string;
    else msg = `near "${this.sql.slice(t.pos, t.end)}": syntax error`;
    throw new DosqlError('SYNTAX_ERROR', msg, { position: positionAt(this.sql, t.pos) });
  }

  private error(code: 'SYNTAX_ERROR' | 'RANGE' | 'LIMIT_EXCEEDED', msg: string, pos: number): never {
    throw new DosqlError(code, msg, { position: positionAt(this.sql, pos) });
  }

  private enter(pos: number): void {
    if (++this.depth > EXPR_DEPTH_MAX) {
      this.error('LIMIT_EXCEEDED', `Expression tree is too large (maximum depth ${EXPR_DEPTH_MAX})`, pos);
    }
  }

  private height(h: number, pos: number): void {
    if (h > EXPR_DEPTH_MAX) {
      this.error('LIMIT_EXCEEDED', `Expression tree is too large (maximum depth ${EXPR_DEPTH_MAX})`, pos);
    }
    this.h = h;
  }

  /** A token usable as a name where an expression or alias may stand (`id` in parse.y). */
  private isIdent(t: Token = this.t): boolean {
    if (t.type === 'qid') return true;
    if (t.type !== 'id') return false;
    return t.kw === null || FALLBACK.has(t.kw) || t.kw === 'INDEXED';
  }

  /** A token usable as a name of a table, column or other object (`nm` in parse.y). */
  private isName(t: Token = this.t): boolean {
    if (t.type === 'qid' || t.type === 'string') return true;
    if (t.type !== 'id') return false;
    return t.kw === null || FALLBACK.has(t.kw) || JOIN_KW.has(t.kw) || t.kw === 'INDEXED';
  }

  private name(): string {
    const t = this.t;
    if (!this.isName(t)) this.fail(t);
    this.i++;
    return t.text;
  }

  /** `[schema .] name`. */
  private qualifiedName(): { schema?: string; name: string } {
    const first = this.name();
    if (this.acceptOp('.')) return { schema: first, name: this.name() };
    return { name: first };
  }

  private nameList(): string[] {
    this.expectOp('(');
    const names = [this.name()];
    while (this.acceptOp(',')) names.push(this.name());
    this.expectOp(')');
    return names;
  }

  // ------------------------------------------------------------------------------------------
  // Entry points

  statements(): A.ParsedStatement[] {
    const out: A.ParsedStatement[] = [];
    for (;;) {
      while (this.acceptOp(';'));
      if (this.t.type === 'eof') return out;
      out.push(this.parsed());
      if (!this.atEnd()) this.expectOp(';');
    }
  }

  single(): A.ParsedStatement {
    while (this.acceptOp(';'));
    const s = this.parsed();
    while (this.acceptOp(';'));
    if (this.t.type !== 'eof') this.fail();
    return s;
  }

  lone(): A.Expr {
    const e = this.expr();
    if (this.t.type !== 'eof') this.fail();
    return e;
  }

  private parsed(): A.ParsedStatement {
    this.paramMax = 0;
    this.paramNames = new Map();
    const start = this.t.pos;
    const statement = this.statement();
    const end = this.toks[this.i - 1]!.end;
    return { statement, start, end, parameterCount: this.paramMax, parameterNames: this.paramNames };
  }

  private statement(): A.Statement {
    const t = this.t;
    if (t.type !== 'id' || t.kw === null) {
      this.fail(t);
    }
    switch (t.kw) {
      case 'SELECT':
      case 'VALUES':
        return this.select();
      case 'WITH':
        return this.withStatement();
      case 'INSERT':
      case 'REPLACE':
        return this.insert(undefined);
      case 'UPDATE':
        return this.update(undefined);
      case 'DELETE':
        return this.delete(undefined);
      case 'CREATE':
        return this.create();
      case 'DROP':
        return this.drop();
      case 'ALTER':
        return this.alter();
      case 'BEGIN':
        return this.begin();
      case 'COMMIT':
      case 'END':
        this.i++;
        this.acceptKw('TRANSACTION');
        return { type: 'commit', pos: t.pos };
      case 'ROLLBACK':
        return this.rollback();
      case 'SAVEPOINT':
        this.i++;
        return { type: 'savepoint', pos: t.pos, name: this.name() };
      case 'RELEASE':
        this.i++;
        this.acceptKw('SAVEPOINT');
        return { type: 'release', pos: t.pos, name: this.name() };
      case 'EXPLAIN':
        return this.explain();
      case 'PRAGMA':
        return this.pragma();
      case 'REINDEX':
      case 'ANALYZE': {
        this.i++;
        let name: string | undefined;
        if (this.isName()) {
          name = this.name();
          if (this.acceptOp('.')) name = `${name}.${this.name()}`;
        }
        return t.kw === 'REINDEX' ? { type: 'reindex', pos: t.pos, name } : { type: 'analyze', pos: t.pos, name };
      }
      case 'VACUUM':
        this.i++;
        if (this.isName()) this.name();
        return { type: 'vacuum', pos: t.pos };
      default:
        this.fail(t);
    }
  }

  private withStatement(): A.Statement {
    const pos = this.t.pos;
    const w = this.withClause();
    const t = this.t;
    if (t.kw === 'INSERT' || t.kw === 'REPLACE') return this.insert(w, pos);
    if (t.kw === 'UPDATE') return this.update(w, pos);
    if (t.kw === 'DELETE') return this.delete(w, pos);
    return this.select(w, pos);
  }

  // ------------------------------------------------------------------------------------------
  // SELECT

  /** A SELECT statement; `withClause` and `pos` when the caller already parsed its WITH. */
  private select(withClause?: A.SelectStmt['with'], pos = this.t.pos): A.SelectStmt {
    this.enter(pos);
    if (withClause === undefined && this.isKw('WITH')) withClause = this.withClause();
    const first = this.selectCore();
    const compounds: A.SelectStmt['compounds'] = [];
    for (;;) {
      const t = this.t;
      let op: A.SelectStmt['compounds'][number]['op'];
      if (t.kw === 'UNION') {
        this.i++;
        op = this.acceptKw('ALL') ? 'UNION ALL' : 'UNION';
      } else if (t.kw === 'INTERSECT' || t.kw === 'EXCEPT') {
        this.i++;
        op = t.kw;
      } else break;
      compounds.push({ op, core: this.selectCore() });
    }
    const stmt: A.SelectStmt = { type: 'select', pos, first, compounds };
    if (withClause) stmt.with = withClause;
    this.orderLimit(stmt);
    this.depth--;
    return stmt;
  }

  /** Optional ORDER BY and LIMIT clauses onto a SELECT, UPDATE or DELETE. */
  private orderLimit(stmt: { orderBy?: A.OrderingTerm[]; limit?: A.Expr; offset?: A.Expr }): void {
    if (this.isKw('ORDER')) {
      this.i++;
      this.expectKw('BY');
      stmt.orderBy = this.orderingTerms();
    }
    if (this.acceptKw('LIMIT')) {
      const a = this.expr();
      if (this.acceptKw('OFFSET')) {
        stmt.limit = a;
        stmt.offset = this.expr();
      } else if (this.acceptOp(',')) {
        stmt.offset = a;
        stmt.limit = this.expr();
      } else stmt.limit = a;
    }
  }

  private withClause(): NonNullable<A.SelectStmt['with']> {
    this.expectKw('WITH');
    const recursive = this.acceptKw('RECURSIVE');
    const ctes: A.CommonTableExpr[] = [];
    do {
      const pos = this.t.pos;
      const name = this.name();
      const cte: A.CommonTableExpr = { pos, name, select: undefined as unknown as A.SelectStmt };
      if (this.isOp('(')) cte.columns = this.nameList();
      this.expectKw('AS');
      if (this.acceptKw('MATERIALIZED')) cte.materialized = true;
      else if (this.isKw('NOT') && this.isKw('MATERIALIZED', this.peek())) {
        this.i += 2;
        cte.materialized = false;
      }
      this.expectOp('(');
      cte.select = this.select();
      this.expectOp(')');
      ctes.push(cte);
    } while (this.acceptOp(','));
    return { recursive, ctes };
  }

  private selectCore(): A.SelectCore | A.ValuesCore {
    const t = this.t;
    if (t.kw === 'VALUES') {
      this.i++;
      return { kind: 'values', pos: t.pos, rows: this.valuesRows() };
    }
    this.expectKw('SELECT');
    let distinct = false;
    if (this.acceptKw('DISTINCT')) distinct = true;
    else this.acceptKw('ALL');
    const core: A.SelectCore = { kind: 'select', pos: t.pos, distinct, columns: this.resultColumns() };
    if (this.acceptKw('FROM')) core.from = this.from();
    if (this.acceptKw('WHERE')) core.where = this.expr();
    if (this.isKw('GROUP')) {
      this.i++;
      this.expectKw('BY');
      core.groupBy = this.exprList();
    }
    if (this.acceptKw('HAVING')) core.having = this.expr();
    if (this.isKw('WINDOW') && this.isIdent(this.peek()) && this.isKw('AS', this.peek(2))) {
      this.i++;
      const windows: NonNullable<A.SelectCore['windows']> = [];
      do {
        const name = this.name();
        this.expectKw('AS');
        windows.push({ name, spec: this.windowSpec() });
      } while (this.acceptOp(','));
      core.windows = windows;
    }
    return core;
  }

  private valuesRows(): A.Expr[][] {
    const rows: A.Expr[][] = [];
    do {
      this.expectOp('(');
      rows.push(this.exprList());
      this.expectOp(')');
    } while (this.acceptOp(','));
    return rows;
  }

  private resultColumns(): A.ResultColumn[] {
    const cols: A.ResultColumn[] = [];
    do {
      const t = this.t;
      if (this.isOp('*')) {
        this.i++;
        cols.push({ kind: 'star', pos: t.pos });
      } else if (this.isName(t) && this.isOp('.', this.peek()) && this.isOp('*', this.peek(2))) {
        this.i += 3;
        cols.push({ kind: 'table_star', pos: t.pos, table: t.text });
      } else {
        const expr = this.expr();
        const col: A.ResultColumn = { kind: 'expr', pos: t.pos, expr, end: this.toks[this.i - 1]!.end };
        const alias = this.alias();
        if (alias !== undefined) col.alias = alias;
        cols.push(col);
      }
    } while (this.acceptOp(','));
    return cols;
  }

  /** `[AS] alias` after a result column or table; undefined when none. */
  private alias(): string | undefined {
    if (this.acceptKw('AS')) return this.name();
    const t = this.t;
    if (t.type === 'string' || t.type === 'qid') {
      this.i++;
      return t.text;
    }
    if (t.type === 'id' && (t.kw === null || FALLBACK.has(t.kw))) {
      // Contextual keywords that continue the statement rather than name an alias.
      if (t.kw === 'WINDOW' && this.isIdent(this.peek()) && this.isKw('AS', this.peek(2))) return undefined;
      if (t.kw === 'FOR' && this.peek().text.toUpperCase() === 'SYSTEM_TIME') return undefined;
      this.i++;
      return t.text;
    }
    return undefined;
  }

  private orderingTerms(): A.OrderingTerm[] {
    const terms: A.OrderingTerm[] = [];
    do {
      const pos = this.t.pos;
      const term: A.OrderingTerm = { pos, expr: this.expr(), direction: 'ASC' };
      if (this.acceptKw('DESC')) term.direction = 'DESC';
      else this.acceptKw('ASC');
      if (this.isKw('NULLS')) {
        this.i++;
        if (this.acceptKw('FIRST')) term.nulls = 'FIRST';
        else {
          this.expectKw('LAST');
          term.nulls = 'LAST';
        }
      }
      terms.push(term);
    } while (this.acceptOp(','));
    return terms;
  }

  // FROM ------------------------------------------------------------------------------------

  private from(): A.FromItem {
    let left = this.fromItem();
    for (;;) {
      const pos = this.t.pos;
      let join: A.JoinKind;
      let natural = false;
      if (this.acceptOp(',')) join = 'CROSS';
      else {
        if (this.isKw('NATURAL')) {
          this.i++;
          natural = true;
        }
        const k = this.t.kw;
        if (k === 'JOIN') join = 'INNER';
        else if (k === 'INNER' || k === 'CROSS') {
          this.i++;
          join = k;
        } else if (k === 'LEFT' || k === 'RIGHT' || k === 'FULL') {
          this.i++;
          this.acceptKw('OUTER');
          join = k;
        } else if (natural) this.fail();
        else return left;
        this.expectKw('JOIN');
      }
      const right = this.fromItem();
      const j: A.FromItem = { kind: 'join', pos, left, right, join, natural };
      if (this.acceptKw('ON')) j.on = this.expr();
      else if (this.acceptKw('USING')) j.using = this.nameList();
      left = j;
    }
  }

  private fromItem(): A.FromItem {
    const t = this.t;
    if (this.acceptOp('(')) {
      const k = this.t.kw;
      if (k === 'SELECT' || k === 'VALUES' || k === 'WITH') {
        const item: A.FromItem = { kind: 'subquery', pos: t.pos, select: this.select() };
        this.expectOp(')');
        const alias = this.alias();
        if (alias !== undefined) item.alias = alias;
        return item;
      }
      this.enter(t.pos);
      const inner = this.from();
      this.depth--;
      this.expectOp(')');
      this.alias();
      return inner;
    }
    const { schema, name } = this.qualifiedName();
    if (this.isOp('(')) {
      this.i++;
      const args = this.isOp(')') ? [] : this.exprList();
      this.expectOp(')');
      const item: A.FromItem = { kind: 'function', pos: t.pos, name: name.toLowerCase(), args };
      const alias = this.alias();
      if (alias !== undefined) item.alias = alias;
      return item;
    }
    const item: A.FromItem & { kind: 'table' } = { kind: 'table', pos: t.pos, name };
    if (schema !== undefined) item.schema = schema;
    if (this.isKw('FOR') && this.peek().text.toUpperCase() === 'SYSTEM_TIME') {
      this.i += 2;
      item.systemTime = this.systemTime();
    }
    const alias = this.alias();
    if (alias !== undefined) item.alias = alias;
    if (this.isKw('INDEXED')) {
      this.i++;
      this.expectKw('BY');
      item.indexedBy = this.name();
    } else if (this.isKw('NOT') && this.isKw('INDEXED', this.peek())) {
      this.i += 2;
      item.indexedBy = null;
    }
    return item;
  }

  private systemTime(): A.SystemTime {
    if (this.acceptKw('ALL')) return { kind: 'all' };
    if (this.acceptKw('BETWEEN')) {
      const from = this.exprAbove(P_AND);
      this.expectKw('AND');
      return { kind: 'between', from, to: this.exprAbove(P_AND) };
    }
    this.expectKw('AS');
    this.expectKw('OF');
    const t = this.next();
    const word = t.type === 'id' ? t.text.toUpperCase() : '';
    if (word === 'LSN') return { kind: 'as_of_lsn', lsn: this.exprAbove(P_AND) };
    if (word === 'TIMESTAMP') return { kind: 'as_of_timestamp', timestamp: this.exprAbove(P_AND) };
    return this.fail(t);
  }

  // ------------------------------------------------------------------------------------------
  // Expressions

  /** A full expression. */
  expr(): A.Expr {
    return this.binary(P_OR);
  }

  /** An expression whose operators all bind tighter than `prec`. */
  private exprAbove(prec: number): A.Expr {
    return this.binary(prec + 1);
  }

  private exprList(): A.Expr[] {
    const list = [this.expr()];
    while (this.acceptOp(',')) list.push(this.expr());
    return list;
  }

  private binary(minPrec: number): A.Expr {
    this.enter(this.t.pos);
    let left = this.unary();
    let lh = this.h;
    for (;;) {
      const t = this.t;
      let prec: number | undefined;
      if (t.type === 'op') prec = OP_PREC[t.text];
      else if (t.type === 'id' && t.kw !== null) prec = KW_PREC[t.kw];
      if (prec === undefined || prec < minPrec) break;
      const pos = left.pos;
      if (t.type === 'op') {
        this.i++;
        const right = this.binary(prec + 1);
        let op = t.text as A.BinaryOp;
        if (t.text === '==') op = '=';
        else if (t.text === '!=') op = '<>';
        left = { kind: 'binary', pos, op, left, right };
      } else if (t.kw === 'AND' || t.kw === 'OR') {
        this.i++;
        const right = this.binary(prec + 1);
        left = { kind: 'binary', pos, op: t.kw, left, right };
      } else if (t.kw === 'COLLATE') {
        this.i++;
        const c = this.next();
        if (!this.isIdent(c) && c.type !== 'string') this.fail(c);
        left = { kind: 'collate', pos, operand: left, collation: c.text.toUpperCase() };
        this.h = 0;
      } else {
        const made = this.postfixEq(left, t);
        if (made === undefined) break;
        left = made;
      }
      lh = Math.max(lh, this.h) + 1;
      this.height(lh, t.pos);
    }
    this.depth--;
    this.h = lh;
    return left;
  }

  /**
   * The equality-level operators spelled with keywords (IS, IN, LIKE, BETWEEN, ISNULL, NOT ...).
   * Leaves in `this.h` the height of the tallest operand other than `left`; undefined when `t`
   * does not continue the expression (a NOT not followed by NULL/IN/LIKE/BETWEEN...).
   */
  private postfixEq(left: A.Expr, t: Token): A.Expr | undefined {
    const pos = left.pos;
    let negated = false;
    let k = t.kw!;
    if (k === 'NOT') {
      const n = this.peek();
      const nk = n.type === 'id' ? n.kw : null;
      if (nk === 'NULL') {
        this.i += 2;
        this.h = 1;
        return { kind: 'is', pos, negated: true, left, right: this.nullLit(n.pos) };
      }
      if (nk !== 'BETWEEN' && nk !== 'IN' && nk !== 'LIKE' && nk !== 'GLOB' && nk !== 'REGEXP' && nk !== 'MATCH') {
        return undefined;
      }
      negated = true;
      this.i++;
      k = nk;
    }
    this.i++;
    switch (k) {
      case 'ISNULL':
      case 'NOTNULL':
        this.h = 1;
        return { kind: 'is', pos, negated: k === 'NOTNULL', left, right: this.nullLit(t.pos) };
      case 'IS': {
        let neg = this.acceptKw('NOT');
        if (this.isKw('DISTINCT') && this.isKw('FROM', this.peek())) {
          this.i += 2;
          neg = !neg;
        }
        const right = this.exprAbove(P_EQ);
        return { kind: 'is', pos, negated: neg, left, right };
      }
      case 'BETWEEN': {
        const low = this.binary(P_EQ);
        const lowH = this.h;
        this.expectKw('AND');
        const high = this.exprAbove(P_EQ);
        this.h = Math.max(this.h, lowH);
        return { kind: 'between', pos, negated, operand: left, low, high };
      }
      case 'IN':
        return this.inRest(left, negated);
      default: {
        // LIKE GLOB REGEXP MATCH
        const pattern = this.exprAbove(P_EQ);
        const like: A.LikeExpr = { kind: 'like', pos, op: k as A.LikeExpr['op'], negated, operand: left, pattern };
        if (this.acceptKw('ESCAPE')) {
          const ph = this.h;
          like.escape = this.exprAbove(P_EQ);
          this.h = Math.max(this.h, ph);
        }
        return like;
      }
    }
  }

  private inRest(left: A.Expr, negated: boolean): A.Expr {
    const pos = left.pos;
    const t = this.t;
    if (this.acceptOp('(')) {
      const k = this.t.kw;
      if (k === 'SELECT' || k === 'VALUES' || k === 'WITH') {
        const select = this.select();
        this.expectOp(')');
        this.h = 1;
        return { kind: 'in_select', pos, negated, operand: left, select };
      }
      const list: A.Expr[] = [];
      let h = 0;
      if (!this.isOp(')')) {
        do {
          list.push(this.expr());
          h = Math.max(h, this.h);
        } while (this.acceptOp(','));
      }
      this.expectOp(')');
      this.h = h;
      return { kind: 'in_list', pos, negated, operand: left, list };
    }
    // `x IN table` means `x IN (SELECT * FROM table)`.
    const { schema, name } = this.qualifiedName();
    const table: A.FromItem & { kind: 'table' } = { kind: 'table', pos: t.pos, name };
    if (schema !== undefined) table.schema = schema;
    if (this.isOp('(')) this.fail();
    const core: A.SelectCore = { kind: 'select', pos: t.pos, distinct: false, columns: [{ kind: 'star', pos: t.pos }], from: table };
    this.h = 1;
    return { kind: 'in_select', pos, negated, operand: left, select: { type: 'select', pos: t.pos, first: core, compounds: [] } };
  }

  private nullLit(pos: number): A.LiteralExpr {
    return { kind: 'literal', pos, value: null };
  }

  private unary(): A.Expr {
    const t = this.t;
    if (t.type === 'op' && (t.text === '-' || t.text === '+' || t.text === '~')) {
      this.i++;
      const n = this.t;
      if (t.text === '-' && (n.type === 'integer' || n.type === 'float')) {
        // `-` on an integer literal folds into it, so -9223372036854775808 is an INTEGER. Only
        // COLLATE binds looser than unary minus and tighter than nothing else, so this is safe.
        if (n.type === 'integer') {
          this.i++;
          const v = n.value as number | bigint;
          this.h = 1;
          return { kind: 'literal', pos: t.pos, value: negateInt(v) };
        }
        if (/^0*9223372036854775808$/.test(n.text)) {
          this.i++;
          this.h = 1;
          return { kind: 'literal', pos: t.pos, value: INT64_MIN };
        }
      }
      this.enter(t.pos);
      const operand = this.unary();
      this.depth--;
      this.height(this.h + 1, t.pos);
      return { kind: 'unary', pos: t.pos, op: t.text as '-' | '+' | '~', operand };
    }
    return this.primary();
  }

  private primary(): A.Expr {
    const t = this.t;
    switch (t.type) {
      case 'integer':
      case 'float':
      case 'blob':
        this.i++;
        this.h = 1;
        return { kind: 'literal', pos: t.pos, value: t.value };
      case 'string':
        this.i++;
        this.h = 1;
        return { kind: 'literal', pos: t.pos, value: t.text };
      case 'param':
        this.i++;
        this.h = 1;
        return this.param(t);
      case 'qid':
        return this.columnOrCall();
      case 'op':
        if (t.text === '(') return this.parenthesized();
        return this.fail(t);
      case 'id':
        break;
      default:
        return this.fail(t);
    }
    const n = this.peek();
    switch (t.kw) {
      case null:
        break;
      case 'NULL':
        this.i++;
        this.h = 1;
        return this.nullLit(t.pos);
      case 'CURRENT_TIME':
      case 'CURRENT_DATE':
      case 'CURRENT_TIMESTAMP':
        this.i++;
        this.h = 1;
        return { kind: 'function', pos: t.pos, name: t.kw.toLowerCase(), args: [], star: false, distinct: false };
      case 'NOT': {
        this.i++;
        this.enter(t.pos);
        const operand = this.binary(P_NOT + 1);
        this.depth--;
        this.height(this.h + 1, t.pos);
        return { kind: 'unary', pos: t.pos, op: 'NOT', operand };
      }
      case 'CASE':
        return this.caseExpr();
      case 'EXISTS': {
        this.i++;
        this.expectOp('(');
        const select = this.select();
        this.expectOp(')');
        this.h = 1;
        return { kind: 'exists', pos: t.pos, select };
      }
      case 'CAST':
        // Where an expression starts, CAST and RAISE are keywords, never names (as in SQLite).
        return this.cast();
      case 'RAISE':
        return this.raise();
      default:
        if (!FALLBACK.has(t.kw) && !JOIN_KW.has(t.kw) && t.kw !== 'INDEXED') return this.fail(t);
    }
    if (t.kw === null && !this.isOp('(', n)) {
      const upper = t.text.length <= 5 ? t.text.toUpperCase() : '';
      if (upper === 'TRUE' || upper === 'FALSE') {
        if (!this.isOp('.', n)) {
          this.i++;
          this.h = 1;
          return { kind: 'literal', pos: t.pos, value: upper === 'TRUE' ? 1 : 0 };
        }
      }
    }
    return this.columnOrCall();
  }

  private param(t: Token): A.ParamExpr {
    const text = t.text;
    if (text === '?') {
      const index = ++this.paramMax;
      this.checkParam(index, t);
      return { kind: 'param', pos: t.pos, style: 'anonymous', index };
    }
    if (text.charCodeAt(0) === 63) {
      const index = text.length > 6 ? Infinity : Number(text.slice(1));
      this.checkParam(index, t);
      if (index > this.paramMax) this.paramMax = index;
      return { kind: 'param', pos: t.pos, style: 'numbered', index };
    }
    let index = this.paramNames.get(text);
    if (index === undefined) {
      index = ++this.paramMax;
      this.checkParam(index, t);
      this.paramNames.set(text, index);
    }
    return { kind: 'param', pos: t.pos, style: 'named', index, name: text };
  }

  private checkParam(index: number, t: Token): void {
    if (!(index >= 1 && index <= PARAMETER_NUMBER_MAX)) {
      if (t.text.length > 1 && t.text.charCodeAt(0) === 63) {
        this.error('RANGE', `variable number must be between ?1 and ?${PARAMETER_NUMBER_MAX}`, t.pos);
      }
      this.error('RANGE', 'too many SQL variables', t.pos);
    }
  }

  /** `(expr)`, `(select)`, or a row value `(a, b)` (only where SetClause needs it). */
  private parenthesized(): A.Expr {
    const open = this.next();
    const k = this.t.kw;
    if (k === 'SELECT' || k === 'VALUES' || k === 'WITH') {
      const select = this.select();
      this.expectOp(')');
      this.h = 1;
      return { kind: 'subquery', pos: open.pos, select };
    }
    const e = this.expr();
    if (this.isOp(',')) {
      // Row values are not in the AST: SQLite's error for them in scalar context is similar.
      this.fail();
    }
    this.expectOp(')');
    return e;
  }

  private columnOrCall(): A.Expr {
    const t = this.next();
    if (this.isOp('(')) return this.call(t);
    if (!this.isOp('.')) {
      this.h = 1;
      if (t.type === 'qid' && this.sql[t.pos] === '"') return { kind: 'column', pos: t.pos, name: t.text, doubleQuoted: true };
      return { kind: 'column', pos: t.pos, name: t.text };
    }
    this.i++;
    const second = this.name();
    if (!this.isOp('.')) {
      this.h = 1;
      return { kind: 'column', pos: t.pos, table: t.text, name: second };
    }
    this.i++;
    const third = this.name();
    this.h = 1;
    return { kind: 'column', pos: t.pos, schema: t.text, table: second, name: third };
  }

  private call(nameTok: Token): A.FunctionExpr {
    this.expectOp('(');
    const f: A.FunctionExpr = {
      kind: 'function',
      pos: nameTok.pos,
      name: nameTok.text.toLowerCase(),
      args: [],
      star: false,
      distinct: false,
    };
    let h = 0;
    if (this.acceptOp('*')) f.star = true;
    else if (!this.isOp(')')) {
      if (this.acceptKw('DISTINCT')) f.distinct = true;
      else this.acceptKw('ALL');
      do {
        f.args.push(this.expr());
        h = Math.max(h, this.h);
      } while (this.acceptOp(','));
      if (this.isKw('ORDER')) {
        this.i++;
        this.expectKw('BY');
        f.orderBy = this.orderingTerms();
      }
    }
    this.expectOp(')');
    if (this.isKw('FILTER') && this.isOp('(', this.peek())) {
      this.i += 2;
      this.expectKw('WHERE');
      f.filter = this.expr();
      h = Math.max(h, this.h);
      this.expectOp(')');
    }
    if (this.isKw('OVER') && (this.isOp('(', this.peek()) || this.isIdent(this.peek()))) {
      this.i++;
      f.over = this.isOp('(') ? this.windowSpec() : this.name();
    }
    this.height(h + 1, nameTok.pos);
    return f;
  }

  private windowSpec(): A.WindowSpec {
    const open = this.expectOp('(');
    const spec: A.WindowSpec = { pos: open.pos, partitionBy: [], orderBy: [] };
    const t = this.t;
    const k = t.kw;
    if (this.isName(t) && k !== 'PARTITION' && k !== 'ROWS' && k !== 'RANGE' && k !== 'GROUPS') {
      spec.base = this.name();
    }
    if (this.isKw('PARTITION')) {
      this.i++;
      this.expectKw('BY');
      spec.partitionBy = this.exprList();
    }
    if (this.isKw('ORDER')) {
      this.i++;
      this.expectKw('BY');
      spec.orderBy = this.orderingTerms();
    }
    const u = this.t.kw;
    if (u === 'ROWS' || u === 'RANGE' || u === 'GROUPS') {
      this.i++;
      spec.frame = this.frame(u);
    }
    this.expectOp(')');
    return spec;
  }

  private frame(units: A.WindowFrame['units']): A.WindowFrame {
    let frame: A.WindowFrame;
    if (this.acceptKw('BETWEEN')) {
      const start = this.frameBound();
      this.expectKw('AND');
      frame = { units, start, end: this.frameBound() };
    } else frame = { units, start: this.frameBound() };
    if (this.acceptKw('EXCLUDE')) {
      if (this.acceptKw('NO')) {
        this.expectKw('OTHERS');
        frame.exclude = 'NO OTHERS';
      } else if (this.acceptKw('CURRENT')) {
        this.expectKw('ROW');
        frame.exclude = 'CURRENT ROW';
      } else if (this.acceptKw('GROUP')) frame.exclude = 'GROUP';
      else {
        this.expectKw('TIES');
        frame.exclude = 'TIES';
      }
    }
    return frame;
  }

  private frameBound(): A.FrameBound {
    if (this.isKw('UNBOUNDED')) {
      this.i++;
      if (this.acceptKw('PRECEDING')) return { type: 'UNBOUNDED PRECEDING' };
      this.expectKw('FOLLOWING');
      return { type: 'UNBOUNDED FOLLOWING' };
    }
    if (this.isKw('CURRENT') && this.isKw('ROW', this.peek())) {
      this.i += 2;
      return { type: 'CURRENT ROW' };
    }
    const offset = this.exprAbove(P_AND);
    if (this.acceptKw('PRECEDING')) return { type: 'PRECEDING', offset };
    this.expectKw('FOLLOWING');
    return { type: 'FOLLOWING', offset };
  }

  private caseExpr(): A.CaseExpr {
    const t = this.expectKw('CASE');
    const c: A.CaseExpr = { kind: 'case', pos: t.pos, whens: [] };
    let h = 0;
    if (!this.isKw('WHEN')) {
      c.operand = this.expr();
      h = this.h;
    }
    this.expectKw('WHEN');
    do {
      const when = this.expr();
      h = Math.max(h, this.h);
      this.expectKw('THEN');
      const then = this.expr();
      h = Math.max(h, this.h);
      c.whens.push({ when, then });
    } while (this.acceptKw('WHEN'));
    if (this.acceptKw('ELSE')) {
      c.else = this.expr();
      h = Math.max(h, this.h);
    }
    this.expectKw('END');
    this.height(h + 1, t.pos);
    return c;
  }

  private cast(): A.CastExpr {
    const t = this.next();
    this.expectOp('(');
    const operand = this.expr();
    const h = this.h;
    this.expectKw('AS');
    const type = this.typeName();
    if (type === '') this.fail();
    this.expectOp(')');
    this.height(h + 1, t.pos);
    return { kind: 'cast', pos: t.pos, operand, type };
  }

  private raise(): A.RaiseExpr {
    const t = this.next();
    this.expectOp('(');
    const a = this.next();
    const k = a.type === 'id' ? a.kw : null;
    if (k !== 'IGNORE' && k !== 'ROLLBACK' && k !== 'ABORT' && k !== 'FAIL') return this.fail(a);
    const r: A.RaiseExpr = { kind: 'raise', pos: t.pos, action: k };
    if (k !== 'IGNORE') {
      this.expectOp(',');
      const m = this.next();
      if (m.type !== 'string') this.fail(m);
      r.message = m.text;
    }
    this.expectOp(')');
    this.h = 1;
    return r;
  }

  /**
   * A type name as written: words, then optional `(n)` or `(n, m)` with signed numbers. Returns
   * the source text (SQLite keeps the declared type as written); '' when there is none.
   */
  private typeName(): string {
    const first = this.t;
    let last: Token | undefined;
    while (this.isTypeWord(this.t)) last = this.next();
    if (last === undefined) return '';
    if (this.isOp('(')) {
      this.i++;
      this.signedNumber();
      if (this.acceptOp(',')) this.signedNumber();
      last = this.expectOp(')');
    }
    return this.sql.slice(first.pos, last.end);
  }

  private isTypeWord(t: Token): boolean {
    if (t.type === 'string' || t.type === 'qid') return true;
    if (t.type !== 'id') return false;
    if (t.kw === null) return true;
    // GENERATED ALWAYS starts a column constraint; a lone GENERATED is part of the type name.
    if (t.kw === 'GENERATED') return !this.isKw('ALWAYS', this.peek());
    return FALLBACK.has(t.kw);
  }

  private signedNumber(): A.Expr {
    const t = this.t;
    if (this.isOp('+') || this.isOp('-')) {
      const n = this.peek();
      if (n.type !== 'integer' && n.type !== 'float') this.fail(n);
      return this.unary();
    }
    if (t.type !== 'integer' && t.type !== 'float') this.fail(t);
    this.i++;
    return { kind: 'literal', pos: t.pos, value: t.value };
  }

  // ------------------------------------------------------------------------------------------
  // INSERT / UPDATE / DELETE

  private conflictAction(): A.ConflictAction {
    const t = this.next();
    if (t.type !== 'id' || t.kw === null || !CONFLICT_ACTIONS.has(t.kw)) this.fail(t);
    return t.kw as A.ConflictAction;
  }

  private insert(w: A.SelectStmt['with'], pos = this.t.pos): A.InsertStmt {
    const t = this.next();
    let orConflict: A.ConflictAction | undefined;
    if (t.kw === 'REPLACE') orConflict = 'REPLACE';
    else if (this.acceptKw('OR')) orConflict = this.conflictAction();
    this.expectKw('INTO');
    const { schema, name } = this.qualifiedName();
    const stmt: A.InsertStmt = { type: 'insert', pos, table: name, source: { kind: 'default' } };
    if (w) stmt.with = w;
    if (orConflict) stmt.orConflict = orConflict;
    if (schema !== undefined) stmt.schema = schema;
    if (this.acceptKw('AS')) stmt.alias = this.name();
    if (this.isOp('(')) stmt.columns = this.nameList();
    if (this.isKw('DEFAULT')) {
      this.i++;
      this.expectKw('VALUES');
    } else {
      const k = this.t.kw;
      if (k !== 'SELECT' && k !== 'VALUES' && k !== 'WITH') this.fail();
      const select = this.select();
      if (select.first.kind === 'values' && select.compounds.length === 0 && !select.orderBy && !select.limit && !select.with) {
        stmt.source = { kind: 'values', rows: select.first.rows };
      } else stmt.source = { kind: 'select', select };
    }
    while (this.isKw('ON') && this.isKw('CONFLICT', this.peek())) {
      (stmt.upsert ??= []).push(this.upsert());
    }
    this.returning(stmt);
    return stmt;
  }

  private upsert(): A.UpsertClause {
    const pos = this.t.pos;
    this.i += 2;
    const u: A.UpsertClause = { pos };
    if (this.acceptOp('(')) {
      u.target = this.orderingTerms();
      this.expectOp(')');
      if (this.acceptKw('WHERE')) u.targetWhere = this.expr();
    }
    this.expectKw('DO');
    if (this.acceptKw('NOTHING')) return u;
    this.expectKw('UPDATE');
    this.expectKw('SET');
    const update: NonNullable<A.UpsertClause['update']> = { set: this.setClauses() };
    if (this.acceptKw('WHERE')) update.where = this.expr();
    u.update = update;
    return u;
  }

  private returning(stmt: { returning?: A.ResultColumn[] }): void {
    if (this.acceptKw('RETURNING')) stmt.returning = this.resultColumns();
  }

  private setClauses(): A.SetClause[] {
    const out: A.SetClause[] = [];
    do {
      const pos = this.t.pos;
      let columns: string[];
      if (this.isOp('(')) columns = this.nameList();
      else {
        columns = [this.name()];
        // SQLite accepts a qualified target (`SET t.a = 1`) only to reject it later; take the column.
        if (this.acceptOp('.')) columns = [this.name()];
      }
      this.expectOp('=');
      let value: A.Expr;
      if (columns.length > 1 && this.isOp('(') && !this.startsSelect(this.peek())) {
        // `(a, b) = (x, y)`: a row value, expressed as the subquery `SELECT x, y`.
        const open = this.next();
        const cols: A.ResultColumn[] = [];
        do {
          const p = this.t.pos;
          cols.push({ kind: 'expr', pos: p, expr: this.expr() });
        } while (this.acceptOp(','));
        this.expectOp(')');
        const core: A.SelectCore = { kind: 'select', pos: open.pos, distinct: false, columns: cols };
        value = { kind: 'subquery', pos: open.pos, select: { type: 'select', pos: open.pos, first: core, compounds: [] } };
      } else value = this.expr();
      out.push({ pos, columns, value });
    } while (this.acceptOp(','));
    return out;
  }

  private startsSelect(t: Token): boolean {
    return t.type === 'id' && (t.kw === 'SELECT' || t.kw === 'VALUES' || t.kw === 'WITH');
  }

  /** `[schema.]table [AS alias] [INDEXED BY i | NOT INDEXED]` of UPDATE and DELETE. */
  private dmlTarget(stmt: { schema?: string; table: string; alias?: string }): void {
    const { schema, name } = this.qualifiedName();
    stmt.table = name;
    if (schema !== undefined) stmt.schema = schema;
    if (this.acceptKw('AS')) stmt.alias = this.name();
    if (this.isKw('INDEXED')) {
      this.i++;
      this.expectKw('BY');
      this.name();
    } else if (this.isKw('NOT') && this.isKw('INDEXED', this.peek())) this.i += 2;
  }

  private update(w: A.SelectStmt['with'], pos = this.t.pos): A.UpdateStmt {
    this.expectKw('UPDATE');
    const stmt: A.UpdateStmt = { type: 'update', pos, table: '', set: [] };
    if (w) stmt.with = w;
    if (this.acceptKw('OR')) stmt.orConflict = this.conflictAction();
    this.dmlTarget(stmt);
    this.expectKw('SET');
    stmt.set = this.setClauses();
    if (this.acceptKw('FROM')) stmt.from = this.from();
    if (this.acceptKw('WHERE')) stmt.where = this.expr();
    this.returning(stmt);
    this.orderLimit(stmt);
    return stmt;
  }

  private delete(w: A.SelectStmt['with'], pos = this.t.pos): A.DeleteStmt {
    this.expectKw('DELETE');
    this.expectKw('FROM');
    const stmt: A.DeleteStmt = { type: 'delete', pos, table: '' };
    if (w) stmt.with = w;
    this.dmlTarget(stmt);
    if (this.acceptKw('WHERE')) stmt.where = this.expr();
    this.returning(stmt);
    this.orderLimit(stmt);
    return stmt;
  }

  // ------------------------------------------------------------------------------------------
  // Schema statements

  private ifNotExists(): boolean {
    if (this.isKw('IF') && this.isKw('NOT', this.peek()) && this.isKw('EXISTS', this.peek(2))) {
      this.i += 3;
      return true;
    }
    return false;
  }

  private create(): A.Statement {
    const pos = this.expectKw('CREATE').pos;
    let temporary = false;
    if (this.acceptKw('TEMP') || this.acceptKw('TEMPORARY')) temporary = true;
    const unique = !temporary && this.acceptKw('UNIQUE');
    const k = this.next();
    switch (unique ? (k.kw === 'INDEX' ? 'INDEX' : '') : k.kw) {
      case 'TABLE':
        return this.createTable(pos, temporary);
      case 'INDEX':
        if (temporary) this.fail(k);
        return this.createIndex(pos, unique);
      case 'VIEW':
        return this.createView(pos, temporary);
      case 'TRIGGER':
        return this.createTrigger(pos, temporary);
      default:
        return this.fail(k);
    }
  }

  private createTable(pos: number, temporary: boolean): A.CreateTableStmt {
    const ifNotExists = this.ifNotExists();
    const { schema, name } = this.qualifiedName();
    const stmt: A.CreateTableStmt = {
      type: 'create_table',
      pos,
      temporary,
      ifNotExists,
      name,
      columns: [],
      constraints: [],
      withoutRowid: false,
      strict: false,
    };
    if (schema !== undefined) stmt.schema = schema;
    if (this.acceptKw('AS')) {
      stmt.asSelect = this.select();
      return stmt;
    }
    this.expectOp('(');
    do {
      if (this.startsTableConstraint()) break;
      stmt.columns.push(this.columnDef());
    } while (this.acceptOp(','));
    if (!this.isOp(')')) {
      do {
        stmt.constraints.push(this.tableConstraint());
        if (this.acceptOp(',') && this.isOp(')')) this.fail();
      } while (!this.isOp(')') && !this.atEnd());
    }
    this.expectOp(')');
    for (let first = true; ; first = false) {
      // SQLite also takes a comma before the first option: `CREATE TABLE t(...), WITHOUT ROWID`.
      const comma = this.acceptOp(',');
      if (!first && !comma) break;
      if (this.isKw('WITHOUT')) {
        this.i++;
        const r = this.next();
        if (r.type !== 'id' || r.text.toUpperCase() !== 'ROWID') this.fail(r);
        stmt.withoutRowid = true;
      } else if (this.t.type === 'id' && this.t.kw === null && this.t.text.toUpperCase() === 'STRICT') {
        this.i++;
        stmt.strict = true;
      } else {
        if (comma) this.fail();
        break;
      }
    }
    return stmt;
  }

  private startsTableConstraint(): boolean {
    const k = this.t.type === 'id' ? this.t.kw : null;
    return k === 'CONSTRAINT' || k === 'PRIMARY' || k === 'UNIQUE' || k === 'CHECK' || k === 'FOREIGN';
  }

  private columnDef(): A.ColumnDefinition {
    const pos = this.t.pos;
    const name = this.name();
    const type = this.typeName();
    const constraints: A.ColumnConstraintSet = {};
    for (;;) {
      if (this.acceptKw('CONSTRAINT')) this.name();
      const t = this.t;
      const k = t.type === 'id' ? t.kw : null;
      if (k === 'PRIMARY') {
        this.i++;
        this.expectKw('KEY');
        const pk: NonNullable<A.ColumnConstraintSet['primaryKey']> = { autoincrement: false };
        if (this.acceptKw('ASC')) pk.direction = 'ASC';
        else if (this.acceptKw('DESC')) pk.direction = 'DESC';
        const oc = this.onConflict();
        if (oc) pk.onConflict = oc;
        if (this.acceptKw('AUTOINCREMENT')) pk.autoincrement = true;
        constraints.primaryKey = pk;
      } else if (k === 'NOT') {
        this.i++;
        this.expectKw('NULL');
        const oc = this.onConflict();
        constraints.notNull = oc ? { onConflict: oc } : {};
      } else if (k === 'NULL') {
        this.i++;
        this.onConflict();
      } else if (k === 'UNIQUE') {
        this.i++;
        const oc = this.onConflict();
        constraints.unique = oc ? { onConflict: oc } : {};
      } else if (k === 'CHECK') {
        this.i++;
        this.expectOp('(');
        (constraints.check ??= []).push(this.expr());
        this.expectOp(')');
      } else if (k === 'DEFAULT') {
        this.i++;
        constraints.default = this.defaultValue();
      } else if (k === 'COLLATE') {
        this.i++;
        constraints.collate = this.name().toUpperCase();
      } else if (k === 'REFERENCES') {
        constraints.references = this.foreignKeyClause();
      } else if (k === 'GENERATED' || k === 'AS') {
        if (k === 'GENERATED') {
          this.i++;
          this.expectKw('ALWAYS');
        }
        this.expectKw('AS');
        this.expectOp('(');
        const expr = this.expr();
        this.expectOp(')');
        let stored = false;
        if (this.t.type === 'id' && this.t.kw === null && this.t.text.toUpperCase() === 'STORED') {
          this.i++;
          stored = true;
        } else this.acceptKw('VIRTUAL');
        constraints.generated = { expr, stored };
      } else break;
    }
    return { pos, name, type, constraints };
  }

  private defaultValue(): A.Expr {
    const t = this.t;
    if (this.isOp('(')) {
      this.i++;
      const e = this.expr();
      this.expectOp(')');
      return e;
    }
    if (this.isOp('+') || this.isOp('-')) {
      // SQLite takes a sign before any literal term here (`DEFAULT -'x'`, `DEFAULT -NULL`).
      const n = this.peek();
      const k = n.type === 'id' ? n.kw : null;
      const term = n.type === 'integer' || n.type === 'float' || n.type === 'string' || n.type === 'blob';
      if (!term && k !== 'NULL' && k !== 'CURRENT_TIME' && k !== 'CURRENT_DATE' && k !== 'CURRENT_TIMESTAMP') this.fail(n);
      return this.unary();
    }
    switch (t.type) {
      case 'integer':
      case 'float':
      case 'blob':
      case 'string':
        return this.primary();
      case 'id': {
        const k = t.kw;
        if (k === 'NULL' || k === 'CURRENT_TIME' || k === 'CURRENT_DATE' || k === 'CURRENT_TIMESTAMP') return this.primary();
        if (!this.isIdent(t)) return this.fail(t);
        this.i++;
        const upper = t.text.toUpperCase();
        // SQLite stores a bare word default as text, except TRUE and FALSE.
        if (upper === 'TRUE' || upper === 'FALSE') return { kind: 'literal', pos: t.pos, value: upper === 'TRUE' ? 1 : 0 };
        return { kind: 'literal', pos: t.pos, value: t.text };
      }
      default:
        return this.fail(t);
    }
  }

  private onConflict(): A.ConflictAction | undefined {
    if (this.isKw('ON') && this.isKw('CONFLICT', this.peek())) {
      this.i += 2;
      return this.conflictAction();
    }
    return undefined;
  }

  private foreignKeyClause(): A.ForeignKeyClause {
    this.expectKw('REFERENCES');
    const fk: A.ForeignKeyClause = { table: this.name() };
    if (this.isOp('(')) fk.columns = this.nameList();
    for (;;) {
      if (this.isKw('ON')) {
        this.i++;
        const which = this.next();
        if (which.kw !== 'DELETE' && which.kw !== 'UPDATE') this.fail(which);
        const action = this.fkAction();
        if (which.kw === 'DELETE') fk.onDelete = action;
        else fk.onUpdate = action;
      } else if (this.acceptKw('MATCH')) {
        this.name();
      } else if (this.isKw('DEFERRABLE') || (this.isKw('NOT') && this.isKw('DEFERRABLE', this.peek()))) {
        this.acceptKw('NOT');
        this.i++;
        if (this.acceptKw('INITIALLY')) {
          if (!this.acceptKw('DEFERRED')) this.expectKw('IMMEDIATE');
        }
      } else return fk;
    }
  }

  private fkAction(): string {
    const t = this.next();
    switch (t.kw) {
      case 'SET': {
        const n = this.next();
        if (n.kw !== 'NULL' && n.kw !== 'DEFAULT') this.fail(n);
        return `SET ${n.kw}`;
      }
      case 'CASCADE':
      case 'RESTRICT':
        return t.kw;
      case 'NO':
        this.expectKw('ACTION');
        return 'NO ACTION';
      default:
        return this.fail(t);
    }
  }

  private tableConstraint(): A.TableConstraint {
    const pos = this.t.pos;
    let name: string | undefined;
    if (this.acceptKw('CONSTRAINT')) name = this.name();
    const t = this.next();
    let c: A.TableConstraint;
    switch (t.kw) {
      case 'PRIMARY':
      case 'UNIQUE': {
        if (t.kw === 'PRIMARY') this.expectKw('KEY');
        this.expectOp('(');
        const columns = this.orderingTerms();
        this.expectOp(')');
        const kind = t.kw === 'PRIMARY' ? 'primary_key' : 'unique';
        const oc = this.onConflict();
        c = oc ? { kind, pos, columns, onConflict: oc } : { kind, pos, columns };
        break;
      }
      case 'CHECK': {
        this.expectOp('(');
        c = { kind: 'check', pos, expr: this.expr() };
        this.expectOp(')');
        this.onConflict();
        break;
      }
      case 'FOREIGN': {
        this.expectKw('KEY');
        const columns = this.nameList();
        c = { kind: 'foreign_key', pos, columns, references: this.foreignKeyClause() };
        break;
      }
      default:
        return this.fail(t);
    }
    if (name !== undefined) c.name = name;
    return c;
  }

  private createIndex(pos: number, unique: boolean): A.CreateIndexStmt {
    const ifNotExists = this.ifNotExists();
    const { schema, name } = this.qualifiedName();
    this.expectKw('ON');
    const table = this.name();
    this.expectOp('(');
    const columns = this.orderingTerms();
    this.expectOp(')');
    const stmt: A.CreateIndexStmt = { type: 'create_index', pos, unique, ifNotExists, name, table, columns };
    if (schema !== undefined) stmt.schema = schema;
    if (this.acceptKw('WHERE')) stmt.where = this.expr();
    return stmt;
  }

  private createView(pos: number, temporary: boolean): A.CreateViewStmt {
    const ifNotExists = this.ifNotExists();
    const { schema, name } = this.qualifiedName();
    let columns: string[] | undefined;
    if (this.isOp('(')) columns = this.nameList();
    this.expectKw('AS');
    const stmt: A.CreateViewStmt = { type: 'create_view', pos, temporary, ifNotExists, name, select: this.select() };
    if (schema !== undefined) stmt.schema = schema;
    if (columns) stmt.columns = columns;
    return stmt;
  }

  private createTrigger(pos: number, temporary: boolean): A.CreateTriggerStmt {
    const ifNotExists = this.ifNotExists();
    const { schema, name } = this.qualifiedName();
    let timing: A.CreateTriggerStmt['timing'] = 'BEFORE';
    if (this.acceptKw('BEFORE')) timing = 'BEFORE';
    else if (this.acceptKw('AFTER')) timing = 'AFTER';
    else if (this.isKw('INSTEAD') && this.isKw('OF', this.peek())) {
      this.i += 2;
      timing = 'INSTEAD OF';
    }
    const e = this.next();
    let event: A.CreateTriggerStmt['event'];
    if (e.kw === 'DELETE') event = { kind: 'DELETE' };
    else if (e.kw === 'INSERT') event = { kind: 'INSERT' };
    else if (e.kw === 'UPDATE') {
      event = { kind: 'UPDATE' };
      if (this.acceptKw('OF')) {
        const columns = [this.name()];
        while (this.acceptOp(',')) columns.push(this.name());
        event.columns = columns;
      }
    } else return this.fail(e);
    this.expectKw('ON');
    const table = this.name();
    let forEachRow = false;
    if (this.acceptKw('FOR')) {
      this.expectKw('EACH');
      this.expectKw('ROW');
      forEachRow = true;
    }
    const stmt: A.CreateTriggerStmt = {
      type: 'create_trigger',
      pos,
      temporary,
      ifNotExists,
      name,
      timing,
      event,
      table,
      forEachRow,
      body: [],
    };
    if (schema !== undefined) stmt.schema = schema;
    if (this.acceptKw('WHEN')) stmt.when = this.expr();
    this.expectKw('BEGIN');
    for (let n = 0; n < TRIGGER_STATEMENTS_MAX; n++) {
      stmt.body.push(this.triggerStatement());
      this.expectOp(';');
      if (this.acceptKw('END')) return stmt;
    }
    return this.fail();
  }

  private triggerStatement(): TriggerBodyStmt {
    const t = this.t;
    switch (t.type === 'id' ? t.kw : null) {
      case 'SELECT':
      case 'VALUES':
        return this.select();
      case 'WITH': {
        const s = this.withStatement();
        if (s.type === 'select' || s.type === 'insert' || s.type === 'update' || s.type === 'delete') return s;
        return this.fail(t);
      }
      case 'INSERT':
      case 'REPLACE':
        return this.insert(undefined);
      case 'UPDATE':
        return this.update(undefined);
      case 'DELETE':
        return this.delete(undefined);
      default:
        return this.fail(t);
    }
  }

  private drop(): A.DropStmt {
    const pos = this.expectKw('DROP').pos;
    const k = this.next();
    if (k.kw !== 'TABLE' && k.kw !== 'INDEX' && k.kw !== 'VIEW' && k.kw !== 'TRIGGER') return this.fail(k);
    let ifExists = false;
    if (this.isKw('IF') && this.isKw('EXISTS', this.peek())) {
      this.i += 2;
      ifExists = true;
    }
    const { schema, name } = this.qualifiedName();
    const stmt: A.DropStmt = { type: 'drop', pos, object: k.kw, ifExists, name };
    if (schema !== undefined) stmt.schema = schema;
    return stmt;
  }

  private alter(): A.AlterTableStmt {
    const pos = this.expectKw('ALTER').pos;
    this.expectKw('TABLE');
    const { schema, name } = this.qualifiedName();
    let action: A.AlterTableStmt['action'];
    if (this.acceptKw('RENAME')) {
      if (this.acceptKw('TO')) action = { kind: 'rename_table', to: this.name() };
      else {
        this.acceptKw('COLUMN');
        const from = this.name();
        this.expectKw('TO');
        action = { kind: 'rename_column', from, to: this.name() };
      }
    } else if (this.acceptKw('ADD')) {
      this.acceptKw('COLUMN');
      action = { kind: 'add_column', column: this.columnDef() };
    } else if (this.acceptKw('DROP')) {
      this.acceptKw('COLUMN');
      action = { kind: 'drop_column', name: this.name() };
    } else return this.fail();
    const stmt: A.AlterTableStmt = { type: 'alter_table', pos, table: name, action };
    if (schema !== undefined) stmt.schema = schema;
    return stmt;
  }

  // ------------------------------------------------------------------------------------------
  // Transactions and the rest

  private begin(): A.BeginStmt {
    const pos = this.expectKw('BEGIN').pos;
    let mode: A.BeginStmt['mode'] = 'DEFERRED';
    const k = this.t.kw;
    if (k === 'DEFERRED' || k === 'IMMEDIATE' || k === 'EXCLUSIVE') {
      this.i++;
      mode = k;
    }
    if (this.acceptKw('TRANSACTION') && this.isName()) this.name();
    return { type: 'begin', pos, mode };
  }

  private rollback(): A.RollbackStmt {
    const pos = this.expectKw('ROLLBACK').pos;
    const stmt: A.RollbackStmt = { type: 'rollback', pos };
    if (this.acceptKw('TRANSACTION') && this.isName() && !this.isKw('TO')) this.name();
    if (this.acceptKw('TO')) {
      this.acceptKw('SAVEPOINT');
      stmt.savepoint = this.name();
    }
    return stmt;
  }

  private explain(): A.ExplainStmt {
    const pos = this.expectKw('EXPLAIN').pos;
    let queryPlan = false;
    if (this.isKw('QUERY') && this.isKw('PLAN', this.peek())) {
      this.i += 2;
      queryPlan = true;
    }
    if (this.isKw('EXPLAIN')) this.fail();
    return { type: 'explain', pos, queryPlan, statement: this.statement() };
  }

  private pragma(): A.PragmaStmt {
    const pos = this.expectKw('PRAGMA').pos;
    const { schema, name } = this.qualifiedName();
    const stmt: A.PragmaStmt = { type: 'pragma', pos, name };
    if (schema !== undefined) stmt.schema = schema;
    if (this.acceptOp('=')) stmt.value = this.pragmaValue();
    else if (this.acceptOp('(')) {
      stmt.value = this.pragmaValue();
      this.expectOp(')');
    }
    return stmt;
  }

  /** A signed number, a string, or a word (ON, WAL, a table name...) given as a TEXT literal. */
  private pragmaValue(): A.Expr {
    const t = this.t;
    if (this.isOp('+') || this.isOp('-')) return this.signedNumber();
    if (t.type === 'integer' || t.type === 'float' || t.type === 'string') return this.primary();
    if (t.type === 'qid' || (t.type === 'id' && (t.kw === null || FALLBACK.has(t.kw) || JOIN_KW.has(t.kw) || t.kw === 'ON' || t.kw === 'DELETE' || t.kw === 'DEFAULT' || t.kw === 'NULL'))) {
      this.i++;
      return { kind: 'literal', pos: t.pos, value: t.text as Value };
    }
    return this.fail(t);
  }
}

function negateInt(v: number | bigint): number | bigint {
  if (typeof v === 'number') return v === 0 ? 0 : -v;
  const n = -v;
  return n >= -9007199254740991n && n <= 9007199254740991n ? Number(n) : n;
}

/** Whether `word` is one of SQLite's keywords (for quoting names when printing SQL). */
export function isKeyword(word: string): boolean {
  return KEYWORDS.has(word.toUpperCase());
}
