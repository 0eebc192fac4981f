/** OLTP: 100k random primary-key lookups (prepared SELECT ... WHERE id = ?) on a 100k-row table. */
import { capPglite, loadKv, oltpCases, randomIds } from '../engines.js';
import { KV_LOOKUP } from '../kv.js';
import { size, type TimedWorkload } from '../harness.js';

const ROWS = size(100_000, 2_000);
const LOOKUPS = size(100_000, 2_000);
const ids = randomIds(LOOKUPS, ROWS);

export const workload: TimedWorkload = {
  kind: 'timed',
  name: 'pk-lookups',
  title: `Primary-key lookups: ${LOOKUPS.toLocaleString('en-US')} on ${ROWS.toLocaleString('en-US')} rows`,
  group: 'OLTP',
  ops: LOOKUPS,
  // A judged target a few tenths from its bound: five samples per engine steady the median.
  rounds: 5,
  cases: oltpCases(
    (e) => loadKv(e, ROWS),
    async (e, n) => {
      const get = e.prepare(KV_LOOKUP);
      await e.each(ids.slice(0, n), (id) => get.get([id]));
    },
    { ops: LOOKUPS, caps: capPglite(10_000) },
  ),
  targets: [{ label: 'PK lookups <= 1.0x better-sqlite3 :memory:', peer: 'better-sqlite3 :memory:', max: 1.0 }],
};
