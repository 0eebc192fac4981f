/**
 * Per-operation counts by function from a callgrind dump (see run.sh): instructions, L1d read
 * misses and L2 read misses. JIT-compiled functions have no symbols; V8's perf map
 * (`--perf-basic-prof`, /tmp/perf-PID.map: start, size and name of every code object) names them.
 *
 *   node --import tsx bench/counts/report.ts DUMP PERF_MAP OPS [ROWS]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** Callgrind's events, in the order run.sh's options record them. */
const EVENTS = ['Ir', 'Dr', 'Dw', 'I1mr', 'D1mr', 'D1mw', 'ILmr', 'DLmr', 'DLmw'] as const;
/** Shown: instructions, L1d read misses, L2 read misses (reads that went to L3 or memory). */
const SHOWN = ['Ir', 'D1mr', 'DLmr'] as const;
/** Farthest a code object's start may lie below an address it holds, in bytes (a sanity bound). */
const CODE_BYTES_MAX = 1 << 20;

interface CodeRange {
  start: number;
  size: number;
  name: string;
}

function readPerfMap(path: string): CodeRange[] {
  if (!existsSync(path)) return [];
  const ranges = readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [start, size, ...name] = line.split(' ');
      return { start: parseInt(start!, 16), size: parseInt(size!, 16), name: name.join(' ') };
    });
  return ranges.sort((a, b) => a.start - b.start);
}

/** The code object holding `addr`; the latest one listed wins where code was replaced. */
function nameAt(ranges: CodeRange[], addr: number): string | undefined {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ranges[mid]!.start <= addr) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo - 1; i >= 0 && addr - ranges[i]!.start <= CODE_BYTES_MAX; i--) {
    const r = ranges[i]!;
    if (addr < r.start + r.size) return r.name;
  }
  return undefined;
}

function main(): void {
  const [dump, perfMap, opsText, rowsText] = process.argv.slice(2);
  if (!dump || !perfMap || !opsText) throw new Error('usage: report.ts DUMP PERF_MAP OPS [ROWS]');
  const ops = Number(opsText);
  const ranges = readPerfMap(perfMap);
  const text = execFileSync('callgrind_annotate', ['--inclusive=no', '--threshold=100', dump], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const byName = new Map<string, number[]>();
  for (const line of text.split('\n')) {
    const counts = [...line.matchAll(/([\d,]+) \(/g)].map((m) => Number(m[1]!.replace(/,/g, '')));
    if (counts.length !== EVENTS.length) continue;
    let name = line.slice(line.lastIndexOf(') ') + 2).trim();
    const addr = /^\?\?\?:0x([0-9a-f]+)/.exec(name);
    if (addr) name = nameAt(ranges, parseInt(addr[1]!, 16)) ?? name;
    // Native code without a symbol is left as its object file's name.
    name = name.replace(/file:\/\/\S*\/(\S+)/, '$1').replace(/^(\S+)\s+\[\S+\]$/, '$1').slice(0, 100);
    const sum = byName.get(name) ?? EVENTS.map(() => 0);
    counts.forEach((c, i) => (sum[i]! += c));
    byName.set(name, sum);
  }
  const total = byName.get('PROGRAM TOTALS');
  byName.delete('PROGRAM TOTALS');
  const col = SHOWN.map((e) => EVENTS.indexOf(e));
  const fmt = (sum: number[]) => col.map((i) => (sum[i]! / ops).toFixed(1).padStart(9)).join('');
  console.log(`per operation (${ops.toLocaleString('en-US')} operations):`);
  console.log(['instr', 'L1d rd', 'L2 rd'].map((s) => s.padStart(9)).join(''));
  if (total) console.log(`${fmt(total)}   total`);
  const rows = [...byName].sort((a, b) => b[1][0]! - a[1][0]!).slice(0, Number(rowsText ?? 25));
  for (const [name, sum] of rows) console.log(`${fmt(sum)}   ${name}`);
}

main();
