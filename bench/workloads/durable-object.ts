/**
 * OLTP inside workerd: one Durable Object's own `ctx.storage.sql` against DoSQL opened on the same
 * object's storage (bench/workers/do-bench.ts), the peer a DoSQL user on Cloudflare would pick
 * instead. Same rows, same SQL as the Node workloads (bench/kv.ts): a bulk insert in one
 * transaction, random primary-key lookups, range scans of 100 rows and autocommit updates by key.
 *
 * How: `wrangler dev` (offline, a temporary --persist-to folder) serves the bench Worker; every
 * timed run is ONE HTTP request that runs the whole workload inside the object. Rounds go as in
 * bench/harness.ts: a warm-up round (not in `--quick`), then `ROUNDS` rounds alternating which
 * engine goes first; the figure is the median.
 *
 * Timing: from outside, in Node, as the wall time of the request minus the median wall time of
 * `noop` requests (Node -> Worker -> object -> back, doing nothing), one noop sent before every timed
 * run. This counts what a caller waits for, including the durable commit the object's output gate
 * holds the answer for, which an in-object clock stops short of. And deployed workerd does not
 * advance `Date.now()`/`performance.now()` while code runs without I/O (Spectre mitigation), so an
 * outside clock is the method that also holds there. Under `wrangler dev` the object's clock DOES
 * advance (measured: a 3e7-iteration pure loop read 154-161 ms, millisecond resolution), so the
 * object's own time around the work is reported too, as a cross-check.
 *
 * Each engine's answer carries a checksum (scores summed, rows read or changed); both engines must
 * agree on every run, or the row is marked n/a.
 */
import { fileURLToPath } from 'node:url';
import type { Answer, Command, EngineName } from '../workers/do-bench.js';
import { fmt, median, quick, ROUNDS, size, type ReportResult, type ReportWorkload, type TargetResult } from '../harness.js';
import { startWranglerDev } from '../wrangler-dev.js';

const ROWS = size(100_000, 2_000);
const BULK_ROWS = size(100_000, 2_000);
const LOOKUPS = size(100_000, 2_000);
const SCANS = size(1_000, 100);
const SPAN = 100;
const UPDATES = size(10_000, 200);
/** How long one request may take: a 100k-row load on a busy 2-core machine takes seconds. */
const REQUEST_TIMEOUT_MS = 300_000;
/** Noop requests sent before the first round, to warm the Worker, the object and the connection. */
const NOOP_WARMUP_REQUESTS = 10;
/** Lines of the object's error (message and stack) kept in a failure. */
const STACK_LINES = 6;

const CONFIG = fileURLToPath(new URL('../workers/wrangler.toml', import.meta.url));
const ENGINES: Array<{ name: EngineName; label: string }> = [
  { name: 'dosql', label: 'DoSQL' },
  { name: 'sql', label: 'ctx.storage.sql' },
];

interface Spec {
  label: string;
  ops: number;
  /** Untimed, before each timed run. */
  before?: (engine: EngineName) => Command;
  run: (engine: EngineName) => Command;
}

const SPECS: Spec[] = [
  {
    label: `bulk insert: ${BULK_ROWS.toLocaleString('en-US')} rows in one transaction`,
    ops: BULK_ROWS,
    before: (engine) => ({ op: 'reset-bulk', engine }),
    run: (engine) => ({ op: 'bulk', engine, rows: BULK_ROWS }),
  },
  {
    label: `primary-key lookups: ${LOOKUPS.toLocaleString('en-US')} on ${ROWS.toLocaleString('en-US')} rows`,
    ops: LOOKUPS,
    run: (engine) => ({ op: 'lookups', engine, rows: ROWS, count: LOOKUPS }),
  },
  {
    label: `range scans: ${SCANS.toLocaleString('en-US')} of ${SPAN} rows`,
    ops: SCANS,
    run: (engine) => ({ op: 'scans', engine, rows: ROWS, count: SCANS, span: SPAN }),
  },
  {
    label: `updates by primary key: ${UPDATES.toLocaleString('en-US')} autocommit`,
    ops: UPDATES,
    run: (engine) => ({ op: 'updates', engine, rows: ROWS, count: UPDATES }),
  },
];

interface Sample {
  wallMs: number;
  innerMs: number;
}

async function send(origin: string, command: Command): Promise<{ answer: Answer; wallMs: number }> {
  const body = JSON.stringify(command);
  const t = performance.now();
  const res = await fetch(origin, { method: 'POST', body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const text = await res.text();
  const wallMs = performance.now() - t;
  if (!res.ok) throw new Error(`${command.op} on ${'engine' in command ? command.engine : '-'}: HTTP ${res.status}: ${text.split('\n').slice(0, STACK_LINES).join('\n')}`);
  return { answer: JSON.parse(text) as Answer, wallMs };
}

async function measureAll(origin: string): Promise<ReportResult> {
  const noops: number[] = [];
  const noop = async (): Promise<void> => void noops.push((await send(origin, { op: 'noop' })).wallMs);
  for (let i = 0; i < NOOP_WARMUP_REQUESTS; i++) await send(origin, { op: 'noop' });
  for (const e of ENGINES) await send(origin, { op: 'load', engine: e.name, rows: ROWS });

  const samples = new Map<string, Sample[]>();
  const errors = new Map<string, string>();
  for (const spec of SPECS) {
    for (const e of ENGINES) samples.set(`${spec.label}|${e.name}`, []);
    for (let round = quick ? 0 : -1; round < ROUNDS; round++) {
      const order = round % 2 ? ENGINES : [...ENGINES].reverse();
      const checksums = new Set<number>();
      for (const e of order) {
        if (spec.before) await send(origin, spec.before(e.name));
        await noop();
        const { answer, wallMs } = await send(origin, spec.run(e.name));
        checksums.add(answer.checksum);
        if (round >= 0) samples.get(`${spec.label}|${e.name}`)!.push({ wallMs, innerMs: answer.innerMs });
      }
      if (checksums.size !== 1) errors.set(spec.label, `engines disagree: checksums ${[...checksums].join(' vs ')}`);
    }
  }

  const overheadMs = median(noops);
  const rows: ReportResult['rows'] = [];
  const targets: TargetResult[] = [];
  for (const spec of SPECS) {
    const [dosql, sql] = ENGINES.map((e) => samples.get(`${spec.label}|${e.name}`)!);
    const wall = (s: Sample[]) => Math.max(0, median(s.map((x) => x.wallMs)) - overheadMs);
    const inner = (s: Sample[]) => median(s.map((x) => x.innerMs));
    const error = errors.get(spec.label);
    const ratio = error || wall(sql!) === 0 ? null : wall(dosql!) / wall(sql!);
    const innerRatio = error || inner(sql!) === 0 ? null : inner(dosql!) / inner(sql!);
    rows.push({
      workload: spec.label,
      'ctx.storage.sql ms': error ? `n/a: ${error}` : fmt(wall(sql!)),
      'DoSQL ms': error ? 'n/a' : fmt(wall(dosql!)),
      'DoSQL ops/s': error ? 'n/a' : fmt((spec.ops / Math.max(wall(dosql!), 1e-3)) * 1000, 0),
      'DoSQL / ctx.storage.sql': fmt(ratio),
      'in-object clock: sql / DoSQL ms': error ? 'n/a' : `${fmt(inner(sql!), 0)} / ${fmt(inner(dosql!), 0)}`,
      'in-object ratio': fmt(innerRatio),
    });
    targets.push({ label: `Durable Object ${spec.label.split(':')[0]}: DoSQL / ctx.storage.sql (no target)`, measured: ratio, pass: null });
  }
  return {
    columns: ['workload', 'ctx.storage.sql ms', 'DoSQL ms', 'DoSQL ops/s', 'DoSQL / ctx.storage.sql', 'in-object clock: sql / DoSQL ms', 'in-object ratio'],
    rows,
    targets,
    notes: [
      'Both engines run in ONE SQLite-backed Durable Object under `wrangler dev` (local workerd, offline): `ctx.storage.sql.exec(sql, ...params)` (bulk insert inside `ctx.storage.transactionSync`) against DoSQL on `DurableObjectStore(ctx.storage)` (prepared statements, BEGIN/COMMIT around the bulk insert, one awaited autocommit per update). Same rows and SQL as the Node workloads (bench/workers/do-bench.ts).',
      `Timed from outside: one HTTP request per run, wall time in Node minus the median of ${noops.length} empty requests to the object (${fmt(overheadMs)} ms), so the durable commit the output gate waits for is included. Deployed workerd freezes the in-object clock during computation; under \`wrangler dev\` it advances (1 ms resolution), so the object's own time around the work is shown as a cross-check.`,
      'ctx.storage.sql updates: the loop runs without an await, so all updates share the object\'s implicit transaction; DoSQL commits each update (its log append is one coalesced storage write).',
    ],
  };
}

export const workload: ReportWorkload = {
  kind: 'report',
  name: 'durable-object',
  title: 'Inside workerd: a Durable Object\'s ctx.storage.sql against DoSQL on the same object\'s storage',
  group: 'OLTP',
  async measure() {
    let dev;
    try {
      dev = await startWranglerDev(CONFIG);
    } catch (e) {
      const why = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);
      return { columns: ['workload'], rows: [], notes: [`not measured: ${why}`] };
    }
    try {
      return await measureAll(dev.origin);
    } catch (e) {
      // One broken peer must not end a full `npm run bench`: report it and go on.
      console.error(`durable-object: ${e instanceof Error ? e.stack : String(e)}\nwrangler output: ${dev.output().slice(-2000)}`);
      return { columns: ['workload'], rows: [], notes: [`failed: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300)}`] };
    } finally {
      await dev.stop();
    }
  },
};
