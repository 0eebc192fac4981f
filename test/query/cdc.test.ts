import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Database, DosqlError, type ChangeEvent, type ChangeTransaction } from '../../index.js';
import { rng } from '../support/random.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function shop(): Promise<Database> {
  const db = await Database.open();
  await db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price REAL)');
  await db.exec('CREATE TABLE logs (k TEXT PRIMARY KEY, n INTEGER)');
  return db;
}

describe('replication slots (pull)', () => {
  it('read committed transactions in order, whole, with stable ids, until acknowledged', async () => {
    const db = await shop();
    await db.slots.create('sink', { from: 'beginning' });
    await db.exec("INSERT INTO items VALUES (1, 'pen', 1.5), (2, 'cup', 4)");
    await db.exec('BEGIN; DELETE FROM items; ROLLBACK'); // aborted: emits nothing
    await db.exec("UPDATE items SET price = 2 WHERE id = 1; DELETE FROM items WHERE id = 2");
    const first = await db.slots.read('sink');
    expect(first.transactions.map((t) => t.eventCount)).toEqual([2, 1, 1]);
    const [ins, upd] = first.transactions as [ChangeTransaction, ChangeTransaction];
    expect(ins.events[0]).toMatchObject({ operation: 'INSERT', table: 'items', key: { id: 1 }, after: { id: 1, name: 'pen', price: 1.5 } });
    expect(upd.events[0]).toMatchObject({ operation: 'UPDATE', before: { price: 1.5 }, after: { price: 2 } });
    expect((first.transactions[2]!.events[0] as ChangeEvent).before).toEqual({ id: 2, name: 'cup', price: 4 });
    const again = await db.slots.read('sink');
    expect(again.transactions.flatMap((t) => t.events.map((e) => e.id))).toEqual(first.transactions.flatMap((t) => t.events.map((e) => e.id)));
    await db.slots.ack('sink', ins.commitLsn);
    expect((await db.slots.read('sink')).transactions[0]!.commitLsn).toBe(upd.commitLsn);
    const [info] = await db.slots.list();
    expect(info).toMatchObject({ name: 'sink', confirmedLsn: ins.commitLsn, status: 'active' });
    expect(info!.lagEntries).toBeGreaterThan(0n);
    await db.close();
  });

  it('filter by table, operation and column, and speak Debezium', async () => {
    const db = await shop();
    await db.slots.create('prices', { tables: ['items'], operations: ['UPDATE'], columns: ['id', 'price'], format: 'debezium' });
    await db.slots.create('all');
    await db.exec("INSERT INTO items VALUES (1, 'pen', 1.5); INSERT INTO logs VALUES ('a', 1)");
    await db.exec('UPDATE items SET price = 3');
    const p = await db.slots.read('prices');
    expect(p.transactions).toHaveLength(1);
    expect(p.transactions[0]!.events[0]).toMatchObject({ op: 'u', before: { id: 1, price: 1.5 }, after: { id: 1, price: 3 }, source: { table: 'items' } });
    expect((await db.slots.read('all')).transactions).toHaveLength(3);
    // Two slots move independently.
    await db.slots.ack('all', p.position);
    expect((await db.slots.read('all')).transactions).toHaveLength(0);
    expect((await db.slots.read('prices')).transactions).toHaveLength(1);
    await db.close();
  });

  it('marks a slot lost past maxSlotLagBytes and releases it on drop', async () => {
    const db = await Database.open({ maxSlotLagBytes: 2000 });
    await db.exec('CREATE TABLE t (a)');
    await db.slots.create('slow');
    for (let i = 0; i < 30; i++) await db.exec('INSERT INTO t VALUES (?)', ['x'.repeat(100)]);
    const [info] = await db.slots.list();
    await db.slots.enforceLag();
    expect((await db.slots.list())[0]!.status).toBe('lost');
    expect(info!.lagBytes).toBeGreaterThan(2000);
    const err = await db.slots.read('slow').catch((e) => e);
    expect(err).toBeInstanceOf(DosqlError);
    expect(err.message).toMatch(/lost/);
    await db.slots.drop('slow');
    expect(await db.slots.list()).toEqual([]);
    await db.close();
  });
});

describe('consumers that disconnect and restart', () => {
  it('end with every committed change exactly once after dedup, in commit order, across restarts', async () => {
    const path = mkdtempSync(join(tmpdir(), 'dosql-cdc-'));
    dirs.push(path);
    const r = rng(11);
    let db = await Database.open({ path });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)');
    await db.slots.create('etl', { from: 'beginning' });
    const seen = new Map<string, ChangeEvent>();
    const order: bigint[] = [];
    let expected = 0;
    for (let round = 0; round < 25; round++) {
      for (let w = 0; w < 1 + r.int(4); w++) {
        const id = r.int(40);
        if (r.chance(0.2)) {
          await db.exec('BEGIN; INSERT OR REPLACE INTO t VALUES (999, 1); ROLLBACK');
          continue;
        }
        const res = await db.exec('INSERT OR REPLACE INTO t VALUES (?, ?)', [id, round]);
        expected += res.rowsAffected >= 1 ? 1 : 0;
      }
      // The consumer reads a little, maybe acks, maybe "crashes" before acking.
      const batch = await db.slots.read('etl', { max: 1 + r.int(5) });
      for (const t of batch.transactions) for (const e of t.events) {
        if (!seen.has(e.id)) order.push((e as ChangeEvent).lsn);
        seen.set(e.id, e as ChangeEvent);
      }
      if (r.chance(0.6) && batch.transactions.length) await db.slots.ack('etl', batch.transactions.at(-1)!.commitLsn);
      if (r.chance(0.2)) {
        await db.close();
        db = await Database.open({ path });
      }
    }
    for (let drain = 0; drain < 1000; drain++) {
      const batch = await db.slots.read('etl');
      if (!batch.transactions.length) break;
      for (const t of batch.transactions) for (const e of t.events) {
        if (!seen.has(e.id)) order.push((e as ChangeEvent).lsn);
        seen.set(e.id, e as ChangeEvent);
      }
      await db.slots.ack('etl', batch.position);
    }
    const logged = (await db.query('SELECT count(*) FROM t')).rows[0]![0] as number;
    expect(logged).toBeGreaterThan(0);
    // REPLACE of an existing key logs a delete and an insert: count the log's row changes.
    let changes = 0;
    for await (const txn of db.internals.log.read(1n)) changes += txn.changes.filter((c) => c.op !== 'create_table' && c.op !== 'drop_table').length;
    expect(seen.size).toBe(changes);
    expect(order).toEqual([...order].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(expected).toBeGreaterThan(0);
    await db.close();
  });
});

describe('subscriptions (push)', () => {
  it('deliver new commits and pause at maxInFlight until acknowledged', async () => {
    const db = await shop();
    await db.slots.create('push');
    const sub = db.subscribe('push', { batchSize: 2, maxInFlight: 3 });
    const got: ChangeTransaction[] = [];
    const consumer = (async () => {
      for await (const batch of sub) {
        got.push(...batch);
        if (got.reduce((n, t) => n + t.eventCount, 0) >= 10) break;
      }
    })();
    for (let i = 1; i <= 10; i++) await db.exec("INSERT INTO items VALUES (?, 'x', 1)", [i]);
    await new Promise((r) => setTimeout(r, 30));
    expect(got.reduce((n, t) => n + t.eventCount, 0)).toBe(3); // paused: nothing acknowledged
    for (let round = 0; round < 10 && got.reduce((n, t) => n + t.eventCount, 0) < 10; round++) {
      await sub.ack(got.at(-1)!.commitLsn);
      await new Promise((r) => setTimeout(r, 10));
    }
    await consumer;
    expect(got.map((t) => (t.events[0] as ChangeEvent).key)).toEqual(Array.from({ length: 10 }, (_, i) => ({ id: i + 1 })));
    await db.close();
  });
});
