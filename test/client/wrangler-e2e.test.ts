/**
 * End to end: the real Worker and Durable Object under `wrangler dev` on a loopback port, driven
 * from Node with the remote client. Restarts the server in the middle: the data survives (local
 * persistence in a temporary folder) and the same client object reconnects by itself.
 *
 * Skipped, with the reason printed, when server/worker.ts or wrangler.toml is missing or wrangler
 * does not become ready in time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { connect } from '../../client/index.js';

const ROOT = new URL('../../', import.meta.url).pathname;
/** How long one `wrangler dev` start may take before the test gives up (it takes about 2 s). */
const WRANGLER_READY_TIMEOUT_MS = 25_000;
/** How long a stopped wrangler may take to exit before it is killed. */
const WRANGLER_STOP_TIMEOUT_MS = 5_000;

const TOKEN = `e2e-${Math.random().toString(36).slice(2)}`;
const persistDir = mkdtempSync(join(tmpdir(), 'dosql-e2e-'));
let running: ChildProcess | undefined;

afterAll(async () => {
  if (running) await stop(running);
  rmSync(persistDir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Start `wrangler dev`; resolves once it prints "Ready on", or rejects with its output. */
function start(port: number, inspectorPort: number): Promise<ChildProcess> {
  const wrangler = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
  const child = spawn(
    process.execPath,
    // a free inspector port too: the default 9229 is taken when another wrangler dev runs
    [wrangler, 'dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort), '--persist-to', persistDir,
      '--var', `DOSQL_TOKEN:${TOKEN}`, '--show-interactive-dev-session=false', '--log-level', 'info'],
    {
      cwd: ROOT,
      detached: true, // its own process group, so stop() ends workerd too
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_SEND_ERROR_REPORTS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: '1' },
    },
  );
  running = child;
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(`not ready within ${WRANGLER_READY_TIMEOUT_MS} ms`), WRANGLER_READY_TIMEOUT_MS);
    const fail = (why: string): void => {
      clearTimeout(timer);
      void stop(child).then(() => reject(new Error(`wrangler dev ${why}:\n${output.slice(-2000)}`)));
    };
    const onData = (d: Buffer): void => {
      output += d.toString();
      if (/Ready on http/.test(output)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => fail(`exited with code ${code}`));
    child.once('error', (e) => fail(`failed to spawn: ${e.message}`));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (running === child) running = undefined;
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }, WRANGLER_STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

test('the client against wrangler dev, across a server restart', async (ctx) => {
  if (!existsSync(join(ROOT, 'server', 'worker.ts')) || !existsSync(join(ROOT, 'wrangler.toml'))) {
    console.warn('skipping the wrangler end-to-end test: server/worker.ts or wrangler.toml is missing');
    return ctx.skip();
  }
  const port = await freePort();
  const inspectorPort = await freePort();
  let server: ChildProcess;
  try {
    server = await start(port, inspectorPort);
  } catch (e) {
    console.warn(`skipping the wrangler end-to-end test: ${(e as Error).message}`);
    return ctx.skip();
  }
  const url = `http://127.0.0.1:${port}/db/e2e`;
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

    await stop(server);
    server = await start(port, inspectorPort);

    // The same client object: its socket died with the old server; this call reconnects.
    await db.exec("INSERT INTO notes(body) VALUES ('second')");
    expect(await db.all('SELECT id, body FROM notes ORDER BY id')).toEqual([
      { id: 1, body: 'first' },
      { id: 2, body: 'second' },
    ]);
  } finally {
    await db.close();
    await viaHttp.close();
    await stop(server!);
  }
}, 90_000);
