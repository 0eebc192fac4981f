/**
 * Analytics: a two-table join with GROUP BY: orders joined to their customer by the customer's
 * primary key. Its own, smaller fixture: DoSQL joins by scanning the inner table for every outer
 * row (no primary-key lookup into it yet): on the 200k-row events table joined to 1,000 users one
 * run took about 230 s. The sizes here keep the run short and the comparison on the same data.
 */
import { analyticsEngines } from './analytics-data.js';
import { size, type TimedWorkload } from '../harness.js';
import type { Engine } from '../engines.js';

const ORDERS = size(10_000, 1_000);
const CUSTOMERS = 100;

async function load(e: Engine): Promise<void> {
  await e.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY, country TEXT)');
  await e.exec('CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, amount INTEGER)');
  const c = e.prepare('INSERT INTO customers VALUES (?, ?)');
  const o = e.prepare('INSERT INTO orders VALUES (?, ?, ?)');
  await e.transaction(async () => {
    await e.each(Array.from({ length: CUSTOMERS }, (_, i) => i + 1), (i) => c.run([i, `k${i % 20}`]));
    await e.each(Array.from({ length: ORDERS }, (_, i) => i + 1), (i) => o.run([i, 1 + ((i * 7919) % CUSTOMERS), (i * 31) % 1000]));
  });
}

export const workload: TimedWorkload = {
  kind: 'timed',
  name: 'analytics-join',
  title: `Two-table join + GROUP BY: ${ORDERS.toLocaleString('en-US')} orders x ${CUSTOMERS} customers`,
  group: 'Analytics',
  ops: 1,
  cases: analyticsEngines.map((spec) => ({
    engine: spec.name,
    async open() {
      const e = await spec.open();
      await load(e);
      return e;
    },
    async run(e: Engine) {
      await e.prepare('SELECT c.country, count(*) AS n, sum(o.amount) AS total FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.amount >= ? GROUP BY c.country ORDER BY c.country').all([100]);
    },
    close: (e: Engine) => e.close(),
  })),
  notes: [`Join fixture is ${ORDERS.toLocaleString('en-US')} x ${CUSTOMERS} (not the 200k/1M events table): DoSQL's join scans the inner table per outer row.`],
};
