/**
 * The log: open (recovery) time against log length. A file database takes N single-row commits
 * with checkpoints pushed out of reach, is left open (an unclean stop: no close, no final
 * checkpoint), its folder is copied, and the copy is opened and read once (`count(*)`): the time
 * includes replaying every commit since the last checkpoint. better-sqlite3 does the same with its
 * WAL left un-checkpointed (wal_autocheckpoint=0), database and -wal files copied.
 */
import BetterSqlite3 from 'better-sqlite3';
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Database } from 'dosql';
import { fmt, median, quick, size, tempDir, windowed, type ReportWorkload } from '../harness.js';

const LENGTHS = quick ? [200] : [1_000, 10_000, 50_000];
const REPEATS = size(3, 1);
const NO_CHECKPOINT = 1e12;

async function dosqlOpenMs(commits: number): Promise<number> {
  const dir = tempDir('recovery');
  const db = await Database.open({ path: dir, checkpointChangesMin: NO_CHECKPOINT });
  await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
  const ins = db.prepare('INSERT INTO t VALUES (?, ?)');
  await windowed(Array.from({ length: commits }, (_, i) => i + 1), 64, (i) => ins.run([i, `v${i}`]));
  const copies = Array.from({ length: REPEATS }, () => {
    const copy = tempDir('recovery-copy');
    cpSync(dir, copy, { recursive: true });
    return copy;
  });
  await db.close();
  const times: number[] = [];
  for (const copy of copies) {
    const t = performance.now();
    const reopened = await Database.open({ path: copy, checkpointChangesMin: NO_CHECKPOINT });
    const row = await reopened.get('SELECT count(*) AS n FROM t');
    times.push(performance.now() - t);
    if (Number(row?.n) !== commits) throw new Error(`recovered ${String(row?.n)} of ${commits} rows`);
    await reopened.close();
  }
  return median(times);
}

function sqliteOpenMs(commits: number): number {
  const dir = tempDir('recovery-bsq');
  const db = new BetterSqlite3(join(dir, 'db.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  db.pragma('synchronous = OFF'); // building only; the copy is taken while the process holds the files
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
  const ins = db.prepare('INSERT INTO t VALUES (?, ?)');
  for (let i = 1; i <= commits; i++) ins.run(i, `v${i}`);
  const copies = Array.from({ length: REPEATS }, () => {
    const copy = tempDir('recovery-bsq-copy');
    for (const f of readdirSync(dir)) if (!f.endsWith('-shm')) cpSync(join(dir, f), join(copy, f));
    return copy;
  });
  db.close();
  const times: number[] = [];
  for (const copy of copies) {
    const t = performance.now();
    const reopened = new BetterSqlite3(join(copy, 'db.sqlite'));
    const row = reopened.prepare('SELECT count(*) AS n FROM t').get() as { n: number };
    times.push(performance.now() - t);
    if (row.n !== commits) throw new Error(`sqlite recovered ${row.n} of ${commits}`);
    reopened.close();
  }
  return median(times);
}

export const workload: ReportWorkload = {
  kind: 'report',
  name: 'recovery',
  title: 'Open and recovery time against log length (unclean stop, no checkpoint)',
  group: 'Log',
  async measure() {
    const rows: Array<Record<string, string | number>> = [];
    for (const n of LENGTHS) {
      const d = await dosqlOpenMs(n);
      const s = sqliteOpenMs(n);
      rows.push({ commits: n.toLocaleString('en-US'), 'dosql open + first read ms': fmt(d), 'better-sqlite3 (WAL) open + first read ms': fmt(s), 'DoSQL / better-sqlite3': fmt(d / s), 'dosql us per commit replayed': fmt((d * 1000) / n) });
    }
    return { columns: Object.keys(rows[0]!), rows, notes: [`Median of ${REPEATS} opens of separate copies per length.`] };
  },
};
