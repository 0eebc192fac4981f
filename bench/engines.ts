/**
 * One adapter per engine, so a workload is written once and runs the same SQL on every engine,
 * each used the way its users use it: prepared statements where the API has them (DoSQL,
 * better-sqlite3, sql.js, DuckDB), `query(sql, params)` for PGlite (its API; it prepares an unnamed
 * statement per call). Synchronous engines (better-sqlite3, sql.js) loop without awaiting each call
 * (`each`), so no engine pays for promises it would not create in real use.
 *
 * Dialect differences handled here: PostgreSQL and DuckDB take REAL as 4-byte float, so REAL
 * becomes DOUBLE PRECISION; PostgreSQL numbers its placeholders ($1, $2, ...).
 */
import BetterSqlite3 from 'better-sqlite3';
import initSqlJs from 'sql.js';
import { join } from 'node:path';
import { Database } from 'dosql';
import { quick, tempDir, type Case } from './harness.js';
import { KV_DDL, KV_INSERT, kvRow, type Param } from './kv.js';

export { KV_DDL, KV_INSERT, kvRow, randomIds, type Param } from './kv.js';

export interface Stmt {
  run(p: Param[]): unknown;
  get(p: Param[]): unknown;
  all(p: Param[]): unknown;
  /** Every parameter set in one call, where the engine's API has one (DoSQL's `runMany`). */
  runMany?(ps: Param[][]): Promise<unknown>;
}

export interface Engine {
  name: string;
  sync: boolean;
  exec(sql: string): Promise<void>;
  prepare(sql: string): Stmt;
  /** `f` over `xs`, awaiting each call only on asynchronous engines. */
  each<T>(xs: readonly T[], f: (x: T) => unknown): Promise<void>;
  /** Run `f` inside BEGIN ... COMMIT. */
  transaction(f: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
  /** The underlying database, for engine-specific work (DoSQL's `subscribe`, AS OF). */
  raw: unknown;
}

async function eachSync<T>(xs: readonly T[], f: (x: T) => unknown): Promise<void> {
  for (let i = 0; i < xs.length; i++) f(xs[i]!);
}
async function eachAsync<T>(xs: readonly T[], f: (x: T) => unknown): Promise<void> {
  for (let i = 0; i < xs.length; i++) await f(xs[i]!);
}

export async function dosql(options: { path?: string; checkpointChangesMin?: number; cacheBytesMax?: number } = {}): Promise<Engine & { raw: Database }> {
  const db = await Database.open(options);
  return {
    name: options.path ? 'dosql (file)' : 'dosql',
    sync: false,
    raw: db,
    exec: async (sql) => void (await db.exec(sql)),
    prepare(sql) {
      const s = db.prepare(sql);
      return { run: (p) => s.run(p), get: (p) => s.get(p), all: (p) => s.all(p), runMany: (ps) => s.runMany(ps) };
    },
    each: eachAsync,
    async transaction(f) {
      await db.exec('BEGIN');
      await f();
      await db.exec('COMMIT');
    },
    close: () => db.close(),
  };
}

/** better-sqlite3 in memory, or (`file`) a file database in WAL mode with synchronous=FULL. */
export async function betterSqlite(options: { file?: boolean; path?: string } = {}): Promise<Engine & { raw: BetterSqlite3.Database }> {
  const path = options.path ?? (options.file ? join(tempDir('bsq'), 'db.sqlite') : ':memory:');
  const db = new BetterSqlite3(path);
  if (path !== ':memory:') {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
  }
  return {
    name: path === ':memory:' ? 'better-sqlite3 :memory:' : 'better-sqlite3 file WAL FULL',
    sync: true,
    raw: db,
    exec: async (sql) => void db.exec(sql),
    prepare(sql) {
      const s = db.prepare(sql);
      const reader = s.reader;
      return { run: (p) => (reader ? s.all(...p) : s.run(...p)), get: (p) => s.get(...p), all: (p) => s.all(...p) };
    },
    each: eachSync,
    async transaction(f) {
      db.exec('BEGIN');
      await f();
      db.exec('COMMIT');
    },
    close: async () => void db.close(),
  };
}

export async function sqlJs(): Promise<Engine> {
  const SQL = await initSqlJs();
  const db = new SQL.Database();
  return {
    name: 'sql.js',
    sync: true,
    raw: db,
    exec: async (sql) => void db.exec(sql),
    prepare(sql) {
      const s = db.prepare(sql);
      return {
        run: (p) => s.run(p),
        get(p) {
          s.bind(p);
          const row = s.step() ? s.getAsObject() : undefined;
          s.reset();
          return row;
        },
        all(p) {
          s.bind(p);
          const rows = [];
          while (s.step()) rows.push(s.getAsObject());
          s.reset();
          return rows;
        },
      };
    },
    each: eachSync,
    async transaction(f) {
      db.exec('BEGIN');
      await f();
      db.exec('COMMIT');
    },
    close: async () => db.close(),
  };
}

function pgSql(sql: string): string {
  let n = 0;
  return sql.replace(/\bREAL\b/g, 'DOUBLE PRECISION').replace(/\?/g, () => `$${++n}`);
}

export async function pglite(): Promise<Engine> {
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create();
  return {
    name: 'PGlite',
    sync: false,
    raw: db,
    exec: async (sql) => void (await db.exec(pgSql(sql))),
    prepare(sql) {
      const text = pgSql(sql);
      return {
        run: (p) => db.query(text, p),
        get: async (p) => (await db.query(text, p)).rows[0],
        all: async (p) => (await db.query(text, p)).rows,
      };
    },
    each: eachAsync,
    async transaction(f) {
      await db.exec('BEGIN');
      await f();
      await db.exec('COMMIT');
    },
    close: () => db.close(),
  };
}

export async function duckdb(): Promise<Engine> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  return {
    name: 'DuckDB',
    sync: false,
    raw: conn,
    exec: async (sql) => void (await conn.run(sql.replace(/\bREAL\b/g, 'DOUBLE PRECISION'))),
    prepare(sql) {
      const ready = conn.prepare(sql);
      const read = async (p: Param[]) => {
        const s = await ready;
        s.bind(p);
        return (await s.runAndReadAll()).getRowObjects();
      };
      return {
        run: async (p) => {
          const s = await ready;
          s.bind(p);
          await s.run();
        },
        get: async (p) => (await read(p))[0],
        all: read,
      };
    },
    each: eachAsync,
    async transaction(f) {
      await conn.run('BEGIN');
      await f();
      await conn.run('COMMIT');
    },
    close: async () => {
      conn.closeSync();
      instance.closeSync();
    },
  };
}

export const PGLITE = 'PGlite';

/** The in-memory engines every OLTP workload runs on. */
export const oltpEngines: Array<{ name: string; open: () => Promise<Engine> }> = [
  { name: 'dosql', open: () => dosql() },
  { name: 'better-sqlite3 :memory:', open: () => betterSqlite() },
  { name: 'better-sqlite3 file WAL FULL', open: () => betterSqlite({ file: true }) },
  { name: 'sql.js', open: () => sqlJs() },
  { name: PGLITE, open: () => pglite() },
];

/** Most operations per timed run, by engine name. */
export type OpsCaps = Partial<Record<string, number>>;

/**
 * PGlite's cap outside `--quick`: it spends 0.3-0.5 ms per statement (2-3 ms for an index lookup
 * of 100 rows), so 100k statements take 25-45 s per run and 4 runs per workload made a full
 * `npm run bench` last most of an hour. Capped, it runs `max` operations and is compared per
 * operation; the generated tables say so.
 */
export function capPglite(max: number): OpsCaps {
  return quick ? {} : { [PGLITE]: max };
}

/**
 * Create and fill the key-value table with rows 1..n in one transaction. The load is untimed, so
 * PGlite takes its fastest path (`generate_series`, the same values as `kvRow`) instead of n
 * single-row INSERTs (about 25 s for 100k rows).
 */
export async function loadKv(e: Engine, n: number): Promise<void> {
  await e.exec(KV_DDL);
  if (e.name === PGLITE) {
    await e.exec(`INSERT INTO t SELECT g, 'name-' || g, g * 0.5, (g::bigint * 7919) % 1000 FROM generate_series(1, ${n}) g`);
    return;
  }
  const ins = e.prepare(KV_INSERT);
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  await e.transaction(() => e.each(ids, (i) => ins.run(kvRow(i))));
}

/**
 * Timed cases over `oltpEngines` sharing one fixture `open` and one `run`; `run` gets how many of
 * the workload's `ops` operations this engine runs (fewer when `caps` caps it).
 */
export function oltpCases(
  open: (e: Engine) => Promise<void>,
  run: (e: Engine, ops: number) => Promise<void>,
  options: { ops: number; caps?: OpsCaps; engines?: typeof oltpEngines },
): Array<Case<Engine>> {
  return (options.engines ?? oltpEngines).map((spec) => {
    const ops = Math.min(options.ops, options.caps?.[spec.name] ?? options.ops);
    return {
      engine: spec.name,
      ...(ops < options.ops ? { ops } : {}),
      async open() {
        const e = await spec.open();
        try {
          await open(e);
        } catch (err) {
          await e.close().catch(() => undefined);
          throw err;
        }
        return e;
      },
      run: (e: Engine) => run(e, ops),
      close: (e: Engine) => e.close(),
    };
  });
}
