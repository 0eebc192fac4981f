/**
 * Change data capture in workerd, through the real Worker and Durable Object: slot management
 * and pull reads over capnweb RPC, push subscriptions (a client callback the server calls with
 * each batch, pausing at maxInFlight until an ack), a consumer that disconnects at random points
 * and reconnects across restarts of the Durable Object (`abortAllDurableObjects`), aborted
 * transactions, the SSE / long-poll / ack HTTP routes, and read-only token rules.
 */
import { abortAllDurableObjects } from 'cloudflare:test';
import { newWebSocketRpcSession, type RpcStub } from 'capnweb';
import { describe, expect, it } from 'vitest';
import type { ChangeEventWire, ChangeTransactionWire, DatabaseRpc, SlotsRpc, SubscriptionRpc, WireResult } from '../../base/api.js';
import { rng } from '../support/random.js';
import { freshName, sql, workerFetch, FULL, READ_ONLY } from './helpers.js';

type Api = RpcStub<DatabaseRpc & SlotsRpc>;

async function openSocket(name: string, token = FULL): Promise<{ api: Api; ws: WebSocket }> {
  const res = await workerFetch(`/db/${name}`, { headers: { upgrade: 'websocket', authorization: `Bearer ${token}` } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  return { api: newWebSocketRpcSession<DatabaseRpc & SlotsRpc>(ws as unknown as WebSocket), ws };
}

function value<T>(r: WireResult<T>): T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A push consumer: batches land in `batches`; `waitFor(n)` waits until n transactions arrived. */
async function pushConsumer(api: Api, slot: string, options: { batchSize?: number; maxInFlight?: number }) {
  const received: ChangeTransactionWire[] = [];
  const errors: unknown[] = [];
  let notify: (() => void) | undefined;
  const sink = (d: WireResult<ChangeTransactionWire[]>): void => {
    if (d.ok) received.push(...d.value);
    else errors.push(d.error);
    notify?.();
  };
  const handle = value(await api.subscribe(slot, options, sink)) as unknown as RpcStub<SubscriptionRpc>;
  return {
    received,
    errors,
    handle,
    async waitFor(n: number, ms = 5000): Promise<void> {
      const deadline = Date.now() + ms;
      while (received.length < n && Date.now() < deadline) {
        await Promise.race([new Promise<void>((r) => (notify = r)), sleep(50)]);
      }
      expect(received.length).toBeGreaterThanOrEqual(n);
    },
  };
}

describe('replication slots over RPC', () => {
  it('create, list, read, ack and drop, with bigint LSNs', async () => {
    const { api, ws } = await openSocket(freshName());
    value(await api.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, b BLOB)'));
    const info = value(await api.slotCreate('sink', { from: 'beginning' }));
    expect(info).toMatchObject({ name: 'sink', confirmedLsn: 0n, status: 'active' });
    expect(typeof info.restartLsn).toBe('bigint');
    expect(await api.slotCreate('sink')).toMatchObject({ ok: false, error: { code: 'ERROR' } });
    expect(await api.slotCreate('bad name!')).toMatchObject({ ok: false, error: { code: 'MISUSE' } });

    value(await api.exec("INSERT INTO t VALUES (1, 'a', x'00ff'), (2, 'b', NULL)"));
    value(await api.exec('BEGIN; DELETE FROM t; ROLLBACK')); // aborted: nothing
    value(await api.exec("UPDATE t SET v = 'c' WHERE id = 2"));
    const batch = value(await api.slotRead('sink', { max: 100 }));
    expect(batch.transactions.map((t) => t.eventCount)).toEqual([2, 1]);
    const [ins, upd] = batch.transactions as [ChangeTransactionWire, ChangeTransactionWire];
    expect(typeof ins.commitLsn).toBe('bigint');
    expect(ins.events[0]).toMatchObject({ operation: 'INSERT', table: 't', key: { id: 1 }, after: { id: 1, v: 'a' } });
    expect([...((ins.events[0] as ChangeEventWire).after!.b as Uint8Array)]).toEqual([0, 255]);
    expect(upd.events[0]).toMatchObject({ operation: 'UPDATE', before: { v: 'b' }, after: { v: 'c' } });
    expect(typeof (ins.events[0] as ChangeEventWire).lsn).toBe('bigint');

    value(await api.slotAck('sink', ins.commitLsn));
    expect(value(await api.slotRead('sink')).transactions.map((t) => t.commitLsn)).toEqual([upd.commitLsn]);
    expect(value(await api.slotList())).toMatchObject([{ name: 'sink', confirmedLsn: ins.commitLsn }]);
    expect(await api.slotAck('sink', upd.commitLsn + 1000n)).toMatchObject({ ok: false, error: { code: 'RANGE' } });
    expect(await api.slotRead('nope')).toMatchObject({ ok: false, error: { code: 'ERROR' } });
    value(await api.slotDrop('sink'));
    expect(value(await api.slotList())).toEqual([]);
    ws.close();
  });

  it('push: delivers commits made after subscribing, pauses at maxInFlight until ack, resumes', async () => {
    const { api, ws } = await openSocket(freshName());
    value(await api.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)'));
    value(await api.exec("INSERT INTO t VALUES (0, 'before the slot')"));
    value(await api.slotCreate('push'));
    const c = await pushConsumer(api, 'push', { batchSize: 2, maxInFlight: 3 });
    await sleep(50);
    expect(c.received).toEqual([]); // nothing before the slot's start
    for (let i = 1; i <= 6; i++) value(await api.exec('INSERT INTO t VALUES (?, ?)', [i, `v${i}`]));
    await c.waitFor(3);
    await sleep(150);
    expect(c.received).toHaveLength(3); // paused: 3 unacknowledged events
    value(await c.handle.ack(c.received[2]!.commitLsn));
    await c.waitFor(6);
    for (let i = 7; i <= 10; i++) value(await api.exec('INSERT INTO t VALUES (?, ?)', [i, `v${i}`]));
    await sleep(150);
    expect(c.received).toHaveLength(6); // 4..6 unacknowledged
    // An ack through slotAck frees room too.
    value(await api.slotAck('push', c.received[5]!.commitLsn));
    await c.waitFor(9);
    await sleep(100);
    expect(c.received).toHaveLength(9);
    value(await c.handle.ack(c.received[8]!.commitLsn));
    await c.waitFor(10);
    const keys = c.received.flatMap((t) => t.events.map((e) => (e as ChangeEventWire).key.id));
    expect(keys).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // Cancel: later commits are not delivered.
    value(await c.handle.cancel());
    value(await api.exec("INSERT INTO t VALUES (11, 'late')"));
    await sleep(100);
    expect(c.received).toHaveLength(10);
    // A dropped slot ends a live subscription with its error.
    const d = await pushConsumer(api, 'push', { maxInFlight: 100 });
    await d.waitFor(1);
    value(await api.slotDrop('push'));
    value(await api.exec("INSERT INTO t VALUES (12, 'after drop')"));
    for (let i = 0; i < 40 && d.errors.length === 0; i++) await sleep(50);
    expect(d.errors).toMatchObject([{ code: 'ERROR' }]);
    expect(await api.subscribe('push', {}, () => {})).toMatchObject({ ok: false, error: { code: 'ERROR' } });
    expect(await api.subscribe('x', { maxInFlight: 0 }, () => {})).toMatchObject({ ok: false, error: { code: 'MISUSE' } });
    ws.close();
  });

  it('a consumer that disconnects at random points and reconnects gets every change exactly once after dedup, in order, across restarts', async () => {
    const name = freshName();
    const seed = Date.now() % 100_000;
    const r = rng(seed);
    const random = (): number => r.next();
    await sql(name, 'CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER)');
    expect((await sql(name, 'SELECT 1')).status).toBe(200);
    {
      const { api, ws } = await openSocket(name);
      value(await api.slotCreate('etl', { from: 'now' }));
      ws.close();
    }
    const committed: string[] = []; // event ids in commit order, as written
    const seen = new Set<string>();
    const order: string[] = [];
    let writes = 0;
    const TOTAL = 60;
    for (let round = 0; round < 40 && (writes < TOTAL || order.length < committed.length); round++) {
      // Some commits (and an aborted transaction now and then).
      const n = Math.min(TOTAL - writes, 1 + Math.floor(random() * 8));
      for (let i = 0; i < n; i++, writes++) {
        const r = await sql(name, writes % 3 === 2 ? 'UPDATE kv SET v = v + 1 WHERE k = ?' : 'INSERT OR REPLACE INTO kv VALUES (?, 0)', [writes % 3 === 2 ? writes - 1 : writes]);
        expect(r.status, `seed ${seed}`).toBe(200);
      }
      if (random() < 0.3) await sql(name, 'BEGIN; DELETE FROM kv; ROLLBACK');
      // Connect, consume a random number of batches, ack some, then drop the connection.
      const { api, ws } = await openSocket(name);
      const draining = writes >= TOTAL;
      const c = await pushConsumer(api, 'etl', { batchSize: 1 + Math.floor(random() * 5), maxInFlight: draining ? 1000 : 10 });
      const want = draining ? 1000 : Math.floor(random() * 12);
      for (let i = 0; i < 20 && c.received.length < want; i++) await sleep(20);
      const ackUpTo = draining ? c.received.length : Math.floor(random() * (c.received.length + 1));
      if (ackUpTo > 0) value(await c.handle.ack(c.received[ackUpTo - 1]!.commitLsn));
      for (const t of c.received) {
        for (const e of t.events) {
          if (!seen.has(e.id)) {
            seen.add(e.id);
            order.push(e.id);
          }
        }
      }
      if (random() < 0.5) ws.close();
      else await abortAllDurableObjects(); // a restart of the object: its sockets die with it
      // What was committed so far, in commit order (the ground truth, read back from a fresh slot).
      if (writes >= TOTAL && committed.length === 0) {
        const { api: a2, ws: w2 } = await openSocket(name);
        value(await a2.slotCreate('truth', { from: 'beginning', tables: ['kv'] }));
        for (let i = 0; i < 100; i++) {
          const b = value(await a2.slotRead('truth', { max: 1000 }));
          if (b.transactions.length === 0) break;
          for (const t of b.transactions) for (const e of t.events) committed.push(e.id);
          value(await a2.slotAck('truth', b.position));
        }
        w2.close();
      }
    }
    expect(committed.length, `seed ${seed}`).toBe(TOTAL);
    expect(order, `seed ${seed}`).toEqual(committed);
  });
});

describe('HTTP: SSE, long-poll and ack', () => {
  const auth = (token = FULL) => ({ authorization: `Bearer ${token}` });

  async function readSse(res: Response): Promise<Array<{ id?: string; event?: string; data: string }>> {
    const text = await res.text();
    return text
      .split('\n\n')
      .filter((block) => block.trim() !== '' && !block.startsWith(':'))
      .map((block) => {
        const out: { id?: string; event?: string; data: string } = { data: '' };
        for (const line of block.split('\n')) {
          const i = line.indexOf(':');
          const field = line.slice(0, i);
          const v = line.slice(i + 1).replace(/^ /, '');
          if (field === 'id') out.id = v;
          else if (field === 'event') out.event = v;
          else if (field === 'data') out.data += v;
        }
        return out;
      });
  }

  it('streams transactions as SSE with id = commit LSN, long-polls, and acks', async () => {
    const db = freshName();
    await sql(db, 'CREATE TABLE t (id INTEGER PRIMARY KEY, big INTEGER, b BLOB)');
    const created = await workerFetch(`/db/${db}/slots/feed`, { method: 'PUT', headers: auth(), body: JSON.stringify({ from: 'now' }) });
    expect(created.status).toBe(200);
    expect(await created.json()).toMatchObject({ name: 'feed', status: 'active' });
    await sql(db, 'INSERT INTO t VALUES (1, ?, ?)', [{ $bigint: '9223372036854775807' }, { $blob: 'AP8=' }]);
    await sql(db, 'BEGIN; DELETE FROM t; ROLLBACK');
    await sql(db, 'UPDATE t SET big = 2 WHERE id = 1');
    await sql(db, 'DELETE FROM t');

    const sse = await workerFetch(`/db/${db}/slots/feed/events?max=2`, { headers: auth() });
    expect(sse.status).toBe(200);
    expect(sse.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await readSse(sse);
    const txns = events.filter((e) => e.event === 'transaction');
    expect(txns).toHaveLength(2);
    const first = JSON.parse(txns[0]!.data);
    expect(txns[0]!.id).toBe(first.commitLsn);
    expect(first.events[0]).toMatchObject({ operation: 'INSERT', key: { id: 1 }, after: { id: 1, big: { $bigint: '9223372036854775807' }, b: { $blob: 'AP8=' } } });
    expect(typeof first.events[0].lsn).toBe('string');
    expect(events.at(-1)!.event).toBe('end');

    // Last-Event-ID resumes after the given commit, without acking.
    const resumed = (await readSse(await workerFetch(`/db/${db}/slots/feed/events?max=1`, { headers: { ...auth(), 'last-event-id': txns[1]!.id! } }))).filter((e) => e.event === 'transaction');
    expect(JSON.parse(resumed[0]!.data).events[0].operation).toBe('DELETE');

    // Long-poll: the next batch from the confirmed position; ack moves it.
    const poll = await workerFetch(`/db/${db}/slots/feed?max=10`, { headers: auth() });
    const body = (await poll.json()) as any;
    expect(body.transactions).toHaveLength(3);
    const ack = await workerFetch(`/db/${db}/slots/feed/ack`, { method: 'POST', headers: auth(READ_ONLY), body: JSON.stringify({ lsn: body.transactions[1].commitLsn }) });
    expect(ack.status).toBe(200);
    const after = (await (await workerFetch(`/db/${db}/slots/feed?max=10`, { headers: auth() })).json()) as any;
    expect(after.transactions.map((t: any) => t.commitLsn)).toEqual([body.transactions[2].commitLsn]);
    await workerFetch(`/db/${db}/slots/feed/ack`, { method: 'POST', headers: auth(), body: JSON.stringify({ lsn: body.position }) });

    // Caught up: the long-poll waits for the next commit.
    const started = Date.now();
    const waiting = workerFetch(`/db/${db}/slots/feed?max=10&wait=3000`, { headers: auth() });
    await sleep(100);
    await sql(db, 'INSERT INTO t (id) VALUES (2)');
    const woke = (await (await waiting).json()) as any;
    expect(woke.transactions).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(2500);
    const empty = (await (await workerFetch(`/db/${db}/slots/feed?after=${woke.position}&wait=50`, { headers: auth() })).json()) as any;
    expect(empty.transactions).toEqual([]);

    const list = (await (await workerFetch(`/db/${db}/slots`, { headers: auth(READ_ONLY) })).json()) as any;
    expect(list.slots).toMatchObject([{ name: 'feed', confirmedLsn: body.position }]);
    expect((await workerFetch(`/db/${db}/slots/feed/ack`, { method: 'POST', headers: auth(), body: '{"lsn":"x"}' })).status).toBe(400);
    expect((await workerFetch(`/db/${db}/slots/none?wait=10`, { headers: auth() })).status).toBe(400);
    expect((await workerFetch(`/db/${db}/slots/feed`, { method: 'DELETE', headers: auth() })).status).toBe(200);
  });

  it('read-only tokens read, ack and subscribe, but may not create or drop slots', async () => {
    const db = freshName();
    await sql(db, 'CREATE TABLE t (a)');
    const ro = await openSocket(db, READ_ONLY);
    expect(await ro.api.slotCreate('s')).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect((await workerFetch(`/db/${db}/slots/s`, { method: 'PUT', headers: auth(READ_ONLY), body: '{}' })).status).toBe(403);
    const rw = await openSocket(db);
    value(await rw.api.slotCreate('s'));
    await sql(db, 'INSERT INTO t VALUES (1)');
    const b = value(await ro.api.slotRead('s'));
    expect(b.transactions).toHaveLength(1);
    value(await ro.api.slotAck('s', b.position));
    const c = await pushConsumer(ro.api, 's', {});
    await sql(db, 'INSERT INTO t VALUES (2)');
    await c.waitFor(1);
    expect(await ro.api.slotDrop('s')).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect((await workerFetch(`/db/${db}/slots/s`, { method: 'DELETE', headers: auth(READ_ONLY) })).status).toBe(403);
    expect(value(await rw.api.slotList())).toHaveLength(1);
    ro.ws.close();
    rw.ws.close();
  });
});
