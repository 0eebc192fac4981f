/**
 * `npm run bench`: DoSQL beside better-sqlite3 in the same process run, printed as ratios
 * (DoSQL time / peer time; below 1.0 DoSQL is faster). Each workload runs a warm-up, then
 * alternates the two engines for several rounds and reports medians.
 *
 * Workloads (issue 2): 100k-row insert in one transaction; 100k random primary-key lookups.
 * `--quick` shrinks every size tenfold for a smoke run.
 */
import BetterSqlite3 from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { Database } from 'dosql';

const quick = process.argv.includes('--quick');
const ROWS = quick ? 10_000 : 100_000;
const LOOKUPS = quick ? 10_000 : 100_000;
const ROUNDS = quick ? 2 : 5;

interface Engine {
  name: string;
  setup(): Promise<void>;
  insertAll(n: number): Promise<void>;
  lookups(ids: number[]): Promise<number>;
  close(): Promise<void>;
}

function dosql(): Engine {
  let db: Database;
  return {
    name: 'dosql',
    async setup() {
      db = await Database.open();
      await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL)');
    },
    async insertAll(n) {
      const ins = db.prepare('INSERT INTO t VALUES (?, ?, ?)');
      await db.exec('BEGIN');
      for (let i = 1; i <= n; i++) await ins.run([i, `name-${i}`, i * 0.5]);
      await db.exec('COMMIT');
    },
    async lookups(ids) {
      const get = db.prepare('SELECT name, score FROM t WHERE id = ?');
      let found = 0;
      for (const id of ids) if (await get.get([id])) found++;
      return found;
    },
    close: () => db.close(),
  };
}

function sqlite(): Engine {
  let db: BetterSqlite3.Database;
  return {
    name: 'better-sqlite3',
    async setup() {
      db = new BetterSqlite3(':memory:');
      db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL)');
    },
    async insertAll(n) {
      const ins = db.prepare('INSERT INTO t VALUES (?, ?, ?)');
      db.transaction(() => {
        for (let i = 1; i <= n; i++) ins.run(i, `name-${i}`, i * 0.5);
      })();
    },
    async lookups(ids) {
      const get = db.prepare('SELECT name, score FROM t WHERE id = ?');
      let found = 0;
      for (const id of ids) if (get.get(id)) found++;
      return found;
    },
    close: async () => {
      db.close();
    },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

async function time(f: () => Promise<unknown>): Promise<number> {
  (globalThis as { gc?: () => void }).gc?.();
  const t = performance.now();
  await f();
  return performance.now() - t;
}

const ids = Array.from({ length: LOOKUPS }, (_, i) => 1 + ((i * 7919) % ROWS));
const engines = [dosql, sqlite];
const results: Record<string, Record<string, number[]>> = { insert: {}, lookup: {} };
for (let round = -1; round < ROUNDS; round++) {
  for (const make of round % 2 ? engines : [...engines].reverse()) {
    const e = make();
    await e.setup();
    const ins = await time(() => e.insertAll(ROWS));
    let found = 0;
    const look = await time(async () => (found = await e.lookups(ids)));
    if (found !== LOOKUPS) throw new Error(`${e.name} found ${found} of ${LOOKUPS}`);
    await e.close();
    if (round < 0) continue; // warm-up
    (results.insert![e.name] ??= []).push(ins);
    (results.lookup![e.name] ??= []).push(look);
  }
}

const rows: Array<Record<string, string | number>> = [];
for (const [workload, byEngine] of Object.entries(results)) {
  const d = median(byEngine.dosql!);
  const s = median(byEngine['better-sqlite3']!);
  rows.push({ workload: `${workload} (${workload === 'insert' ? ROWS : LOOKUPS})`, 'dosql ms': +d.toFixed(1), 'better-sqlite3 ms': +s.toFixed(1), ratio: +(d / s).toFixed(2) });
}
console.table(rows);
writeFileSync(new URL(`./results/${quick ? 'quick' : 'full'}.json`, import.meta.url), JSON.stringify({ date: new Date().toISOString(), node: process.version, rows }, null, 2));
