/**
 * The log: time-travel cost (was bench/asof.ts). A primary-key lookup and a 1k-row range scan
 * AS OF an old LSN against the same read now, with about 10k and (not in --quick) about 1M log
 * entries behind them; reported as AS OF time / current time (target: <= 2).
 */
import { Database } from 'dosql';
import { fmt, median, quick, time, type ReportWorkload, type TargetResult } from '../harness.js';

const ROWS = 10_000;
const LOOKUPS = quick ? 1_000 : 10_000;
const SCANS = quick ? 10 : 300;
const SCAN_ROWS = 1000;
const ROUNDS = quick ? 2 : 6;

async function measure(db: Database, oldLsn: bigint): Promise<{ lookup: number; scan: number }> {
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
  const now: Array<{ lookup: number; scan: number }> = [];
  const past: Array<{ lookup: number; scan: number }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    now.push(await run());
    past.push(await run({ lsn: oldLsn }));
  }
  const ratio = (k: 'lookup' | 'scan') => median(past.slice(1).map((p) => p[k])) / median(now.slice(1).map((n) => n[k]));
  return { lookup: ratio('lookup'), scan: ratio('scan') };
}

export const workload: ReportWorkload = {
  kind: 'report',
  name: 'asof',
  title: 'Reads AS OF an old LSN against reads now',
  group: 'Log',
  async measure() {
    const db = await Database.open({ checkpointChangesMin: 50_000 });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)');
    const ins = db.prepare('INSERT INTO t VALUES (?, ?)');
    await db.exec('BEGIN');
    for (let i = 1; i <= ROWS; i++) await ins.run([i, i]);
    await db.exec('COMMIT');
    const oldLsn = db.lsn;
    await db.exec('UPDATE t SET v = v + 1');
    const rows: Array<Record<string, string | number>> = [];
    const targets: TargetResult[] = [];
    const add = (r: { lookup: number; scan: number }) => {
      rows.push({ 'log entries': Number(db.lsn).toLocaleString('en-US'), 'PK lookup AS OF / now': fmt(r.lookup), '1k-row scan AS OF / now': fmt(r.scan) });
      const worst = Math.max(r.lookup, r.scan);
      targets.push({ label: `AS OF <= 2x a current read (${Number(db.lsn).toLocaleString('en-US')} log entries)`, measured: worst, max: 2, pass: worst <= 2 });
    };
    add(await measure(db, oldLsn));
    if (!quick) {
      for (let round = 0; round < 98; round++) await db.exec('UPDATE t SET v = v + 1');
      add(await measure(db, oldLsn));
    }
    await db.close();
    return { columns: ['log entries', 'PK lookup AS OF / now', '1k-row scan AS OF / now'], rows, targets };
  },
};
