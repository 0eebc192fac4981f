/**
 * OLTP: secondary-index lookups: 10k prepared `SELECT ... WHERE grp = ?` through an index on a
 * non-key column (about 100 rows per value on 100k rows, so each lookup reads an index range and
 * then about 100 rows by key).
 */
import { capPglite, loadKv, oltpCases, randomIds } from '../engines.js';
import { size, type TimedWorkload } from '../harness.js';

const ROWS = size(100_000, 2_000);
const LOOKUPS = size(10_000, 200);
const groups = randomIds(LOOKUPS, 1000).map((g) => g - 1);

export const workload: TimedWorkload = {
  kind: 'timed',
  name: 'index-lookups',
  title: `Secondary-index lookups: ${LOOKUPS.toLocaleString('en-US')} on ${ROWS.toLocaleString('en-US')} rows`,
  group: 'OLTP',
  ops: LOOKUPS,
  cases: oltpCases(
    async (e) => {
      await loadKv(e, ROWS);
      await e.exec('CREATE INDEX t_grp ON t (grp)');
    },
    async (e, n) => {
      const find = e.prepare('SELECT id, score FROM t WHERE grp = ?');
      await e.each(groups.slice(0, n), (g) => find.all([g]));
    },
    { ops: LOOKUPS, caps: capPglite(1_000) },
  ),
};
