/**
 * The server's pure parts in Node: token configuration and matching, the JSON value forms, route
 * parsing, limits configuration, and DatabaseHost's rules (permissions, one-call transactions,
 * limits, errors as values, recovery after a failure) on a MemoryStore. The same code runs in
 * workerd in test/workers/.
 */
import { describe, expect, it } from 'vitest';
import { allowsDatabase, authenticate, bearerToken, configuredTokens, parseConfig } from '../../server/auth.js';
import { DatabaseHost } from '../../server/host.js';
import { fromJsonParam, fromJsonParams, toJsonValue } from '../../server/json.js';
import { resolveLimits, SERVER_LIMITS } from '../../server/limits.js';
import { parseRoute } from '../../server/routes.js';
import { statusOf } from '../../server/http.js';
import { FaultyStore } from '../../storage/fault.js';
import { MemoryStore } from '../../storage/memory.js';
import { isDosqlError } from '../../base/errors.js';

describe('auth', () => {
  const env = {
    DOSQL_TOKEN: 'single',
    DOSQL_TOKENS: JSON.stringify([
      { token: 'ro', readOnly: true },
      { token: 'pre', databases: { prefix: 'app-' } },
      { token: 'list', databases: ['a', 'b'] },
    ]),
  };

  it('matches exactly one configured token, never a prefix or extension', async () => {
    const tokens = await configuredTokens(env);
    expect(tokens).toHaveLength(4);
    expect(await authenticate('single', tokens)).toEqual({ readOnly: false });
    expect(await authenticate('ro', tokens)).toEqual({ readOnly: true });
    expect((await authenticate('list', tokens))?.databases).toEqual(['a', 'b']);
    for (const bad of [undefined, '', 'singl', 'singlee', 'RO', 'pre ']) expect(await authenticate(bad, tokens)).toBeUndefined();
    expect(await authenticate('single', [])).toBeUndefined();
  });

  it('parses Authorization headers and scopes', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer   abc ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(null)).toBeUndefined();
    expect(allowsDatabase({ readOnly: false }, 'x')).toBe(true);
    expect(allowsDatabase({ readOnly: false, databases: { prefix: 'app-' } }, 'app-1')).toBe(true);
    expect(allowsDatabase({ readOnly: false, databases: { prefix: 'app-' } }, 'ap-1')).toBe(false);
    expect(allowsDatabase({ readOnly: false, databases: ['a'] }, 'b')).toBe(false);
  });

  it('refuses malformed configuration with MISUSE', () => {
    for (const DOSQL_TOKENS of ['{', '{}', '[{"token": ""}]', '[{"token": "a b"}]', '[{"token": "x", "readOnly": "yes"}]', '[{"token": "x", "databases": "app-"}]']) {
      expect(() => parseConfig({ DOSQL_TOKENS }), DOSQL_TOKENS).toThrow(expect.objectContaining({ code: 'MISUSE' }));
    }
    expect(parseConfig({})).toEqual([]);
  });
});

describe('JSON forms', () => {
  it('round-trips BLOBs, big integers and infinities', () => {
    expect(toJsonValue(new Uint8Array([0, 1, 2, 255]))).toEqual({ $blob: 'AAEC/w==' });
    expect(toJsonValue(2n ** 63n - 1n)).toEqual({ $bigint: '9223372036854775807' });
    expect(toJsonValue(2n ** 53n - 1n)).toBe(2 ** 53 - 1);
    expect(toJsonValue(Infinity)).toEqual({ $real: 'Infinity' });
    expect(toJsonValue(null)).toBeNull();
    expect(fromJsonParam({ $blob: 'AAEC/w==' }, '1')).toEqual(new Uint8Array([0, 1, 2, 255]));
    expect(fromJsonParam({ $bigint: '-9223372036854775808' }, '1')).toBe(-(2n ** 63n));
    expect(fromJsonParams({ a: 1, b: { $real: '-Infinity' } })).toEqual({ a: 1, b: -Infinity });
    const big = new Uint8Array(100_000).map((_, i) => i & 255);
    expect(fromJsonParam(toJsonValue(big), '1')).toEqual(big);
  });

  it('refuses shapes that are not SQL values', () => {
    for (const bad of [[1], { x: 1 }, { $blob: 'a' }, { $bigint: '1.5' }, { $bigint: '9223372036854775808' }, { $blob: 'AA==', extra: 1 }]) {
      expect(() => fromJsonParam(bad, '1'), JSON.stringify(bad)).toThrow();
    }
  });
});

describe('routes, statuses and limits configuration', () => {
  it('parses database routes and refuses bad names', () => {
    expect(parseRoute('/db/app-1')).toEqual({ kind: 'rpc', name: 'app-1' });
    expect(parseRoute('/db/a.b_c/query')).toEqual({ kind: 'query', name: 'a.b_c' });
    expect(parseRoute('/db/a%2Fb').kind).toBe('bad-name');
    expect(parseRoute('/db/..').kind).toBe('bad-name');
    expect(parseRoute('/db/' + 'x'.repeat(65)).kind).toBe('bad-name');
    expect(parseRoute('/db/a/b').kind).toBe('not-found');
    expect(statusOf('CONSTRAINT_UNIQUE')).toBe(409);
    expect(statusOf('LIMIT_EXCEEDED')).toBe(413);
    expect(statusOf('SYNTAX_ERROR')).toBe(400);
  });

  it('overrides limits from DOSQL_LIMITS and refuses bad overrides', () => {
    expect(resolveLimits(undefined)).toEqual(SERVER_LIMITS);
    expect(resolveLimits('{"rowsPerResultMax": 10}').rowsPerResultMax).toBe(10);
    expect(resolveLimits('{"sqlTextCharsMax": 99999999}').sqlTextCharsMax).toBe(SERVER_LIMITS.sqlTextCharsMax);
    for (const bad of ['[', '[]', '{"nope": 1}', '{"rowsPerResultMax": 0}', '{"rowsPerResultMax": 1.5}']) {
      expect(() => resolveLimits(bad), bad).toThrow();
    }
  });
});

describe('DatabaseHost', () => {
  const rw = { readOnly: false };
  const ro = { readOnly: true };

  it('serves exec and query, refuses read-only writes, and keeps transactions inside one call', async () => {
    const host = new DatabaseHost(new MemoryStore(), SERVER_LIMITS);
    expect((await host.exec('CREATE TABLE t (a INTEGER PRIMARY KEY)', undefined, undefined, rw)).ok).toBe(true);
    expect(await host.exec('INSERT INTO t VALUES (1)', undefined, undefined, ro)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await host.exec('BEGIN; INSERT INTO t VALUES (2)', undefined, undefined, rw)).toMatchObject({ ok: true });
    expect(await host.exec('BEGIN; INSERT INTO t VALUES (3); INSERT INTO t VALUES (3); COMMIT', undefined, undefined, rw)).toMatchObject({
      ok: false,
      error: { code: 'CONSTRAINT_UNIQUE' },
    });
    expect(await host.query('SELECT count(*) FROM t', undefined, undefined, ro)).toMatchObject({ ok: true, value: { rows: [[0]] } });
    expect(await host.run('SELECT 1 AS x', undefined, ro)).toMatchObject({ ok: true, value: { kind: 'rows', columns: ['x'] } });
    expect(await host.run('INSERT INTO t VALUES (4)', undefined, rw)).toMatchObject({ ok: true, value: { kind: 'write', rowsAffected: 1 } });
    expect(await host.query('SELECT 1', undefined, { intMode: 'nope' }, rw)).toMatchObject({ ok: false, error: { code: 'MISUSE' } });
    expect(await host.schema()).toMatchObject({ ok: true, value: [{ name: 't' }] });
    await host.close();
    expect(await host.query('SELECT a FROM t', undefined, undefined, rw)).toMatchObject({ ok: true, value: { rows: [[4]] } });
  });

  it('applies limits at the limit and one past it', async () => {
    const limits = { ...SERVER_LIMITS, rowsPerResultMax: 3, resultBytesMax: 24, paramsPerCallMax: 2, sqlTextCharsMax: 25 };
    const host = new DatabaseHost(new MemoryStore(), limits);
    const code = async (p: Promise<{ ok: boolean; error?: { code: string } }>) => {
      const r = await p;
      return r.ok ? 'ok' : r.error!.code;
    };
    expect(await code(host.query('SELECT 1 UNION SELECT 2 UNION SELECT 3', undefined, undefined, rw))).toBe('LIMIT_EXCEEDED'); // 39 chars
    expect(await code(host.query('SELECT ?' + ' '.repeat(17), ['x'.repeat(24)], undefined, rw))).toBe('ok');
    expect(await code(host.query('SELECT ?' + ' '.repeat(18), ['x'], undefined, rw))).toBe('LIMIT_EXCEEDED');
    expect(await code(host.query('SELECT ?', ['x'.repeat(25)], undefined, rw))).toBe('LIMIT_EXCEEDED');
    expect(await code(host.query('SELECT ?+?', [1, 2], undefined, rw))).toBe('ok');
    expect(await code(host.query('SELECT ?+?', [1, 2, 3], undefined, rw))).toBe('LIMIT_EXCEEDED');
    await host.exec('CREATE TABLE t (a)', undefined, undefined, rw);
    for (let i = 0; i < 4; i++) expect(await code(host.exec(`INSERT INTO t VALUES (${i})`, undefined, undefined, rw))).toBe('ok');
    expect(await code(host.query('SELECT a FROM t LIMIT 3', undefined, undefined, rw))).toBe('ok');
    expect(await code(host.query('SELECT a FROM t', undefined, undefined, rw))).toBe('LIMIT_EXCEEDED');
  });

  it('bounds a transaction by transactionBytesMax and keeps serving past it', async () => {
    // One insert of (integer, 51-char text) is 100 estimated bytes (test/query/transaction-size.test.ts).
    const host = new DatabaseHost(new MemoryStore(), { ...SERVER_LIMITS, transactionBytesMax: 1000 });
    const v = 'x'.repeat(51);
    const inserts = (n: number) => Array.from({ length: n }, (_, i) => `INSERT INTO t VALUES (${i}, '${v}');`).join(' ');
    expect((await host.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)', undefined, undefined, rw)).ok).toBe(true);
    expect(await host.exec(`BEGIN; ${inserts(11)} COMMIT`, undefined, undefined, rw)).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED' } });
    expect(await host.query('SELECT count(*) FROM t', undefined, undefined, ro)).toMatchObject({ ok: true, value: { rows: [[0]] } });
    expect(await host.exec(`BEGIN; ${inserts(10)} COMMIT`, undefined, undefined, rw)).toMatchObject({ ok: true });
    expect(await host.query('SELECT count(*) FROM t', undefined, undefined, ro)).toMatchObject({ ok: true, value: { rows: [[10]] } });
    await host.close();
  });

  it('turns storage failures into IO errors and recovers by reopening', async () => {
    const inner = new MemoryStore();
    const setup = new DatabaseHost(inner, SERVER_LIMITS);
    await setup.exec('CREATE TABLE t (a)', undefined, undefined, rw);
    await setup.exec('INSERT INTO t VALUES (1)', undefined, undefined, rw);
    const faulty = new FaultyStore(inner, { crashAtWrite: 1 });
    const host = new DatabaseHost(faulty, SERVER_LIMITS);
    const failed = await host.exec('INSERT INTO t VALUES (2)', undefined, undefined, rw);
    expect(failed).toMatchObject({ ok: false, error: { code: 'IO' } });
    // The crashed store keeps failing: every call is an error value, never a throw.
    const again = await host.query('SELECT count(*) FROM t', undefined, undefined, rw);
    expect(again.ok).toBe(false);
    // A host on the surviving storage sees exactly the acknowledged data.
    const recovered = new DatabaseHost(inner, SERVER_LIMITS);
    expect(await recovered.query('SELECT a FROM t', undefined, undefined, rw)).toMatchObject({ ok: true, value: { rows: [[1]] } });
    expect(isDosqlError(new Error('x'))).toBe(false);
  });
});
