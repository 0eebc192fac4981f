#!/usr/bin/env node
/**
 * `npm start`: run DoSQL locally the way it runs deployed, with `wrangler dev` on 127.0.0.1:8787
 * (DOSQL_PORT overrides the port), offline, with Durable Object storage persisted in
 * `.wrangler-state/` so data survives a restart.
 *
 * The dev token: `.dev.vars` (git-ignored) holds `DOSQL_TOKEN=...`; a random one is generated on
 * the first start and reused afterwards (delete the line to get a new one). Once the server
 * answers, the URL, the token and a one-line curl example are printed.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const host = '127.0.0.1';
const port = Number(process.env.DOSQL_PORT ?? 8787);
const varsPath = join(root, '.dev.vars');
/** How long to wait for wrangler dev to answer before printing the banner anyway. */
const READY_WAIT_MS = 30_000;
const READY_POLL_MS = 200;

function devToken() {
  const text = existsSync(varsPath) ? readFileSync(varsPath, 'utf8') : '';
  const found = /^DOSQL_TOKEN\s*=\s*"?([^"\s]+)"?\s*$/m.exec(text);
  if (found) return found[1];
  const token = `dosql-dev-${randomBytes(24).toString('hex')}`;
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  writeFileSync(varsPath, `${text}${sep}DOSQL_TOKEN="${token}"\n`, { mode: 0o600 });
  return token;
}

async function waitReady(url) {
  const deadline = Date.now() + READY_WAIT_MS;
  while (Date.now() < deadline) {
    try {
      await fetch(url);
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, READY_POLL_MS));
    }
  }
  return false;
}

const token = devToken();
const wranglerBin = join(root, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
const args = [
  wranglerBin, 'dev',
  '--ip', host,
  '--port', String(port),
  '--persist-to', '.wrangler-state',
  '--show-interactive-dev-session=false',
];
const child = spawn(process.execPath, args, {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    WRANGLER_SEND_METRICS: 'false',
    WRANGLER_SEND_ERROR_REPORTS: 'false',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  },
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

const base = `http://${host}:${port}`;
if (await waitReady(base)) {
  const example = `curl -s ${base}/db/demo/query -H 'Authorization: Bearer ${token}' -d '{"sql":"SELECT 1 AS one"}'`;
  console.log(
    [
      '',
      `DoSQL is running at ${base}  (database URLs: ${base}/db/<name>)`,
      `Token: ${token}   (from .dev.vars)`,
      `Try:   ${example}`,
      '',
    ].join('\n'),
  );
}
