/**
 * Change data capture: commit-to-subscriber latency and throughput, embedded (`db.subscribe` on
 * an in-memory Database) and remote (`dosql/client` `db.subscribe` against the real Worker and
 * Durable Object under a loopback `wrangler dev`). Run: `node --import tsx bench/cdc-remote.ts`.
 *
 * - Latency: LATENCY_COMMITS single-row commits, one at a time; per commit, the time from the
 *   start of the committing `exec` to the subscriber receiving its event (p50, p99). The writer
 *   waits for each event before the next commit, so nothing queues.
 * - Throughput: THROUGHPUT_COMMITS commits of ROWS_PER_COMMIT rows from one writer without
 *   waiting for the subscriber; events/s = events received / time from the first commit's start
 *   to the last event's receipt. The subscriber acks each batch.
 * Prints a table and writes bench/results/cdc-remote.json. One machine, one run: indicative.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, type RemoteDatabase } from '../client/index.js';
import { Database } from '../query/database.js';
import { startWrangler } from '../test/load/wrangler.js';

const LATENCY_COMMITS = 300;
const THROUGHPUT_COMMITS = 200;
const ROWS_PER_COMMIT = 50;

interface Db {
  exec(sql: string, params?: unknown[]): Promise<unknown>;
  subscribe(slot: string, o: { batchSize: number; maxInFlight: number }): AsyncIterableIterator<Array<{ commitLsn: bigint; events: unknown[] }>> & {
    ack(lsn: bigint): Promise<void>;
  };
  slots: { create(name: string): Promise<unknown> };
}

interface Figures {
  p50Ms: number;
  p99Ms: number;
  eventsPerSecond: number;
  latencyCommits: number;
  throughputEvents: number;
}

async function measure(db: Db): Promise<Figures> {
  await db.exec('CREATE TABLE ev (id INTEGER PRIMARY KEY, body TEXT)');
  await db.slots.create('bench');
  const sub = db.subscribe('bench', { batchSize: 1000, maxInFlight: 10_000 });
  let received = 0;
  let notify: (() => void) | undefined;
  let lastAt = 0;
  const consumer = (async () => {
    for await (const txns of sub) {
      for (const t of txns) received += t.events.length;
      lastAt = performance.now();
      notify?.();
      await sub.ack(txns.at(-1)!.commitLsn);
    }
  })();
  const until = async (n: number): Promise<void> => {
    while (received < n) await new Promise<void>((r) => (notify = r));
  };

  const latencies: number[] = [];
  for (let i = 0; i < LATENCY_COMMITS; i++) {
    const t0 = performance.now();
    await db.exec('INSERT INTO ev (body) VALUES (?)', [`row ${i}`]);
    await until(i + 1);
    latencies.push(lastAt - t0);
  }
  latencies.sort((a, b) => a - b);

  const base = received;
  const values = Array.from({ length: ROWS_PER_COMMIT }, () => '(NULL, ?)').join(', ');
  const params = Array.from({ length: ROWS_PER_COMMIT }, (_, i) => `bulk ${i}`);
  const start = performance.now();
  for (let c = 0; c < THROUGHPUT_COMMITS; c++) await db.exec(`INSERT INTO ev (id, body) VALUES ${values}`, params);
  await until(base + THROUGHPUT_COMMITS * ROWS_PER_COMMIT);
  const seconds = (lastAt - start) / 1000;
  await sub.return?.();
  void consumer.catch(() => {});
  const q = (p: number): number => Number(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(2));
  return { p50Ms: q(0.5), p99Ms: q(0.99), eventsPerSecond: Math.round((THROUGHPUT_COMMITS * ROWS_PER_COMMIT) / seconds), latencyCommits: LATENCY_COMMITS, throughputEvents: THROUGHPUT_COMMITS * ROWS_PER_COMMIT };
}

async function main(): Promise<void> {
  const results: Record<string, Figures | { skipped: string }> = {};
  const local = await Database.open();
  results.embedded = await measure(local as unknown as Db);
  await local.close();

  let remote: RemoteDatabase | undefined;
  try {
    const server = await startWrangler();
    try {
      remote = connect(`${server.origin}/db/bench`, { token: server.token });
      results['wrangler dev'] = await measure(remote as unknown as Db);
    } finally {
      await remote?.close();
      await server.stop();
    }
  } catch (e) {
    results['wrangler dev'] = { skipped: (e as Error).message.split('\n')[0]! };
  }

  console.log('| mode | p50 ms | p99 ms | events/s |');
  console.log('|---|---|---|---|');
  for (const [mode, f] of Object.entries(results)) {
    if ('skipped' in f) console.log(`| ${mode} | skipped: ${f.skipped} | | |`);
    else console.log(`| ${mode} | ${f.p50Ms} | ${f.p99Ms} | ${f.eventsPerSecond} |`);
  }
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const out = { date: new Date().toISOString(), node: process.version, latencyCommits: LATENCY_COMMITS, throughputCommits: THROUGHPUT_COMMITS, rowsPerCommit: ROWS_PER_COMMIT, results };
  writeFileSync(new URL('./results/cdc-remote.json', import.meta.url), JSON.stringify(out, null, 2) + '\n');
}

await main();
