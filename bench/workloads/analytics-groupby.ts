/** Analytics: GROUP BY with count, sum and avg under a filter, over the shared events table. */
import { ANALYTICS_NOTE, ANALYTICS_ROWS, analyticsCases } from './analytics-data.js';
import type { TimedWorkload } from '../harness.js';

export const workload: TimedWorkload = {
  kind: 'timed',
  name: 'analytics-groupby',
  title: `GROUP BY with count, sum, avg under a filter: ${ANALYTICS_ROWS.toLocaleString('en-US')} rows`,
  group: 'Analytics',
  ops: 1,
  keepShared: true,
  cases: analyticsCases('SELECT category, count(*) AS n, sum(amount) AS total, avg(amount) AS mean FROM events WHERE amount >= ? GROUP BY category ORDER BY category', [100]),
  notes: [ANALYTICS_NOTE],
};
