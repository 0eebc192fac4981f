/**
 * CREATE TABLE and DROP TABLE: turning a statement into a `TableDef` and a schema change in the
 * transaction. The catalog itself changes only when the transaction commits and the table
 * materializer applies the logged change, exactly as on replay.
 */
import { DosqlError } from '../base/errors.js';
import type { ColumnDef, IndexDef, TableDef, TriggerDef } from '../log/types.js';
import { encodeKey } from '../materializers/btree/index.js';
import type { CreateIndexStmt, CreateTableStmt, CreateTriggerStmt, CreateViewStmt, DropStmt } from './ast.js';
import { compileSelect, type PlanContext } from './select.js';
import type { CompileContext } from './expr.js';
import type { Txn } from './txn.js';
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
