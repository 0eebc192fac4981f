/**
 * Start and stop `wrangler dev` from Node, for the tests and benches that drive a real Worker and
 * Durable Object over loopback: the client's end-to-end test, the CDC load test and
 * bench/cdc-remote.ts (the server's wrangler.toml, through `startServerDev`), and the Durable
 * Object bench (bench/workers/wrangler.toml, through bench/wrangler-dev.ts).
 *
 * How:
 * - Offline: metrics, error reports and the `Request.cf` fetch are off, so it starts without a
 *   network.
 * - Free loopback ports, the inspector's too (the default 9229 is taken when another wrangler dev
 *   runs). A caller may name the port, to restart a server on the same address.
 * - `--persist-to` a fresh temporary folder removed on stop, or the caller's folder, kept, so
 *   that data outlives a restart.
 * - Its own process group (`detached`): stopping it ends workerd too, SIGTERM then SIGKILL.
 * - Ready once the port answers HTTP: that holds at any `--log-level`, where the "Ready on" line
 *   is printed only at info. A start that fails rejects with the tail of wrangler's output; the
 *   tests then skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** How long one `wrangler dev` start may take by default (about 2 s on an idle machine). */
export const WRANGLER_READY_TIMEOUT_MS = 25_000;
/** How long a stopped wrangler may take to exit before it is killed. */
const WRANGLER_STOP_TIMEOUT_MS = 5_000;
/** How long one readiness probe may wait for an answer. */
const PROBE_TIMEOUT_MS = 2_000;
/** Pause between readiness probes. */
const PROBE_INTERVAL_MS = 200;
/** Characters of wrangler's output kept for `output()`. */
const OUTPUT_KEEP_CHARS = 100_000;
/** Characters of wrangler's output quoted when it fails to start. */
const OUTPUT_TAIL_CHARS = 2_000;

export interface WranglerDevOptions {
  /** Worker variables, as `--var NAME:value`. */
  vars?: Record<string, string>;
  /** The loopback port; a free one when absent. */
  port?: number;
  /** The `--persist-to` folder, kept on stop; absent: a fresh temporary one, removed on stop. */
  persistTo?: string;
  /** wrangler's `--log-level` (what `output()` holds); default `warn`. */
  logLevel?: 'warn' | 'info' | 'debug';
  /** How long the start may take; default WRANGLER_READY_TIMEOUT_MS. */
  readyTimeoutMs?: number;
}

export interface WranglerDev {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  /** What wrangler printed so far (its last OUTPUT_KEEP_CHARS characters). */
  output(): string;
  /** Stop wrangler and workerd; idempotent. */
  stop(): Promise<void>;
}

/** `wrangler dev --config <config>`, run in the config's folder; resolves once it serves. */
export async function startWranglerDev(config: string, options: WranglerDevOptions = {}): Promise<WranglerDev> {
  if (!existsSync(config)) throw new Error(`${config} is missing`);
  const readyTimeoutMs = options.readyTimeoutMs ?? WRANGLER_READY_TIMEOUT_MS;
  const port = options.port ?? (await freePort());
  const inspectorPort = await freePort();
  const persistDir = options.persistTo ?? mkdtempSync(join(tmpdir(), 'dosql-wrangler-'));
  const vars = Object.entries(options.vars ?? {}).flatMap(([name, value]) => ['--var', `${name}:${value}`]);
  const child = spawn(
    process.execPath,
    [join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js'), 'dev', '--config', config, '--ip', '127.0.0.1', '--port', String(port),
      '--inspector-port', String(inspectorPort), '--persist-to', persistDir, ...vars, '--show-interactive-dev-session=false',
      '--log-level', options.logLevel ?? 'warn'],
    {
      cwd: dirname(config),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_SEND_ERROR_REPORTS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: '1' },
    },
  );
  let output = '';
  const onData = (d: Buffer): void => {
    output = (output + d.toString()).slice(-OUTPUT_KEEP_CHARS);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const stop = async (): Promise<void> => {
    await stopChild(child);
    if (options.persistTo === undefined) rmSync(persistDir, { recursive: true, force: true });
  };
  const origin = `http://127.0.0.1:${port}`;
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stop().then(() => reject(new Error(`wrangler dev ${why}:\n${output.slice(-OUTPUT_TAIL_CHARS)}`)));
    };
    const timer = setTimeout(() => fail(`not ready within ${readyTimeoutMs} ms`), readyTimeoutMs);
    child.once('exit', (code) => fail(`exited with code ${code}`));
    child.once('error', (e) => fail(`failed to spawn: ${e.message}`));
    // Bounded by the timer: `fail` sets `settled`.
    void (async () => {
      while (!settled) {
        try {
          await fetch(origin, { method: 'HEAD', signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
        } catch {
          await new Promise((r) => setTimeout(r, PROBE_INTERVAL_MS));
          continue;
        }
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve();
      }
    })();
  });
  return { origin, port, output: () => output, stop };
}

export interface ServerDev extends WranglerDev {
  /** The bearer token the server accepts (its DOSQL_TOKEN). */
  token: string;
}

/** The DoSQL server (server/worker.ts, the root wrangler.toml) under `wrangler dev`, accepting `token`. */
export async function startServerDev(token: string, options: Omit<WranglerDevOptions, 'vars'> = {}): Promise<ServerDev> {
  if (!existsSync(join(ROOT, 'server', 'worker.ts'))) throw new Error('server/worker.ts is missing');
  const dev = await startWranglerDev(join(ROOT, 'wrangler.toml'), { ...options, vars: { DOSQL_TOKEN: token } });
  return { ...dev, token };
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
  const timer = setTimeout(() => kill('SIGKILL'), WRANGLER_STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
