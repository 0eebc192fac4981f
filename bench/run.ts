/**
 * `npm run bench`: every workload in bench/workloads/ on DoSQL and its peers in this one process,
 * interleaved (see bench/harness.ts), printed as medians and DoSQL time / peer time. Results go to
 * bench/results/<workload>.json and docs/BENCHMARKS.md (bench/report.ts). The one exception to
 * "this process": `durable-object` starts `wrangler dev` and runs its peers inside a Durable Object.
 * DoSQL is the built package (dist/, `npm run build`); a warning says when sources are newer.
 *
 * Flags: `--quick` (tiny sizes, one round; results to *-quick.json; docs only with `--docs`),
 * `--full` (1M-row analytics), `--only a,b` (workload file names).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
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
  'durable-object',
  'analytics-groupby',
  'analytics-topn',
  'analytics-join',
  'recovery',
  'cdc',
  'asof',
  'bundle-size',
];

/** Engine folders whose sources the built package (dist/, which `dosql` resolves to) is made from. */
const SOURCE_DIRS = ['base', 'storage', 'log', 'materializers', 'query'];

/** Every workload imports DoSQL from dist/: say so when a source file is newer than the build. */
function warnIfStaleBuild(): void {
  const built = new URL('../dist/index.js', import.meta.url);
  if (!existsSync(built)) throw new Error('dist/ is missing: run `npm run build` first (the benches measure the built package)');
  const builtMs = statSync(built).mtimeMs;
  const newer = SOURCE_DIRS.flatMap((d) => {
    const dir = new URL(`../${d}/`, import.meta.url);
    return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && statSync(new URL(f, dir)).mtimeMs > builtMs).map((f) => `${d}/${f}`);
  });
  if (newer.length) console.warn(`warning: dist/ is older than ${newer.length} source file(s) (${newer.slice(0, 3).join(', ')}${newer.length > 3 ? ', ...' : ''}): run \`npm run build\` to bench the current code`);
}

warnIfStaleBuild();
const runStarted = performance.now();
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
console.log(`\ntotal ${((performance.now() - runStarted) / 60_000).toFixed(1)} min`);
if (!quick || process.argv.includes('--docs')) writeDocs(mode);
