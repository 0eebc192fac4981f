/** OLTP: 100k rows inserted in one transaction with a prepared INSERT, into an empty table. */
import { capPglite, KV_DDL, KV_INSERT, kvRow, oltpEngines, type Engine } from '../engines.js';
import { size, type TimedWorkload } from '../harness.js';

const ROWS = size(100_000, 2_000);
const ids = Array.from({ length: ROWS }, (_, i) => i + 1);
const caps = capPglite(10_000);

export const workload: TimedWorkload = {
  kind: 'timed',
  name: 'bulk-insert',
  title: `Bulk insert: ${ROWS.toLocaleString('en-US')} rows in one transaction`,
  group: 'OLTP',
  ops: ROWS,
  // A judged target a few tenths from its bound: five samples per engine steady the median.
  rounds: 5,
  cases: oltpEngines.map((spec) => ({
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
      await e.transaction(() => e.each(n < ROWS ? ids.slice(0, n) : ids, (i) => ins.run(kvRow(i))));
    },
    close: async (h: { e?: Engine }) => h.e?.close(),
  })),
  targets: [
    { label: 'bulk insert <= 1.5x better-sqlite3 :memory:', peer: 'better-sqlite3 :memory:', max: 1.5 },
    { label: 'bulk insert faster than sql.js', peer: 'sql.js', max: 1.0 },
    { label: 'bulk insert faster than PGlite', peer: 'PGlite', max: 1.0 },
  ],
};
