/**
 * Auth in workerd: every route needs a bearer token; missing or wrong → 401, a database outside
 * the token's scope → 403, a read-only token's write → 403; in every refused case nothing runs and
 * nothing changes. A client cannot grant itself access with the internal permission header.
 */
import { describe, expect, it } from 'vitest';
import { freshName, sql, workerFetch, FULL, LISTED, PREFIX, READ_ONLY, SINGLE } from './helpers.js';

async function count(db: string): Promise<number> {
  const r = await sql(db, 'SELECT count(*) FROM t');
  expect(r.status).toBe(200);
  return r.body.rows[0][0];
}

describe('tokens', () => {
  it('refuses a missing, malformed or wrong token with 401 and runs nothing', async () => {
    const db = freshName();
    await sql(db, 'CREATE TABLE t (a)');
    for (const token of [null, 'wrong-token', `${FULL}x`, FULL.slice(0, -1), '']) {
      const r = await sql(db, 'INSERT INTO t VALUES (1)', undefined, token);
      expect(r.status, String(token)).toBe(401);
      expect(r.body.error.code).toBe('UNAUTHORIZED');
    }
    const basic = await workerFetch(`/db/${db}/query`, {
      method: 'POST',
      headers: { authorization: `Basic ${btoa('a:' + FULL)}` },
      body: JSON.stringify({ sql: 'INSERT INTO t VALUES (1)' }),
    });
    expect(basic.status).toBe(401);
    expect(basic.headers.get('www-authenticate')).toContain('Bearer');
    // RPC routes too, and even unknown routes do not answer before authentication.
    expect((await workerFetch(`/db/${db}`, { method: 'POST', body: '' })).status).toBe(401);
    expect((await workerFetch(`/db/${db}`, { headers: { upgrade: 'websocket' } })).status).toBe(401);
    expect((await workerFetch('/anything')).status).toBe(401);
    expect(await count(db)).toBe(0);
  });

  it('accepts DOSQL_TOKEN and every DOSQL_TOKENS entry within its scope', async () => {
    const db = freshName();
    expect((await sql(db, 'CREATE TABLE t (a)', undefined, SINGLE)).status).toBe(200);
    expect((await sql(db, 'INSERT INTO t VALUES (1)', undefined, FULL)).status).toBe(200);
    expect((await sql(db, 'SELECT * FROM t', undefined, READ_ONLY)).status).toBe(200);
    const app = freshName('app');
    expect((await sql(app, 'CREATE TABLE t (a)', undefined, PREFIX)).status).toBe(200);
    expect((await sql('listed-1', 'SELECT 1', undefined, LISTED)).status).toBe(200);
    expect((await sql('listed-2', 'SELECT 1', undefined, LISTED)).status).toBe(200);
  });

  it('refuses a database outside the token scope with 403 and changes nothing', async () => {
    const db = freshName('other');
    await sql(db, 'CREATE TABLE t (a)');
    for (const token of [PREFIX, LISTED]) {
      const r = await sql(db, 'INSERT INTO t VALUES (1)', undefined, token);
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('FORBIDDEN');
      expect((await sql(db, 'SELECT 1', undefined, token)).status).toBe(403);
    }
    expect((await sql('listed-3', 'SELECT 1', undefined, LISTED)).status).toBe(403);
    expect((await sql('ap-x', 'SELECT 1', undefined, PREFIX)).status).toBe(403);
    expect(await count(db)).toBe(0);
  });

  it("refuses a read-only token's writes with 403 FORBIDDEN, even with a forged permission header", async () => {
    const db = freshName();
    await sql(db, 'CREATE TABLE t (a)');
    await sql(db, 'INSERT INTO t VALUES (1)');
    for (const stmt of ['INSERT INTO t VALUES (2)', 'DELETE FROM t', 'DROP TABLE t', 'CREATE TABLE u (b)', 'SELECT 1; DELETE FROM t', 'BEGIN', 'UPDATE t SET a = 3']) {
      const r = await sql(db, stmt, undefined, READ_ONLY);
      expect(r.status, stmt).toBe(403);
      expect(r.body.error.code).toBe('FORBIDDEN');
    }
    const forged = await workerFetch(`/db/${db}/query`, {
      method: 'POST',
      headers: { authorization: `Bearer ${READ_ONLY}`, 'x-dosql-access': 'read-write' },
      body: JSON.stringify({ sql: 'DELETE FROM t' }),
    });
    expect(forged.status).toBe(403);
    expect((await sql(db, 'SELECT a FROM t', undefined, READ_ONLY)).body.rows).toEqual([[1]]);
    expect((await sql(db, 'SELECT * FROM u')).body.error.code).toBe('NO_SUCH_TABLE');
  });

  it('refuses requests that reach the Durable Object without the Worker', async () => {
    const { testEnv } = await import('./helpers.js');
    const env = testEnv();
    const stub = env.DATABASE.get(env.DATABASE.idFromName(freshName()));
    const r = await stub.fetch('http://do/db/x/query', { method: 'POST', body: JSON.stringify({ sql: 'CREATE TABLE t (a)' }) });
    expect(r.status).toBe(403);
  });
});
