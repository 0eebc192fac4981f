/**
 * Load on a loopback `wrangler dev` (the real Worker and Durable Object): WRITERS concurrent
 * clients commit COMMITS_PER_WRITER transactions each while two subscribers, each on its own
 * slot and connection, consume and acknowledge. Every change must reach both, nothing may be
 * duplicated after deduplication by id, and each subscriber must see commit order (commit LSNs
 * increasing, each writer's rows in the order it wrote them). Skipped, with the reason printed,
 * when wrangler cannot start.
 *
 * wrangler dev reloads the Worker when a source file changes (other work in the same checkout),
 * which drops every socket; clients then do what the docs tell users to do: writers retry
 * idempotently (deterministic ids, INSERT OR IGNORE), subscribers subscribe again on CONNECTION
 * and get everything after their last ack again (so duplicates before dedup are expected then).
 */
import { afterAll, expect, test } from 'vitest';
import { connect, isDosqlError, type ChangeEvent, type RemoteDatabase } from '../../client/index.js';
import { startWrangler, type Wrangler } from './wrangler.js';

const WRITERS = 4;
const COMMITS_PER_WRITER = 150;
/** Resubscriptions / retries allowed after dropped connections. */
const RECONNECTS_MAX = 20;
/** How long the subscribers may take to catch up after the last commit. */
const DRAIN_TIMEOUT_MS = 15_000;

let server: Wrangler | undefined;
afterAll(async () => {
  await server?.stop();
});

interface Seen {
  ids: Set<string>;
  duplicates: number;
  reconnects: number;
  lsns: bigint[];
  rows: Array<{ writer: number; seq: number }>;
}

async function consume(db: RemoteDatabase, slot: string, total: number): Promise<Seen> {
  const seen: Seen = { ids: new Set(), duplicates: 0, reconnects: 0, lsns: [], rows: [] };
  for (;;) {
    const sub = db.subscribe(slot, { batchSize: 100, maxInFlight: 500 });
    try {
      for await (const txns of sub) {
        for (const t of txns) {
          for (const e of t.events as ChangeEvent[]) {
            if (seen.ids.has(e.id)) {
              seen.duplicates++;
              continue;
            }
            seen.ids.add(e.id);
            seen.lsns.push(e.lsn);
            seen.rows.push({ writer: e.after!.writer as number, seq: e.after!.seq as number });
          }
        }
        await sub.ack(txns.at(-1)!.commitLsn);
        if (seen.ids.size >= total) return seen;
      }
    } catch (e) {
      if (!isDosqlError(e, 'CONNECTION') || ++seen.reconnects > RECONNECTS_MAX) throw e;
    }
  }
}

test('several writers and two subscribers on wrangler dev: every change to both, once, in order', async (ctx) => {
  try {
    server = await startWrangler();
  } catch (e) {
    console.warn(`skipping the CDC load test: ${(e as Error).message}`);
    return ctx.skip();
  }
  const url = `${server.origin}/db/load`;
  const admin = connect(url, { token: server.token });
  await admin.exec('CREATE TABLE ev (id INTEGER PRIMARY KEY, writer INTEGER, seq INTEGER, body TEXT)');
  await admin.slots.create('a');
  await admin.slots.create('b');
  const total = WRITERS * COMMITS_PER_WRITER;
  const subscribers = [connect(url, { token: server.token }), connect(url, { token: server.token })];
  const consumed = [consume(subscribers[0]!, 'a', total), consume(subscribers[1]!, 'b', total)];
  const writers = Array.from({ length: WRITERS }, () => connect(url, { token: server!.token }));
  let retries = 0;
  const started = Date.now();
  await Promise.all(
    writers.map(async (w, writer) => {
      for (let seq = 0; seq < COMMITS_PER_WRITER; seq++) {
        for (let attempt = 0; ; attempt++) {
          try {
            await w.exec('INSERT OR IGNORE INTO ev (id, writer, seq, body) VALUES (?, ?, ?, ?)', [writer * 1_000_000 + seq, writer, seq, `w${writer}-${seq}`]);
            break;
          } catch (e) {
            if (!isDosqlError(e, 'CONNECTION') || attempt >= RECONNECTS_MAX) throw e;
            retries++;
          }
        }
      }
    }),
  );
  const wrote = Date.now() - started;
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('subscribers did not catch up')), DRAIN_TIMEOUT_MS));
  let a: Seen;
  let b: Seen;
  try {
    [a, b] = await Promise.race([Promise.all(consumed), timeout]);
  } catch (e) {
    console.warn(server.output().slice(-5000));
    throw e;
  }
  console.log(`CDC load: ${total} commits by ${WRITERS} writers in ${wrote} ms; both subscribers caught up ${Date.now() - started - wrote} ms later (write retries ${retries}, resubscriptions ${a.reconnects + b.reconnects})`);
  for (const s of [a, b]) {
    expect(s.ids.size).toBe(total);
    if (s.reconnects === 0) expect(s.duplicates).toBe(0);
    for (let i = 1; i < s.lsns.length; i++) expect(s.lsns[i]! > s.lsns[i - 1]!).toBe(true);
    for (let writer = 0; writer < WRITERS; writer++) {
      expect(s.rows.filter((r) => r.writer === writer).map((r) => r.seq)).toEqual(Array.from({ length: COMMITS_PER_WRITER }, (_, i) => i));
    }
  }
  expect([...a.ids]).toEqual([...b.ids]);
  const slots = await admin.slots.list();
  expect(slots.map((s) => s.lagEntries)).toEqual([0n, 0n]);
  for (const c of [admin, ...subscribers, ...writers]) await c.close();
}, 60_000);
