/**
 * The shared SQL shell (client/shell.ts) and the `dosql shell <url>` command (client/cli.ts),
 * driven with piped input against the in-process test server.
 */
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { main, parseArgs, remoteBackend } from '../../client/cli.js';
import { connect } from '../../client/index.js';
import { formatTable, returnsRows, runShell, takeStatements } from '../../client/shell.js';
import { startTestServer, type TestServer } from './server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let out = '';
  stream.on('data', (d: Buffer) => (out += d.toString()));
  return { stream, text: () => out };
}

describe('statement splitting and output', () => {
  test('statements end at ; outside quotes and comments', () => {
    const { done, rest } = takeStatements("SELECT ';'; -- a ; comment\nSELECT \"a;b\" /* ; */ FROM t;;\nSELECT [x;y]; SELECT 1");
    expect(done).toEqual(["SELECT ';';", '-- a ; comment\nSELECT "a;b" /* ; */ FROM t;', 'SELECT [x;y];']);
    expect(rest).toBe(' SELECT 1');
    expect(returnsRows('  -- c\n/* x */ select 1')).toBe(true);
    expect(returnsRows('INSERT INTO t VALUES (1)')).toBe(false);
  });

  test('tables print like sqlite3 with a row count', () => {
    expect(formatTable(['id', 'name', 'b'], [[1, 'alice', null], [22, 'bo', new Uint8Array([0xca, 0xfe])]])).toEqual([
      'id | name  | b',
      '---+-------+--------',
      '1  | alice | NULL',
      "22 | bo    | x'cafe'",
      '(2 rows)',
    ]);
  });
});

describe('dosql shell', () => {
  test('runs piped SQL and dot-commands against a remote database', async () => {
    const db = connect(`${server.origin}/db/shell1`, { token: server.token });
    const input = new PassThrough();
    const lines: string[] = [];
    const done = runShell(remoteBackend(db), { input, print: (l) => lines.push(l), interactive: false });
    input.end("CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT);\nINSERT INTO people(name)\n  VALUES ('ann'), ('bob');\nSELECT * FROM people ORDER BY id;\nSELEC 1;\n.tables\n.schema people\n");
    await done;
    await db.close();
    expect(lines).toEqual([
      'ok: 0 rows changed, lsn 2',
      'ok: 2 rows changed, lsn 5',
      'id | name',
      '---+-----',
      '1  | ann',
      '2  | bob',
      '(2 rows)',
      'error SYNTAX_ERROR: near "SELEC": syntax error (line 1, column 1)',
      'people',
      'CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT);',
    ]);
  });

  test('without sqlite_schema, .tables and .schema use the schema() RPC', async () => {
    const old = await startTestServer('t3', { sqliteSchema: false });
    const db = connect(`${old.origin}/db/x`, { token: 't3' });
    await db.exec('CREATE TABLE b(x); CREATE TABLE a(y)');
    const input = new PassThrough();
    const lines: string[] = [];
    const done = runShell(remoteBackend(db), { input, print: (l) => lines.push(l), interactive: false });
    input.end('.tables\n.schema\n');
    await done;
    await db.close();
    await old.close();
    expect(lines).toEqual(['a  b', 'CREATE TABLE b(x);', 'CREATE TABLE a(y);']);
  });

  test('.tables explains when the server offers no way to list tables', async () => {
    const bare = await startTestServer('t2', { schemaRpc: false, sqliteSchema: false });
    const db = connect(`${bare.origin}/db/x`, { token: 't2', transport: 'http' });
    const input = new PassThrough();
    const lines: string[] = [];
    const done = runShell(remoteBackend(db), { input, print: (l) => lines.push(l), interactive: false });
    input.end('.tables\n');
    await done;
    await bare.close();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error NO_SUCH_TABLE: .*sqlite_schema.*\.tables/);
  });

  test('main: arguments, token from the environment, refused token', async () => {
    expect(parseArgs(['shell', 'http://h/db/a'], { DOSQL_TOKEN: 'e' })).toEqual({ url: 'http://h/db/a', token: 'e', transport: 'websocket' });
    expect(parseArgs(['shell', 'http://h/db/a', '--token', 'x', '--http'], { DOSQL_TOKEN: 'e' })).toEqual({ url: 'http://h/db/a', token: 'x', transport: 'http' });
    expect(parseArgs(['shell', 'http://h/db/a'], {})).toMatch(/no token/);
    expect(parseArgs(['serve'], {})).toMatch(/unknown command/);

    const out = sink();
    const err = sink();
    const io = { input: new PassThrough(), output: out.stream, error: err.stream, interactive: false };
    expect(await main(['shell'], {}, io)).toBe(2);
    expect(await main(['shell', `${server.origin}/db/m`, '--token', 'wrong'], {}, io)).toBe(1);
    expect(err.text()).toMatch(/error UNAUTHORIZED/);

    const input = new PassThrough();
    const run = main(['shell', `${server.origin}/db/m`], { DOSQL_TOKEN: server.token }, { ...io, input });
    input.end('SELECT 40 + 2 AS answer;\n');
    expect(await run).toBe(0);
    expect(out.text()).toContain('answer\n------\n42\n(1 row)\n');
  });
});
