/**
 * The shared benchmark runner. A workload (bench/workloads/*.ts) is either
 * - timed: one case per engine, each with an untimed `open` (load the fixture once), an optional
 *   untimed `round` (reset before each timed run) and a timed `run`. The runner does a warm-up
 *   round, then `rounds` rounds alternating the engine order each round (so no engine always runs
 *   on a warmer or more fragmented heap), and reports medians and the ratio DoSQL time / peer time;
 * - a report: it measures what is not a head-to-head time (recovery against log length, CDC
 *   latency percentiles, bundle sizes) and returns rows itself.
 * `--quick` shrinks every size and runs one round without warm-up: a smoke run, never judged.
 * A case may run fewer operations than its workload (`Case.ops`: PGlite, which spends 0.3-3 ms per
 * statement, is capped so a full run ends in minutes); its ratio is then per operation.
 * Analytics default to the `--medium` size (200k rows); `--full` uses 1M.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Mode = 'quick' | 'medium' | 'full';

const argv = process.argv.slice(2);
export const mode: Mode = argv.includes('--quick') ? 'quick' : argv.includes('--full') ? 'full' : 'medium';
export const quick = mode === 'quick';
const onlyAt = argv.indexOf('--only');
/** `--only a,b`: run just these workloads (by file name). */
export const only: string[] | undefined = onlyAt >= 0 ? (argv[onlyAt + 1] ?? '').split(',').filter(Boolean) : undefined;
/** Timed rounds after the warm-up. */
export const ROUNDS = quick ? 1 : 3;

/** A size: `full` normally, `small` in a quick run. */
export function size(full: number, small: number): number {
  return quick ? small : full;
}

export interface Case<F = unknown> {
  engine: string;
  /** Operations in this case's timed run when fewer than the workload's `ops` (a capped engine). */
  ops?: number;
  /** Untimed, once: open the engine and load the fixture. Throwing marks the engine n/a. */
  open(): Promise<F>;
  /** Untimed, before each timed run. */
  round?(f: F): Promise<void>;
  /** The timed work. */
  run(f: F): Promise<void>;
  close(f: F): Promise<void>;
}

export interface Target {
  label: string;
  /** Engine whose time is compared (default: the workload's first case, DoSQL). */
  engine?: string;
  peer: string;
  /** Most allowed ratio engine time / peer time; undefined: informational. */
  max?: number;
}

export interface TimedWorkload {
  kind: 'timed';
  name: string;
  title: string;
  group: string;
  /** Operations in one timed run, for ops/s. */
  ops: number;
  cases: Array<Case<any>>;
  targets?: Target[];
  notes?: string[];
  rounds?: number;
  /** Keep `shared` fixtures for the next workload. */
  keepShared?: boolean;
}

export interface ReportResult {
  columns: string[];
  rows: Array<Record<string, string | number>>;
  targets?: TargetResult[];
  notes?: string[];
}

export interface ReportWorkload {
  kind: 'report';
  name: string;
  title: string;
  group: string;
  measure(): Promise<ReportResult>;
}

export type Workload = TimedWorkload | ReportWorkload;

export interface TargetResult {
  label: string;
  measured: number | null;
  max?: number;
  pass: boolean | null;
}

export interface EngineResult {
  engine: string;
  medianMs: number | null;
  samplesMs: number[];
  opsPerSec: number | null;
  /** Per operation when `ops` is set: (DoSQL ms / DoSQL ops) / (this ms / this ops). */
  ratio: number | null;
  /** Operations this engine ran, when capped below the workload's. */
  ops?: number;
  error?: string;
}

export interface WorkloadResult {
  name: string;
  title: string;
  group: string;
  mode: Mode;
  date: string;
  /** Operations in one timed run (timed workloads). */
  ops?: number;
  engines?: EngineResult[];
  report?: ReportResult;
  targets: TargetResult[];
  notes: string[];
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))]!;
}

export function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export async function time(f: () => Promise<unknown>): Promise<number> {
  gc();
  const t = performance.now();
  await f();
  return performance.now() - t;
}

const sharedFixtures = new Map<string, { value: Promise<unknown>; close: (v: any) => Promise<void> }>();

/** A fixture several workloads reuse (the analytics tables), released by `releaseShared`. */
export function shared<T>(key: string, make: () => Promise<T>, close: (v: T) => Promise<void>): Promise<T> {
  let s = sharedFixtures.get(key);
  if (!s) sharedFixtures.set(key, (s = { value: make(), close }));
  return s.value as Promise<T>;
}

export async function releaseShared(): Promise<void> {
  for (const s of sharedFixtures.values()) await s.close(await s.value.catch(() => undefined)).catch(() => undefined);
  sharedFixtures.clear();
}

let tempCount = 0;
const tempRoot = join(tmpdir(), `dosql-bench-${process.pid}`);
/** A fresh empty folder, removed when the run ends. */
export function tempDir(label: string): string {
  const dir = join(tempRoot, `${label}-${tempCount++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}
export function removeTemp(): void {
  rmSync(tempRoot, { recursive: true, force: true });
}

function assert(ok: boolean, what: string): asserts ok {
  if (!ok) throw new Error(`bench invariant: ${what}`);
}

/** An engine's name in tables: with its operation count when it was capped. */
export function engineLabel(e: EngineResult, workloadOps?: number): string {
  return e.ops === undefined ? e.engine : `${e.engine} (capped: ${e.ops.toLocaleString('en-US')}${workloadOps ? ` of ${workloadOps.toLocaleString('en-US')}` : ''} ops; ratio per op)`;
}

function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 160);
}

/** Run a bounded-concurrency loop: at most `window` of `f` in flight. */
export async function windowed<T>(items: T[], window: number, f: (x: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await f(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(window, items.length) }, worker));
}

export async function runTimed(w: TimedWorkload): Promise<WorkloadResult> {
  const fixtures = new Map<string, unknown>();
  const errors = new Map<string, string>();
  const samples = new Map<string, number[]>();
  for (const c of w.cases) {
    try {
      fixtures.set(c.engine, await c.open());
    } catch (e) {
      errors.set(c.engine, message(e));
    }
    samples.set(c.engine, []);
  }
  const rounds = quick ? 1 : (w.rounds ?? ROUNDS);
  for (let round = quick ? 0 : -1; round < rounds; round++) {
    const order = round % 2 ? w.cases : [...w.cases].reverse();
    for (const c of order) {
      if (errors.has(c.engine)) continue;
      const f = fixtures.get(c.engine);
      try {
        await c.round?.(f);
        const ms = await time(() => c.run(f));
        if (round >= 0) samples.get(c.engine)!.push(ms);
      } catch (e) {
        errors.set(c.engine, message(e));
      }
    }
  }
  for (const c of w.cases) if (fixtures.has(c.engine)) await c.close(fixtures.get(c.engine)).catch(() => undefined);
  const base = w.cases[0]!.engine;
  const opsOf = (engine: string) => {
    const ops = w.cases.find((c) => c.engine === engine)?.ops ?? w.ops;
    assert(ops > 0 && ops <= w.ops, `${w.name}: ${engine} runs ${ops} of ${w.ops} operations`);
    return ops;
  };
  const med = (engine: string) => {
    const s = samples.get(engine) ?? [];
    return errors.has(engine) || !s.length ? null : median(s);
  };
  /** Median ms per operation: what ratios compare, so a capped engine compares fairly. */
  const perOp = (engine: string) => {
    const m = med(engine);
    return m === null ? null : m / opsOf(engine);
  };
  const engines: EngineResult[] = w.cases.map((c) => {
    const m = med(c.engine);
    const b = perOp(base);
    const p = perOp(c.engine);
    return {
      engine: c.engine,
      medianMs: m,
      samplesMs: samples.get(c.engine)!.map((x) => +x.toFixed(2)),
      opsPerSec: m === null ? null : Math.round((opsOf(c.engine) / m) * 1000),
      ratio: p === null || b === null || c.engine === base ? null : b / p,
      ...(opsOf(c.engine) < w.ops ? { ops: opsOf(c.engine) } : {}),
      ...(errors.has(c.engine) ? { error: errors.get(c.engine) } : {}),
    };
  });
  const targets = (w.targets ?? []).map((t): TargetResult => {
    const a = perOp(t.engine ?? base);
    const p = perOp(t.peer);
    const measured = a === null || p === null ? null : a / p;
    return { label: t.label, measured, max: t.max, pass: measured === null || t.max === undefined ? null : measured <= t.max };
  });
  return { name: w.name, title: w.title, group: w.group, mode, date: new Date().toISOString(), ops: w.ops, engines, targets, notes: w.notes ?? [] };
}

export async function runReport(w: ReportWorkload): Promise<WorkloadResult> {
  const report = await w.measure();
  return { name: w.name, title: w.title, group: w.group, mode, date: new Date().toISOString(), report, targets: report.targets ?? [], notes: report.notes ?? [] };
}

export function fmt(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined || Number.isNaN(x)) return 'n/a';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  return x.toFixed(digits);
}

/** Print one result to the console. */
export function print(r: WorkloadResult): void {
  console.log(`\n## ${r.title} [${r.name}]`);
  if (r.engines) {
    console.table(
      r.engines.map((e) => ({
        engine: engineLabel(e, r.ops),
        'median ms': fmt(e.medianMs),
        'ops/s': fmt(e.opsPerSec, 0),
        'DoSQL / this': e.ratio === null ? '' : fmt(e.ratio),
        ...(e.error ? { note: e.error } : {}),
      })),
    );
  }
  if (r.report) console.table(r.report.rows);
  for (const t of r.targets) console.log(`target ${t.label}: ${fmt(t.measured)}${t.max !== undefined ? ` (<= ${t.max}) ${t.pass === null ? 'n/a' : t.pass ? 'PASS' : 'FAIL'}` : ''}`);
  for (const n of r.notes) console.log(`note: ${n}`);
}

export function writeResult(r: WorkloadResult, extra: Record<string, unknown>): void {
  const file = new URL(`./results/${r.name}${r.mode === 'quick' ? '-quick' : ''}.json`, import.meta.url);
  writeFileSync(file, JSON.stringify({ ...extra, ...r }, null, 2) + '\n');
}
