/**
 * The client's transaction API (`begin`, `transaction`, `batch`) against the in-process test
 * server (test/client/server.ts), which serves the real server's transaction handle: commit on
 * return and rollback on throw as embedded, isolation and CONFLICT, the idle timeout (a short one
 * through the server's limits), CONNECTION on an old handle after the socket dropped, and MISUSE
 * for interactive transactions over HTTP batch.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connect, DosqlError, type RemoteDatabase } from '../../client/index.js';
import { startTestServer, type TestServer } from './server.js';

const IDLE_MS = 300;
let server: TestServer;
let nextDb = 0;
beforeAll(async () => {
  server = await startTestServer('tx-token', { limits: { transactionIdleMsMax: IDLE_MS, transactionsOpenMax: 8 } });
});
afterAll(async () => {
  await server?.close();
});

function fresh(transport: 'websocket' | 'http' = 'websocket'): RemoteDatabase {
  return connect(`${server.origin}/db/tx${nextDb++}`, { token: server.token, transport });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('remote transactions', () => {
  test('transaction(fn) commits on return and rolls back on throw', async () => {
    const db = fresh();
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    const n = await db.transaction(async (tx) => {
      await tx.exec("INSERT INTO t VALUES (1, 'a'), (2, 'b')");
      expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 }); // not yet visible outside
      return (await tx.get('SELECT count(*) AS n FROM t'))!.n;
    });
    expect(n).toBe(2);
    expect(await db.all('SELECT id, v FROM t ORDER BY id')).toEqual([{ id: 1, v: 'a' }, { id: 2, v: 'b' }]);

    const boom = new Error('boom');
    await expect(
      db.transaction(async (tx) => {
        await tx.exec('DELETE FROM t');
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 2 });
    await db.close();
  });

  test('begin() gives a handle; a conflicting commit is CONFLICT; ended handles are MISUSE', async () => {
    const db = fresh();
    await db.exec('CREATE TABLE acct (id INTEGER PRIMARY KEY, bal INTEGER); INSERT INTO acct VALUES (1, 100)');
    const tx = await db.begin();
    expect(tx.ended).toBe(false);
    expect(await tx.get('SELECT bal FROM acct WHERE id = 1')).toEqual({ bal: 100 });
    await db.exec('UPDATE acct SET bal = 50 WHERE id = 1');
    expect((await tx.query('SELECT bal FROM acct WHERE id = 1')).rows).toEqual([[100]]);
    await tx.exec('UPDATE acct SET bal = bal + 1 WHERE id = 1');
    await expect(tx.commit()).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(tx.ended).toBe(true);
    await expect(tx.exec('SELECT 1')).rejects.toMatchObject({ code: 'MISUSE' });
    await tx.rollback(); // idempotent

    const ok = await db.begin({ isolation: 'snapshot' });
    await ok.exec('UPDATE acct SET bal = 7 WHERE id = 1');
    const { lsn } = await ok.commit();
    expect(await db.query('SELECT bal FROM acct')).toEqual({ columns: ['bal'], rows: [[7]], lsn });
    await expect(db.begin({ isolation: 'nope' as 'snapshot' })).rejects.toMatchObject({ code: 'MISUSE' });
    await db.close();
  });

  test('an idle transaction is rolled back by the server and its next call is TIMEOUT', async () => {
    const db = fresh();
    await db.exec('CREATE TABLE t (a)');
    const tx = await db.begin();
    await tx.exec('INSERT INTO t VALUES (1)');
    await sleep(IDLE_MS + 300);
    const e = await tx.exec('INSERT INTO t VALUES (2)').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DosqlError);
    expect(e).toMatchObject({ code: 'TIMEOUT' });
    expect((e as Error).message).toContain(`rolled back after ${IDLE_MS} ms idle`);
    await tx.rollback();
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
    await db.close();
  });

  test('after a connection drop an old handle fails with CONNECTION, and the database goes on', async () => {
    const db = fresh();
    await db.exec('CREATE TABLE t (a)');
    const tx = await db.begin();
    await tx.exec('INSERT INTO t VALUES (1)');
    server.dropSockets();
    const e = await tx.exec('INSERT INTO t VALUES (2)').catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'CONNECTION' });
    expect((e as Error).message).toContain('rolled the transaction back');
    await tx.rollback(); // nothing to do: the server already rolled it back
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 }); // reconnects
    await db.transaction(async (t2) => {
      await t2.exec('INSERT INTO t VALUES (3)');
    });
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 1 });
    await db.close();
  });

  test('batch() is atomic over both transports; begin() needs a WebSocket', async () => {
    for (const transport of ['websocket', 'http'] as const) {
      const db = fresh(transport);
      await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
      const r = await db.batch([
        { sql: 'INSERT INTO t (v) VALUES (?)', params: ['a'] },
        { sql: 'SELECT v FROM t' },
      ]);
      expect(r.map((x) => x.rowsAffected)).toEqual([1, 0]);
      expect(r[0]!.lastInsertRowid).toBe(1);
      expect(r[1]!.rows).toEqual([['a']]);
      await expect(db.batch([{ sql: "INSERT INTO t VALUES (5, 'x')" }, { sql: 'INSERT INTO nope VALUES (1)' }])).rejects.toMatchObject({ code: 'NO_SUCH_TABLE' });
      expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 1 });
      if (transport === 'http') await expect(db.begin()).rejects.toMatchObject({ code: 'MISUSE' });
      await db.close();
    }
  });
});

test('connect(url, { branch }) reaches /db/<name>/branch/<branch>', async () => {
  expect(connect('http://x.test/db/a', { token: 't', branch: 'dev' }).url).toBe('http://x.test/db/a/branch/dev');
  expect(connect('wss://x.test/db/a/', { token: 't', branch: 'v1.2' }).url).toBe('https://x.test/db/a/branch/v1.2');
  expect(() => connect('http://x.test/db/a', { token: 't', branch: 'a/b' })).toThrow(expect.objectContaining({ code: 'MISUSE' }));
  // The in-process test server has no branches: the call is refused like any unknown path.
  const db = connect(`${server.origin}/db/x`, { token: server.token, branch: 'dev' });
  await expect(db.query('SELECT 1')).rejects.toBeInstanceOf(DosqlError);
  await db.close();
});
