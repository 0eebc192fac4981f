/**
 * The remote client against an in-process capnweb server that wraps an embedded Database
 * (test/client/server.ts): results and errors must equal the embedded database's for the same SQL,
 * over WebSocket and HTTP batch; values round-trip; auth refusals, dropped connections and close
 * surface with their DosqlError codes.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connect, DosqlError, RECONNECT_ATTEMPTS_MAX, type RemoteDatabase, type Transport } from '../../client/index.js';
import { Database } from '../../query/database.js';
import { HANG_MARKER, startTestServer, type TestServer } from './server.js';

let server: TestServer;
let nextDb = 0;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

function fresh(transport: Transport, extra: { intMode?: 'number' | 'bigint' } = {}): RemoteDatabase {
  return connect(`${server.origin}/db/t${nextDb++}`, { token: server.token, transport, ...extra });
}

/** What a call produced, in a comparable form: the value, or the error's code, message and position. */
async function outcome(f: () => Promise<unknown>): Promise<unknown> {
  try {
    return { value: await f() };
  } catch (e) {
    if (!(e instanceof DosqlError)) throw e;
    return { error: { code: e.code, message: e.message, line: e.line, column: e.column } };
  }
}

type Step = ['exec' | 'query' | 'all' | 'get', string, unknown?];
const SCRIPT: Step[] = [
  ['exec', 'CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, data BLOB)'],
  ['exec', 'INSERT INTO t(name, score, data) VALUES (?, ?, ?)', ['a', 1.5, new Uint8Array([0, 255, 7])]],
  ['exec', 'INSERT INTO t(name, score) VALUES (:n, :s)', { n: 'b', s: 2 }],
  ['exec', 'INSERT INTO t(name, score) VALUES (?, ?); INSERT INTO t(name) VALUES (?)', ['c', -3.25, 'd']],
  ['query', 'SELECT id, name, score, data, typeof(score) AS ts FROM t ORDER BY id'],
  ['all', 'SELECT name, score * 2 AS s2 FROM t WHERE score IS NOT NULL ORDER BY name'],
  ['get', 'SELECT count(*) AS n, sum(score) AS total FROM t'],
  ['get', 'SELECT * FROM t WHERE id = ?', [999]],
  ['exec', 'UPDATE t SET score = score + 1 WHERE name <> ?', ['a']],
  ['exec', 'DELETE FROM t WHERE name = ?', ['d']],
  ['query', 'SELECT 9223372036854775807 AS big, -9223372036854775808 AS small, 2.0 AS two, NULL AS n, x\'cafe\' AS b'],
  ['query', 'SELECT ? AS p1, ? AS p2, ? AS p3', [2n ** 62n, true, null]],
  // errors
  ['query', 'SELEC 1'],
  ['query', 'SELECT *\nFROM t\nWHERE nope = 1'],
  ['query', 'SELECT * FROM missing'],
  ['exec', 'CREATE TABLE t(x)'],
  ['exec', 'INSERT INTO t(id, name) VALUES (1, ?)', ['dup']],
  ['exec', 'INSERT INTO t(name) VALUES (NULL)'],
  ['query', 'SELECT 1; SELECT 2'],
  ['exec', 'COMMIT'],
  ['exec', 'BEGIN; INSERT INTO t(name) VALUES (\'in txn\'); COMMIT'],
  ['query', 'SELECT name FROM t ORDER BY id'],
];

async function runStep(db: Pick<Database, 'exec' | 'query' | 'all' | 'get'>, [method, sql, params]: Step): Promise<unknown> {
  return outcome(() => (db[method] as (s: string, p?: unknown) => Promise<unknown>).call(db, sql, params));
}

describe.each(['websocket', 'http'] as const)('over %s', (transport) => {
  test('results and errors equal the embedded database for the same SQL', async () => {
    const embedded = await Database.open();
    const remote = fresh(transport);
    try {
      for (const step of SCRIPT) {
        const want = await runStep(embedded, step);
        const got = await runStep(remote, step);
        expect(got, `${step[0]} ${step[1]}`).toEqual(want);
      }
    } finally {
      await embedded.close();
      await remote.close();
    }
  });

  test('BLOB, bigint and intMode round trips', async () => {
    const db = fresh(transport, { intMode: 'bigint' });
    try {
      await db.exec('CREATE TABLE v(k INTEGER PRIMARY KEY, i INTEGER, b BLOB)');
      const blob = new Uint8Array(300).map((_, i) => (i * 37) & 255);
      const r = await db.exec('INSERT INTO v(i, b) VALUES (?, ?), (?, ?)', [9223372036854775807n, blob, -5, new Uint8Array(0)]);
      expect(r.lastInsertRowid).toBe(2n);
      const rows = await db.all('SELECT k, i, b FROM v ORDER BY k');
      expect(rows).toEqual([
        { k: 1n, i: 9223372036854775807n, b: blob },
        { k: 2n, i: -5n, b: new Uint8Array(0) },
      ]);
      expect(rows[0]!.b!.constructor).toBe(Uint8Array);
      // per-call option overrides the connection's default
      expect(await db.get('SELECT i FROM v WHERE k = 2', [], { intMode: 'number' })).toEqual({ i: -5 });
      const n = fresh(transport);
      expect(await n.get('SELECT 1 AS one, 9007199254740993 AS big, 0.5 AS half')).toEqual({ one: 1, big: 9007199254740993n, half: 0.5 });
      await n.close();
    } finally {
      await db.close();
    }
  });

  test('a wrong token is UNAUTHORIZED, a token for another database FORBIDDEN', async () => {
    const bad = connect(`${server.origin}/db/x`, { token: 'wrong', transport });
    await expect(bad.query('SELECT 1')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const scoped = connect(`${server.origin}/db/x`, { token: 'other-db-token', transport });
    await expect(scoped.query('SELECT 1')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const allowed = connect(`${server.origin}/db/other`, { token: 'other-db-token', transport });
    expect(await allowed.get('SELECT 1 AS x')).toEqual({ x: 1 });
    await Promise.all([bad.close(), scoped.close(), allowed.close()]);
  });

  test('close makes later calls throw CLOSED', async () => {
    const db = fresh(transport);
    expect(await db.get('SELECT 1 AS x')).toEqual({ x: 1 });
    await db.close();
    await expect(db.query('SELECT 1')).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(db.exec('SELECT 1')).rejects.toMatchObject({ code: 'CLOSED' });
    await db.close(); // idempotent
  });

  test('a parameter that cannot be sent is MISMATCH, and the connection keeps working', async () => {
    const db = fresh(transport);
    class Odd {
      x = 1;
    }
    await expect(db.query('SELECT ?', [new Odd()])).rejects.toMatchObject({ code: 'MISMATCH' });
    expect(await db.get('SELECT 2 AS y')).toEqual({ y: 2 });
    await db.close();
  });
});

describe('websocket connection handling', () => {
  test('a dropped connection fails the call in flight with CONNECTION; the next call reconnects', async () => {
    const db = fresh('websocket');
    await db.exec('CREATE TABLE k(a)');
    const before = server.connections();
    const hung = server.hung();
    const inFlight = db.query(`SELECT 1 ${HANG_MARKER}`);
    const caught = inFlight.catch((e: unknown) => e);
    await hung;
    server.dropSockets();
    const e = await caught;
    expect(e).toBeInstanceOf(DosqlError);
    expect((e as DosqlError).code).toBe('CONNECTION');
    expect((e as DosqlError).message).toMatch(/connection to http:\/\/127\.0\.0\.1:\d+\/db\/t\d+ lost; the call may or may not have run/);
    await db.exec('INSERT INTO k VALUES (1)');
    expect(await db.all('SELECT a FROM k')).toEqual([{ a: 1 }]);
    expect(server.connections()).toBe(before + 1);
    await db.close();
  });

  test('an idle connection that dropped is reopened by the next call', async () => {
    const db = fresh('websocket');
    expect(await db.get('SELECT 1 AS x')).toEqual({ x: 1 });
    server.dropSockets();
    await new Promise((r) => setTimeout(r, 20));
    expect(await db.get('SELECT 2 AS x')).toEqual({ x: 2 });
    await db.close();
  });

  test('concurrent calls share one connection', async () => {
    const db = fresh('websocket');
    const before = server.connections();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => db.get('SELECT ? AS i', [i])));
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => ({ i })));
    expect(server.connections()).toBe(before + 1);
    await db.close();
  });

  test('close while a call is in flight rejects it with CLOSED', async () => {
    const db = fresh('websocket');
    const hung = server.hung();
    const caught = db.query(`SELECT 1 ${HANG_MARKER}`).catch((e: unknown) => e);
    await hung;
    await db.close();
    expect(await caught).toMatchObject({ code: 'CLOSED' });
  });

  test(`an unreachable server is CONNECTION after ${RECONNECT_ATTEMPTS_MAX} attempts`, async () => {
    const gone = await startTestServer();
    const url = `${gone.origin}/db/x`;
    await gone.close();
    const db = connect(url, { token: 't' });
    const e = await db.query('SELECT 1').catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'CONNECTION' });
    expect((e as Error).message).toMatch(new RegExp(`gave up after ${RECONNECT_ATTEMPTS_MAX} attempts`));
    await db.close();
  });
});

describe('http batch', () => {
  test('calls issued together travel in one batch and keep their own results', async () => {
    const db = fresh('http');
    await db.exec('CREATE TABLE b(x)');
    const [a, b, c] = await Promise.all([
      db.exec('INSERT INTO b VALUES (1)'),
      db.query('SELEC'),
      db.get('SELECT 42 AS answer'),
    ].map((p) => p.then((v) => ({ v }), (e: DosqlError) => ({ code: e.code }))));
    expect(a).toMatchObject({ v: { rowsAffected: 1 } });
    expect(b).toEqual({ code: 'SYNTAX_ERROR' });
    expect(c).toEqual({ v: { answer: 42 } });
  });

  test('an unreachable server is CONNECTION', async () => {
    const gone = await startTestServer();
    const url = `${gone.origin}/db/x`;
    await gone.close();
    const db = connect(url, { token: 't', transport: 'http' });
    await expect(db.query('SELECT 1')).rejects.toMatchObject({ code: 'CONNECTION' });
  });
});

test('connect validates its arguments', () => {
  expect(() => connect('ftp://x/db/a', { token: 't' })).toThrow(expect.objectContaining({ code: 'MISUSE' }));
  expect(() => connect('http://x/db/a', { token: '' })).toThrow(expect.objectContaining({ code: 'MISUSE' }));
  expect(() => connect('http://x/db/a', { token: 't', transport: 'smoke' as never })).toThrow(expect.objectContaining({ code: 'MISUSE' }));
});
