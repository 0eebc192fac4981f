/**
 * OLTP: 100k rows inserted in one transaction with a prepared INSERT, into an empty table. Each
 * engine loads the way its users load many rows: DoSQL with `runMany` (one call for all rows),
 * the others with one call per row; DoSQL's per-row `await run()` is reported beside it.
 */
import { capPglite, dosql, KV_DDL, KV_INSERT, kvRow, oltpEngines, type Engine } from '../engines.js';
import { size, type TimedWorkload } from '../harness.js';

const ROWS = size(100_000, 2_000);
const ids = Array.from({ length: ROWS }, (_, i) => i + 1);
const caps = capPglite(10_000);
const PER_ROW = 'dosql, await run() per row';
/** DoSQL without `runMany`: what a load costs one awaited call per row. */
const perRow = {
  name: PER_ROW,
  async open(): Promise<Engine> {
    const e = await dosql();
    const prepare = e.prepare.bind(e);
    return { ...e, name: PER_ROW, prepare: (sql) => ({ ...prepare(sql), runMany: undefined }) };
  },
};
const engines = [oltpEngines[0]!, perRow, ...oltpEngines.slice(1)];

export const workload: TimedWorkload = {
  kind: 'timed',
  name: 'bulk-insert',
  title: `Bulk insert: ${ROWS.toLocaleString('en-US')} rows in one transaction`,
  group: 'OLTP',
  ops: ROWS,
  // A judged target a tenth or two from its bound, on a machine whose samples of one engine
  // spread by a third within a run: seven samples per engine steady the median.
  rounds: 7,
  cases: engines.map((spec) => ({
    engine: spec.name,
    ...(caps[spec.name] !== undefined && caps[spec.name]! < ROWS ? { ops: caps[spec.name] } : {}),
    open: async () => ({ e: undefined as Engine | undefined }),
    async round(h: { e?: Engine }) {
      await h.e?.close();
      h.e = await spec.open();
      await h.e.exec(KV_DDL);
    },
    async run(h: { e?: Engine }) {
      const e = h.e!;
      const ins = e.prepare(KV_INSERT);
      const n = Math.min(ROWS, caps[spec.name] ?? ROWS);
      const some = n < ROWS ? ids.slice(0, n) : ids;
      // The rows are made inside the timed run on every path, as a per-row loop makes them.
      const load = ins.runMany ? async () => void (await ins.runMany!(some.map(kvRow))) : () => e.each(some, (i) => ins.run(kvRow(i)));
      await e.transaction(load);
    },
    close: async (h: { e?: Engine }) => h.e?.close(),
  })),
  notes: [
    "DoSQL loads with `PreparedStatement.runMany` (one call for all rows, atomic as one statement); 'dosql, await run() per row' is the same load with an awaited `run` per row. better-sqlite3 and sql.js have no such call, and their per-row calls are synchronous.",
  ],
  targets: [
    { label: 'bulk insert <= 1.5x better-sqlite3 :memory:', peer: 'better-sqlite3 :memory:', max: 1.5 },
    { label: 'bulk insert faster than sql.js', peer: 'sql.js', max: 1.0 },
    { label: 'bulk insert faster than PGlite', peer: 'PGlite', max: 1.0 },
  ],
};
