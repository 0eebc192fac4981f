/**
 * Access paths: how the rows of one base table are read, chosen by cost.
 *
 * A table's rows live in a tree keyed by the rowid or the PRIMARY KEY columns, and each index is
 * a tree keyed by its columns' values followed by the row key (materializers/tables.ts). Keys are
 * self-delimiting concatenations of encoded values (materializers/btree/keys.ts), so every tree
 * is a *key path*: a list of columns whose values, in order, start its keys. WHERE's top-level
 * AND terms pin a key path from the left: equalities (`=`, or `IN (list)` as several) on its
 * leading columns, then at most one range (`<`, `<=`, `>`, `>=`, BETWEEN) on the next. That is a
 * set of key ranges: one per combination of the equal values, each cut by the range.
 *
 * Every key path a WHERE clause pins is a candidate, with an estimated cost in "rows visited in
 * order": a seek costs about log2(rows) / 4, a row read through an index costs a seek more than
 * one read in key order, and a full scan costs the table's rows. Row counts and the distinct
 * values of index prefixes come from statistics the materializer keeps current
 * (materializers/stats.ts); where none are known, an equality is assumed to select ten rows and
 * a range an eighth (a sixty-fourth when bounded on both sides), close to SQLite's assumptions
 * without ANALYZE. An OR of terms each served by some key path becomes a union of their lookups (SQLite's
 * MULTI-INDEX OR), deduplicated by row key. The cheapest candidate wins, a full scan included,
 * so an index on a column holding one value everywhere is not used.
 *
 * A join level with an equality on bound columns but no key path for it can build a hash table
 * of the table's rows once per statement run, keyed by the encoded value of the joined column
 * (SQLite builds an automatic index instead); see `hashChoice`.
 *
 * Whatever path is chosen, WHERE is still evaluated on every row it produces, so a path only has
 * to produce a superset of the answer. That is what keeps comparison semantics out of this file:
 * values are converted with the column's affinity exactly as the comparison would, and a path is
 * not used where the comparison would convert the column's stored values instead (a TEXT column
 * compared with a number), since a tree ordered by stored values cannot follow that.
 */
import type { Value } from '../base/values.js';
import type { IndexDef, TableDef } from '../log/types.js';
import { NOT_CACHED, ROWID_PREFIX_EXACT_LIMIT, encodeKey, encodeRowidKey, encodeValue } from '../materializers/btree/index.js';
import type { TableStats } from '../materializers/stats.js';
import { rowKey } from '../materializers/tables.js';
import type { BinaryOp, ColumnExpr, Expr } from './ast.js';
import { compileExpr, type Compiled, type SyncFn } from './expr.js';
import { oncePerRun, type Env, type Scope, type Source } from './scope.js';
import type { Emit, PlanContext, Producer, SelectRun } from './select.js';
import { inLayout, periodRow, type TimeSpec } from './temporal.js';
import type { KeyRange, StoredRow, Txn } from './txn.js';
import * as V from './values/index.js';
import { andAll, conjuncts, disjuncts, visit } from './walk.js';

/** What a synchronous fast path returns when the answer needs I/O: run the async path instead. */
export const NEEDS_ASYNC: unique symbol = Symbol('NEEDS_ASYNC');

/** Most key ranges one lookup may expand to (the product of its IN lists' lengths). */
export const ACCESS_RANGES_MAX = 1024;
/** Most branches of an OR served by a union of lookups. */
export const OR_BRANCHES_MAX = 64;
/** Most rows a hash join holds per table; past it the level falls back to scanning. */
export const HASH_JOIN_ROWS_MAX = 1_000_000;

/** Rows an equality on a non-unique key is assumed to select without statistics (SQLite's). */
const EQ_ROWS_ASSUMED = 10;
/**
 * Share of rows a one-sided range keeps, and a two-sided one. SQLite assumes 1/4 and 1/64; the
 * one-sided share is lower here so that `created > ?` still reads through an index, which is
 * what such queries nearly always want (the recent rows of a large table).
 */
const RANGE_SHARE_ONE_SIDE = 1 / 8;
const RANGE_SHARE_TWO_SIDES = 1 / 64;
/** Share of rows each WHERE term a path does not serve is assumed to keep (join estimates). */
export const TERM_SHARE = 1 / 4;

/** Whether a column reference is fixed while `source` is scanned (an earlier join level's). */
export type BoundCheck = (e: ColumnExpr, source: Source) => boolean;
export const NOTHING_BOUND: BoundCheck = () => false;

/** A line of EXPLAIN QUERY PLAN and the lines nested under it. */
export interface ExplainNode {
  detail: string;
  children?: ExplainNode[];
}

export type Access = (
  | { kind: 'scan' }
  /** One row by a single-column key: the hot path of primary-key lookups. */
  | { kind: 'point'; value: (env: Env) => Value | undefined | Promise<Value | undefined>; valueIsSync: boolean }
  /** Key ranges of the table's own tree, in key order. */
  | { kind: 'range'; ranges: (env: Env) => Promise<KeyRange[]> }
  /** Key ranges of an index tree; each entry leads to a row by its key. */
  | { kind: 'index'; index: IndexDef; ranges: (env: Env) => Promise<KeyRange[]> }
  /** A union of lookups, each row once (an OR of terms each served by a key path). */
  | { kind: 'or'; branches: Access[] }
  /** Rows with `column` equal to `probe`, from a hash table built once per statement run. */
  | { kind: 'hash'; column: number | 'rowid'; probe: (env: Env) => Promise<Value | undefined>; build: Compiled | undefined }
) & { explain: ExplainNode };

/** A candidate access path with its estimates; `make` compiles it. */
export interface AccessChoice {
  /** Rows produced per execution, before the terms the path does not serve. */
  rows: number;
  /** Cost per execution, in rows read in key order. */
  cost: number;
  /** One-time cost per statement run (building a hash table). */
  setup: number;
  /** The WHERE terms the path serves exactly, so estimates do not count them twice. */
  used: Set<Expr>;
  make(): Access;
}

/** The table an access path reads, and what the planner knows about it. */
export interface TableRef {
  def: TableDef;
  source: Source;
  stats: TableStats | undefined;
}

/**
 * Below this many rows, distinct counts are not used and a keyed access path is always preferred
 * to a scan, as SQLite does without ANALYZE: every plan is cheap on a table this small, and a plan
 * cached now should stay good while the table grows (recompiling waits for it to double).
 */
export const STATS_ROWS_TRUSTED_MIN = 64;
/** Rows assumed for a table without statistics (created in this transaction). */
const ROWS_ASSUMED = 1000;

export function tableRef(def: TableDef, source: Source, cx: PlanContext): TableRef {
  return { def, source, stats: cx.stats?.(def) };
}

function rowsOf(t: TableRef): number {
  return Math.max(1, t.stats?.rows ?? ROWS_ASSUMED);
}

/**
 * The size costs are computed with: the row count, or ROWS_ASSUMED for a table too small to
 * trust, so that small tables are planned the way large ones would be (see
 * STATS_ROWS_TRUSTED_MIN); row estimates still use the real count.
 */
function costRowsOf(t: TableRef): number {
  return trusted(t) ? rowsOf(t) : Math.max(rowsOf(t), ROWS_ASSUMED);
}

function trusted(t: TableRef): boolean {
  return t.stats !== undefined && t.stats.rows >= STATS_ROWS_TRUSTED_MIN;
}

/** A descent from the root, relative to reading the next row in key order (pages are wide). */
function seekCost(rows: number): number {
  return 1 + Math.log2(rows + 2) / 4;
}

function scanChoice(t: TableRef): AccessChoice {
  const rows = rowsOf(t);
  return { rows, cost: costRowsOf(t) + 2, setup: 0, used: new Set(), make: () => ({ kind: 'scan', explain: { detail: `SCAN ${displayName(t)}` } }) };
}

/** The cheapest way to read `t` under these AND terms. */
export function bestAccess(t: TableRef, terms: Expr[], scope: Scope, cx: PlanContext, bound: BoundCheck = NOTHING_BOUND): AccessChoice {
  const keyed = keyedChoices(t, terms, scope, cx, bound);
  let best = keyed.length && !trusted(t) ? keyed[0]! : scanChoice(t);
  for (const c of keyed) if (c.cost < best.cost) best = c;
  return best;
}

/** Choose, record in EXPLAIN, and compile the access path of a table under WHERE. */
export function planAccess(t: TableRef, where: Expr | undefined, scope: Scope, cx: PlanContext, bound: BoundCheck = NOTHING_BOUND): Access {
  const access = bestAccess(t, where ? conjuncts(where) : [], scope, cx, bound).make();
  explain(access.explain, cx);
  return access;
}

export function explain(node: ExplainNode, cx: PlanContext): void {
  if (!cx.explain) return;
  if (!node.children) cx.explain.add(node.detail);
  else cx.explain.nest(node.detail, () => node.children!.forEach((c) => explain(c, cx)));
}

// ---------------------------------------------------------------------------------------------
// Key paths and what WHERE pins on them

/** A tree whose keys start with the encoded values of `columns`. */
interface KeyPath {
  columns: Array<number | 'rowid'>;
  /** Undefined for the table's own tree. */
  index?: IndexDef;
  /** Equal values on every column select at most one row. */
  unique: boolean;
}

function keyPaths(def: TableDef): KeyPath[] {
  const own: KeyPath = def.primaryKey.length === 0 ? { columns: ['rowid'], unique: true } : { columns: def.primaryKey.slice(), unique: true };
  return [own, ...(def.indexes ?? []).map((index) => ({ columns: index.columns.slice(), index, unique: index.unique }))];
}

/** What WHERE says about one column: equalities, IN lists, lower and upper bounds. */
interface ColumnBounds {
  eq?: { e: Expr; term: Expr };
  list?: { list: Expr[]; term: Expr };
  lows: Array<{ e: Expr; inclusive: boolean; term: Expr }>;
  highs: Array<{ e: Expr; inclusive: boolean; term: Expr }>;
}

/** Equal values of the leading columns, then bounds on the next: a set of key ranges. */
interface PathMatch {
  path: KeyPath;
  /** Per leading column, the values it must equal (one for `=`, several for IN). */
  eqs: Expr[][];
  range?: ColumnBounds;
  used: Set<Expr>;
}

function boundsFor(terms: Expr[], isColumn: (e: Expr) => boolean, source: Source, bound: BoundCheck): ColumnBounds {
  const b: ColumnBounds = { lows: [], highs: [] };
  for (const t of terms) {
    if (t.kind === 'between' && !t.negated && isColumn(t.operand) && independent(t.low, source, bound) && independent(t.high, source, bound)) {
      b.lows.push({ e: t.low, inclusive: true, term: t });
      b.highs.push({ e: t.high, inclusive: true, term: t });
      continue;
    }
    if (t.kind === 'in_list' && !t.negated && isColumn(t.operand) && t.list.every((x) => x.kind !== 'collate' && independent(x, source, bound))) {
      b.list ??= { list: t.list, term: t };
      continue;
    }
    if (t.kind !== 'binary') continue;
    let op = t.op;
    let other: Expr;
    if (isColumn(t.left) && independent(t.right, source, bound)) other = t.right;
    else if (isColumn(t.right) && independent(t.left, source, bound)) {
      other = t.left;
      op = flip(op);
    } else continue;
    if (other.kind === 'collate') continue;
    if (op === '=') b.eq ??= { e: other, term: t };
    if (op === '>' || op === '>=') b.lows.push({ e: other, inclusive: op === '>=', term: t });
    if (op === '<' || op === '<=') b.highs.push({ e: other, inclusive: op === '<=', term: t });
  }
  return b;
}

function matchPath(t: TableRef, path: KeyPath, terms: Expr[], scope: Scope, cx: PlanContext, bound: BoundCheck): PathMatch | undefined {
  const m: PathMatch = { path, eqs: [], used: new Set() };
  let lookups = 1;
  for (const col of path.columns) {
    const b = boundsFor(terms, columnMatcher(t.def, t.source, col), t.source, bound);
    const affinity = columnAffinity(t.def, col);
    if (b.eq && comparable(affinity, [b.eq.e], scope, cx)) {
      m.eqs.push([b.eq.e]);
      m.used.add(b.eq.term);
      continue;
    }
    if (b.list && lookups * b.list.list.length <= ACCESS_RANGES_MAX && comparable(affinity, b.list.list, scope, cx)) {
      lookups *= Math.max(1, b.list.list.length);
      m.eqs.push(b.list.list);
      m.used.add(b.list.term);
      continue;
    }
    const lo = b.lows[0];
    const hi = b.highs[0];
    const probes = [lo?.e, hi?.e].filter((e): e is Expr => e !== undefined);
    if (probes.length && comparable(affinity, probes, scope, cx)) {
      m.range = { lows: lo ? [lo] : [], highs: hi ? [hi] : [] };
      if (lo) m.used.add(lo.term);
      if (hi) m.used.add(hi.term);
    }
    break;
  }
  return m.eqs.length || m.range ? m : undefined;
}

/** Candidates over the table's key paths (and ORs of them); a full scan is not among them. */
function keyedChoices(t: TableRef, terms: Expr[], scope: Scope, cx: PlanContext, bound: BoundCheck): AccessChoice[] {
  const out: AccessChoice[] = [];
  for (const path of keyPaths(t.def)) {
    const m = matchPath(t, path, terms, scope, cx, bound);
    if (m) out.push(pathChoice(t, m, scope, cx));
  }
  for (const term of terms) {
    const or = orChoice(t, term, scope, cx, bound);
    if (or) out.push(or);
  }
  return out;
}

function pathChoice(t: TableRef, m: PathMatch, scope: Scope, cx: PlanContext): AccessChoice {
  const lookups = m.eqs.reduce((p, vs) => p * vs.length, 1);
  const selected = (n: number): number => {
    let rows = m.eqs.length === 0 ? n : m.eqs.length === m.path.columns.length && m.path.unique ? 1 : rowsPerValue(t, m.path, m.eqs.length, n);
    rows *= lookups;
    if (m.range) rows *= m.range.lows.length && m.range.highs.length ? RANGE_SHARE_TWO_SIDES : RANGE_SHARE_ONE_SIDE;
    return Math.min(rows, n);
  };
  const c = costRowsOf(t);
  const perRow = m.path.index ? 1 + seekCost(c) : 1;
  return { rows: selected(rowsOf(t)), cost: lookups * seekCost(c) + selected(c) * perRow, setup: 0, used: m.used, make: () => makePathAccess(t, m, scope, cx) };
}

/** Rows one combination of values of the first `k` columns of a path selects. */
function rowsPerValue(t: TableRef, path: KeyPath, k: number, n: number): number {
  const distinct = path.index && trusted(t) ? t.stats!.indexDistinct.get(path.index.name.toLowerCase())?.[k - 1] : undefined;
  if (distinct !== undefined) return n / Math.max(1, distinct);
  // A prefix of a primary key: assume its columns split the rows evenly.
  if (!path.index) return Math.max(1, n ** (1 - k / path.columns.length));
  return Math.min(n, EQ_ROWS_ASSUMED);
}

function orChoice(t: TableRef, term: Expr, scope: Scope, cx: PlanContext, bound: BoundCheck): AccessChoice | undefined {
  if (term.kind !== 'binary' || term.op !== 'OR') return undefined;
  const branches = disjuncts(term);
  if (branches.length > OR_BRANCHES_MAX) return undefined;
  const choices: AccessChoice[] = [];
  for (const b of branches) {
    const keyed = keyedChoices(t, conjuncts(b), scope, cx, bound);
    if (!keyed.length) return undefined;
    choices.push(keyed.reduce((x, y) => (y.cost < x.cost ? y : x)));
  }
  const rows = Math.min(rowsOf(t), choices.reduce((s, c) => s + c.rows, 0));
  const cost = choices.reduce((s, c) => s + c.cost, 0) + rows;
  return {
    rows,
    cost,
    setup: 0,
    used: new Set([term]),
    make: () => {
      const accesses = choices.map((c) => c.make());
      const children = accesses.map((a, i) => ({ detail: `INDEX ${i + 1}`, children: [a.explain] }));
      return { kind: 'or', branches: accesses, explain: { detail: 'MULTI-INDEX OR', children } };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Hash joins

/**
 * A hash join for a join level: `column = probe` where probe reads only bound columns. The table
 * is read once per statement run, filtered by `local` (terms reading only this table), into a
 * map from the encoded column value to rows; each outer row then looks up its bucket.
 */
export function hashChoice(t: TableRef, terms: Expr[], local: Expr[], scope: Scope, cx: PlanContext, bound: BoundCheck): AccessChoice | undefined {
  const columns: Array<number | 'rowid'> = ['rowid', ...t.def.columns.map((_, i) => i)];
  for (const col of columns) {
    const b = boundsFor(terms, columnMatcher(t.def, t.source, col), t.source, bound);
    if (!b.eq || !comparable(columnAffinity(t.def, col), [b.eq.e], scope, cx)) continue;
    const n = rowsOf(t);
    const rows = Math.max(1, Math.min(n * TERM_SHARE ** local.length, EQ_ROWS_ASSUMED));
    const eq = b.eq;
    return {
      rows,
      cost: 1 + rows,
      setup: 2 * costRowsOf(t),
      used: new Set([eq.term]),
      make: () => makeHash(t, col, eq.e, local, scope, cx),
    };
  }
  return undefined;
}

function makeHash(t: TableRef, col: number | 'rowid', probeExpr: Expr, local: Expr[], scope: Scope, cx: PlanContext): Access {
  const probe = compileExpr(probeExpr, scope, cx);
  const affinity = columnAffinity(t.def, col);
  const build = local.length ? compileExpr(andAll(local), scope, cx) : undefined;
  const name = col === 'rowid' ? 'rowid' : t.def.columns[col]!.name;
  return {
    kind: 'hash',
    column: col,
    build,
    probe: async (env) => {
      const v = await probe.fn(env);
      return col === 'rowid' ? keyValue(v, affinity, probe.affinity) : boundValueOrUndefined(v, affinity, probe.affinity);
    },
    explain: { detail: `SEARCH ${displayName(t)} USING AUTOMATIC HASH INDEX (${name}=?)` },
  };
}

/** Per statement run: the hash table of each hash access, or 'overflow' past the run's hashJoinRowsMax. */
type HashTable = Map<string, StoredRow[]> | 'overflow';

function hashTable(def: TableDef, access: Extract<Access, { kind: 'hash' }>, env: Env, slot: number): Promise<HashTable> {
  return oncePerRun(env.run, access, () => buildHashTable(access, env, slot, (env.run as SelectRun).txn.scanChunks(def, {})));
}

/**
 * Per statement run, the hash table of a hash access reading the table as it was at `lsn`, its
 * rows in the layout of that time. Keyed by LSN as well: a run may read one table at two points.
 */
function pastHashTable(def: TableDef, access: Extract<Access, { kind: 'hash' }>, lsn: bigint, layout: (rec: Value[]) => Value[], env: Env, slot: number): Promise<HashTable> {
  let key = pastHashKeys.get(access);
  if (key === undefined) pastHashKeys.set(access, (key = {}));
  const byLsn = oncePerRun(env.run, key, () => new Map<bigint, Promise<HashTable>>());
  let table = byLsn.get(lsn);
  if (table === undefined) {
    const store = (env.run as SelectRun).txn.store;
    byLsn.set(lsn, (table = buildHashTable(access, env, slot, pastChunks(store.scanAsOfChunks(def, {}, lsn), layout))));
  }
  return table;
}
/** A key per hash access for its past tables in a run's cache (the access itself keys the current one). */
const pastHashKeys = new WeakMap<object, object>();

async function* pastChunks(chunks: AsyncIterable<{ rows: Value[][] }>, layout: (rec: Value[]) => Value[]): AsyncGenerator<Value[][]> {
  for await (const { rows } of chunks) yield rows.map(layout);
}

async function buildHashTable(access: Extract<Access, { kind: 'hash' }>, env: Env, slot: number, chunks: AsyncIterable<StoredRow[]>): Promise<HashTable> {
  const run = env.run as SelectRun;
  const table = new Map<string, StoredRow[]>();
  let held = 0;
  let result: HashTable = table;
  const at = access.column === 'rowid' ? 0 : 1 + access.column;
  const build = access.build;
  const rowsMax = run.hashJoinRowsMax ?? HASH_JOIN_ROWS_MAX;
  scan: for await (const rows of chunks) {
    for (const row of rows) {
      env.rows[slot] = row;
      if (build && V.isTruthy(build.async ? await build.fn(env) : (build.fn as SyncFn)(env)) !== true) continue;
      const v = row[at] ?? null;
      if (v === null) continue;
      if (++held > rowsMax) {
        result = 'overflow';
        break scan;
      }
      const k = encodeValue(v);
      const bucket = table.get(k);
      if (bucket) bucket.push(row);
      else table.set(k, [row]);
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Compiling a path into key ranges

function makePathAccess(t: TableRef, m: PathMatch, scope: Scope, cx: PlanContext): Access {
  const { def } = t;
  const affinities = m.path.columns.map((c) => columnAffinity(def, c));
  const detail = pathDetail(def, m);
  const using = m.path.index ? `INDEX ${m.path.index.name}` : def.primaryKey.length ? 'PRIMARY KEY' : 'INTEGER PRIMARY KEY';
  const explainNode = { detail: `SEARCH ${displayName(t)} USING ${using} (${detail})` };
  const single = m.path.columns.length === 1 && !m.path.index && m.eqs.length === 1 && m.eqs[0]!.length === 1;
  if (single) {
    const c = compileExpr(m.eqs[0]![0]!, scope, cx);
    const convert = m.path.columns[0] === 'rowid' ? keyValue : boundValueOrUndefined;
    const affinity = affinities[0]!;
    const value = c.async
      ? async (env: Env) => convert(await c.fn(env), affinity, c.affinity)
      : (env: Env) => convert((c.fn as SyncFn)(env), affinity, c.affinity);
    return { kind: 'point', value, valueIsSync: !c.async, explain: explainNode };
  }
  const eqs = m.eqs.map((vs, i) => ({
    values: vs.map((e) => compileExpr(e, scope, cx)),
    convert: m.path.columns[i] === 'rowid' ? keyValue : boundValueOrUndefined,
    affinity: affinities[i]!,
  }));
  const rangeAffinity = affinities[m.eqs.length];
  const lo = m.range?.lows[0] && { c: compileExpr(m.range.lows[0].e, scope, cx), inclusive: m.range.lows[0].inclusive };
  const hi = m.range?.highs[0] && { c: compileExpr(m.range.highs[0].e, scope, cx), inclusive: m.range.highs[0].inclusive };
  const ranges = async (env: Env): Promise<KeyRange[]> => {
    let prefixes = [''];
    for (const eq of eqs) {
      const encoded = new Set<string>();
      for (const c of eq.values) {
        const v = eq.convert(await c.fn(env), eq.affinity, c.affinity);
        if (v !== undefined) encoded.add(encodeValue(v));
      }
      const sorted = [...encoded].sort();
      prefixes = prefixes.flatMap((p) => sorted.map((s) => p + s));
      if (prefixes.length === 0) return [];
    }
    const loV = lo ? boundValue(await lo.c.fn(env), rangeAffinity!, lo.c.affinity) : undefined;
    const hiV = hi ? boundValue(await hi.c.fn(env), rangeAffinity!, hi.c.affinity) : undefined;
    // A comparison with NULL is never true.
    if (loV === null || hiV === null) return [];
    return prefixes.map((p) => keyRange(p, loV === undefined ? undefined : { v: loV, inclusive: lo!.inclusive }, hiV === undefined ? undefined : { v: hiV, inclusive: hi!.inclusive }));
  };
  if (m.path.index) return { kind: 'index', index: m.path.index, ranges, explain: explainNode };
  return { kind: 'range', ranges, explain: explainNode };
}

/**
 * Keys that start with `prefix` and whose next value lies within the bounds. Every key continues
 * after a complete value with a type tag (or ends), and tags sort below U+FFFF, so `x + END`
 * sorts after every key that starts with x.
 */
function keyRange(prefix: string, lo: { v: Value; inclusive: boolean } | undefined, hi: { v: Value; inclusive: boolean } | undefined): KeyRange {
  const r: KeyRange = { lo: prefix, loInclusive: true, hi: prefix + KEY_END, hiInclusive: false };
  if (lo) r.lo = prefix + encodeValue(lo.v) + (lo.inclusive ? '' : KEY_END);
  if (hi) r.hi = prefix + encodeValue(hi.v) + (hi.inclusive ? KEY_END : '');
  return r;
}

const KEY_END = '\uffff';

/** `a=? AND b>?` for what a path match uses, in SQLite's words. */
function pathDetail(def: TableDef, m: PathMatch): string {
  // SQLite names the rowid `rowid` here even when an INTEGER PRIMARY KEY column aliases it.
  const name = (c: number | 'rowid'): string => (c === 'rowid' ? 'rowid' : def.columns[c]!.name);
  const parts = m.eqs.map((_, i) => `${name(m.path.columns[i]!)}=?`);
  const col = m.path.columns[m.eqs.length];
  if (m.range && col !== undefined) {
    if (m.range.lows[0]) parts.push(`${name(col)}${m.range.lows[0].inclusive ? '>=' : '>'}?`);
    if (m.range.highs[0]) parts.push(`${name(col)}${m.range.highs[0].inclusive ? '<=' : '<'}?`);
  }
  return parts.join(' AND ');
}

/** How EXPLAIN names a table: its alias when it has one, as SQLite 3.3x and later do. */
function displayName(t: TableRef): string {
  return t.source.name === t.def.name.toLowerCase() ? t.def.name : t.source.name;
}

// ---------------------------------------------------------------------------------------------
// Running an access path

/** Rows of a base table through an access path, at the present or at a time-travel point. */
export function tableProducer(def: TableDef, slot: number, access: Access, clause?: (env: Env) => Promise<TimeSpec>): Producer {
  const producer: Producer = async (env, emit) => {
    const run = env.run as SelectRun;
    const time: TimeSpec | undefined = clause ? await clause(env) : run.asOf !== undefined ? { kind: 'as_of', lsn: run.asOf } : undefined;
    if (time) return readPast(def, access, time, env, slot, emit);
    return readCurrent(def, access, env, slot, emit);
  };
  if (!clause && access.kind === 'point' && access.valueIsSync) producer.sync = pointSync(def, slot, access);
  return producer;
}

/** A key lookup without a promise when the key's pages are cached (see Producer.sync). */
function pointSync(def: TableDef, slot: number, access: Extract<Access, { kind: 'point' }>): NonNullable<Producer['sync']> {
  const byRowid = def.primaryKey.length === 0;
  return (env, emit) => {
    const run = env.run as SelectRun;
    const v = access.value(env) as Value | undefined;
    if (v === undefined) return true;
    if (run.asOf !== undefined) return pastPointSync(def, slot, encodeValue(v), run.asOf, env, emit);
    // Never starts a read: the async path that follows does it.
    const row = byRowid && typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < ROWID_PREFIX_EXACT_LIMIT
      ? run.txn.getRowCachedByRowid(def, v)
      : run.txn.getRowCached(def, encodeValue(v));
    if (row === NOT_CACHED) return NEEDS_ASYNC;
    if (!row) return true;
    env.rows[slot] = row;
    return emit();
  };
}

async function readCurrent(def: TableDef, access: Access, env: Env, slot: number, emit: Emit): Promise<boolean> {
  const txn = (env.run as SelectRun).txn;
  switch (access.kind) {
    case 'point': {
      let v = access.value(env);
      if (v instanceof Promise) v = await v;
      if (v === undefined) return true;
      let row = txn.getRow(def, encodeValue(v));
      if (row instanceof Promise) row = await row;
      if (!row) return true;
      env.rows[slot] = row;
      return emit();
    }
    case 'range':
      for (const r of await access.ranges(env)) if (!(await scanRange(txn, def, r, env, slot, emit))) return false;
      return true;
    case 'index':
      if (!txn.readsCurrentTrees(def)) return scanRange(txn, def, {}, env, slot, emit);
      for (const r of await access.ranges(env)) if (!(await scanIndexRange(txn, def, access.index, r, env, slot, emit))) return false;
      return true;
    case 'or':
      return readUnion(def, access.branches, env, slot, emit, (a, e) => readCurrent(def, a, env, slot, e));
    case 'hash':
      return readHashed(def, access, env, slot, emit);
    case 'scan':
      return scanRange(txn, def, {}, env, slot, emit);
  }
}

async function scanRange(txn: Txn, def: TableDef, range: KeyRange, env: Env, slot: number, emit: Emit): Promise<boolean> {
  for await (const rows of txn.scanChunks(def, range)) {
    for (const row of rows) {
      env.rows[slot] = row;
      const next = emit();
      if (next instanceof Promise ? (await next) === false : next === false) return false;
    }
  }
  return true;
}

/** Rows through a secondary index: a range of the index tree, then each row by its key. */
async function scanIndexRange(txn: Txn, def: TableDef, index: IndexDef, range: KeyRange, env: Env, slot: number, emit: Emit): Promise<boolean> {
  const tree = txn.store.indexTree(def, index.name)!;
  // Collect the row keys first: emitting may run statements that change the index.
  const keys: string[] = [];
  for await (const [, v] of tree.scan(range)) keys.push(v[0] as string);
  for (const key of keys) {
    let row = txn.getRow(def, key);
    if (row instanceof Promise) row = await row;
    if (!row) continue;
    env.rows[slot] = row;
    const next = emit();
    if (next instanceof Promise ? (await next) === false : next === false) return false;
  }
  return true;
}

/** A key lookup AS OF an LSN on cached pages, as readPast does it (in the layout of that time). */
function pastPointSync(def: TableDef, slot: number, key: string, lsn: bigint, env: Env, emit: () => boolean): boolean | typeof NEEDS_ASYNC {
  const store = (env.run as SelectRun).txn.store;
  const row = store.getAsOfCached(def, key, lsn);
  if (row === NOT_CACHED) return NEEDS_ASYNC;
  if (!row) return true;
  env.rows[slot] = inLayout(def, store.catalog.definitionAt(def.id, lsn), row);
  return emit();
}

/** Each branch's rows, skipping rows an earlier branch produced. */
async function readUnion(def: TableDef, branches: Access[], env: Env, slot: number, emit: Emit, read: (a: Access, emit: Emit) => Promise<boolean>): Promise<boolean> {
  const seen = new Set<string>();
  for (const branch of branches) {
    const more = await read(branch, () => {
      const row = env.rows[slot]!;
      const key = storedRowKey(def, row);
      if (seen.has(key)) return true;
      seen.add(key);
      return emit();
    });
    if (!more) return false;
  }
  return true;
}

function storedRowKey(def: TableDef, row: StoredRow): string {
  const rowid = row[0] as number | bigint;
  return def.primaryKey.length === 0 ? encodeRowidKey(rowid) : rowKey(def, rowid, row.slice(1));
}

async function readHashed(def: TableDef, access: Extract<Access, { kind: 'hash' }>, env: Env, slot: number, emit: Emit): Promise<boolean> {
  const txn = (env.run as SelectRun).txn;
  const table = await hashTable(def, access, env, slot);
  if (table === 'overflow') return scanRange(txn, def, {}, env, slot, emit);
  return probeHashed(table, access, env, slot, emit);
}

/** The rows of a built hash table that match the access's probe value. */
async function probeHashed(table: Map<string, StoredRow[]>, access: Extract<Access, { kind: 'hash' }>, env: Env, slot: number, emit: Emit): Promise<boolean> {
  const v = await access.probe(env);
  if (v === undefined) return true;
  for (const row of table.get(encodeValue(v)) ?? []) {
    env.rows[slot] = row;
    const next = emit();
    if (next instanceof Promise ? (await next) === false : next === false) return false;
  }
  return true;
}

/** A table reference reading the past: versioned reads that bypass the transaction's overlay. */
async function readPast(def: TableDef, access: Access, time: TimeSpec, env: Env, slot: number, emit: Emit): Promise<boolean> {
  const store = (env.run as SelectRun).txn.store;
  // Rows visible at an LSN have the column layout of the definition in force then.
  const pastDef = time.kind === 'as_of' ? store.catalog.definitionAt(def.id, time.lsn) : undefined;
  const layout = (rec: Value[]): Value[] => inLayout(def, pastDef, rec);
  const versionLayout = (rec: Value[]): Value[] => inLayout(def, store.catalog.definitionAt(def.id, BigInt(rec[rec.length - 4] as number | bigint)), rec);
  const scan = async (range: KeyRange): Promise<boolean> => {
    if (time.kind === 'as_of') {
      for await (const { rows } of store.scanAsOfChunks(def, range, time.lsn)) {
        for (const rec of rows) {
          env.rows[slot] = layout(rec);
          const next = emit();
          if (next instanceof Promise ? (await next) === false : next === false) return false;
        }
      }
      return true;
    }
    for await (const rec of store.versions(def, range, time.from, time.to)) {
      env.rows[slot] = periodRow(def, versionLayout(rec));
      const next = emit();
      if (next instanceof Promise ? (await next) === false : next === false) return false;
    }
    return true;
  };
  switch (access.kind) {
    case 'point': {
      let v = access.value(env);
      if (v instanceof Promise) v = await v;
      if (v === undefined) return true;
      const key = encodeValue(v);
      if (time.kind !== 'as_of') return scan({ lo: key, hi: key });
      const row = await store.getAsOf(def, key, time.lsn);
      if (!row) return true;
      env.rows[slot] = layout(row);
      return emit();
    }
    case 'range':
      for (const r of await access.ranges(env)) if (!(await scan(r))) return false;
      return true;
    case 'index':
      if (time.kind !== 'as_of') return scan({});
      // Secondary indexes keep their replaced entries too, so a past read can use them.
      for (const r of await access.ranges(env)) {
        for await (const rec of store.indexScanAsOf(def, access.index.name, r, time.lsn)) {
          env.rows[slot] = layout(rec);
          const next = emit();
          if (next instanceof Promise ? (await next) === false : next === false) return false;
        }
      }
      return true;
    case 'or':
      if (time.kind !== 'as_of') return scan({});
      return readUnion(def, access.branches, env, slot, emit, (a, e) => readPast(def, a, time, env, slot, e));
    case 'hash': {
      if (time.kind !== 'as_of') return scan({});
      // Built once per run from the table as it was, as for current reads: not a scan per probe.
      const table = await pastHashTable(def, access, time.lsn, layout, env, slot);
      return table === 'overflow' ? scan({}) : probeHashed(table, access, env, slot, emit);
    }
    case 'scan':
      return scan({});
  }
}

// ---------------------------------------------------------------------------------------------
// Matching columns and converting values

function columnMatcher(def: TableDef, source: Source, col: number | 'rowid'): (e: Expr) => boolean {
  return (e) => {
    if (e.kind !== 'column') return false;
    if (e.table && e.table.toLowerCase() !== source.name) return false;
    const n = e.name.toLowerCase();
    if (col === 'rowid') {
      if (def.rowidColumn >= 0 && n === def.columns[def.rowidColumn]!.name.toLowerCase()) return true;
      return (n === 'rowid' || n === 'oid' || n === '_rowid_') && !source.columns.includes(n);
    }
    return n === def.columns[col]!.name.toLowerCase();
  };
}

function columnAffinity(def: TableDef, col: number | 'rowid'): V.Affinity {
  return col === 'rowid' ? 'INTEGER' : def.columns[col]!.affinity;
}

/**
 * Whether a tree ordered by a column of this affinity can serve comparisons with these values.
 * When the column is TEXT or BLOB (no affinity) and the value has a numeric affinity, the
 * comparison converts the column's values (text '0.0' equals 0), which the tree's order cannot
 * follow; an explicit or inherited collation other than BINARY orders differently too.
 */
function comparable(column: V.Affinity, probes: Expr[], scope: Scope, cx: PlanContext): boolean {
  return probes.every((e) => {
    const c = compileExpr(e, scope, cx);
    if (c.collation !== undefined && c.collation !== 'BINARY') return false;
    if (column !== 'TEXT' && column !== 'BLOB') return true;
    return c.affinity !== 'INTEGER' && c.affinity !== 'REAL' && c.affinity !== 'NUMERIC';
  });
}

/**
 * A value compared with a key column, converted as the comparison would convert it: that
 * depends on the value's own affinity too (a TEXT column against a BLOB column converts neither).
 */
function boundValue(v: Value, affinity: V.Affinity, probe: V.Affinity | undefined): Value {
  if (v === null) return null;
  return V.applyComparisonAffinity(0, affinity, v, probe)[1];
}

function boundValueOrUndefined(v: Value, affinity: V.Affinity, probe: V.Affinity | undefined): Value | undefined {
  const b = boundValue(v, affinity, probe);
  return b === null ? undefined : b;
}

/** The rowid to look up for `rowid = v`, or undefined when no rowid can equal v. */
function keyValue(v: Value, affinity: V.Affinity, probe: V.Affinity | undefined): Value | undefined {
  // A safe integer is its own rowid under every affinity (TEXT's '5' would convert back to 5).
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  const b = boundValue(v, affinity, probe);
  if (b === null) return undefined;
  if (!V.isInteger(b)) {
    const d = V.toDouble(b);
    return d !== undefined && Number.isSafeInteger(d) ? d : undefined;
  }
  return b;
}

function flip(op: BinaryOp): BinaryOp {
  return op === '<' ? '>' : op === '<=' ? '>=' : op === '>' ? '<' : op === '>=' ? '<=' : op;
}

/** True when the expression reads no column of `source` and no subquery (so it is fixed per scan). */
function independent(e: Expr, source: Source, bound: BoundCheck = NOTHING_BOUND): boolean {
  let ok = true;
  visit(e, (x) => {
    if (x.kind === 'subquery' || x.kind === 'exists' || x.kind === 'in_select') ok = false;
    if (x.kind === 'function' && V.SCALAR_FUNCTIONS[x.name.toLowerCase()]?.deterministic === false) ok = false;
    if (x.kind === 'column' && !bound(x, source)) ok = false;
  });
  return ok;
}

