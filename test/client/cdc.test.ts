/**
 * The remote client's change data capture against the Node test server (test/client/server.ts,
 * which serves the real server/cdc.ts): `db.slots` with the embedded shapes and types (bigint
 * LSNs, plain Uint8Array BLOBs), `db.subscribe` as an async iterator with `ack`, pausing at
 * maxInFlight, and a dropped connection: the iterator throws CONNECTION and a new subscription
 * gets everything after the last ack again.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connect, DosqlError, type ChangeEvent, type ChangeTransaction, type RemoteDatabase } from '../../client/index.js';
import { Database } from '../../query/database.js';
import { startTestServer, type TestServer } from './server.js';

let server: TestServer;
let n = 0;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

function fresh(transport: 'websocket' | 'http' = 'websocket'): { db: RemoteDatabase; url: string } {
  const url = `${server.origin}/db/cdc${n++}`;
  return { db: connect(url, { token: server.token, transport }), url };
}

/** Events without their times, for comparing two databases' streams. */
function shape(txns: ChangeTransaction[]): unknown[] {
  return txns.map((t) => t.events.map((e) => {
    const { timestamp, hlc, txnId, lsn, id, ...rest } = e as ChangeEvent;
    return rest;
  }));
}

describe('db.slots over RPC', () => {
  test('the embedded shapes and values, on both transports', async () => {
    for (const transport of ['websocket', 'http'] as const) {
      const { db } = fresh(transport);
      const local = await Database.open();
      const script = [
        'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, b BLOB, big INTEGER)',
        "INSERT INTO t VALUES (1, 'a', x'00ff', 9223372036854775807)",
        "UPDATE t SET v = 'b' WHERE id = 1",
        'DELETE FROM t',
      ];
      const remoteInfo = await db.slots.create('s', { from: 'beginning' });
      const localInfo = await local.slots.create('s', { from: 'beginning' });
      expect(remoteInfo).toEqual(localInfo);
      for (const s of script) {
        await db.exec(s);
        await local.exec(s);
      }
      const r = await db.slots.read('s', { max: 100 });
      const l = await local.slots.read('s', { max: 100 });
      expect(typeof r.position).toBe('bigint');
      expect(r.position).toBe(l.position);
      expect(shape(r.transactions)).toEqual(shape(l.transactions as ChangeTransaction[]));
      const after = (r.transactions[0]!.events[0] as ChangeEvent).after!;
      expect(after.b).toEqual(new Uint8Array([0, 255]));
      expect(after.b!.constructor).toBe(Uint8Array);
      expect(after.big).toBe(9223372036854775807n);
      await db.slots.ack('s', r.transactions[0]!.commitLsn);
      expect((await db.slots.list())[0]).toMatchObject({ name: 's', confirmedLsn: r.transactions[0]!.commitLsn, status: 'active' });
      await expect(db.slots.read('nope')).rejects.toMatchObject({ code: 'ERROR' });
      await expect(db.slots.ack('s', r.position + 99n)).rejects.toMatchObject({ code: 'RANGE' });
      await db.slots.drop('s');
      expect(await db.slots.list()).toEqual([]);
      await db.close();
      await local.close();
    }
  });
});

describe('db.subscribe over the WebSocket', () => {
  test('delivers in order, pauses at maxInFlight until ack, and stops on break', async () => {
    const { db } = fresh();
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    await db.slots.create('s');
    const sub = db.subscribe('s', { batchSize: 2, maxInFlight: 4 });
    for (let i = 1; i <= 6; i++) await db.exec('INSERT INTO t VALUES (?)', [i]);
    const ids: unknown[] = [];
    let last = 0n;
    const it = sub[Symbol.asyncIterator]();
    while (ids.length < 4) {
      const { value } = await it.next();
      for (const t of value!) {
        ids.push((t.events[0] as ChangeEvent).key.id);
        last = t.commitLsn;
      }
    }
    // Paused at 4 unacknowledged events: the next batch waits for an ack.
    const pending = it.next();
    const raced = await Promise.race([pending.then(() => 'delivered'), new Promise((r) => setTimeout(() => r('paused'), 150))]);
    expect(raced).toBe('paused');
    await sub.ack(last);
    const more = await pending;
    for (const t of more.value!) ids.push((t.events[0] as ChangeEvent).key.id);
    expect(ids.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
    expect(await sub.return()).toEqual({ done: true, value: undefined });
    expect(await it.next()).toEqual({ done: true, value: undefined });
    expect((await db.slots.list())[0]!.confirmedLsn).toBe(last);
    await db.close();
  });

  test('a dropped connection throws CONNECTION; resubscribing redelivers after the last ack', async () => {
    const { db } = fresh();
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    await db.slots.create('s');
    for (let i = 1; i <= 5; i++) await db.exec('INSERT INTO t VALUES (?)', [i]);
    const seen = new Map<string, number>();
    const sub = db.subscribe('s', { batchSize: 1 });
    const first = await sub.next();
    await sub.ack(first.value![0]!.commitLsn);
    const second = await sub.next(); // received, not acknowledged
    for (const t of [...first.value!, ...second.value!]) for (const e of t.events) seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
    server.dropSockets();
    let err: unknown;
    try {
      for (let i = 0; i < 10; i++) await sub.next();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DosqlError);
    expect((err as DosqlError).code).toBe('CONNECTION');
    await db.exec('INSERT INTO t VALUES (6)'); // reconnects
    const again = db.subscribe('s', { batchSize: 10 });
    const order: unknown[] = [];
    for await (const txns of again) {
      for (const t of txns) for (const e of t.events) {
        seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
        order.push((e as ChangeEvent).key.id);
      }
      await again.ack(txns.at(-1)!.commitLsn);
      if (order.at(-1) === 6) break;
    }
    expect(order).toEqual([2, 3, 4, 5, 6]); // 2 again: it was never acknowledged
    expect([...seen.values()].filter((c) => c > 1)).toHaveLength(1);
    expect(seen.size).toBe(6);
    await expect(fresh('http').db.subscribe('s').next()).rejects.toMatchObject({ code: 'MISUSE' });
    await db.close();
  });
});
