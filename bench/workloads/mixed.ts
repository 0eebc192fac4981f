/** OLTP: a mixed run: of every 10 operations, 9 primary-key lookups and 1 autocommit UPDATE by key. */
import { capPglite, loadKv, oltpCases, randomIds } from '../engines.js';
import { KV_LOOKUP, KV_UPDATE } from '../kv.js';
import { size, type TimedWorkload } from '../harness.js';

const ROWS = size(100_000, 2_000);
const OPS = size(20_000, 500);
const ids = randomIds(OPS, ROWS);
const ops = ids.map((id, i) => (i % 10 === 9 ? -id : id));

export const workload: TimedWorkload = {
  kind: 'timed',
  name: 'mixed',
  title: `Mixed 90/10 read/write: ${OPS.toLocaleString('en-US')} operations on ${ROWS.toLocaleString('en-US')} rows`,
  group: 'OLTP',
  ops: OPS,
  cases: oltpCases(
    (e) => loadKv(e, ROWS),
    async (e, n) => {
      const get = e.prepare(KV_LOOKUP);
      const upd = e.prepare(KV_UPDATE);
      await e.each(ops.slice(0, n), (op) => (op > 0 ? get.get([op]) : upd.run([-op])));
    },
    { ops: OPS, caps: capPglite(2_000) },
  ),
};
