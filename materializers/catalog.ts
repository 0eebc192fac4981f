/**
 * The catalog: which tables exist, with which columns, at every LSN.
 *
 * Schema changes are log records like row changes, so the catalog is itself materialized from the
 * log: `create_table` adds a version of a table valid from its commit LSN, `drop_table` closes it.
 * Keeping every version (not only the current one) is what lets a reader at a past LSN see the
 * schema of that LSN: time travel and CDC decode old rows with the columns they had then.
 * Versions are few (one per DDL statement), so a list per name is enough.
 */
import { assert } from '../base/errors.js';
import type { Lsn, TableDef } from '../log/types.js';

export interface TableVersion {
  def: TableDef;
  /** Commit LSN of the transaction that created this version (inclusive). */
  fromLsn: Lsn;
  /** Commit LSN of the transaction that dropped it (exclusive); undefined while current. */
  toLsn?: Lsn;
}

export interface CatalogState {
  versions: TableVersion[];
  nextTableId: number;
}

export class Catalog {
  private versions: TableVersion[];
  private current = new Map<string, TableVersion>();
  private byId = new Map<number, TableVersion>();
  /** Next unused table id; ids are never reused so old log records stay unambiguous. */
  nextTableId: number;
  /** Bumped on every change, so cached plans know when to recompile. */
  version = 0;
  /** Positions in `versions` added or changed since the last `takeChanged`, for persistence. */
  private changed = new Set<number>();

  constructor(state: CatalogState = { versions: [], nextTableId: 1 }) {
    this.versions = state.versions;
    this.nextTableId = state.nextTableId;
    for (const v of this.versions) this.index(v);
  }

  /** The versions changed since the last call, with their positions (then forgets them). */
  takeChanged(): Array<[number, TableVersion]> {
    const out = [...this.changed].sort((a, b) => a - b).map((i): [number, TableVersion] => [i, this.versions[i]!]);
    this.changed.clear();
    return out;
  }

  state(): CatalogState {
    return { versions: this.versions, nextTableId: this.nextTableId };
  }

  /** The current table of this name (case-insensitive), if any. */
  table(name: string): TableDef | undefined {
    return this.current.get(name.toLowerCase())?.def;
  }

  tableById(id: number): TableDef | undefined {
    return this.byId.get(id)?.def;
  }

  /** A table by id, current or dropped (ids are never reused), for decoding old log records. */
  definitionOf(id: number): TableDef | undefined {
    for (let i = this.versions.length - 1; i >= 0; i--) if (this.versions[i]!.def.id === id) return this.versions[i]!.def;
    return undefined;
  }

  /** The definition of table `id` in force at `lsn`, if the table existed then. */
  definitionAt(id: number, lsn: Lsn): TableDef | undefined {
    for (let i = this.versions.length - 1; i >= 0; i--) {
      const v = this.versions[i]!;
      if (v.def.id === id && v.fromLsn <= lsn && (v.toLsn === undefined || lsn < v.toLsn)) return v.def;
    }
    return undefined;
  }

  /** The table of this name as it was at `lsn` (after applying the transaction committed there). */
  tableAt(name: string, lsn: Lsn): TableDef | undefined {
    const key = name.toLowerCase();
    for (let i = this.versions.length - 1; i >= 0; i--) {
      const v = this.versions[i]!;
      if (v.def.name.toLowerCase() !== key) continue;
      if (v.fromLsn <= lsn && (v.toLsn === undefined || lsn < v.toLsn)) return v.def;
    }
    return undefined;
  }

  tables(): TableDef[] {
    return [...this.current.values()].map((v) => v.def);
  }

  create(def: TableDef, lsn: Lsn): void {
    assert(!this.current.has(def.name.toLowerCase()), `table ${def.name} created twice`);
    const v: TableVersion = { def, fromLsn: lsn };
    this.changed.add(this.versions.push(v) - 1);
    this.index(v);
    this.nextTableId = Math.max(this.nextTableId, def.id + 1);
    this.version++;
  }

  /** A new definition of an existing table, valid from `lsn`: the old version ends there. */
  replace(def: TableDef, lsn: Lsn): void {
    const v = this.byId.get(def.id);
    assert(v !== undefined && v.toLsn === undefined, `alter of unknown table id ${def.id}`);
    v.toLsn = lsn;
    this.changed.add(this.versions.lastIndexOf(v));
    this.current.delete(v.def.name.toLowerCase());
    const next: TableVersion = { def, fromLsn: lsn };
    this.changed.add(this.versions.push(next) - 1);
    this.index(next);
    this.version++;
  }

  drop(id: number, lsn: Lsn): void {
    const v = this.byId.get(id);
    assert(v !== undefined && v.toLsn === undefined, `drop of unknown table id ${id}`);
    v.toLsn = lsn;
    this.changed.add(this.versions.lastIndexOf(v));
    this.current.delete(v.def.name.toLowerCase());
    this.byId.delete(id);
    this.version++;
  }

  private index(v: TableVersion): void {
    if (v.toLsn !== undefined) return;
    this.current.set(v.def.name.toLowerCase(), v);
    this.byId.set(v.def.id, v);
  }
}
