/**
 * Time-travel cost (issue 4): a primary-key lookup and a 1k-row range scan AS OF an old LSN
 * versus the same read now, with about 10k and about 1M log entries behind them. Printed as the
 * ratio AS OF time / current time (target: <= 2). `--quick` runs the 10k case only.
 */
import { writeFileSync } from 'node:fs';
import { Database } from 'dosql';

const quick = process.argv.includes('--quick');
const ROWS = 10_000;
const LOOKUPS = 10_000;
const SCANS = 100;
const SCAN_ROWS = 1000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

async function time(f: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await f();
  return performance.now() - t;
}

async function measure(db: Database, oldLsn: bigint): Promise<{ lookup: number; scan: number }> {
  const get = db.prepare('SELECT v FROM t WHERE id = ?');
  const scan = db.prepare('SELECT count(*), sum(v) FROM t WHERE id >= ? AND id < ?');
  const ids = Array.from({ length: LOOKUPS }, (_, i) => 1 + ((i * 7919) % ROWS));
  const starts = Array.from({ length: SCANS }, (_, i) => 1 + ((i * 997) % (ROWS - SCAN_ROWS)));
  const run = async (asOf?: { lsn: bigint }) => ({
    lookup: await time(async () => {
      for (const id of ids) await db.get('SELECT v FROM t WHERE id = ?', [id], asOf ? { asOf } : undefined);
    }),
    scan: await time(async () => {
      for (const s of starts) await db.query('SELECT count(*), sum(v) FROM t WHERE id >= ? AND id < ?', [s, s + SCAN_ROWS], asOf ? { asOf } : undefined);
    }),
  });
  void get;
  void scan;
  const now: Array<{ lookup: number; scan: number }> = [];
  const past: Array<{ lookup: number; scan: number }> = [];
  for (let round = 0; round < 4; round++) {
    now.push(await run());
    past.push(await run({ lsn: oldLsn }));
  }
  const ratio = (k: 'lookup' | 'scan') => median(past.slice(1).map((p) => p[k])) / median(now.slice(1).map((n) => n[k]));
  return { lookup: ratio('lookup'), scan: ratio('scan') };
}

const db = await Database.open({ checkpointChangesMin: 50_000 });
await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)');
const ins = db.prepare('INSERT INTO t VALUES (?, ?)');
await db.exec('BEGIN');
for (let i = 1; i <= ROWS; i++) await ins.run([i, i]);
await db.exec('COMMIT');
const oldLsn = db.lsn;
await db.exec('UPDATE t SET v = v + 1');
const rows: Array<Record<string, string | number>> = [];
const small = await measure(db, oldLsn);
rows.push({ 'log entries': Number(db.lsn), 'lookup AS OF / now': +small.lookup.toFixed(2), '1k-row scan AS OF / now': +small.scan.toFixed(2) });
if (!quick) {
  for (let round = 0; round < 98; round++) await db.exec('UPDATE t SET v = v + 1');
  const big = await measure(db, oldLsn);
  rows.push({ 'log entries': Number(db.lsn), 'lookup AS OF / now': +big.lookup.toFixed(2), '1k-row scan AS OF / now': +big.scan.toFixed(2) });
}
console.table(rows);
writeFileSync(new URL(`./results/asof-${quick ? 'quick' : 'full'}.json`, import.meta.url), JSON.stringify({ date: new Date().toISOString(), node: process.version, rows }, null, 2));
await db.close();
