/**
 * Random SELECT statements over a generated schema, restricted to what has one right answer.
 *
 * Every column reference is qualified by its source's alias, so scoping is never the question
 * (except through USING, whose columns are still reachable qualified). The generator avoids the
 * places where SQLite's own answer depends on scan order: scalar subqueries are aggregates (one
 * row), grouped queries project only their GROUP BY keys and aggregates (no bare columns),
 * group_concat is measured with length() (its concatenation order is unspecified), and LIMIT /
 * OFFSET appear only under an ORDER BY that lists every output column, which is also when the
 * comparison is order-sensitive. typeof() wrappers expose INTEGER-vs-REAL differences that the
 * API's number shape would hide.
 *
 * `FEATURES` are the generator's switches; `KNOWN_GAPS` names the ones turned off because of a
 * DoSQL bug, with the bug, so the committed test passes while the bug is open.
 */
import type { Rng } from '../support/random.js';
import { BLOB_VALUES, INT_EDGES, REAL_VALUES, TEXT_VALUES, smallInt, type TableSpec } from './schema.js';

export type Feature =
  | 'arith' | 'concat' | 'compare' | 'logic' | 'isNull' | 'isDistinct' | 'case' | 'cast' | 'functions'
  | 'like' | 'glob' | 'between' | 'inList' | 'inSubquery' | 'exists' | 'scalarSubquery' | 'correlated'
  | 'typeof' | 'aggregates' | 'aggDistinct' | 'aggFilter' | 'groupConcat' | 'groupConcatOrderBy'
  | 'groupBy' | 'having' | 'orderBy' | 'nullsOrder' | 'limit' | 'distinct' | 'compound' | 'intersectExcept'
  | 'join' | 'leftJoin' | 'using' | 'natural' | 'naturalWithoutCommon' | 'derived' | 'derivedAffinity' | 'star'
  | 'collate' | 'collationPropagation' | 'nullPrimaryKey' | 'signedPositionTerm' | 'realLiteralTerm' | 'autoRowidBelowZero' | 'unaryMinus' | 'unaryPlus' | 'subqueryAffinity' | 'indexNonNumericColumns' | 'unusedColumnErrors';

/** Generator switches turned off because of a DoSQL bug; the value names the bug. */
export const KNOWN_GAPS: Partial<Record<Feature, string>> = {
};

export function enabled(f: Feature): boolean {
  return KNOWN_GAPS[f] === undefined;
}

export interface Query {
  sql: string;
  /** True when an ORDER BY lists every output column, so the row order is part of the answer. */
  ordered: boolean;
}

interface Source {
  alias: string;
  columns: string[];
}

/** What expressions may reference: qualified column names, inner sources first. */
type Scope = readonly string[];

const EXPR_DEPTH_MAX = 3;
const SUBQUERY_NESTING_MAX = 2;

const CMP_OPS = ['=', '==', '<>', '!=', '<', '<=', '>', '>=', 'IS', 'IS NOT'];
const ARITH_OPS = ['+', '-', '*', '/', '%'];
const CAST_TYPES = ['INTEGER', 'REAL', 'TEXT', 'BLOB', 'NUMERIC', 'INT', 'FLOAT', 'VARCHAR(5)'];
const LIKE_PATTERNS = ["'a%'", "'%1%'", "'_'", "'1_'", "'A%'", "'%'", "''", "'%.5'", "'a\\%%' ESCAPE '\\'", "'-%'"];
const GLOB_PATTERNS = ["'a*'", "'*1*'", "'?'", "'[a-c]*'", "'[0-9]*'", "'*'", "'A*'", "'*.5'"];
const AGGREGATES = ['count', 'sum', 'total', 'avg', 'min', 'max'];
const COLLATIONS = ['BINARY', 'NOCASE', 'RTRIM'];

export class QueryGen {
  private aliasCount = 0;
  /** True while generating a WHERE clause's root, the one spot a COLLATE cannot propagate from. */
  private collateAtRoot = false;

  constructor(
    private readonly r: Rng,
    private readonly tables: readonly TableSpec[],
  ) {}

  query(): Query {
    this.aliasCount = 0;
    const p = this.r.next();
    if (p < 0.15 && enabled('compound')) return this.compound();
    if (p < 0.4 && enabled('aggregates')) return this.grouped(0, []);
    return this.simple(0, []);
  }

  // ---- statements -------------------------------------------------------------------------

  private simple(nesting: number, outer: Scope): Query {
    const from = this.from(nesting, outer);
    const scope = [...sourceColumns(from.sources), ...outer];
    const distinct = enabled('distinct') && this.r.chance(0.15) ? 'DISTINCT ' : '';
    let projection: string;
    let width = 0;
    if (enabled('star') && this.r.chance(0.08) && !from.merges) {
      projection = '*';
      width = from.sources.reduce((n, s) => n + s.columns.length, 0);
    } else {
      width = 1 + this.r.int(3);
      const exprs: string[] = [];
      for (let i = 0; i < width; i++) exprs.push(this.projected(scope, nesting));
      projection = exprs.join(', ');
    }
    const where = this.r.chance(0.6) ? ` WHERE ${this.rootCondition(scope, nesting)}` : '';
    // Under DISTINCT an ORDER BY term that is not an output column has no single value per row.
    const order = this.orderBy(width, distinct ? undefined : scope, nesting);
    return { sql: `SELECT ${distinct}${projection} FROM ${from.sql}${where}${order.sql}`, ordered: order.ordered };
  }

  private grouped(nesting: number, outer: Scope): Query {
    const from = this.from(nesting, outer);
    const scope = [...sourceColumns(from.sources), ...outer];
    const keys: string[] = [];
    if (enabled('groupBy')) {
      const keyCount = this.r.int(3);
      for (let i = 0; i < keyCount; i++) {
        let key = this.r.chance(0.7) ? this.column(scope) : this.expr(scope, EXPR_DEPTH_MAX - 1, SUBQUERY_NESTING_MAX);
        keys.push(termSafe(key));
      }
    }
    const outputs = [...keys];
    const aggCount = 1 + this.r.int(2);
    for (let i = 0; i < aggCount; i++) {
      let agg = this.aggregate(scope, nesting === 0);
      if (this.r.chance(0.15)) agg = `(${agg} ${this.r.pick(ARITH_OPS)} ${this.literal()})`;
      if (enabled('typeof') && this.r.chance(0.15)) agg = `typeof(${agg})`;
      outputs.push(agg);
    }
    const where = this.r.chance(0.5) ? ` WHERE ${this.expr(scope, 0, nesting)}` : '';
    const groupBy = keys.length > 0 ? ` GROUP BY ${keys.join(', ')}` : '';
    let having = '';
    if (enabled('having') && this.r.chance(0.3)) {
      const lhs = this.r.chance(0.7) || keys.length === 0 ? this.aggregate(scope) : this.r.pick(keys);
      having = ` HAVING ${lhs} ${this.r.pick(CMP_OPS)} ${this.literal()}`;
    }
    const distinct = enabled('distinct') && this.r.chance(0.1) ? 'DISTINCT ' : '';
    const order = this.orderBy(outputs.length, undefined, nesting);
    return {
      sql: `SELECT ${distinct}${outputs.join(', ')} FROM ${from.sql}${where}${groupBy}${having}${order.sql}`,
      ordered: order.ordered,
    };
  }

  private compound(): Query {
    const width = 1 + this.r.int(2);
    const ops = ['UNION', 'UNION ALL', ...(enabled('intersectExcept') ? ['INTERSECT', 'EXCEPT'] : [])];
    const parts = [this.core(width)];
    const more = 1 + (this.r.chance(0.3) ? 1 : 0);
    for (let i = 0; i < more; i++) {
      const op = this.r.pick(ops);
      // SQLite skips the arms after an empty INTERSECT / EXCEPT left side, so a runtime error
      // there (sum() overflowing) would depend on evaluation order: such arms do not aggregate.
      parts.push(op, this.core(width, op === 'UNION' || op === 'UNION ALL'));
    }
    const order = this.orderBy(width, undefined, 0);
    return { sql: `${parts.join(' ')}${order.sql}`, ordered: order.ordered };
  }

  /** One arm of a compound: no ORDER BY or LIMIT of its own. */
  private core(width: number, mayAggregate = true): string {
    const from = this.from(0, []);
    const scope = sourceColumns(from.sources);
    const distinct = enabled('distinct') && this.r.chance(0.1) ? 'DISTINCT ' : '';
    if (enabled('aggregates') && mayAggregate && this.r.chance(0.2)) {
      const outs: string[] = [];
      for (let i = 0; i < width; i++) outs.push(this.aggregate(scope, true));
      return `SELECT ${outs.join(', ')} FROM ${from.sql}`;
    }
    const outs: string[] = [];
    for (let i = 0; i < width; i++) outs.push(this.projected(scope, 0));
    const where = this.r.chance(0.5) ? ` WHERE ${this.expr(scope, 0, 0)}` : '';
    return `SELECT ${distinct}${outs.join(', ')} FROM ${from.sql}${where}`;
  }

  /**
   * ORDER BY over output positions; when it lists them all the order is determined (and LIMIT /
   * OFFSET become safe to add). `scope` allows a leading arbitrary expression (simple selects).
   */
  private orderBy(width: number, scope: Scope | undefined, nesting: number): { sql: string; ordered: boolean } {
    if (!enabled('orderBy') || width === 0 || !this.r.chance(0.45)) return { sql: '', ordered: false };
    const positions = Array.from({ length: width }, (_, i) => i + 1);
    const terms: string[] = [];
    if (scope !== undefined && scope.length > 0 && this.r.chance(0.2)) terms.push(termSafe(this.expr(scope, 1, SUBQUERY_NESTING_MAX + nesting)));
    const all = this.r.chance(0.7);
    const count = all ? width : 1 + this.r.int(width);
    for (let i = 0; i < count; i++) {
      const pos = positions.splice(this.r.int(positions.length), 1)[0]!;
      let term = String(pos);
      if (this.r.chance(0.4)) term += this.r.chance(0.5) ? ' DESC' : ' ASC';
      if (enabled('nullsOrder') && this.r.chance(0.3)) term += this.r.chance(0.5) ? ' NULLS FIRST' : ' NULLS LAST';
      terms.push(term);
    }
    const ordered = count === width;
    let limit = '';
    if (ordered && enabled('limit') && this.r.chance(0.5)) {
      const n = this.r.int(6) - (this.r.chance(0.1) ? 2 : 0);
      const style = this.r.int(3);
      limit = style === 0 ? ` LIMIT ${n}` : style === 1 ? ` LIMIT ${n} OFFSET ${this.r.int(4)}` : ` LIMIT ${this.r.int(3)}, ${n}`;
    }
    return { sql: ` ORDER BY ${terms.join(', ')}${limit}`, ordered };
  }

  // ---- FROM -------------------------------------------------------------------------------

  private from(nesting: number, outer: Scope): { sql: string; sources: Source[]; merges: boolean } {
    const p = this.r.next();
    const count = p < 0.45 ? 1 : p < 0.88 ? 2 : 3;
    const sources: Source[] = [];
    let sql = '';
    let merges = false;
    for (let i = 0; i < count; i++) {
      const src = this.source(nesting);
      if (i === 0) {
        sql = src.sql;
        sources.push(src.source);
        continue;
      }
      const joinKinds = ['comma', 'cross', ...(enabled('join') ? ['inner', 'inner'] : []), ...(enabled('leftJoin') ? ['left', 'left'] : [])];
      const kind = this.r.pick(joinKinds);
      const shared = src.source.columns.filter((c) => sources.filter((s) => s.columns.includes(c)).length === 1);
      if (enabled('using') && shared.length > 0 && kind !== 'comma' && kind !== 'cross' && this.r.chance(0.25)) {
        const cols = [this.r.pick(shared)];
        sql += ` ${kind === 'left' ? 'LEFT JOIN' : 'JOIN'} ${src.sql} USING (${cols.join(', ')})`;
        merges = true;
      } else if (enabled('natural') && kind !== 'comma' && kind !== 'cross' && this.r.chance(0.05) && sources.length === 1 && (enabled('naturalWithoutCommon') || shared.length > 0)) {
        sql += ` NATURAL ${kind === 'left' ? 'LEFT ' : ''}JOIN ${src.sql}`;
        merges = true;
      } else if (kind === 'comma') {
        sql += `, ${src.sql}`;
      } else if (kind === 'cross') {
        sql += ` CROSS JOIN ${src.sql}`;
      } else {
        const scope = [...sourceColumns([...sources, src.source]), ...outer];
        const left = this.r.pick(sourceColumns(sources));
        const right = this.r.pick(sourceColumns([src.source]));
        let on = `${left} ${this.r.chance(0.8) ? '=' : this.r.pick(CMP_OPS)} ${right}`;
        if (this.r.chance(0.25)) on = `(${on}) ${this.r.pick(['AND', 'OR'])} ${this.expr(scope, 1, nesting)}`;
        else if (this.r.chance(0.1)) on = this.expr(scope, 0, nesting);
        sql += ` ${kind === 'left' ? 'LEFT JOIN' : 'JOIN'} ${src.sql} ON ${on}`;
      }
      sources.push(src.source);
    }
    return { sql, sources, merges };
  }

  /** Depth of derived-table projections being generated (see KNOWN_GAPS.unusedColumnErrors). */
  private inDerived = 0;

  private source(nesting: number): { sql: string; source: Source } {
    const alias = `s${this.aliasCount++}`;
    if (enabled('derived') && nesting < SUBQUERY_NESTING_MAX && this.r.chance(0.12)) {
      const width = 1 + this.r.int(3);
      const inner = this.from(nesting + 1, []);
      const scope = sourceColumns(inner.sources);
      const columns = Array.from({ length: width }, (_, i) => `k${i}`);
      let body: string;
      if (enabled('aggregates') && this.r.chance(0.3)) {
        const key = this.column(scope);
        const outs = [`${this.withoutAffinity(key)} AS k0`, ...columns.slice(1).map((k) => `${this.aggregate(scope)} AS ${k}`)];
        body = `SELECT ${outs.join(', ')} FROM ${inner.sql} GROUP BY ${key}`;
      } else {
        this.inDerived++;
        const outs = columns.map((k) => `${this.withoutAffinity(this.projected(scope, nesting + 1))} AS ${k}`);
        this.inDerived--;
        const where = this.r.chance(0.5) ? ` WHERE ${this.expr(scope, 1, nesting + 1)}` : '';
        body = `SELECT ${outs.join(', ')} FROM ${inner.sql}${where}`;
      }
      return { sql: `(${body}) AS ${alias}`, source: { alias, columns } };
    }
    const t = this.r.pick(this.tables);
    return { sql: `${t.name} AS ${alias}`, source: { alias, columns: t.columns } };
  }

  private rootCondition(scope: Scope, nesting: number): string {
    this.collateAtRoot = true;
    try {
      return this.expr(scope, 0, nesting);
    } finally {
      this.collateAtRoot = false;
    }
  }

  /** While derived-table affinity is a known gap, unary + strips it on both engines. */
  private withoutAffinity(e: string): string {
    return enabled('derivedAffinity') ? e : `+(${e})`;
  }

  // ---- expressions ------------------------------------------------------------------------

  private projected(scope: Scope, nesting: number): string {
    const e = this.expr(scope, this.r.chance(0.3) ? 0 : 1, nesting);
    return enabled('typeof') && this.r.chance(0.2) ? `typeof(${e})` : e;
  }

  private column(scope: Scope): string {
    return scope.length > 0 ? this.r.pick(scope) : this.literal();
  }

  literal(): string {
    const p = this.r.next();
    if (p < 0.1) return 'NULL';
    if (p < 0.5) return smallInt(this.r);
    if (p < 0.65) return this.r.pick(REAL_VALUES);
    if (p < 0.85) return this.r.pick(TEXT_VALUES);
    if (p < 0.9) return this.r.pick(BLOB_VALUES);
    return this.r.pick(INT_EDGES);
  }

  private leaf(scope: Scope): string {
    return scope.length > 0 && this.r.chance(0.65) ? this.r.pick(scope) : this.literal();
  }

  /** An expression; depth counts up to EXPR_DEPTH_MAX, nesting counts subquery levels. */
  expr(scope: Scope, depth: number, nesting: number): string {
    if (depth >= EXPR_DEPTH_MAX || this.r.chance(0.25 + depth * 0.15)) return this.leaf(scope);
    const d = depth + 1;
    const e = (): string => this.expr(scope, d, nesting);
    for (let attempt = 0; attempt < 20; attempt++) {
      const k = this.r.int(19);
      switch (k) {
        case 0:
          if (enabled('unaryMinus') && this.r.chance(0.15)) return `(- ${e()})`;
          if (enabled('unaryPlus') && this.r.chance(0.1)) return `(+ ${e()})`;
          if (enabled('arith')) return `(${e()} ${this.r.pick(ARITH_OPS)} ${e()})`;
          break;
        case 1:
          if (enabled('concat')) return `(${e()} || ${e()})`;
          break;
        case 2:
        case 3:
          if (enabled('compare')) return `(${e()} ${this.r.pick(CMP_OPS)} ${e()})`;
          break;
        case 4:
          if (enabled('logic')) return this.r.chance(0.2) ? `(NOT ${e()})` : `(${e()} ${this.r.pick(['AND', 'OR'])} ${e()})`;
          break;
        case 5:
          if (enabled('isNull')) return `(${e()} ${this.r.pick(['IS NULL', 'IS NOT NULL', 'ISNULL', 'NOTNULL', 'NOT NULL'])})`;
          break;
        case 6:
          if (enabled('isDistinct')) return `(${e()} ${this.r.pick(['IS DISTINCT FROM', 'IS NOT DISTINCT FROM'])} ${e()})`;
          break;
        case 7:
          if (enabled('case')) return this.caseExpr(e);
          break;
        case 8:
          if (enabled('cast')) return `CAST(${e()} AS ${this.r.pick(CAST_TYPES)})`;
          break;
        case 9:
        case 10:
          if (enabled('functions')) return this.call(e);
          break;
        case 11:
          // better-sqlite3 builds SQLite with SQLITE_LIKE_DOESNT_MATCH_BLOBS (a BLOB operand never
          // matches), unlike stock SQLite, so LIKE and GLOB only ever see TEXT here.
          if (enabled('like') && this.r.chance(0.6)) return `(${asText(e())} ${this.r.chance(0.2) ? 'NOT ' : ''}LIKE ${this.r.chance(0.8) ? this.r.pick(LIKE_PATTERNS) : asText(e())})`;
          if (enabled('glob')) return `(${asText(e())} ${this.r.chance(0.2) ? 'NOT ' : ''}GLOB ${this.r.pick(GLOB_PATTERNS)})`;
          break;
        case 12:
          if (enabled('between')) return `(${e()} ${this.r.chance(0.2) ? 'NOT ' : ''}BETWEEN ${e()} AND ${e()})`;
          break;
        case 13: {
          if (!enabled('inList')) break;
          const items = Array.from({ length: this.r.int(4) + (this.r.chance(0.95) ? 1 : 0) }, () => this.literal());
          return `(${e()} ${this.r.chance(0.25) ? 'NOT ' : ''}IN (${items.join(', ')}))`;
        }
        case 14:
          if (enabled('inSubquery') && nesting < SUBQUERY_NESTING_MAX) return `(${e()} ${this.r.chance(0.25) ? 'NOT ' : ''}IN (${this.subquery(scope, nesting, 'in')}))`;
          break;
        case 15:
          if (enabled('exists') && nesting < SUBQUERY_NESTING_MAX) return `(${this.r.chance(0.25) ? 'NOT ' : ''}EXISTS (${this.subquery(scope, nesting, 'exists')}))`;
          break;
        case 16:
          if (enabled('scalarSubquery') && nesting < SUBQUERY_NESTING_MAX) return `(${this.subquery(scope, nesting, 'scalar')})`;
          break;
        case 17:
          if (enabled('typeof')) return `typeof(${e()})`;
          break;
        case 18:
          if (enabled('collate') && (enabled('collationPropagation') || (depth === 0 && this.collateAtRoot))) return `(${e()} COLLATE ${this.r.pick(COLLATIONS)} ${this.r.pick(CMP_OPS.slice(0, 8))} ${e()})`;
          break;
      }
    }
    return this.leaf(scope);
  }

  private caseExpr(e: () => string): string {
    const arms = 1 + this.r.int(2);
    const base = this.r.chance(0.4) ? ` ${e()}` : '';
    let s = `CASE${base}`;
    for (let i = 0; i < arms; i++) s += ` WHEN ${e()} THEN ${e()}`;
    if (this.r.chance(0.6)) s += ` ELSE ${e()}`;
    return `${s} END`;
  }

  private call(e: () => string): string {
    const f = this.r.int(22);
    switch (f) {
      case 0: return this.inDerived && !enabled('unusedColumnErrors') ? `coalesce(${e()}, NULL)` : `abs(${e()})`;
      case 1: return `coalesce(${e()}, ${e()}${this.r.chance(0.4) ? `, ${e()}` : ''})`;
      case 2: return `ifnull(${e()}, ${e()})`;
      case 3: return `nullif(${e()}, ${e()})`;
      case 4: return `length(${e()})`;
      case 5: return `lower(${e()})`;
      case 6: return `upper(${e()})`;
      case 7: return this.r.chance(0.5) ? `substr(${e()}, ${e()})` : `substr(${e()}, ${e()}, ${e()})`;
      case 8: return `${this.r.pick(['trim', 'ltrim', 'rtrim'])}(${e()}${this.r.chance(0.3) ? `, ${e()}` : ''})`;
      case 9: return this.r.chance(0.5) ? `round(${e()})` : `round(${e()}, ${this.r.int(4) - 1})`;
      case 10: return `instr(${e()}, ${e()})`;
      case 11: return `replace(${e()}, ${e()}, ${e()})`;
      case 12: return `hex(${e()})`;
      case 13: return `quote(${e()})`;
      case 14: return `${this.r.pick(['min', 'max'])}(${e()}, ${e()}${this.r.chance(0.3) ? `, ${e()}` : ''})`;
      case 15: return `iif(${e()}, ${e()}, ${e()})`;
      case 16: return `typeof(${e()})`;
      case 17: return `unicode(${e()})`;
      case 18: return `sign(${e()})`;
      case 19: return `printf('%d|%s|%.3f', ${e()}, ${e()}, ${e()})`;
      case 20: return `char(${this.r.int(100) + 40}, ${this.r.int(100) + 40})`;
      default: return `zeroblob(${this.r.int(3)})`;
    }
  }

  /**
   * An aggregate call. sum() is the one aggregate that can fail (integer overflow), and whether
   * a failure surfaces depends on whether the engine evaluates that spot at all (SQLite skips a
   * subquery behind a true OR term, or a derived table joined to nothing), so sum() appears only
   * where it is always evaluated: the outputs of a top-level grouped query or compound arm.
   */
  private aggregate(scope: Scope, mayFail = false): string {
    const arg = (): string => (this.r.chance(0.7) ? this.column(scope) : this.expr(scope, EXPR_DEPTH_MAX - 1, SUBQUERY_NESTING_MAX));
    const filter = enabled('aggFilter') && this.r.chance(0.2) ? ` FILTER (WHERE ${this.expr(scope, 1, SUBQUERY_NESTING_MAX)})` : '';
    if (this.r.chance(0.15)) return `count(*)${filter}`;
    if (enabled('groupConcat') && this.r.chance(0.12)) {
      if (enabled('groupConcatOrderBy') && this.r.chance(0.5)) {
        const x = arg();
        return `group_concat(${x}, ',' ORDER BY ${x}${this.r.chance(0.5) ? ' DESC' : ''})${filter}`;
      }
      // A BLOB's bytes may hold a NUL, where length() stops counting: that would make the
      // length depend on the (unspecified) concatenation order, so BLOBs go in as hex.
      const x = this.column(scope);
      const item = `iif(typeof(${x}) = 'blob', hex(${x}), ${x})`;
      const distinct = enabled('aggDistinct') && this.r.chance(0.3);
      const body = distinct ? `DISTINCT ${item}` : this.r.chance(0.5) ? `${item}, '-'` : item;
      return `length(group_concat(${body})${filter})`;
    }
    const distinct = enabled('aggDistinct') && this.r.chance(0.2) ? 'DISTINCT ' : '';
    const fn = this.r.pick(mayFail ? AGGREGATES : AGGREGATES.filter((a) => a !== 'sum'));
    return `${fn}(${distinct}${arg()})${filter}`;
  }

  /** A subquery for IN (one column), EXISTS, or a scalar (an aggregate: exactly one row). */
  private subquery(outer: Scope, nesting: number, kind: 'in' | 'exists' | 'scalar'): string {
    const n = nesting + 1;
    const correlated = enabled('correlated') && this.r.chance(0.5);
    const from = this.from(n, correlated ? outer : []);
    const inner = sourceColumns(from.sources);
    const scope = correlated ? [...inner, ...outer] : inner;
    let where = '';
    if (correlated && inner.length > 0 && outer.length > 0) {
      where = ` WHERE ${this.r.pick(inner)} ${this.r.pick(CMP_OPS)} ${this.r.pick(outer)}`;
      if (this.r.chance(0.3)) where += ` AND ${this.expr(scope, 1, n)}`;
    } else if (this.r.chance(0.5)) {
      where = ` WHERE ${this.expr(scope, 1, n)}`;
    }
    if (kind === 'scalar') return `SELECT ${this.aggregate(inner.length > 0 ? inner : scope)} FROM ${from.sql}${where}`;
    if (kind === 'exists') return `SELECT ${this.r.chance(0.5) ? '1' : this.leaf(scope)} FROM ${from.sql}${where}`;
    let col = this.r.chance(0.8) ? this.column(inner) : this.expr(scope, 1, n);
    if (!enabled('subqueryAffinity')) col = `+(${col})`;
    const distinct = this.r.chance(0.2) ? 'DISTINCT ' : '';
    // SQLite answers `x IN (SELECT col ...)` wrongly (0 or 1 where NULL is right) when it probes a
    // DESC index on col that holds NULLs: LIMIT -1 (no limit) keeps it off that plan.
    return `SELECT ${distinct}${col} FROM ${from.sql}${where} LIMIT -1`;
  }
}

/**
 * A GROUP BY / ORDER BY term that both engines read as an expression, not a column position.
 * SQLite's parser folds `literal IS NULL` / `NOTNULL` into the integer 0 or 1, which then reads
 * as a position (an oracle quirk, not a DoSQL bug): coalesce(e, NULL) hides that without
 * changing the value. REAL literals (and integers past 32 bits) get the same wrapper while KNOWN_GAPS.realLiteralTerm is open.
 */
function termSafe(e: string): string {
  if (/NULL/.test(e) && !/^[a-z]\w*\.\w+$/.test(e)) return `coalesce(${e}, NULL)`;
  if (!enabled('signedPositionTerm') && /^[-+ ()0-9]+$/.test(e) && /[-+]/.test(e)) return `coalesce(${e}, NULL)`;
  if (!enabled('realLiteralTerm') && /^-?[0-9.]+(e-?[0-9]+)?$/.test(e) && (/[.e]/.test(e) || Math.abs(Number(e)) > 2147483647)) return `coalesce(${e}, NULL)`;
  return e;
}

function asText(e: string): string {
  return `CAST(${e} AS TEXT)`;
}

function sourceColumns(sources: readonly Source[]): string[] {
  return sources.flatMap((s) => s.columns.map((c) => `${s.alias}.${c}`));
}
