/**
 * Interactive remote transactions in workerd, through the real Worker over capnweb WebSockets:
 * `begin()` returns a stub of the server-held transaction (server/transactions.ts). Covers commit,
 * rollback, snapshot isolation against concurrent plain writes, CONFLICT at commit, the idle
 * timeout (a real wait past the test limit `transactionIdleMsMax`), disposal on a dropped
 * connection, the open-transaction bound, read-only tokens, and `batch`.
 */
import { describe, expect, it } from 'vitest';
import { newWebSocketRpcSession, type RpcStub } from 'capnweb';
import type { DatabaseRpc, TransactionRpc, WireResult } from '../../base/api.js';
import { TEST_LIMITS } from './config.js';
import { freshName, workerFetch, FULL, READ_ONLY } from './helpers.js';

async function openSocket(name: string, token = FULL): Promise<{ api: RpcStub<DatabaseRpc>; ws: WebSocket }> {
  const res = await workerFetch(`/db/${name}`, { headers: { upgrade: 'websocket', authorization: `Bearer ${token}` } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  return { api: newWebSocketRpcSession<DatabaseRpc>(ws as unknown as WebSocket), ws };
}

function value<T>(r: WireResult<T>): T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

async function begin(api: RpcStub<DatabaseRpc>, options?: Parameters<DatabaseRpc['begin']>[0]): Promise<RpcStub<TransactionRpc>> {
  return value(await api.begin(options)) as unknown as RpcStub<TransactionRpc>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('remote transactions', () => {
  it('commits and rolls back; uncommitted writes stay private', async () => {
    const { api, ws } = await openSocket(freshName());
    value(await api.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)'));

    const tx = await begin(api);
    value(await tx.exec("INSERT INTO t VALUES (1, 'a'), (2, 'b')"));
    expect(await tx.query('SELECT count(*) FROM t')).toMatchObject({ ok: true, value: { rows: [[2]] } });
    expect(await api.query('SELECT count(*) FROM t')).toMatchObject({ ok: true, value: { rows: [[0]] } });
    // A failing statement undoes itself only; the transaction goes on.
    expect(await tx.exec("INSERT INTO t VALUES (1, 'dup')")).toMatchObject({ ok: false, error: { code: 'CONSTRAINT_UNIQUE' } });
    const committed = value(await tx.commit());
    expect(typeof committed.lsn).toBe('bigint');
    expect(await api.query('SELECT id, v FROM t ORDER BY id')).toMatchObject({ ok: true, value: { rows: [[1, 'a'], [2, 'b']], lsn: committed.lsn } });
    expect(await tx.exec('DELETE FROM t')).toMatchObject({ ok: false, error: { code: 'MISUSE' } });

    const tx2 = await begin(api);
    value(await tx2.exec('DELETE FROM t'));
    expect(await tx2.query('SELECT count(*) FROM t')).toMatchObject({ ok: true, value: { rows: [[0]] } });
    expect(await tx2.rollback()).toEqual({ ok: true, value: null });
    expect(await tx2.rollback()).toEqual({ ok: true, value: null }); // idempotent
    expect(await api.query('SELECT count(*) FROM t')).toMatchObject({ ok: true, value: { rows: [[2]] } });
    expect(await tx2.query('SELECT 1')).toMatchObject({ ok: false, error: { code: 'MISUSE' } });
    expect(await api.begin({ isolation: 'bogus' as 'snapshot' })).toMatchObject({ ok: false, error: { code: 'MISUSE' } });
    ws.close();
  });

  it('reads a snapshot: concurrent plain writes are invisible, and a conflicting commit is CONFLICT', async () => {
    const { api, ws } = await openSocket(freshName());
    value(await api.exec("CREATE TABLE acct (id INTEGER PRIMARY KEY, bal INTEGER); INSERT INTO acct VALUES (1, 100), (2, 100)"));

    // SERIALIZABLE (default): what it read changed underneath it.
    const tx = await begin(api);
    expect(await tx.query('SELECT bal FROM acct WHERE id = 1')).toMatchObject({ ok: true, value: { rows: [[100]] } });
    value(await api.exec('UPDATE acct SET bal = 50 WHERE id = 1'));
    value(await api.exec('INSERT INTO acct VALUES (3, 7)'));
    expect(await tx.query('SELECT bal FROM acct WHERE id = 1')).toMatchObject({ ok: true, value: { rows: [[100]] } });
    expect(await tx.query('SELECT count(*) FROM acct')).toMatchObject({ ok: true, value: { rows: [[2]] } });
    value(await tx.exec('UPDATE acct SET bal = bal + 1 WHERE id = 1'));
    expect(await tx.commit()).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
    expect(await api.query('SELECT bal FROM acct WHERE id = 1')).toMatchObject({ ok: true, value: { rows: [[50]] } });

    // SNAPSHOT: first committer wins on the same row; disjoint writes both commit.
    const a = await begin(api, { isolation: 'snapshot' });
    const b = await begin(api, { isolation: 'snapshot' });
    value(await a.exec('UPDATE acct SET bal = 1 WHERE id = 2'));
    value(await b.exec('UPDATE acct SET bal = 2 WHERE id = 2'));
    value(await a.commit());
    expect(await b.commit()).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
    const c = await begin(api, { isolation: 'snapshot' });
    const d = await begin(api, { isolation: 'snapshot' });
    value(await c.exec('UPDATE acct SET bal = 10 WHERE id = 1'));
    value(await d.exec('UPDATE acct SET bal = 30 WHERE id = 3'));
    value(await c.commit());
    value(await d.commit());
    expect(await api.query('SELECT id, bal FROM acct ORDER BY id')).toMatchObject({ ok: true, value: { rows: [[1, 10], [2, 1], [3, 30]] } });
    ws.close();
  });

  it('rolls an abandoned transaction back after its idle timeout; its next call gets TIMEOUT', async () => {
    const { api, ws } = await openSocket(freshName());
    value(await api.exec('CREATE TABLE t (a)'));
    const tx = await begin(api);
    value(await tx.exec('INSERT INTO t VALUES (1)'));
    await sleep(TEST_LIMITS.transactionIdleMsMax + 500);
    const r = await tx.exec('INSERT INTO t VALUES (2)');
    expect(r).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
    if (r.ok) throw new Error('unreachable');
    expect(r.error.message).toContain(`rolled back after ${TEST_LIMITS.transactionIdleMsMax} ms idle`);
    expect(await tx.commit()).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
    expect(await tx.rollback()).toEqual({ ok: true, value: null });
    expect(await api.query('SELECT count(*) FROM t')).toMatchObject({ ok: true, value: { rows: [[0]] } });

    // A transaction in use is not idle: calls spaced below the timeout keep it alive.
    const busy = await begin(api);
    for (let i = 0; i < 3; i++) {
      await sleep(TEST_LIMITS.transactionIdleMsMax / 2);
      value(await busy.exec('INSERT INTO t VALUES (?)', [i]));
    }
    value(await busy.commit());
    expect(await api.query('SELECT count(*) FROM t')).toMatchObject({ ok: true, value: { rows: [[3]] } });
    ws.close();
  });

  it('bounds open transactions, and a dropped connection rolls its transactions back at once', async () => {
    const name = freshName();
    const first = await openSocket(name);
    value(await first.api.exec('CREATE TABLE t (a)'));
    const open: Array<RpcStub<TransactionRpc>> = [];
    for (let i = 0; i < TEST_LIMITS.transactionsOpenMax; i++) {
      const tx = await begin(first.api);
      value(await tx.exec('INSERT INTO t VALUES (?)', [i]));
      open.push(tx);
    }
    expect(await first.api.begin()).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED' } });
    value(await open[0]!.rollback());
    const again = await begin(first.api);
    open[0] = again;

    // Drop the socket without ending anything: the server disposes the handles and rolls back.
    first.ws.close();
    const second = await openSocket(name);
    let r = await second.api.begin();
    for (let i = 0; i < 50 && !r.ok; i++) {
      await sleep(20);
      r = await second.api.begin();
    }
    expect(r.ok).toBe(true);
    const others = await Promise.all(Array.from({ length: TEST_LIMITS.transactionsOpenMax - 1 }, () => second.api.begin()));
    expect(others.every((o) => o.ok)).toBe(true);
    expect(await second.api.query('SELECT count(*) FROM t')).toMatchObject({ ok: true, value: { rows: [[0]] } });
    second.ws.close();
  });

  it('lets a read-only token begin and read, and refuses its writes with FORBIDDEN', async () => {
    const name = freshName();
    const full = await openSocket(name);
    value(await full.api.exec('CREATE TABLE t (a); INSERT INTO t VALUES (1)'));
    const ro = await openSocket(name, READ_ONLY);
    const tx = await begin(ro.api);
    expect(await tx.query('SELECT count(*) FROM t')).toMatchObject({ ok: true, value: { rows: [[1]] } });
    expect(await tx.exec('INSERT INTO t VALUES (2)')).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await tx.query('DELETE FROM t')).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    value(await tx.commit());
    expect(await ro.api.batch([{ sql: 'INSERT INTO t VALUES (3)' }])).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await ro.api.batch([{ sql: 'SELECT a FROM t' }])).toMatchObject({ ok: true, value: [{ rows: [[1]] }] });
    expect(await full.api.query('SELECT count(*) FROM t')).toMatchObject({ ok: true, value: { rows: [[1]] } });
    full.ws.close();
    ro.ws.close();
  });

  it('runs a batch atomically', async () => {
    const { api, ws } = await openSocket(freshName());
    value(await api.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)'));
    const ok = value(
      await api.batch([
        { sql: 'INSERT INTO t (v) VALUES (?)', params: ['a'] },
        { sql: 'INSERT INTO t (v) VALUES (?)', params: ['b'] },
        { sql: 'SELECT count(*) AS n FROM t' },
      ]),
    );
    expect(ok.map((r) => r.rowsAffected)).toEqual([1, 1, 0]);
    expect(ok[1]!.lastInsertRowid).toBe(2);
    expect(ok[2]).toMatchObject({ columns: ['n'], rows: [[2]] });
    const bad = await api.batch([{ sql: "INSERT INTO t VALUES (9, 'x')" }, { sql: "INSERT INTO t VALUES (1, 'dup')" }]);
    expect(bad).toMatchObject({ ok: false, error: { code: 'CONSTRAINT_UNIQUE' } });
    expect(await api.query('SELECT count(*) FROM t')).toMatchObject({ ok: true, value: { rows: [[2]] } });
    const tooMany = Array.from({ length: TEST_LIMITS.batchStatementsMax + 1 }, () => ({ sql: 'SELECT 1' }));
    expect(await api.batch(tooMany)).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED' } });
    expect(await api.batch('nope' as unknown as [])).toMatchObject({ ok: false, error: { code: 'MISUSE' } });
    ws.close();
  });
});
