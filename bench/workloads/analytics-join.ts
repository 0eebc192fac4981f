/**
 * Analytics: a two-table join with GROUP BY over the shared fixture: events joined to their user
 * by the user's primary key, filtered, grouped by the user's country.
 */
import { ANALYTICS_NOTE, ANALYTICS_ROWS, USERS, analyticsCases } from './analytics-data.js';
import type { TimedWorkload } from '../harness.js';

export const workload: TimedWorkload = {
  kind: 'timed',
  name: 'analytics-join',
  title: `Two-table join + GROUP BY: ${ANALYTICS_ROWS.toLocaleString('en-US')} events x ${USERS.toLocaleString('en-US')} users`,
  group: 'Analytics',
  ops: 1,
  keepShared: true,
  cases: analyticsCases(
    'SELECT u.country, count(*) AS n, sum(e.amount) AS total FROM events e JOIN users u ON u.id = e.user_id WHERE e.amount >= ? GROUP BY u.country ORDER BY u.country',
    [100],
  ),
  notes: [ANALYTICS_NOTE],
};
