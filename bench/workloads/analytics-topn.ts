/** Analytics: top-N (ORDER BY a non-key column, LIMIT 10) under a filter, over the shared events table. */
import { ANALYTICS_NOTE, ANALYTICS_ROWS, analyticsCases } from './analytics-data.js';
import type { TimedWorkload } from '../harness.js';

export const workload: TimedWorkload = {
  kind: 'timed',
  name: 'analytics-topn',
  title: `Top-N: ORDER BY amount DESC LIMIT 10 under a filter: ${ANALYTICS_ROWS.toLocaleString('en-US')} rows`,
  group: 'Analytics',
  ops: 1,
  cases: analyticsCases('SELECT id, user_id, amount FROM events WHERE category = ? ORDER BY amount DESC, id LIMIT 10', ['c3']),
  notes: [ANALYTICS_NOTE],
};
