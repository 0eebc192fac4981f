/**
 * Name resolution: which source (table, subquery, join side) a column reference reads, and where.
 *
 * At run time a row under evaluation is an `Env`: one slot per source of the current SELECT core
 * (`rows[slot]` is that source's current record, or null on the outer side of a LEFT JOIN), a link
 * to the enclosing query's Env for correlated subqueries, the finished aggregate values of the
 * current group, and the bound parameters. A compiled column reference is therefore just
 * "walk `depth` outer links, then read rows[slot][index]", decided once at compile time.
 */
import type { ErrorCode } from '../base/errors.js';
import type { Value } from '../base/values.js';
import type { TableDef } from '../log/types.js';
import type { Affinity, Collation } from './values/index.js';

export interface Env {
  rows: Array<Value[] | null>;
  outer: Env | undefined;
  /** Final values of the aggregates of the current group (aggregate queries only). */
  agg: Value[] | undefined;
  /** GROUP BY values of the current group's first row (grouped queries only). */
  groupKeys?: Value[];
  run: RunContext;
}

/** Per-execution state shared by every Env of one statement run. */
export interface RunContext {
  params: Value[];
  /**
   * What is computed once per run (uncorrelated subqueries, derived tables, hash tables), by the
   * plan object it belongs to; created on first use (see oncePerRun).
   */
  subqueryCache?: Map<unknown, unknown>;
  random: () => bigint;
  now: () => number;
  /** Statement-wide time travel: table references without their own clause read at this LSN. */
  asOf?: bigint;
  /** Checks a time-travel LSN (in range, retained) and returns it; throws DosqlError otherwise. */
  checkAsOf(lsn: bigint): bigint;
  /** Brings the age bound of the retention window up to now before `checkAsOf`. */
  refreshRetention(): Promise<void>;
  /** LSN of the last commit at or before a Unix-ms time (0n before the first commit). */
  lsnAtTimestamp(ms: number): Promise<bigint>;
}

/**
 * A table's record `[rowid, ...columns]` as a source named `name` in Env slot `slot`, with
 * `extraColumns` after the table's own (the period columns of FOR SYSTEM_TIME BETWEEN and ALL).
 */
export function rowSource(def: TableDef, name: string, slot: number, extraColumns: readonly string[] = []): Source {
  return {
    name: name.toLowerCase(),
    columns: [...def.columns.map((c) => c.name.toLowerCase()), ...extraColumns],
    displayNames: [...def.columns.map((c) => c.name), ...extraColumns],
    affinities: [...def.columns.map((c) => c.affinity), ...extraColumns.map(() => undefined)],
    collations: [...def.columns.map(() => undefined), ...extraColumns.map(() => undefined)],
    slot,
    offset: 1,
    hasRowid: true,
    def,
  };
}

/** The value `make` gives for `key`, made once per statement run and kept in the run's cache. */
export function oncePerRun<T>(run: RunContext, key: object, make: () => T): T {
  const cache = (run.subqueryCache ??= new Map());
  if (cache.has(key)) return cache.get(key) as T;
  const value = make();
  cache.set(key, value);
  return value;
}

export interface Source {
  /** Name used to qualify columns: the alias, or the table name. Lower-cased. */
  name: string;
  /** Column names lower-cased, in order. */
  columns: string[];
  /** Column names as declared (for result headers). */
  displayNames: string[];
  affinities: Array<Affinity | undefined>;
  collations: Array<Collation | undefined>;
  /** Index of the Env slot that holds this source's current record. */
  slot: number;
  /** Index of column 0 in the record: 1 for table records `[rowid, ...]`, 0 for derived rows. */
  offset: number;
  /** Whether record[0] is a rowid readable as rowid/oid/_rowid_. */
  hasRowid: boolean;
  /** For base tables. */
  def?: TableDef;
  /** Columns hidden from `*` expansion (USING/NATURAL right-side duplicates). */
  hidden?: Set<number>;
  /**
   * Columns some expression read (indexes into `columns`), recorded as names resolve. Derived
   * tables keep it so their unused columns are not computed, as SQLite does not compute them.
   */
  used?: Set<number>;
}

export interface Resolved {
  depth: number;
  source: Source;
  /** Index into the record. */
  index: number;
  affinity: Affinity | undefined;
  collation: Collation | undefined;
}

const ROWID_NAMES = new Set(['rowid', 'oid', '_rowid_']);

export class Scope {
  readonly sources: Source[] = [];
  /** Set when a nested scope resolved a name here: the nested query is correlated. */
  referencedFromInside = false;

  constructor(
    readonly fail: (code: ErrorCode, message: string, pos: number) => never,
    readonly parent?: Scope,
  ) {}

  add(source: Source): void {
    this.sources.push(source);
  }

  get slotCount(): number {
    return this.sources.length;
  }

  resolve(name: string, table: string | undefined, pos: number): Resolved & { scope: Scope } {
    let depth = 0;
    for (let s: Scope | undefined = this; s; s = s.parent, depth++) {
      const hit = s.resolveHere(name.toLowerCase(), table?.toLowerCase(), pos);
      if (!hit) continue;
      hit.source.used?.add(hit.index - hit.source.offset);
      return { ...hit, depth, scope: s };
    }
    const full = table ? `${table}.${name}` : name;
    return this.fail('NO_SUCH_COLUMN', `no such column: ${full}`, pos);
  }

  private resolveHere(name: string, table: string | undefined, pos: number): Omit<Resolved, 'depth'> | undefined {
    let found: Omit<Resolved, 'depth'> | undefined;
    let foundIsRowid = false;
    for (const src of this.sources) {
      if (table !== undefined && src.name !== table) continue;
      const i = src.columns.indexOf(name);
      if (i >= 0 && table === undefined && src.hidden?.has(i)) continue;
      if (i < 0) {
        // rowid/oid/_rowid_ read the rowid unless a real column has that name.
        if (!found && src.hasRowid && ROWID_NAMES.has(name)) {
          found = { source: src, index: 0, affinity: 'INTEGER', collation: undefined };
          foundIsRowid = true;
        }
        continue;
      }
      if (found && !foundIsRowid) this.fail('ERROR', `ambiguous column name: ${table ? table + '.' : ''}${name}`, pos);
      found = { source: src, index: src.offset + i, affinity: src.affinities[i], collation: src.collations[i] };
      foundIsRowid = false;
    }
    return found;
  }

  hasTable(name: string): boolean {
    return this.sources.some((s) => s.name === name.toLowerCase());
  }
}
