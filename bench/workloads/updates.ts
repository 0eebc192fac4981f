/** OLTP: 10k single-row updates by primary key, each its own (in-memory) autocommit transaction. */
import { capPglite, loadKv, oltpCases, randomIds } from '../engines.js';
import { KV_UPDATE } from '../kv.js';
import { size, type TimedWorkload } from '../harness.js';

const ROWS = size(100_000, 2_000);
const UPDATES = size(10_000, 200);
const ids = randomIds(UPDATES, ROWS);

export const workload: TimedWorkload = {
  kind: 'timed',
  name: 'updates',
  title: `Updates by primary key: ${UPDATES.toLocaleString('en-US')} autocommit UPDATEs on ${ROWS.toLocaleString('en-US')} rows`,
  group: 'OLTP',
  ops: UPDATES,
  cases: oltpCases(
    (e) => loadKv(e, ROWS),
    async (e, n) => {
      const upd = e.prepare(KV_UPDATE);
      await e.each(ids.slice(0, n), (id) => upd.run([id]));
    },
    { ops: UPDATES, caps: capPglite(2_000) },
  ),
};
