/** OLTP: a mixed run: of every 10 operations, 9 primary-key lookups and 1 autocommit UPDATE by key. */
import { loadKv, oltpCases, randomIds } from '../engines.js';
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
    async (e) => {
      const get = e.prepare('SELECT name, score FROM t WHERE id = ?');
      const upd = e.prepare('UPDATE t SET score = score + 1 WHERE id = ?');
      await e.each(ops, (op) => (op > 0 ? get.get([op]) : upd.run([-op])));
    },
  ),
};
