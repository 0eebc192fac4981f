/**
 * `npm run bench -- --quick`, the smoke run of the benchmark suite, as part of `npm test` (and so
 * of CI). Every workload runs at smoke sizes for one round; no time is judged, since times on a
 * shared machine at these sizes mean nothing. What must hold is what a user running the suite
 * would notice: it runs to its end, and DoSQL ran every workload without an error (a peer that
 * cannot run here is reported n/a instead, and does not fail it). It measures the built package
 * (dist/), which `npm ci` builds. Results go to the git-ignored bench/results/*-quick.json.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url);
const RESULTS = new URL('bench/results/', ROOT);
/** Workloads in the suite (bench/run.ts ORDER) at the time of writing; more may follow. */
const WORKLOADS_MIN = 15;
/** The smoke run takes about 40 s alone; other test files run beside it. */
const RUN_MS_MAX = 600_000;

interface QuickResult {
  name: string;
  date: string;
  engines?: Array<{ engine: string; medianMs: number | null; error?: string }>;
  report?: { rows: unknown[] };
}

describe('npm run bench -- --quick', () => {
  it('runs every workload to the end, DoSQL in each without an error', () => {
    const started = new Date().toISOString();
    const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/run.ts', '--quick'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: RUN_MS_MAX,
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(run.status, `${run.stderr}\n${run.stdout.slice(-3000)}`).toBe(0);
    expect(run.stdout).toMatch(/^total [\d.]+ min$/m);
    const fresh = readdirSync(RESULTS)
      .filter((f) => f.endsWith('-quick.json'))
      .map((f) => JSON.parse(readFileSync(new URL(f, RESULTS), 'utf8')) as QuickResult)
      .filter((r) => r.date >= started);
    expect(fresh.length).toBeGreaterThanOrEqual(WORKLOADS_MIN);
    for (const r of fresh) {
      if (r.report) {
        expect(r.report.rows.length, r.name).toBeGreaterThan(0);
        continue;
      }
      const dosql = r.engines!.filter((e) => e.engine.startsWith('dosql'));
      expect(dosql.length, r.name).toBeGreaterThan(0);
      for (const e of dosql) expect([e.engine, e.error, typeof e.medianMs], r.name).toEqual([e.engine, undefined, 'number']);
    }
  }, RUN_MS_MAX + 60_000);
});
