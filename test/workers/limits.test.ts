/**
 * Limits in workerd, at the limit and one past it. vitest.config.ts sets small limits through
 * DOSQL_LIMITS (the same override a deployment uses) so these run fast; the defaults and their
 * reasons are in server/limits.ts. Past a limit: LIMIT_EXCEEDED (413 on the JSON route), nothing
 * runs, and the object keeps serving.
 */
import { describe, expect, it } from 'vitest';
import { newWebSocketRpcSession } from 'capnweb';
import type { DatabaseRpc } from '../../base/api.js';
import { TEST_LIMITS } from './config.js';
import { freshName, sql, workerFetch, FULL } from './helpers.js';

async function expectServing(name: string): Promise<void> {
  expect((await sql(name, 'SELECT 1')).body.rows).toEqual([[1]]);
}

describe('limits', () => {
  it('SQL text: sqlTextCharsMax characters run, one more is refused', async () => {
    const name = freshName();
    const at = 'SELECT 1' + ' '.repeat(TEST_LIMITS.sqlTextCharsMax - 8);
    expect((await sql(name, at)).status).toBe(200);
    const past = await sql(name, at + ' ');
    expect(past.status).toBe(413);
    expect(past.body.error.code).toBe('LIMIT_EXCEEDED');
    expect(past.body.error.message).toContain('sqlTextCharsMax');
    await expectServing(name);
  });

  it('parameters: paramsPerCallMax bind, one more is refused (array and object)', async () => {
    const name = freshName();
    const n = TEST_LIMITS.paramsPerCallMax;
    const text = `SELECT ${Array.from({ length: n }, () => '?').join(' + ')}`;
    const at = await sql(name, text, Array.from({ length: n }, () => 1));
    expect(at.body.rows).toEqual([[n]]);
    const past = await sql(name, text, Array.from({ length: n + 1 }, () => 1));
    expect(past).toMatchObject({ status: 413, body: { error: { code: 'LIMIT_EXCEEDED' } } });
    const named = Object.fromEntries(Array.from({ length: n + 1 }, (_, i) => [`p${i}`, i]));
    expect((await sql(name, 'SELECT :p0', named)).status).toBe(413);
    await expectServing(name);
  });

  it('rows: rowsPerResultMax rows return, one more asks to page with LIMIT/OFFSET', async () => {
    const name = freshName();
    const max = TEST_LIMITS.rowsPerResultMax;
    await sql(name, 'CREATE TABLE t (i INTEGER PRIMARY KEY)');
    await sql(name, `INSERT INTO t VALUES ${Array.from({ length: max + 1 }, (_, i) => `(${i})`).join(',')}`);
    const at = await sql(name, `SELECT i FROM t LIMIT ${max}`);
    expect(at.body.rows.length).toBe(max);
    const past = await sql(name, 'SELECT i FROM t');
    expect(past).toMatchObject({ status: 413, body: { error: { code: 'LIMIT_EXCEEDED' } } });
    expect(past.body.error.message).toMatch(/rowsPerResultMax.*LIMIT and OFFSET/);
    const page = await sql(name, `SELECT i FROM t LIMIT ${max} OFFSET ${max}`);
    expect(page.body.rows).toEqual([[max]]);
  });

  it('bytes: resultBytesMax bytes return, one more is refused, over JSON and RPC', async () => {
    const name = freshName();
    const max = TEST_LIMITS.resultBytesMax;
    const at = await sql(name, 'SELECT ?', ['x'.repeat(max)]);
    expect(at.status).toBe(200);
    const past = await sql(name, 'SELECT ?', ['x'.repeat(max + 1)]);
    expect(past).toMatchObject({ status: 413, body: { error: { code: 'LIMIT_EXCEEDED' } } });
    expect(past.body.error.message).toContain('resultBytesMax');
    // Multi-byte text counts in UTF-8 bytes: max/2 two-byte characters are at the limit.
    expect((await sql(name, 'SELECT ?', ['é'.repeat(max / 2)])).status).toBe(200);
    expect((await sql(name, 'SELECT ?', ['é'.repeat(max / 2) + 'x'])).status).toBe(413);

    const res = await workerFetch(`/db/${name}`, { headers: { upgrade: 'websocket', authorization: `Bearer ${FULL}` } });
    const ws = res.webSocket!;
    ws.accept();
    const api = newWebSocketRpcSession<DatabaseRpc>(ws as unknown as WebSocket);
    expect(await api.query('SELECT ?', [new Uint8Array(max + 1)])).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED' } });
    expect(await api.query('SELECT length(?)', [new Uint8Array(max + 1)])).toMatchObject({ ok: true, value: { rows: [[max + 1]] } });
    ws.close();
    await expectServing(name);
  });

  it('request body: requestBodyBytesMax bytes are read, one more is refused before running', async () => {
    const name = freshName();
    const max = TEST_LIMITS.requestBodyBytesMax;
    const bodyOf = (total: number): string => {
      const head = '{"sql":"SELECT length(?)","params":["';
      const tail = '"]}';
      return head + 'y'.repeat(total - head.length - tail.length) + tail;
    };
    const post = (body: string | ReadableStream, headers: Record<string, string> = {}) =>
      workerFetch(`/db/${name}/query`, { method: 'POST', headers: { authorization: `Bearer ${FULL}`, ...headers }, body });
    const at = await post(bodyOf(max));
    expect(at.status).toBe(200);
    const past = await post(bodyOf(max + 1));
    expect(past.status).toBe(413);
    expect(((await past.json()) as { error: { code: string } }).error.code).toBe('LIMIT_EXCEEDED');
    // A body without Content-Length (streamed) is cut off while reading.
    const bytes = new TextEncoder().encode(bodyOf(max + 1));
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(bytes.subarray(0, 1000));
        c.enqueue(bytes.subarray(1000));
        c.close();
      },
    });
    expect((await post(stream)).status).toBe(413);
    // The RPC batch route too.
    const batch = await workerFetch(`/db/${name}`, { method: 'POST', headers: { authorization: `Bearer ${FULL}` }, body: 'z'.repeat(max + 1) });
    expect(batch.status).toBe(413);
    await expectServing(name);
  });
});
