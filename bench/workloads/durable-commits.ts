/**
 * OLTP: 10k single-row INSERTs, each its own durable commit, on file storage. DoSQL opens a
 * folder (`Database.open({ path })`); SQLite is a file in WAL mode with synchronous=FULL (an fsync
 * per commit). DoSQL runs twice: with 64 `db.exec` calls in flight at once (its group commit
 * shares one store write among the commits waiting for it; SQLite has no such path in one
 * connection), and one commit at a time.
 */
import { betterSqlite, dosql, KV_DDL, KV_INSERT, kvRow, type Engine } from '../engines.js';
import { size, tempDir, windowed, type Case, type TimedWorkload } from '../harness.js';

const COMMITS = size(10_000, 200);
const WINDOW = 64;

interface Fixture {
  e: Engine;
  next: number;
}

function batch(f: Fixture): number[] {
  const ids = Array.from({ length: COMMITS }, (_, i) => f.next + i);
  f.next += COMMITS;
  return ids;
}

function dosqlCase(engine: string, window: number): Case<Fixture> {
  return {
    engine,
    async open() {
      const e = await dosql({ path: tempDir('durable') });
      await e.exec(KV_DDL);
      return { e, next: 1 };
    },
    async run(f) {
      const ins = f.e.prepare(KV_INSERT);
      await windowed(batch(f), window, async (i) => ins.run(kvRow(i)));
    },
    close: (f) => f.e.close(),
  };
}

export const workload: TimedWorkload = {
  kind: 'timed',
  name: 'durable-commits',
  title: `Durable single-row commits: ${COMMITS.toLocaleString('en-US')} autocommit INSERTs on file storage`,
  group: 'OLTP',
  ops: COMMITS,
  rounds: 3,
  cases: [
    dosqlCase(`dosql (file) ${WINDOW} in flight`, WINDOW),
    dosqlCase('dosql (file) sequential', 1),
    {
      engine: 'better-sqlite3 file WAL FULL',
      async open() {
        const e = await betterSqlite({ file: true });
        await e.exec(KV_DDL);
        return { e, next: 1 };
      },
      async run(f: Fixture) {
        const ins = f.e.prepare(KV_INSERT);
        await f.e.each(batch(f), (i) => ins.run(kvRow(i)));
      },
      close: (f: Fixture) => f.e.close(),
    },
  ],
  targets: [
    { label: `durable commits (${WINDOW} in flight) <= 1.0x better-sqlite3 WAL FULL`, peer: 'better-sqlite3 file WAL FULL', max: 1.0 },
    { label: 'durable commits (sequential) vs better-sqlite3 WAL FULL (no target)', engine: 'dosql (file) sequential', peer: 'better-sqlite3 file WAL FULL' },
  ],
};
