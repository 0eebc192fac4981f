/**
 * Start and stop `wrangler dev` on a free loopback port with a fresh token and a temporary
 * persistence folder, for the load test (test/load/cdc-load.test.ts) and bench/cdc-remote.ts.
 * Mirrors test/client/wrangler-e2e.test.ts: its own process group (so stopping it ends workerd
 * too), a free inspector port, metrics and the `Request.cf` fetch off. `startWrangler` rejects
 * with wrangler's output when it cannot start; callers skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
/** How long one `wrangler dev` start may take (it takes about 2 s). */
export const WRANGLER_READY_TIMEOUT_MS = 25_000;
/** How long a stopped wrangler may take to exit before it is killed. */
const WRANGLER_STOP_TIMEOUT_MS = 5_000;
/** Characters of wrangler's output quoted when it fails to start. */
const OUTPUT_TAIL_CHARS = 2000;
/** Characters of wrangler's output kept for `output()`. */
const OUTPUT_KEEP_CHARS = 100_000;

export interface Wrangler {
  origin: string;
  token: string;
  /** What wrangler printed so far (its last OUTPUT_KEEP_CHARS characters). */
  output(): string;
  stop(): Promise<void>;
}

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

export async function startWrangler(): Promise<Wrangler> {
  if (!existsSync(join(ROOT, 'server', 'worker.ts')) || !existsSync(join(ROOT, 'wrangler.toml'))) {
    throw new Error('server/worker.ts or wrangler.toml is missing');
  }
  const port = await freePort();
  const inspectorPort = await freePort();
  const token = `load-${Math.random().toString(36).slice(2)}`;
  const persistDir = mkdtempSync(join(tmpdir(), 'dosql-load-'));
  const wrangler = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
  const child = spawn(
    process.execPath,
    [wrangler, 'dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort), '--persist-to', persistDir,
      '--var', `DOSQL_TOKEN:${token}`, '--show-interactive-dev-session=false', '--log-level', 'info'],
    {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_SEND_ERROR_REPORTS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: '1' },
    },
  );
  const stop = async (): Promise<void> => {
    await stopChild(child);
    rmSync(persistDir, { recursive: true, force: true });
  };
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(`not ready within ${WRANGLER_READY_TIMEOUT_MS} ms`), WRANGLER_READY_TIMEOUT_MS);
    const fail = (why: string): void => {
      clearTimeout(timer);
      void stop().then(() => reject(new Error(`wrangler dev ${why}:\n${output.slice(-OUTPUT_TAIL_CHARS)}`)));
    };
    const onData = (d: Buffer): void => {
      output = (output + d.toString()).slice(-OUTPUT_KEEP_CHARS);
      if (/Ready on http/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => fail(`exited with code ${code}`));
    child.once('exit', () => undefined);
    child.once('error', (e) => fail(`failed to spawn: ${e.message}`));
  });
  return { origin: `http://127.0.0.1:${port}`, token, output: () => output, stop };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
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
