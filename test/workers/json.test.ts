/**
 * The JSON route in workerd, through the real Worker and Durable Object: result shapes, the BLOB
 * and bigint forms both ways, error codes and HTTP statuses, and isolation between databases.
 */
import { describe, expect, it } from 'vitest';
import { freshName, sql, workerFetch, FULL } from './helpers.js';

describe('POST /db/<name>/query', () => {
  it('creates, writes and reads, with the write and row shapes', async () => {
    const db = freshName();
    const created = await sql(db, 'CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, data BLOB, big INTEGER, r REAL)');
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ columns: [], rows: [], rowsAffected: 0 });
    const ins = await sql(db, 'INSERT INTO t (name, data, big, r) VALUES (?, ?, ?, ?), (:n, NULL, 7, 2.0)', [
      'ada',
      { $blob: 'AAEC/w==' },
      { $bigint: '9223372036854775807' },
      1.5,
    ]);
    expect(ins.status).toBe(200);
    expect(ins.body.rowsAffected).toBe(2);
    expect(ins.body.lastInsertRowid).toBe(2);
    expect(typeof ins.body.lsn).toBe('string');
    expect(BigInt(ins.body.lsn)).toBeGreaterThan(0n);

    const q = await sql(db, 'SELECT id, name, data, big, r FROM t ORDER BY id');
    expect(q.status).toBe(200);
    expect(q.body.columns).toEqual(['id', 'name', 'data', 'big', 'r']);
    expect(q.body.rows).toEqual([
      [1, 'ada', { $blob: 'AAEC/w==' }, { $bigint: '9223372036854775807' }, 1.5],
      [2, null, null, 7, 2],
    ]);
    expect(q.body.lsn).toBe(ins.body.lsn);

    const named = await sql(db, 'SELECT name FROM t WHERE big = $big', { big: { $bigint: '9223372036854775807' } });
    expect(named.body.rows).toEqual([['ada']]);
    const neg = await sql(db, 'SELECT -9007199254740992, 9007199254740991, x\'00ff\'');
    expect(neg.body.rows).toEqual([[{ $bigint: '-9007199254740992' }, 9007199254740991, { $blob: 'AP8=' }]]);
  });

  it('maps errors to codes and HTTP statuses, and keeps serving', async () => {
    const db = freshName();
    const syntax = await sql(db, 'SELEC 1');
    expect(syntax.status).toBe(400);
    expect(syntax.body.error).toMatchObject({ code: 'SYNTAX_ERROR', line: 1, column: 1 });
    const missing = await sql(db, 'SELECT * FROM nope');
    expect(missing).toMatchObject({ status: 400, body: { error: { code: 'NO_SUCH_TABLE' } } });
    await sql(db, 'CREATE TABLE u (a INTEGER PRIMARY KEY, b TEXT NOT NULL UNIQUE)');
    await sql(db, "INSERT INTO u VALUES (1, 'x')");
    const dup = await sql(db, "INSERT INTO u VALUES (2, 'x')");
    expect(dup).toMatchObject({ status: 409, body: { error: { code: 'CONSTRAINT_UNIQUE' } } });
    const nn = await sql(db, 'INSERT INTO u VALUES (3, NULL)');
    expect(nn).toMatchObject({ status: 409, body: { error: { code: 'CONSTRAINT_NOTNULL' } } });
    const badParam = await sql(db, 'SELECT ?', [{ nope: 1 }]);
    expect(badParam).toMatchObject({ status: 400, body: { error: { code: 'MISMATCH' } } });
    const badBlob = await sql(db, 'SELECT ?', [{ $blob: '***' }]);
    expect(badBlob).toMatchObject({ status: 400, body: { error: { code: 'MISMATCH' } } });
    // A transaction left open by a failing call is rolled back: nothing of it stays.
    const half = await sql(db, "BEGIN; INSERT INTO u VALUES (5, 'y'); INSERT INTO u VALUES (6, 'x'); COMMIT");
    expect(half.status).toBe(409);
    const open = await sql(db, "BEGIN; INSERT INTO u VALUES (7, 'z')");
    expect(open.status).toBe(200);
    expect((await sql(db, 'SELECT a FROM u ORDER BY a')).body.rows).toEqual([[1]]);
    const tx = await sql(db, "BEGIN; INSERT INTO u VALUES (8, 'w'); COMMIT");
    expect(tx.status).toBe(200);
    expect((await sql(db, 'SELECT count(*) FROM u')).body.rows).toEqual([[2]]);
  });

  it('refuses bad bodies, bad names, unknown routes and other methods', async () => {
    const auth = { authorization: `Bearer ${FULL}` };
    const notJson = await workerFetch('/db/x/query', { method: 'POST', headers: auth, body: '{' });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as any).error.code).toBe('MISUSE');
    const noSql = await workerFetch('/db/x/query', { method: 'POST', headers: auth, body: '{"params":[]}' });
    expect(noSql.status).toBe(400);
    const get = await workerFetch('/db/x/query', { headers: auth });
    expect(get.status).toBe(405);
    for (const bad of ['/db/a%20b/query', '/db/' + 'x'.repeat(65), '/db/a$b', '/db//query']) {
      expect((await workerFetch(bad, { method: 'POST', headers: auth, body: '{"sql":"SELECT 1"}' })).status, bad).toBe(400);
    }
    expect((await workerFetch('/nothing', { headers: auth })).status).toBe(404);
    expect((await workerFetch('/db/x/other', { headers: auth })).status).toBe(404);
  });

  it('keeps two databases isolated', async () => {
    const a = freshName();
    const b = freshName();
    await sql(a, 'CREATE TABLE t (v TEXT)');
    await sql(a, "INSERT INTO t VALUES ('in a')");
    expect((await sql(b, 'SELECT * FROM t')).body.error.code).toBe('NO_SUCH_TABLE');
    await sql(b, 'CREATE TABLE t (v TEXT)');
    await sql(b, "INSERT INTO t VALUES ('in b'), ('also b')");
    expect((await sql(a, 'SELECT v FROM t')).body.rows).toEqual([['in a']]);
    expect((await sql(b, 'SELECT count(*) FROM t')).body.rows).toEqual([[2]]);
  });
});
