/**
 * The log: change data capture through `db.subscribe(slot)` on an in-memory database (so the
 * figures are the CDC path, not fsync). Latency: one single-row commit at a time, measured from
 * the start of `exec` to the subscriber receiving the transaction; p50 and p99. Throughput: a
 * backlog of 100-row transactions written first, then drained by a subscriber that acks every
 * batch; events per second. DoSQL only: the peers have no built-in change feed.
 */
import { Database } from 'dosql';
import { fmt, percentile, size, type ReportWorkload } from '../harness.js';

const LATENCY_COMMITS = size(5_000, 200);
const BACKLOG_EVENTS = size(100_000, 2_000);
const ROWS_PER_TXN = 100;

async function latencies(): Promise<number[]> {
  const db = await Database.open();
  await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)');
  await db.slots.create('latency');
  const sub = db.subscribe('latency', { batchSize: 100 });
  let waiter: ((t: number) => void) | undefined;
  const consumer = (async () => {
    for await (const txns of sub) {
      const t = performance.now();
      waiter?.(t);
      waiter = undefined;
      await sub.ack(txns.at(-1)!.commitLsn);
    }
  })();
  const ins = db.prepare('INSERT INTO t VALUES (?, ?)');
  const out: number[] = [];
  for (let i = 1; i <= LATENCY_COMMITS; i++) {
    const received = new Promise<number>((r) => (waiter = r));
    const t0 = performance.now();
    await ins.run([i, i]);
    out.push((await received) - t0);
  }
  await sub.return();
  await db.close();
  await consumer;
  return out;
}

async function throughput(): Promise<number> {
  const db = await Database.open();
  await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)');
  await db.slots.create('drain');
  const ins = db.prepare('INSERT INTO t VALUES (?, ?)');
  for (let txn = 0; txn < BACKLOG_EVENTS / ROWS_PER_TXN; txn++) {
    await db.exec('BEGIN');
    for (let i = 1; i <= ROWS_PER_TXN; i++) await ins.run([txn * ROWS_PER_TXN + i, i]);
    await db.exec('COMMIT');
  }
  const sub = db.subscribe('drain', { batchSize: 1000, maxInFlight: 10_000 });
  const t = performance.now();
  let events = 0;
  for await (const txns of sub) {
    for (const x of txns) events += x.eventCount;
    await sub.ack(txns.at(-1)!.commitLsn);
    if (events >= BACKLOG_EVENTS) break;
  }
  const ms = performance.now() - t;
  await db.close();
  return (events / ms) * 1000;
}

export const workload: ReportWorkload = {
  kind: 'report',
  name: 'cdc',
  title: 'CDC: commit-to-subscriber latency and drain throughput (in memory)',
  group: 'Log',
  async measure() {
    const lat = await latencies();
    const eps = await throughput();
    const rows = [
      { measure: `latency p50 (${LATENCY_COMMITS.toLocaleString('en-US')} sequential commits)`, value: `${fmt(percentile(lat, 50), 3)} ms` },
      { measure: 'latency p99', value: `${fmt(percentile(lat, 99), 3)} ms` },
      { measure: `throughput (drain ${BACKLOG_EVENTS.toLocaleString('en-US')} events, ${ROWS_PER_TXN} per transaction)`, value: `${fmt(eps, 0)} events/s` },
    ];
    return { columns: ['measure', 'value'], rows };
  },
};
