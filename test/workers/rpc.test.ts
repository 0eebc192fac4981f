/**
 * capnweb RPC in workerd, through the real Worker: over a WebSocket (one session, many calls) and
 * over HTTP batch (calls issued together, then awaited). Values keep their types across the wire
 * (bigint, Uint8Array, LSN as bigint) and errors come back as `{ ok: false, error }` values.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { newHttpBatchRpcSession, newWebSocketRpcSession, type RpcStub } from 'capnweb';
import type { DatabaseRpc } from '../../base/api.js';
import { freshName, workerFetch, FULL, ORIGIN, READ_ONLY } from './helpers.js';

async function openSocket(name: string, token: string): Promise<{ api: RpcStub<DatabaseRpc>; ws: WebSocket }> {
  const res = await workerFetch(`/db/${name}`, { headers: { upgrade: 'websocket', authorization: `Bearer ${token}` } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  return { api: newWebSocketRpcSession<DatabaseRpc>(ws as unknown as WebSocket), ws };
}

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

/** capnweb's batch client calls the global fetch: route it to the Worker under test. */
function routeFetchToWorker(): void {
  globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => workerFetch(new Request(input, init))) as typeof fetch;
}

describe('capnweb over WebSocket', () => {
  it('runs exec and query with typed values, errors as values, and schema()', async () => {
    const name = freshName();
    const { api, ws } = await openSocket(name, FULL);
    const created = await api.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB, n INTEGER)');
    expect(created.ok).toBe(true);
    const ins = await api.exec('INSERT INTO t (b, n) VALUES (?, ?), (?, ?)', [new Uint8Array([1, 2, 255]), 2n ** 62n, null, 5]);
    expect(ins).toMatchObject({ ok: true, value: { rowsAffected: 2, lastInsertRowid: 2 } });
    if (!ins.ok) throw new Error('unreachable');
    expect(typeof ins.value.lsn).toBe('bigint');

    const q = await api.query('SELECT id, b, n FROM t ORDER BY id');
    if (!q.ok) throw new Error(q.error.message);
    expect(q.value.columns).toEqual(['id', 'b', 'n']);
    expect(q.value.rows[0]![1]).toBeInstanceOf(Uint8Array);
    expect([...(q.value.rows[0]![1] as Uint8Array)]).toEqual([1, 2, 255]);
    expect(q.value.rows[0]![2]).toBe(2n ** 62n);
    expect(q.value.rows[1]).toEqual([2, null, 5]);
    expect(q.value.lsn).toBe(ins.value.lsn);

    const big = await api.query('SELECT n FROM t WHERE id = :id', { id: 2 }, { intMode: 'bigint' });
    expect(big).toMatchObject({ ok: true, value: { rows: [[5n]] } });

    const err = await api.query('SELECT * FROM missing');
    expect(err).toMatchObject({ ok: false, error: { code: 'NO_SUCH_TABLE' } });
    const syntax = await api.exec('CREATE TABLE (');
    expect(syntax).toMatchObject({ ok: false, error: { code: 'SYNTAX_ERROR', line: 1 } });
    const misuse = await api.exec(42 as unknown as string);
    expect(misuse).toMatchObject({ ok: false, error: { code: 'MISUSE' } });

    // Pipelined calls on one connection, then the schema for shells.
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => api.exec('INSERT INTO t (n) VALUES (?)', [i])));
    expect(many.every((r) => r.ok)).toBe(true);
    expect(await api.query('SELECT count(*) FROM t')).toMatchObject({ ok: true, value: { rows: [[22]] } });
    const schema = await (api as unknown as { schema(): Promise<unknown> }).schema();
    expect(schema).toMatchObject({ ok: true, value: [{ name: 't' }] });
    ws.close();
  });

  it('refuses writes from a read-only token and no token at all', async () => {
    const name = freshName();
    const full = await openSocket(name, FULL);
    await full.api.exec('CREATE TABLE t (a)');
    const ro = await openSocket(name, READ_ONLY);
    expect(await ro.api.exec('INSERT INTO t VALUES (1)')).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await ro.api.query('DELETE FROM t')).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await ro.api.query('SELECT count(*) FROM t')).toMatchObject({ ok: true, value: { rows: [[0]] } });
    const none = await workerFetch(`/db/${name}`, { headers: { upgrade: 'websocket' } });
    expect(none.status).toBe(401);
    expect(none.webSocket).toBeFalsy();
    full.ws.close();
    ro.ws.close();
  });
});

describe('capnweb over HTTP batch', () => {
  it('runs a batch of calls issued before awaiting any', async () => {
    routeFetchToWorker();
    const name = freshName();
    const url = `${ORIGIN}/db/${name}`;
    const headers = { authorization: `Bearer ${FULL}` };
    {
      const api = newHttpBatchRpcSession<DatabaseRpc>(new Request(url, { headers }));
      const a = api.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB)');
      const b = api.exec('INSERT INTO t VALUES (?, ?)', ['x', new Uint8Array([9, 8])]);
      const c = api.query('SELECT k, v FROM t');
      const [ra, rb, rc] = await Promise.all([a, b, c]);
      expect(ra.ok && rb.ok).toBe(true);
      if (!rc.ok) throw new Error(rc.error.message);
      expect(rc.value.columns).toEqual(['k', 'v']);
      // capnweb may hand bytes back as a Uint8Array subclass (Buffer under nodejs_compat).
      expect(rc.value.rows.map(([k, v]) => [k, [...(v as Uint8Array)]])).toEqual([['x', [9, 8]]]);
    }
    {
      const api = newHttpBatchRpcSession<DatabaseRpc>(new Request(url, { headers: { authorization: `Bearer ${READ_ONLY}` } }));
      const w = api.exec("INSERT INTO t VALUES ('y', NULL)");
      const r = api.query('SELECT count(*) FROM t');
      const [rw, rr] = await Promise.all([w, r]);
      expect(rw).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
      expect(rr).toMatchObject({ ok: true, value: { rows: [[1]] } });
    }
    {
      const api = newHttpBatchRpcSession<DatabaseRpc>(new Request(url, { headers: { authorization: 'Bearer nope' } }));
      await expect(api.query('SELECT 1')).rejects.toThrow();
    }
  });
});
