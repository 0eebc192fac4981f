/**
 * Time travel through the real Worker and Durable Object: the asOf option over RPC and
 * FOR SYSTEM_TIME in SQL read past states of a database stored in Durable Object storage.
 */
import { describe, expect, it } from 'vitest';
import { newWebSocketRpcSession } from 'capnweb';
import type { DatabaseRpc } from '../../base/api.js';
import { freshName, workerFetch, FULL } from './helpers.js';

describe('time travel over RPC', () => {
  it('reads AS OF an LSN with the option and in SQL', async () => {
    const res = await workerFetch(`/db/${freshName()}`, { headers: { upgrade: 'websocket', authorization: `Bearer ${FULL}` } });
    const ws = res.webSocket!;
    ws.accept();
    const api = newWebSocketRpcSession<DatabaseRpc>(ws as unknown as WebSocket);
    await api.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    const first = await api.exec("INSERT INTO t VALUES (1, 'old')");
    if (!first.ok) throw new Error(first.error.message);
    await api.exec("UPDATE t SET v = 'new' WHERE id = 1");
    const past = await api.query('SELECT v FROM t WHERE id = 1', [], { asOf: { lsn: first.value.lsn } });
    expect(past).toMatchObject({ ok: true, value: { rows: [['old']], lsn: first.value.lsn } });
    const sql = await api.query(`SELECT v FROM t FOR SYSTEM_TIME AS OF LSN ${first.value.lsn}`);
    expect(sql).toMatchObject({ ok: true, value: { rows: [['old']] } });
    const future = await api.query('SELECT v FROM t', [], { asOf: { lsn: 10_000n } });
    expect(future).toMatchObject({ ok: false, error: { code: 'RANGE' } });
    ws.close();
  });
});
