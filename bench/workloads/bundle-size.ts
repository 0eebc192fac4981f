/**
 * Size: the gzipped Worker bundle as `wrangler deploy --dry-run` reports it ("Total Upload: ... /
 * gzip: ..."; it bundles server/worker.ts: the engine, the Durable Object and capnweb), against
 * the JavaScript + WebAssembly a Worker would ship to run sql.js or the official SQLite WASM build,
 * gzipped here with zlib at its default level.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fmt, tempDir, type ReportWorkload } from '../harness.js';

const KIB = 1024;
const BUNDLE_GZIP_KIB_MAX = 150;

function gzipKiB(files: string[]): { raw: number; gz: number } | undefined {
  const paths = files.map((f) => new URL(`../../node_modules/${f}`, import.meta.url));
  if (!paths.every((p) => existsSync(p))) return undefined;
  const bytes = paths.map((p) => readFileSync(p));
  return { raw: bytes.reduce((s, b) => s + b.length, 0) / KIB, gz: bytes.reduce((s, b) => s + gzipSync(b).length, 0) / KIB };
}

function wrangler(): { raw: number; gz: number } {
  const out = execFileSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', tempDir('wrangler')], {
    cwd: new URL('../../', import.meta.url),
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_SEND_ERROR_REPORTS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
  const m = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(out);
  if (!m) throw new Error(`could not parse wrangler output: ${out.slice(0, 300)}`);
  return { raw: Number(m[1]), gz: Number(m[2]) };
}

export const workload: ReportWorkload = {
  kind: 'report',
  name: 'bundle-size',
  title: 'Worker bundle size (gzipped)',
  group: 'Size',
  async measure() {
    const dosql = wrangler();
    const rows: Array<Record<string, string | number>> = [{ artifact: 'DoSQL Worker (wrangler --dry-run)', 'raw KiB': fmt(dosql.raw, 1), 'gzip KiB': fmt(dosql.gz, 1) }];
    const peers: Array<[string, string[]]> = [
      ['sql.js (sql-wasm.js + sql-wasm.wasm)', ['sql.js/dist/sql-wasm.js', 'sql.js/dist/sql-wasm.wasm']],
      ['SQLite WASM (@sqlite.org/sqlite-wasm sqlite3.mjs + sqlite3.wasm)', ['@sqlite.org/sqlite-wasm/sqlite-wasm/jswasm/sqlite3.mjs', '@sqlite.org/sqlite-wasm/sqlite-wasm/jswasm/sqlite3.wasm']],
    ];
    const notes: string[] = ['KiB = 1024 bytes, as wrangler reports. Peer sizes: each file gzipped on its own with zlib defaults.'];
    for (const [label, files] of peers) {
      const s = gzipKiB(files);
      if (s) rows.push({ artifact: label, 'raw KiB': fmt(s.raw, 1), 'gzip KiB': fmt(s.gz, 1) });
      else notes.push(`${label}: not installed, skipped.`);
    }
    return {
      columns: ['artifact', 'raw KiB', 'gzip KiB'],
      rows,
      targets: [{ label: `core Worker bundle <= ${BUNDLE_GZIP_KIB_MAX} KiB gzipped`, measured: dosql.gz, max: BUNDLE_GZIP_KIB_MAX, pass: dosql.gz <= BUNDLE_GZIP_KIB_MAX }],
      notes,
    };
  },
};
