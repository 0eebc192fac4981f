/**
 * CREATE TABLE and DROP TABLE: turning a statement into a `TableDef` and a schema change in the
 * transaction. The catalog itself changes only when the transaction commits and the table
 * materializer applies the logged change, exactly as on replay.
 *
 * ALTER TABLE logs the table's new definition (`alter_table`) with its CREATE text rewritten the
 * way SQLite rewrites sqlite_schema.sql. ADD and DROP COLUMN change the shape of every row; since
 * a stored record is `[rowid, ...columns, fromLsn, fromHlc]`, a record of the old width would be
 * misread under the new definition. So those two rewrite every row through the log, as updates in
 * the same transaction right after the `alter_table` change (`before` and the new row both in the
 * new layout, so the materializer finds each row's keys under the new definition). Replay then
 * rebuilds exactly the same state; the cost is one logged update per row, like SQLite's own
 * table rewrite for DROP COLUMN. The table must not have been written earlier in the same
 * transaction (the overlay was laid out for the old definition).
 */
import { DosqlError } from '../base/errors.js';
import type { ColumnDef, IndexDef, TableDef, TriggerDef } from '../log/types.js';
import { encodeKey } from '../materializers/btree/index.js';
import type { AlterTableStmt, ColumnDefinition, CreateIndexStmt, CreateTableStmt, CreateTriggerStmt, CreateViewStmt, DropStmt, Expr } from './ast.js';
import { compileSelect, type PlanContext } from './select.js';
import { compileExpr, type CompileContext, type SyncFn } from './expr.js';
import { tokenize, type Token } from './lexer.js';
import { parseOne } from './parser.js';
import { Scope, rowSource, type Env } from './scope.js';
import { columnsOf, type Txn } from './txn.js';
import { extrasOf } from './dml.js';
import * as V from './values/index.js';
import type { Value } from '../base/values.js';
import { affinityOfType } from './values/index.js';

/** Most columns in one table; SQLite's default SQLITE_MAX_COLUMN. */
export const TABLE_COLUMNS_MAX = 2000;

export function createTable(stmt: CreateTableStmt, sqlText: string, txn: Txn, cx: CompileContext): boolean {
  if (stmt.asSelect) cx.fail('ERROR', 'CREATE TABLE ... AS SELECT is not supported yet', stmt.pos);
  if (txn.table(stmt.name)) {
    if (stmt.ifNotExists) return false;
    cx.fail('TABLE_EXISTS', `table ${stmt.name} already exists`, stmt.pos);
  }
  if (stmt.name.toLowerCase().startsWith('sqlite_')) cx.fail('ERROR', `object name reserved for internal use: ${stmt.name}`, stmt.pos);
  if (stmt.columns.length > TABLE_COLUMNS_MAX) cx.fail('LIMIT_EXCEEDED', `too many columns on ${stmt.name} (TABLE_COLUMNS_MAX is ${TABLE_COLUMNS_MAX})`, stmt.pos);
  const seen = new Set<string>();
  const columns: ColumnDef[] = stmt.columns.map((c) => {
    const lower = c.name.toLowerCase();
    if (seen.has(lower)) cx.fail('ERROR', `duplicate column name: ${c.name}`, c.pos);
    seen.add(lower);
    const def: ColumnDef = {
      name: c.name,
      type: c.type,
      affinity: affinityOfType(c.type),
      notNull: c.constraints.notNull !== undefined,
    };
    return def;
  });
  const indexOf = (name: string, pos: number): number => {
    const i = columns.findIndex((c) => c.name.toLowerCase() === name.toLowerCase());
    if (i < 0) cx.fail('ERROR', `no such column: ${name}`, pos);
    return i;
  };
  let pk: number[] = [];
  let pkDesc = false;
  const uniques: number[][] = [];
  stmt.columns.forEach((c, i) => {
    if (c.constraints.primaryKey?.autoincrement && c.type.trim().toUpperCase() !== 'INTEGER') {
      cx.fail('ERROR', 'AUTOINCREMENT is only allowed on an INTEGER PRIMARY KEY', c.pos);
    }
    if (c.constraints.primaryKey) {
      if (pk.length) cx.fail('ERROR', `table "${stmt.name}" has more than one primary key`, c.pos);
      pk = [i];
      pkDesc = c.constraints.primaryKey.direction === 'DESC';
    }
    if (c.constraints.unique) uniques.push([i]);
  });
  for (const t of stmt.constraints) {
    if (t.kind === 'primary_key') {
      if (pk.length) cx.fail('ERROR', `table "${stmt.name}" has more than one primary key`, t.pos);
      pk = t.columns.map((o) => indexOf(columnName(o.expr, cx), o.pos));
    } else if (t.kind === 'unique') {
      uniques.push(t.columns.map((o) => indexOf(columnName(o.expr, cx), o.pos)));
    }
  }
  // An INTEGER PRIMARY KEY (exactly that type name) is an alias of the rowid, as in SQLite.
  const isRowidAlias = pk.length === 1 && columns[pk[0]!]!.type.trim().toUpperCase() === 'INTEGER' && !pkDesc;
  const def: TableDef = {
    id: txn.allocateTableId(),
    name: stmt.name,
    columns,
    rowidColumn: isRowidAlias ? pk[0]! : -1,
    primaryKey: isRowidAlias ? [] : pk,
    uniques: dedupeUniques(uniques, isRowidAlias ? [] : pk),
    sql: sqlText,
  };
  txn.createTable(def);
  return true;
}

function columnName(e: import('./ast.js').Expr, cx: CompileContext): string {
  if (e.kind === 'column' && !e.table) return e.name;
  if (e.kind === 'collate' && e.operand.kind === 'column') return e.operand.name;
  if (e.kind === 'literal' && typeof e.value === 'string') return e.value;
  return cx.fail('ERROR', 'expressions in PRIMARY KEY and UNIQUE are not supported', e.pos);
}

/** Drop UNIQUE constraints that repeat another one or the primary key (the key already enforces them). */
function dedupeUniques(uniques: number[][], pk: number[]): number[][] {
  const keyOf = (cols: number[]): string => [...cols].sort((a, b) => a - b).join(',');
  const seen = new Set<string>(pk.length ? [keyOf(pk)] : []);
  return uniques.filter((u) => {
    const k = keyOf(u);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function dropTable(stmt: DropStmt, txn: Txn, cx: CompileContext): boolean {
  if (stmt.object === 'INDEX') return dropIndex(stmt, txn, cx);
  if (stmt.object === 'TRIGGER') return dropTrigger(stmt, txn, cx);
  if (stmt.object !== 'TABLE' && stmt.object !== 'VIEW') cx.fail('ERROR', `DROP ${stmt.object} is not supported yet`, stmt.pos);
  const wantView = stmt.object === 'VIEW';
  const def = txn.table(stmt.name);
  if (!def || (def.view === true) !== wantView) {
    if (def) cx.fail('ERROR', `use DROP ${def.view ? 'VIEW' : 'TABLE'} to delete ${def.view ? 'view' : 'table'} ${stmt.name}`, stmt.pos);
    if (stmt.ifExists) return false;
    cx.fail(wantView ? 'ERROR' : 'NO_SUCH_TABLE', `no such ${wantView ? 'view' : 'table'}: ${stmt.name}`, stmt.pos);
  }
  txn.dropTable(def);
  return true;
}

/**
 * CREATE VIEW: checked by compiling its SELECT now (as SQLite does), then stored in the catalog
 * like a table with no rows.
 */
export function createView(stmt: CreateViewStmt, sqlText: string, txn: Txn, cx: PlanContext): boolean {
  const existing = txn.table(stmt.name);
  if (existing || findIndex(txn, stmt.name)) {
    if (stmt.ifNotExists) return false;
    cx.fail('TABLE_EXISTS', `${existing?.view ? 'view' : existing ? 'table' : 'index'} ${stmt.name} already exists`, stmt.pos);
  }
  const plan = compileSelect(stmt.select, undefined, cx);
  if (stmt.columns && stmt.columns.length !== plan.columns.length) {
    cx.fail('ERROR', `expected ${plan.columns.length} columns for '${stmt.name}' but got ${stmt.columns.length}`, stmt.pos);
  }
  txn.createTable({ id: txn.allocateTableId(), name: stmt.name, columns: [], rowidColumn: -1, primaryKey: [], uniques: [], sql: sqlText, view: true });
  return true;
}

function findTrigger(txn: Txn, name: string): { def: TableDef; at: number } | undefined {
  const key = name.toLowerCase();
  for (const def of txn.tableList()) {
    const at = (def.triggers ?? []).findIndex((t) => t.name.toLowerCase() === key);
    if (at >= 0) return { def, at };
  }
  return undefined;
}

/** CREATE TRIGGER: stored on its table's definition; WHEN and body are compiled when it fires. */
export function createTrigger(stmt: CreateTriggerStmt, sqlText: string, txn: Txn, cx: CompileContext): boolean {
  if (findTrigger(txn, stmt.name)) {
    if (stmt.ifNotExists) return false;
    cx.fail('ERROR', `trigger ${stmt.name} already exists`, stmt.pos);
  }
  const def = txn.table(stmt.table);
  if (!def) return cx.fail('NO_SUCH_TABLE', `no such table: ${stmt.table}`, stmt.pos);
  if (def.view || stmt.timing === 'INSTEAD OF') cx.fail('ERROR', 'INSTEAD OF triggers on views are not supported yet', stmt.pos);
  const trigger: TriggerDef = { name: stmt.name, timing: stmt.timing as 'BEFORE' | 'AFTER', event: stmt.event.kind, sql: sqlText };
  if (stmt.event.kind === 'UPDATE' && stmt.event.columns) {
    trigger.columns = stmt.event.columns.map((c) => {
      if (!def.columns.some((d) => d.name.toLowerCase() === c.toLowerCase())) cx.fail('NO_SUCH_COLUMN', `no such column: ${c}`, stmt.pos);
      return c.toLowerCase();
    });
  }
  txn.alterTable({ ...def, triggers: [...(def.triggers ?? []), trigger] });
  return true;
}

function dropTrigger(stmt: DropStmt, txn: Txn, cx: CompileContext): boolean {
  const found = findTrigger(txn, stmt.name);
  if (!found) {
    if (stmt.ifExists) return false;
    return cx.fail('ERROR', `no such trigger: ${stmt.name}`, stmt.pos);
  }
  txn.alterTable({ ...found.def, triggers: found.def.triggers!.filter((_, i) => i !== found.at) });
  return true;
}

/** The table holding an index of this name, with the index's position. */
function findIndex(txn: Txn, name: string): { def: TableDef; at: number } | undefined {
  const key = name.toLowerCase();
  for (const def of txn.tableList()) {
    const at = (def.indexes ?? []).findIndex((x) => x.name.toLowerCase() === key);
    if (at >= 0) return { def, at };
  }
  return undefined;
}

/**
 * CREATE [UNIQUE] INDEX: a new definition of the table with the index added (and, for UNIQUE, a
 * UNIQUE constraint on its columns), checked against the rows already there.
 */
export async function createIndex(stmt: CreateIndexStmt, sqlText: string, txn: Txn, cx: CompileContext): Promise<boolean> {
  if (findIndex(txn, stmt.name) || txn.table(stmt.name)) {
    if (stmt.ifNotExists) return false;
    cx.fail('ERROR', `index ${stmt.name} already exists`, stmt.pos);
  }
  if (stmt.where) cx.fail('ERROR', 'partial indexes (CREATE INDEX ... WHERE) are not supported yet', stmt.where.pos);
  const def = txn.table(stmt.table);
  if (!def) return cx.fail('NO_SUCH_TABLE', `no such table: ${stmt.table}`, stmt.pos);
  const columns = stmt.columns.map((o) => {
    const name = columnName(o.expr, cx);
    const i = def.columns.findIndex((c) => c.name.toLowerCase() === name.toLowerCase());
    if (i < 0) cx.fail('NO_SUCH_COLUMN', `no such column: ${name}`, o.pos);
    return i;
  });
  const index: IndexDef = { name: stmt.name, columns, unique: stmt.unique, sql: sqlText };
  const next: TableDef = { ...def, indexes: [...(def.indexes ?? []), index] };
  if (stmt.unique) {
    next.uniques = [...def.uniques, columns];
    await checkNoDuplicates(def, columns, txn);
  }
  txn.alterTable(next);
  return true;
}

async function checkNoDuplicates(def: TableDef, columns: number[], txn: Txn): Promise<void> {
  const seen = new Set<string>();
  for await (const rec of txn.scan(def)) {
    const vals = columns.map((i) => rec[1 + i]!);
    if (vals.some((v) => v === null)) continue;
    const k = encodeKey(vals);
    if (seen.has(k)) {
      throw new DosqlError('CONSTRAINT_UNIQUE', `UNIQUE constraint failed: ${columns.map((i) => `${def.name}.${def.columns[i]!.name}`).join(', ')}`);
    }
    seen.add(k);
  }
}

function dropIndex(stmt: DropStmt, txn: Txn, cx: CompileContext): boolean {
  const found = findIndex(txn, stmt.name);
  if (!found) {
    if (stmt.ifExists) return false;
    return cx.fail('ERROR', `no such index: ${stmt.name}`, stmt.pos);
  }
  const { def, at } = found;
  const index = def.indexes![at]!;
  const next: TableDef = { ...def, indexes: def.indexes!.filter((_, i) => i !== at) };
  if (index.unique) {
    // Empty the matching UNIQUE slot rather than remove it, so later slots keep their positions.
    const slot = def.uniques.findIndex((u) => u.length === index.columns.length && u.every((c, i) => c === index.columns[i]));
    if (slot >= 0) next.uniques = def.uniques.map((u, i) => (i === slot ? [] : u));
  }
  txn.alterTable(next);
  return true;
}

// --- ALTER TABLE ------------------------------------------------------------------------------

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function isIdent(t: Token): boolean {
  return t.type === 'id' || t.type === 'qid';
}

/** `sql` with the identifier tokens `pick` chooses replaced by the quoted `to`. */
function renameIdents(sql: string, pick: (toks: Token[], i: number) => boolean, to: string): string {
  const toks = tokenize(sql);
  let out = '';
  let at = 0;
  toks.forEach((t, i) => {
    if (isIdent(t) && pick(toks, i)) {
      out += sql.slice(at, t.pos) + quoteIdent(to);
      at = t.end;
    }
  });
  return out + sql.slice(at);
}

/** Rename identifiers equal to `from` that come after the first '(' (columns, not the object's own name). */
function renameColumnIn(sql: string, from: string, to: string): string {
  const key = from.toLowerCase();
  const open = tokenize(sql).findIndex((t) => t.type === 'op' && t.text === '(');
  return renameIdents(sql, (toks, i) => i > open && toks[i]!.text.toLowerCase() === key && toks[i - 1]?.text !== '.', to);
}

function renameTableIn(sql: string, from: string, to: string): string {
  const key = from.toLowerCase();
  return renameIdents(sql, (toks, i) => toks[i]!.text.toLowerCase() === key, to);
}

export async function alterTable(stmt: AlterTableStmt, sqlText: string, txn: Txn, cx: PlanContext): Promise<void> {
  const def = txn.table(stmt.table);
  if (!def) return cx.fail('NO_SUCH_TABLE', `no such table: ${stmt.table}`, stmt.pos);
  if (def.view) return cx.fail('ERROR', `cannot modify ${def.name} because it is a view`, stmt.pos);
  if (def.name.toLowerCase().startsWith('sqlite_')) return cx.fail('ERROR', `table ${def.name} may not be altered`, stmt.pos);
  const a = stmt.action;
  const colIndex = (name: string): number => def.columns.findIndex((c) => c.name.toLowerCase() === name.toLowerCase());
  switch (a.kind) {
    case 'rename_table': {
      if (txn.table(a.to) || findIndex(txn, a.to)) cx.fail('ERROR', `there is already another table or index with this name: ${a.to}`, stmt.pos);
      if (a.to.toLowerCase().startsWith('sqlite_')) cx.fail('ERROR', `object name reserved for internal use: ${a.to}`, stmt.pos);
      const from = def.name;
      txn.alterTable({
        ...def,
        name: a.to,
        sql: renameTableIn(def.sql, from, a.to),
        indexes: def.indexes?.map((x) => ({ ...x, sql: renameTableIn(x.sql, from, a.to) })),
        triggers: def.triggers?.map((t) => ({ ...t, sql: renameTableIn(t.sql, from, a.to) })),
      });
      // Other tables' FOREIGN KEYs name the parent by name: they follow the rename, as in SQLite.
      for (const t of txn.tableList()) {
        if (t.id === def.id || t.view || !extrasOf(t).foreignKeys.some((fk) => fk.parent.toLowerCase() === from.toLowerCase())) continue;
        const key = from.toLowerCase();
        txn.alterTable({ ...t, sql: renameIdents(t.sql, (toks, i) => toks[i]!.text.toLowerCase() === key && toks[i - 1]?.kw === 'REFERENCES', a.to) });
      }
      return;
    }
    case 'rename_column': {
      const i = colIndex(a.from);
      if (i < 0) cx.fail('ERROR', `no such column: "${a.from}"`, stmt.pos);
      if (colIndex(a.to) >= 0) cx.fail('ERROR', `duplicate column name: ${a.to}`, stmt.pos);
      txn.alterTable({
        ...def,
        columns: def.columns.map((c, j) => (j === i ? { ...c, name: a.to } : c)),
        sql: renameColumnIn(def.sql, a.from, a.to),
        indexes: def.indexes?.map((x) => ({ ...x, sql: renameColumnIn(x.sql, a.from, a.to) })),
        triggers: def.triggers?.map((t) => ({ ...t, sql: t.columns?.includes(a.from.toLowerCase()) ? renameColumnIn(t.sql, a.from, a.to) : t.sql, columns: t.columns?.map((c) => (c === a.from.toLowerCase() ? a.to.toLowerCase() : c)) })),
      });
      return;
    }
    case 'add_column':
      return addColumn(def, a.column, sqlText, txn, cx);
    case 'drop_column':
      return dropColumn(def, a.name, stmt.pos, txn, cx);
  }
}

/** A DEFAULT SQLite accepts for ADD COLUMN: a literal, signed literal or parenthesized constant. */
function isConstant(e: Expr): boolean {
  if (e.kind === 'literal') return true;
  if (e.kind === 'unary' && (e.op === '-' || e.op === '+')) return isConstant(e.operand);
  return false;
}

/** Every row of a table, read before its definition changes (the overlay is laid out per definition). */
async function allRows(def: TableDef, txn: Txn): Promise<Value[][]> {
  const rows: Value[][] = [];
  for await (const rec of txn.scan(def)) rows.push(rec.slice(0, 1 + def.columns.length));
  return rows;
}

async function addColumn(def: TableDef, col: ColumnDefinition, sqlText: string, txn: Txn, cx: PlanContext): Promise<void> {
  const c = col.constraints;
  if (def.columns.some((d) => d.name.toLowerCase() === col.name.toLowerCase())) cx.fail('ERROR', `duplicate column name: ${col.name}`, col.pos);
  if (c.primaryKey) cx.fail('ERROR', 'Cannot add a PRIMARY KEY column', col.pos);
  if (c.unique) cx.fail('ERROR', 'Cannot add a UNIQUE column', col.pos);
  if (c.generated?.stored) cx.fail('ERROR', 'cannot add a STORED column', col.pos);
  if (c.default && !isConstant(c.default)) cx.fail('ERROR', 'Cannot add a column with non-constant default', col.pos);
  const scope = new Scope(cx.fail);
  const fill = c.default ? (compileExpr(c.default, scope, cx).fn as SyncFn)({ rows: [], outer: undefined, agg: undefined, run: undefined as never }) : null;
  if (c.notNull && fill === null) cx.fail('ERROR', 'Cannot add a NOT NULL column with default value NULL', col.pos);
  // The column's text as written, appended to the column list of the CREATE text as SQLite does.
  let text = sqlText.slice(col.pos).trim();
  if (text.endsWith(';')) text = text.slice(0, -1).trimEnd();
  const close = closingParen(def.sql);
  const sql = def.sql.slice(0, close).trimEnd() + ', ' + text + def.sql.slice(close);
  const column: ColumnDef = { name: col.name, type: col.type, affinity: affinityOfType(col.type), notNull: c.notNull !== undefined };
  const next: TableDef = { ...def, columns: [...def.columns, column], sql };
  const value = fill === null ? null : V.applyAffinity(fill, column.affinity);
  const rows = await allRows(def, txn);
  txn.alterTable(next);
  const checks = extrasOf(next).checks;
  const checkScope = new Scope(cx.fail);
  checkScope.add(rowSource(next, next.name, 0));
  const compiled = checks.map((k) => ({ fn: compileExpr(k.expr, checkScope, { ...cx, sql: next.sql }), label: k.label }));
  for (const rec of rows) {
    const before = [...columnsOf(def, rec), null];
    const row = [...columnsOf(def, rec), value];
    for (const k of compiled) {
      const env: Env = { rows: [[rec[0]!, ...row]], outer: undefined, agg: undefined, run: undefined as never };
      if (!k.fn.async && V.isTruthy((k.fn.fn as SyncFn)(env)) === false) throw new DosqlError('CONSTRAINT_CHECK', `CHECK constraint failed: ${k.label}`);
    }
    txn.updateRow(next, rec[0] as number | bigint, before, row);
  }
}

/** Offset of the parenthesis closing a CREATE TABLE's column list. */
function closingParen(sql: string): number {
  let depth = 0;
  for (const t of tokenize(sql)) {
    if (t.type !== 'op') continue;
    if (t.text === '(') depth++;
    else if (t.text === ')' && --depth === 0) return t.pos;
  }
  throw new DosqlError('CORRUPT', 'stored CREATE TABLE text has no column list');
}

async function dropColumn(def: TableDef, name: string, pos: number, txn: Txn, cx: PlanContext): Promise<void> {
  const i = def.columns.findIndex((c) => c.name.toLowerCase() === name.toLowerCase());
  if (i < 0) return cx.fail('ERROR', `no such column: "${name}"`, pos);
  const col = def.columns[i]!.name;
  if (def.rowidColumn === i || def.primaryKey.includes(i)) cx.fail('ERROR', `cannot drop PRIMARY KEY column: "${col}"`, pos);
  if (def.uniques.some((u) => u.includes(i)) && !(def.indexes ?? []).some((x) => x.unique && x.columns.includes(i))) cx.fail('ERROR', `cannot drop UNIQUE column: "${col}"`, pos);
  const index = (def.indexes ?? []).find((x) => x.columns.includes(i));
  if (index) cx.fail('ERROR', `error in index ${index.name} after drop column: no such column: ${col}`, pos);
  if (def.columns.length === 1) cx.fail('ERROR', `cannot drop column "${col}": no other columns exist`, pos);
  const extras = extrasOf(def);
  if (extras.foreignKeys.some((fk) => fk.columns.includes(i))) cx.fail('ERROR', `error in table ${def.name} after drop column: cannot drop column "${col}" used in a FOREIGN KEY`, pos);
  const stmt = parseOne(def.sql).statement as CreateTableStmt;
  for (const t of stmt.constraints) {
    if (t.kind === 'check' && mentions(t.expr, col)) cx.fail('ERROR', `error in table ${def.name} after drop column: no such column: ${col}`, pos);
  }
  const shift = (j: number): number => (j > i ? j - 1 : j);
  const next: TableDef = {
    ...def,
    columns: def.columns.filter((_, j) => j !== i),
    rowidColumn: def.rowidColumn < 0 ? -1 : shift(def.rowidColumn),
    primaryKey: def.primaryKey.map(shift),
    uniques: def.uniques.map((u) => u.map(shift)),
    indexes: def.indexes?.map((x) => ({ ...x, columns: x.columns.map(shift) })),
    sql: removeColumnText(def.sql, stmt, i),
  };
  const rows = await allRows(def, txn);
  txn.alterTable(next);
  for (const rec of rows) {
    const row = columnsOf(def, rec).filter((_, j) => j !== i);
    txn.updateRow(next, rec[0] as number | bigint, row, row.slice());
  }
}

function mentions(e: Expr, col: string): boolean {
  return JSON.stringify(e, (k, v) => (typeof v === 'bigint' ? String(v) : v)).toLowerCase().includes(`"kind":"column","name":${JSON.stringify(col.toLowerCase())}`);
}

/** The CREATE text without column `i`'s definition (and one adjoining comma). */
function removeColumnText(sql: string, stmt: CreateTableStmt, i: number): string {
  const start = stmt.columns[i]!.pos;
  const toks = tokenize(sql);
  let k = toks.findIndex((t) => t.pos >= start);
  let depth = 0;
  for (; k < toks.length; k++) {
    const t = toks[k]!;
    if (t.type !== 'op') continue;
    if (t.text === '(') depth++;
    else if (t.text === ')') {
      if (depth === 0) break;
      depth--;
    } else if (t.text === ',' && depth === 0) break;
  }
  const end = toks[k]!;
  if (end.text === ',') return sql.slice(0, start) + sql.slice(toks[k + 1]!.pos);
  // The last definition: remove the comma before it instead.
  const prev = toks.filter((t) => t.pos < start && t.type === 'op' && t.text === ',').at(-1)!;
  return sql.slice(0, prev.pos) + sql.slice(end.pos);
}
