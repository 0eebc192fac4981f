/**
 * End to end: the real Worker and Durable Object under `wrangler dev` on a loopback port, driven
 * from Node with the remote client. Restarts the server in the middle: the data survives (local
 * persistence in a temporary folder) and the same client object reconnects by itself. wrangler is
 * started by test/support/wrangler-dev.ts.
 *
 * Skipped, with the reason printed, when server/worker.ts or wrangler.toml is missing or wrangler
 * does not become ready in time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { connect } from '../../client/index.js';
import { startServerDev, type ServerDev } from '../support/wrangler-dev.js';

const TOKEN = `e2e-${Math.random().toString(36).slice(2)}`;
/** Kept across the restart (the data must survive it), removed at the end. */
const persistDir = mkdtempSync(join(tmpdir(), 'dosql-e2e-'));
let server: ServerDev | undefined;

afterAll(async () => {
  await server?.stop();
  rmSync(persistDir, { recursive: true, force: true });
});

test('the client against wrangler dev, across a server restart', async (ctx) => {
  try {
    server = await startServerDev(TOKEN, { persistTo: persistDir });
  } catch (e) {
    console.warn(`skipping the wrangler end-to-end test: ${(e as Error).message}`);
    return ctx.skip();
  }
  const url = `${server.origin}/db/e2e`;
  const db = connect(url, { token: TOKEN });
  const viaHttp = connect(url, { token: TOKEN, transport: 'http' });
  try {
    await db.exec('CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT, data BLOB, big INTEGER)');
    await db.exec('INSERT INTO notes(body, data, big) VALUES (?, ?, ?)', ['first', new Uint8Array([1, 2, 3]), 2n ** 62n]);
    expect(await viaHttp.all('SELECT body, data, big FROM notes')).toEqual([{ body: 'first', data: new Uint8Array([1, 2, 3]), big: 2n ** 62n }]);
    await expect(db.query('SELEC 1')).rejects.toMatchObject({ code: 'SYNTAX_ERROR', line: 1, column: 1 });
    const refused = await connect(url, { token: 'wrong' }).query('SELECT 1').catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((refused as Error).message).toMatch(/\(HTTP 401\): missing or invalid bearer token/);
    await expect(connect(url, { token: 'wrong', transport: 'http' }).query('SELECT 1')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });

    await server.stop();
    server = await startServerDev(TOKEN, { persistTo: persistDir, port: server.port });

    // The same client object: its socket died with the old server; this call reconnects.
    await db.exec("INSERT INTO notes(body) VALUES ('second')");
    expect(await db.all('SELECT id, body FROM notes ORDER BY id')).toEqual([
      { id: 1, body: 'first' },
      { id: 2, body: 'second' },
    ]);
  } finally {
    await db.close();
    await viaHttp.close();
    await server?.stop();
  }
}, 90_000);
