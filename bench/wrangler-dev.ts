/**
 * Start and stop `wrangler dev` for a bench Worker (bench/workers/wrangler.toml): offline (metrics,
 * error reports and the `Request.cf` fetch off, see ../shared/notes/platform.md), on free loopback
 * ports, with a fresh temporary `--persist-to` folder removed on stop. Wrangler runs in its own
 * process group, so stopping it ends workerd too. The same recipe as test/load/wrangler.ts, which
 * is tied to the server's wrangler.toml and token.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** How long one `wrangler dev` start may take (about 2 s when idle; the bench machine is busy). */
const READY_TIMEOUT_MS = 60_000;
/** How long a stopped wrangler may take to exit before it is killed. */
const STOP_TIMEOUT_MS = 5_000;
/** Characters of wrangler's output kept, and quoted when it fails to start. */
const OUTPUT_KEEP_CHARS = 20_000;

export interface WranglerDev {
  origin: string;
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

/** `wrangler dev -c <config>`, resolved once it prints "Ready on"; rejects with its output otherwise. */
export async function startWranglerDev(config: string): Promise<WranglerDev> {
  const port = await freePort();
  const inspectorPort = await freePort();
  const persistDir = mkdtempSync(join(tmpdir(), 'dosql-bench-do-'));
  const wrangler = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
  const child = spawn(
    process.execPath,
    [wrangler, 'dev', '--config', config, '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort),
      '--persist-to', persistDir, '--show-interactive-dev-session=false', '--log-level', 'warn'],
    {
      cwd: dirname(config),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_SEND_ERROR_REPORTS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: '1' },
    },
  );
  let output = '';
  const stop = async (): Promise<void> => {
    await stopChild(child);
    rmSync(persistDir, { recursive: true, force: true });
  };
  const origin = `http://127.0.0.1:${port}`;
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stop().then(() => reject(new Error(`wrangler dev ${why}: ${output.slice(-2000)}`)));
    };
    const timer = setTimeout(() => fail(`not ready within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    const onData = (d: Buffer): void => {
      output = (output + d.toString()).slice(-OUTPUT_KEEP_CHARS);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => fail(`exited with code ${code}`));
    child.once('error', (e) => fail(`failed to spawn: ${e.message}`));
    // With --log-level warn the "Ready on" line is not printed: poll the port instead.
    void (async () => {
      while (!settled) {
        try {
          await fetch(origin, { method: 'HEAD', signal: AbortSignal.timeout(2_000) });
          settled = true;
          clearTimeout(timer);
          resolve();
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    })();
  });
  return { origin, output: () => output, stop };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const kill = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  kill('SIGTERM');
  const timer = setTimeout(() => kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
