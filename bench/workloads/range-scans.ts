/** OLTP: 1k range scans of 100 rows each (prepared SELECT ... WHERE id BETWEEN ? AND ?). */
import { loadKv, oltpCases, randomIds } from '../engines.js';
import { KV_SCAN } from '../kv.js';
import { size, type TimedWorkload } from '../harness.js';

const ROWS = size(100_000, 2_000);
const SCANS = size(1_000, 100);
const SPAN = 100;
const starts = randomIds(SCANS, ROWS - SPAN);

export const workload: TimedWorkload = {
  kind: 'timed',
  name: 'range-scans',
  title: `Range scans: ${SCANS.toLocaleString('en-US')} scans of ${SPAN} rows`,
  group: 'OLTP',
  ops: SCANS,
  cases: oltpCases(
    (e) => loadKv(e, ROWS),
    async (e) => {
      const scan = e.prepare(KV_SCAN);
      await e.each(starts, (s) => scan.all([s, s + SPAN - 1]));
    },
    { ops: SCANS },
  ),
};
