/**
 * The typed syntax tree the parser produces and the planner consumes.
 *
 * Every node carries `pos`, the 0-based offset of its first token in the SQL text, so errors found
 * after parsing (unknown column, type mismatch) can still point at line and column
 * (`positionAt(sql, pos)` in query/lexer.ts turns an offset into line and column).
 *
 * The tree follows SQLite's grammar (lang_select.html, lang_expr.html) closely enough that later
 * features (windows, CTEs, upsert, triggers) extend it instead of reshaping it. Names are kept as
 * written (identifiers unquoted, case preserved); resolution is case-insensitive and happens in the
 * planner, not here.
 */

export interface Node {
  /** 0-based UTF-16 offset of the node's first token in the SQL text. */
  pos: number;
}

// ---------------------------------------------------------------------------------------------
// Expressions

export type Expr =
  | LiteralExpr
  | ParamExpr
  | ColumnExpr
  | UnaryExpr
  | BinaryExpr
  | IsExpr
  | BetweenExpr
  | InListExpr
  | InSelectExpr
  | LikeExpr
  | CaseExpr
  | CastExpr
  | CollateExpr
  | FunctionExpr
  | SubqueryExpr
  | ExistsExpr
  | RaiseExpr;

export interface LiteralExpr extends Node {
  kind: 'literal';
  /**
   * The value: null, an integer (number when safe, bigint otherwise), a REAL (`Real` box or
   * non-integral number, see base/values.ts), a string, or a Uint8Array for X'..' blobs.
   * TRUE/FALSE parse as 1/0. CURRENT_TIME/DATE/TIMESTAMP are FunctionExprs, not literals.
   */
  value: import('../base/values.js').Value;
}

export interface ParamExpr extends Node {
  kind: 'param';
  /**
   * How the parameter was written: `?` (anonymous, numbered after the largest so far),
   * `?NNN` (numbered), or `:name` / `@name` / `$name` (named; `name` keeps its prefix char).
   */
  style: 'anonymous' | 'numbered' | 'named';
  /** 1-based parameter number; for named parameters, the number SQLite would give it. */
  index: number;
  /** For named parameters: the name including its prefix, e.g. ':id'. */
  name?: string;
}

export interface ColumnExpr extends Node {
  kind: 'column';
  /** Optional schema qualifier (e.g. `main`), as written. */
  schema?: string;
  /** Optional table name or alias qualifier, as written. */
  table?: string;
  /** Column name as written (unquoted). `rowid`, `oid` and `_rowid_` are ordinary names here. */
  name: string;
  /** Written in double quotes, unqualified: an unknown one gets SQLite's string-literal hint. */
  doubleQuoted?: true;
}

export interface UnaryExpr extends Node {
  kind: 'unary';
  op: '-' | '+' | '~' | 'NOT';
  operand: Expr;
}

export type BinaryOp =
  | '||' | '*' | '/' | '%' | '+' | '-'
  | '<<' | '>>' | '&' | '|'
  | '<' | '<=' | '>' | '>='
  | '=' | '<>' // `==` parses as '=', `!=` as '<>'
  | 'AND' | 'OR'
  | '->' | '->>';

export interface BinaryExpr extends Node {
  kind: 'binary';
  op: BinaryOp;
  left: Expr;
  right: Expr;
}

/** `a IS b`, `a IS NOT b`, `a IS [NOT] DISTINCT FROM b`, `a ISNULL`, `a NOTNULL`, `a IS NULL`. */
export interface IsExpr extends Node {
  kind: 'is';
  /** True for IS NOT / IS DISTINCT FROM / NOTNULL / NOT NULL. */
  negated: boolean;
  left: Expr;
  /** Right side; a NULL literal for ISNULL / NOTNULL / IS NULL forms. */
  right: Expr;
}

export interface BetweenExpr extends Node {
  kind: 'between';
  negated: boolean;
  operand: Expr;
  low: Expr;
  high: Expr;
}

export interface InListExpr extends Node {
  kind: 'in_list';
  negated: boolean;
  operand: Expr;
  /** May be empty: `x IN ()` is valid SQLite and is false. */
  list: Expr[];
}

export interface InSelectExpr extends Node {
  kind: 'in_select';
  negated: boolean;
  operand: Expr;
  /** `x IN (SELECT ...)`, or `x IN tablename` parsed as `SELECT * FROM tablename`. */
  select: SelectStmt;
}

export interface LikeExpr extends Node {
  kind: 'like';
  op: 'LIKE' | 'GLOB' | 'REGEXP' | 'MATCH';
  negated: boolean;
  operand: Expr;
  pattern: Expr;
  escape?: Expr;
}

export interface CaseExpr extends Node {
  kind: 'case';
  /** `CASE x WHEN ...`: the x; undefined for searched CASE. */
  operand?: Expr;
  whens: Array<{ when: Expr; then: Expr }>;
  else?: Expr;
}

export interface CastExpr extends Node {
  kind: 'cast';
  operand: Expr;
  /** Type name as written, e.g. 'INTEGER', 'VARCHAR(10)'. */
  type: string;
}

export interface CollateExpr extends Node {
  kind: 'collate';
  operand: Expr;
  /** Collation name upper-cased: 'BINARY' | 'NOCASE' | 'RTRIM' (others rejected by the planner). */
  collation: string;
}

export interface FunctionExpr extends Node {
  kind: 'function';
  /** Function name lower-cased. */
  name: string;
  /** Arguments; empty for `f()`; for `count(*)` empty with `star` set. */
  args: Expr[];
  star: boolean;
  distinct: boolean;
  /** `FILTER (WHERE ...)` on an aggregate. */
  filter?: Expr;
  /** `ORDER BY` inside an aggregate's parentheses (group_concat(x ORDER BY y)). */
  orderBy?: OrderingTerm[];
  /** `OVER (...)` or `OVER name`: present for window function calls. */
  over?: WindowSpec | string;
}

export interface SubqueryExpr extends Node {
  kind: 'subquery';
  select: SelectStmt;
}

export interface ExistsExpr extends Node {
  kind: 'exists';
  /** `NOT EXISTS` parses as a NOT unary over this. */
  select: SelectStmt;
}

/** RAISE(IGNORE | ROLLBACK, msg | ABORT, msg | FAIL, msg), only inside triggers. */
export interface RaiseExpr extends Node {
  kind: 'raise';
  action: 'IGNORE' | 'ROLLBACK' | 'ABORT' | 'FAIL';
  message?: string;
}

export interface WindowSpec extends Node {
  /** Name of a window this one extends (`OVER (w ORDER BY x)`). */
  base?: string;
  partitionBy: Expr[];
  orderBy: OrderingTerm[];
  frame?: WindowFrame;
}

export interface WindowFrame {
  units: 'ROWS' | 'RANGE' | 'GROUPS';
  start: FrameBound;
  /** Undefined for the short form `ROWS <start>` (end is CURRENT ROW). */
  end?: FrameBound;
  exclude?: 'NO OTHERS' | 'CURRENT ROW' | 'GROUP' | 'TIES';
}

export type FrameBound =
  | { type: 'UNBOUNDED PRECEDING' }
  | { type: 'PRECEDING'; offset: Expr }
  | { type: 'CURRENT ROW' }
  | { type: 'FOLLOWING'; offset: Expr }
  | { type: 'UNBOUNDED FOLLOWING' };

// ---------------------------------------------------------------------------------------------
// SELECT

export interface OrderingTerm extends Node {
  expr: Expr;
  direction: 'ASC' | 'DESC';
  /** Explicit NULLS FIRST/LAST; undefined means SQLite's default (NULLs first in ASC). */
  nulls?: 'FIRST' | 'LAST';
}

export type ResultColumn =
  | (Node & { kind: 'star' }) // *
  | (Node & { kind: 'table_star'; table: string }) // t.*
  | (Node & { kind: 'expr'; expr: Expr; alias?: string; /** End offset (exclusive) of the expression text, for the default column name. */ end?: number });

/** Time-travel clause on a table reference (issue 4); parsed now so the grammar is stable. */
export type SystemTime =
  | { kind: 'as_of_lsn'; lsn: Expr }
  | { kind: 'as_of_timestamp'; timestamp: Expr }
  | { kind: 'between'; from: Expr; to: Expr }
  | { kind: 'all' };

export type FromItem =
  | (Node & {
      kind: 'table';
      schema?: string;
      name: string;
      alias?: string;
      systemTime?: SystemTime;
      /** INDEXED BY name / NOT INDEXED hints. */
      indexedBy?: string | null;
    })
  | (Node & { kind: 'subquery'; select: SelectStmt; alias?: string })
  | (Node & { kind: 'function'; name: string; args: Expr[]; alias?: string }) // table-valued function
  | (Node & { kind: 'join'; left: FromItem; right: FromItem; join: JoinKind; natural: boolean; on?: Expr; using?: string[] });

/** `,` parses as 'CROSS' with `comma: true` semantics folded in ('INNER' without constraint). */
export type JoinKind = 'INNER' | 'LEFT' | 'RIGHT' | 'FULL' | 'CROSS';

/** One SELECT core: what sits between the compound operators. */
export interface SelectCore extends Node {
  kind: 'select';
  distinct: boolean;
  columns: ResultColumn[];
  from?: FromItem;
  where?: Expr;
  groupBy?: Expr[];
  having?: Expr;
  /** WINDOW name AS (...) definitions. */
  windows?: Array<{ name: string; spec: WindowSpec }>;
}

/** `VALUES (...), (...)` used as a select core. */
export interface ValuesCore extends Node {
  kind: 'values';
  rows: Expr[][];
}

export interface CommonTableExpr extends Node {
  name: string;
  columns?: string[];
  materialized?: boolean;
  select: SelectStmt;
}

export interface SelectStmt extends Node {
  type: 'select';
  with?: { recursive: boolean; ctes: CommonTableExpr[] };
  /** The first core, then each compound operator with the core to its right, left to right. */
  first: SelectCore | ValuesCore;
  compounds: Array<{ op: 'UNION' | 'UNION ALL' | 'INTERSECT' | 'EXCEPT'; core: SelectCore | ValuesCore }>;
  orderBy?: OrderingTerm[];
  limit?: Expr;
  offset?: Expr;
}

// ---------------------------------------------------------------------------------------------
// Data changes

export type ConflictAction = 'ROLLBACK' | 'ABORT' | 'FAIL' | 'IGNORE' | 'REPLACE';

export interface UpsertClause extends Node {
  /** Conflict target columns (indexed-column list); undefined for a bare ON CONFLICT. */
  target?: OrderingTerm[];
  targetWhere?: Expr;
  /** DO NOTHING when undefined; else DO UPDATE SET ... [WHERE ...]. */
  update?: { set: SetClause[]; where?: Expr };
}

export interface SetClause extends Node {
  /** One column, or several for `(a, b) = (...)`. */
  columns: string[];
  value: Expr;
}

export interface InsertStmt extends Node {
  type: 'insert';
  with?: SelectStmt['with'];
  /** `INSERT OR <action>` / `REPLACE INTO` (= OR REPLACE). */
  orConflict?: ConflictAction;
  schema?: string;
  table: string;
  alias?: string;
  /** Explicit column list; undefined means all columns in table order. */
  columns?: string[];
  /** VALUES rows, a SELECT, or DEFAULT VALUES. */
  source: { kind: 'values'; rows: Expr[][] } | { kind: 'select'; select: SelectStmt } | { kind: 'default' };
  upsert?: UpsertClause[];
  returning?: ResultColumn[];
}

export interface UpdateStmt extends Node {
  type: 'update';
  with?: SelectStmt['with'];
  orConflict?: ConflictAction;
  schema?: string;
  table: string;
  alias?: string;
  set: SetClause[];
  from?: FromItem;
  where?: Expr;
  returning?: ResultColumn[];
  orderBy?: OrderingTerm[];
  limit?: Expr;
  offset?: Expr;
}

export interface DeleteStmt extends Node {
  type: 'delete';
  with?: SelectStmt['with'];
  schema?: string;
  table: string;
  alias?: string;
  where?: Expr;
  returning?: ResultColumn[];
  orderBy?: OrderingTerm[];
  limit?: Expr;
  offset?: Expr;
}

// ---------------------------------------------------------------------------------------------
// Schema

export interface ColumnConstraintSet {
  primaryKey?: { direction?: 'ASC' | 'DESC'; onConflict?: ConflictAction; autoincrement: boolean };
  notNull?: { onConflict?: ConflictAction };
  unique?: { onConflict?: ConflictAction };
  check?: Expr[];
  default?: Expr;
  collate?: string;
  references?: ForeignKeyClause;
  generated?: { expr: Expr; stored: boolean };
}

export interface ColumnDefinition extends Node {
  name: string;
  /** Declared type as written ('' when omitted), e.g. 'INTEGER', 'VARCHAR(10)', 'DOUBLE PRECISION'. */
  type: string;
  constraints: ColumnConstraintSet;
}

export interface ForeignKeyClause {
  table: string;
  columns?: string[];
  onDelete?: string;
  onUpdate?: string;
}

export type TableConstraint =
  | (Node & { kind: 'primary_key'; name?: string; columns: OrderingTerm[]; onConflict?: ConflictAction })
  | (Node & { kind: 'unique'; name?: string; columns: OrderingTerm[]; onConflict?: ConflictAction })
  | (Node & { kind: 'check'; name?: string; expr: Expr })
  | (Node & { kind: 'foreign_key'; name?: string; columns: string[]; references: ForeignKeyClause });

export interface CreateTableStmt extends Node {
  type: 'create_table';
  temporary: boolean;
  ifNotExists: boolean;
  schema?: string;
  name: string;
  columns: ColumnDefinition[];
  constraints: TableConstraint[];
  /** CREATE TABLE ... AS SELECT. */
  asSelect?: SelectStmt;
  withoutRowid: boolean;
  strict: boolean;
}

export interface DropStmt extends Node {
  type: 'drop';
  object: 'TABLE' | 'INDEX' | 'VIEW' | 'TRIGGER';
  ifExists: boolean;
  schema?: string;
  name: string;
}

export interface CreateIndexStmt extends Node {
  type: 'create_index';
  unique: boolean;
  ifNotExists: boolean;
  schema?: string;
  name: string;
  table: string;
  columns: OrderingTerm[];
  where?: Expr;
}

export interface CreateViewStmt extends Node {
  type: 'create_view';
  temporary: boolean;
  ifNotExists: boolean;
  schema?: string;
  name: string;
  columns?: string[];
  select: SelectStmt;
}

export interface CreateTriggerStmt extends Node {
  type: 'create_trigger';
  temporary: boolean;
  ifNotExists: boolean;
  schema?: string;
  name: string;
  timing: 'BEFORE' | 'AFTER' | 'INSTEAD OF';
  event: { kind: 'DELETE' } | { kind: 'INSERT' } | { kind: 'UPDATE'; columns?: string[] };
  table: string;
  forEachRow: boolean;
  when?: Expr;
  body: Array<InsertStmt | UpdateStmt | DeleteStmt | SelectStmt>;
}

export interface AlterTableStmt extends Node {
  type: 'alter_table';
  schema?: string;
  table: string;
  action:
    | { kind: 'rename_table'; to: string }
    | { kind: 'rename_column'; from: string; to: string }
    | { kind: 'add_column'; column: ColumnDefinition }
    | { kind: 'drop_column'; name: string };
}

// ---------------------------------------------------------------------------------------------
// Transactions and the rest

export interface BeginStmt extends Node {
  type: 'begin';
  mode: 'DEFERRED' | 'IMMEDIATE' | 'EXCLUSIVE';
}
export interface CommitStmt extends Node {
  type: 'commit';
}
export interface RollbackStmt extends Node {
  type: 'rollback';
  /** ROLLBACK TO [SAVEPOINT] name. */
  savepoint?: string;
}
export interface SavepointStmt extends Node {
  type: 'savepoint';
  name: string;
}
export interface ReleaseStmt extends Node {
  type: 'release';
  name: string;
}
export interface ExplainStmt extends Node {
  type: 'explain';
  queryPlan: boolean;
  statement: Statement;
}
export interface PragmaStmt extends Node {
  type: 'pragma';
  schema?: string;
  name: string;
  value?: Expr;
}
export interface ReindexStmt extends Node {
  type: 'reindex';
  name?: string;
}
export interface AnalyzeStmt extends Node {
  type: 'analyze';
  name?: string;
}
export interface VacuumStmt extends Node {
  type: 'vacuum';
}

export type Statement =
  | SelectStmt
  | InsertStmt
  | UpdateStmt
  | DeleteStmt
  | CreateTableStmt
  | DropStmt
  | CreateIndexStmt
  | CreateViewStmt
  | CreateTriggerStmt
  | AlterTableStmt
  | BeginStmt
  | CommitStmt
  | RollbackStmt
  | SavepointStmt
  | ReleaseStmt
  | ExplainStmt
  | PragmaStmt
  | ReindexStmt
  | AnalyzeStmt
  | VacuumStmt;

/** A parsed statement with the slice of SQL text it came from (for sqlite_schema.sql). */
export interface ParsedStatement {
  statement: Statement;
  /** Offsets [start, end) of the statement's text in the input, without the trailing ';'. */
  start: number;
  end: number;
  /** Number of parameters the statement uses (largest index). */
  parameterCount: number;
  /** Named parameters in order of their index: name (with prefix) -> index. */
  parameterNames: Map<string, number>;
}
