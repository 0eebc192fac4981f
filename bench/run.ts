/**
 * `npm run bench`: every workload in bench/workloads/ on DoSQL and its peers in this one process,
 * interleaved (see bench/harness.ts), printed as medians and DoSQL time / peer time. Results go to
 * bench/results/<workload>.json and docs/BENCHMARKS.md (bench/report.ts).
 *
 * Flags: `--quick` (tiny sizes, one round; results to *-quick.json; docs only with `--docs`),
 * `--full` (1M-row analytics), `--only a,b` (workload file names).
 */
import { existsSync } from 'node:fs';
import { machine, writeDocs } from './report.js';
import { mode, only, print, quick, releaseShared, removeTemp, runReport, runTimed, writeResult, type Workload, type WorkloadResult } from './harness.js';

const ORDER = [
  'bulk-insert',
  'durable-commits',
  'pk-lookups',
  'range-scans',
  'index-lookups',
  'updates',
  'mixed',
  'analytics-groupby',
  'analytics-topn',
  'analytics-join',
  'recovery',
  'cdc',
  'asof',
  'bundle-size',
];

const names = only ?? ORDER;
for (const n of names) if (!existsSync(new URL(`./workloads/${n}.ts`, import.meta.url))) throw new Error(`no workload bench/workloads/${n}.ts`);
const info = machine();
console.log(`DoSQL benchmarks (${mode}) on ${info.cpu} x${info.cores}, ${info.memoryGiB} GiB, Node ${info.node}`);
const results: WorkloadResult[] = [];
try {
  for (const name of names) {
    const { workload } = (await import(`./workloads/${name}.js`)) as { workload: Workload };
    const started = performance.now();
    const r = workload.kind === 'timed' ? await runTimed(workload) : await runReport(workload);
    if (workload.kind !== 'timed' || !workload.keepShared) await releaseShared();
    print(r);
    console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
    writeResult(r, { machine: info });
    results.push(r);
  }
} finally {
  removeTemp();
}
if (!quick || process.argv.includes('--docs')) writeDocs(mode);
