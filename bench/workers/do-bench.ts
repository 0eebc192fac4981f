/**
 * The Durable Object bench Worker (bench/workers/wrangler.toml), driven from Node by
 * bench/workloads/durable-object.ts under `wrangler dev`.
 *
 * One SQLite-backed Durable Object (`BenchObject`, always the object named `bench`) holds two
 * engines over ITS OWN storage: `ctx.storage.sql`, the object's built-in SQLite, used the way its
 * users use it (`sql.exec(text, ...params)` in a synchronous loop, a bulk insert inside
 * `ctx.storage.transactionSync`), and DoSQL opened on the same storage the way server/ opens it
 * (`Database.open({ storage: new DurableObjectStore(ctx.storage) })`, prepared statements,
 * `BEGIN ... COMMIT` around the bulk insert, one awaited autocommit per update), from the built
 * package in dist/ like every Node workload (`dosql` resolves there), so all DoSQL figures of one
 * `npm run bench` come from the same build. The two never
 * collide: the SQL tables are the object's own, DoSQL's log and pages live in the key-value API.
 * Both engines run the same statements (bench/kv.ts) on the same rows.
 *
 * Every request is one POST of a `Command` to `/`, and runs one whole operation (a fixture load,
 * or one timed run of a workload) inside the object. The answer carries a checksum of what was
 * read or written, so the driver can check both engines did the same work, and the time the
 * object's own clock saw. That clock does not advance while code runs without I/O in workerd
 * (Spectre mitigation), so the driver times each request from outside instead and subtracts the
 * median of `noop` requests (see bench/workloads/durable-object.ts).
 *
 * No `cloudflare:` import: the object is a plain class over structural types (like
 * storage/durable-object.ts), so the root tsconfig, which type-checks bench/ with Node's types
 * only, checks this file too.
 */
// The built package (dist/, `npm run build`), as the Node workloads use it through `dosql`.
import { Database, type PreparedStatement } from '../../dist/query/database.js';
import { DurableObjectStore, type DurableObjectKv } from '../../dist/storage/durable-object.js';
import { kvDdl, kvInsert, kvRow, KV_LOOKUP, KV_SCAN, KV_UPDATE, randomIds, type Param } from '../kv.js';

/** The part of workerd's `SqlStorageCursor` used here. */
interface SqlCursor {
  one(): Record<string, unknown>;
  toArray(): Array<Record<string, unknown>>;
  readonly rowsWritten: number;
}

/** The part of `DurableObjectStorage` used here: its key-value API (for DoSQL) and its SQL API. */
interface BenchStorage extends DurableObjectKv {
  sql: { exec(query: string, ...bindings: Param[]): SqlCursor };
  transactionSync<T>(f: () => T): T;
}

interface BenchState {
  storage: BenchStorage;
}

interface BenchNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}

interface Env {
  BENCH: BenchNamespace;
}

export type EngineName = 'sql' | 'dosql';

/** One request: an untimed fixture step or one timed workload run. */
export type Command =
  | { op: 'noop' }
  | { op: 'load'; engine: EngineName; rows: number }
  | { op: 'reset-bulk'; engine: EngineName }
  | { op: 'bulk'; engine: EngineName; rows: number }
  | { op: 'lookups'; engine: EngineName; rows: number; count: number }
  | { op: 'scans'; engine: EngineName; rows: number; count: number; span: number }
  | { op: 'updates'; engine: EngineName; rows: number; count: number };

export interface Answer {
  /** What was read or written, equal on both engines for the same command. */
  checksum: number;
  /** Milliseconds the object's own clock saw (0 when workerd's clock stands still). */
  innerMs: number;
}

/** Most rows or operations one command may ask for: bounds every loop below. */
const COMMAND_ITEMS_MAX = 1_000_000;
const BULK_TABLE = 'bulk';

/** The workloads, written once per engine in that engine's own idiom. */
interface Runner {
  resetTable(table: string): Promise<void>;
  /** Insert rows 1..n into `table` in one transaction. */
  insertRows(table: string, n: number): Promise<void>;
  /** Sum of the scores read. */
  lookups(ids: number[]): Promise<number>;
  /** Rows read. */
  scans(starts: number[], span: number): Promise<number>;
  /** Rows changed. */
  updates(ids: number[]): Promise<number>;
}

function sqlRunner(storage: BenchStorage): Runner {
  const sql = storage.sql;
  return {
    async resetTable(table) {
      sql.exec(`DROP TABLE IF EXISTS ${table}`);
      sql.exec(kvDdl(table));
    },
    async insertRows(table, n) {
      const text = kvInsert(table);
      storage.transactionSync(() => {
        for (let i = 1; i <= n; i++) sql.exec(text, ...kvRow(i));
      });
    },
    async lookups(ids) {
      let sum = 0;
      for (const id of ids) sum += sql.exec(KV_LOOKUP, id).one().score as number;
      return sum;
    },
    async scans(starts, span) {
      let rows = 0;
      for (const s of starts) rows += sql.exec(KV_SCAN, s, s + span - 1).toArray().length;
      return rows;
    },
    async updates(ids) {
      let changed = 0;
      for (const id of ids) changed += sql.exec(KV_UPDATE, id).rowsWritten;
      return changed;
    },
  };
}

function dosqlRunner(db: Database): Runner {
  const prepared = new Map<string, PreparedStatement>();
  const stmt = (text: string): PreparedStatement => {
    let s = prepared.get(text);
    if (!s) prepared.set(text, (s = db.prepare(text)));
    return s;
  };
  return {
    async resetTable(table) {
      await db.exec(`DROP TABLE IF EXISTS ${table}`);
      await db.exec(kvDdl(table));
    },
    async insertRows(table, n) {
      const ins = stmt(kvInsert(table));
      await db.exec('BEGIN');
      await ins.runMany(Array.from({ length: n }, (_, i) => kvRow(i + 1)));
      await db.exec('COMMIT');
    },
    async lookups(ids) {
      const get = stmt(KV_LOOKUP);
      let sum = 0;
      for (const id of ids) sum += (await get.get([id]))!.score as number;
      return sum;
    },
    async scans(starts, span) {
      const scan = stmt(KV_SCAN);
      let rows = 0;
      for (const s of starts) rows += (await scan.all([s, s + span - 1])).length;
      return rows;
    },
    async updates(ids) {
      const upd = stmt(KV_UPDATE);
      let changed = 0;
      for (const id of ids) changed += (await upd.run([id])).rowsAffected;
      return changed;
    },
  };
}

function checkItems(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 1 || n > COMMAND_ITEMS_MAX) throw new RangeError(`${what} must be in 1..${COMMAND_ITEMS_MAX}, got ${n}`);
  return n;
}

export class BenchObject {
  private readonly sql: Runner;
  private dosql: Promise<Runner> | undefined;

  constructor(
    private readonly ctx: BenchState,
    _env: Env,
  ) {
    this.sql = sqlRunner(ctx.storage);
  }

  private runner(engine: EngineName): Promise<Runner> {
    if (engine === 'sql') return Promise.resolve(this.sql);
    this.dosql ??= Database.open({ storage: new DurableObjectStore(this.ctx.storage) }).then(dosqlRunner);
    return this.dosql;
  }

  async fetch(request: Request): Promise<Response> {
    try {
      const command = (await request.json()) as Command;
      const started = performance.now();
      const checksum = await this.run(command);
      const answer: Answer = { checksum, innerMs: performance.now() - started };
      return Response.json(answer);
    } catch (e) {
      return new Response(e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e), { status: 500 });
    }
  }

  private async run(c: Command): Promise<number> {
    if (c.op === 'noop') return 0;
    const r = await this.runner(c.engine);
    switch (c.op) {
      case 'load':
        await r.resetTable('t');
        await r.insertRows('t', checkItems(c.rows, 'rows'));
        return c.rows;
      case 'reset-bulk':
        await r.resetTable(BULK_TABLE);
        return 0;
      case 'bulk':
        await r.insertRows(BULK_TABLE, checkItems(c.rows, 'rows'));
        return c.rows;
      case 'lookups':
        return r.lookups(randomIds(checkItems(c.count, 'count'), checkItems(c.rows, 'rows')));
      case 'scans':
        return r.scans(randomIds(checkItems(c.count, 'count'), checkItems(c.rows - c.span, 'rows - span')), checkItems(c.span, 'span'));
      case 'updates':
        return r.updates(randomIds(checkItems(c.count, 'count'), checkItems(c.rows, 'rows')));
    }
  }
}

/** Every request goes to the one bench object; the driver never talks to the object directly. */
export default {
  fetch(request: Request, env: Env): Promise<Response> {
    return env.BENCH.get(env.BENCH.idFromName('bench')).fetch(request);
  },
};
