/** OLTP: 10k single-row updates by primary key, each its own (in-memory) autocommit transaction. */
import { loadKv, oltpCases, randomIds } from '../engines.js';
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
    async (e) => {
      const upd = e.prepare('UPDATE t SET score = score + 1 WHERE id = ?');
      await e.each(ids, (id) => upd.run([id]));
    },
  ),
};
