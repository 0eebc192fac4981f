import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Database, DosqlError, MemoryStore } from '../../index.js';
import type { WriteBatch } from '../../storage/index.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'dosql-db-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function expectCode(p: Promise<unknown>, code: string): Promise<DosqlError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DosqlError);
    expect((e as DosqlError).code).toBe(code);
    return e as DosqlError;
  }
  throw new Error(`expected DosqlError ${code}`);
}

describe('Database embedded API', () => {
  it('creates, inserts, queries with every parameter style', async () => {
    const db = await Database.open();
    await db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, email TEXT UNIQUE)');
    const r = await db.exec('INSERT INTO users (name, score, email) VALUES (?, ?, ?), (?2, ?1, ?3 || \'x\')', ['ada', 1.5, 'a@x']);
    expect(r.rowsAffected).toBe(2);
    expect(r.lastInsertRowid).toBe(2);
    expect(r.lsn).toBeGreaterThan(0n);
    expect(await db.get('SELECT name FROM users WHERE id = :id', { id: 1 })).toEqual({ name: 'ada' });
    expect(await db.get('SELECT id FROM users WHERE email = @e', { e: 'a@xx' })).toEqual({ id: 2 });
    expect(await db.all('SELECT id FROM users WHERE name = $n ORDER BY id', { n: 'ada' })).toEqual([{ id: 1 }]);
    const q = await db.query('SELECT count(*) AS n, typeof(min(score)) FROM users WHERE id IN (1, 2)');
    expect(q.columns).toEqual(['n', 'typeof(min(score))']);
    expect(q.rows).toEqual([[2, 'real']]);
    await db.close();
  });

  it('keeps INTEGER and REAL apart and honours intMode', async () => {
    const db = await Database.open({ intMode: 'bigint' });
    await db.exec('CREATE TABLE t (a INTEGER, b REAL, c)');
    await db.exec('INSERT INTO t VALUES (1, 2, 3.0), (9223372036854775807, 0.5, x\'00ff\')');
    const rows = (await db.query('SELECT a, b, c, typeof(b), typeof(c) FROM t ORDER BY a')).rows;
    expect(rows[0]).toEqual([1n, 2, 3, 'real', 'real']);
    expect(rows[1]).toEqual([9223372036854775807n, 0.5, new Uint8Array([0, 255]), 'real', 'blob']);
    await db.close();
  });

  it('reports errors with codes and positions, and applies nothing of a failed statement', async () => {
    const db = await Database.open();
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    const e = await expectCode(db.exec('SELECT *\nFROM t WHERE'), 'SYNTAX_ERROR');
    expect(e.line).toBe(2);
    await expectCode(db.query('SELECT * FROM nope'), 'NO_SUCH_TABLE');
    await expectCode(db.query('SELECT nope FROM t'), 'NO_SUCH_COLUMN');
    await expectCode(db.exec("INSERT INTO t VALUES (1, 'a'), (1, 'b')"), 'CONSTRAINT_UNIQUE');
    await expectCode(db.exec("INSERT INTO t VALUES (2, 'a'), (3, NULL)"), 'CONSTRAINT_NOTNULL');
    await expectCode(db.exec("INSERT INTO t VALUES ('x', 'a')"), 'MISMATCH');
    expect((await db.query('SELECT count(*) FROM t')).rows).toEqual([[0]]);
    await expectCode(db.exec('SELECT ?', [{}]), 'MISMATCH');
    await db.close();
    await expectCode(db.query('SELECT 1'), 'CLOSED');
  });

  it('runs explicit transactions atomically and rolls back', async () => {
    const db = await Database.open();
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v)');
    await db.exec("BEGIN; INSERT INTO t VALUES (1, 'a'); INSERT INTO t VALUES (2, 'b'); COMMIT");
    await db.exec("BEGIN; DELETE FROM t; INSERT INTO t VALUES (3, 'c')");
    expect((await db.query('SELECT id FROM t')).rows).toEqual([[3]]);
    await db.exec('ROLLBACK');
    expect((await db.query('SELECT id FROM t ORDER BY id')).rows).toEqual([[1], [2]]);
    await db.close();
  });

  it('supports UPDATE, DELETE, ranges and composite primary keys', async () => {
    const db = await Database.open();
    await db.exec('CREATE TABLE kv (a TEXT, b INTEGER, v, PRIMARY KEY (a, b))');
    await db.exec("INSERT INTO kv VALUES ('x', 2, 'x2'), ('x', 1, 'x1'), ('a', 9, 'a9')");
    expect((await db.query('SELECT v FROM kv')).rows).toEqual([['a9'], ['x1'], ['x2']]);
    await expectCode(db.exec("INSERT INTO kv VALUES ('x', 1, 'dup')"), 'CONSTRAINT_UNIQUE');
    await db.exec("UPDATE kv SET v = v || '!' WHERE a = 'x'");
    await db.exec("DELETE FROM kv WHERE b = 9");
    expect((await db.query('SELECT v FROM kv ORDER BY v DESC')).rows).toEqual([['x2!'], ['x1!']]);
    await db.exec('CREATE TABLE n (id INTEGER PRIMARY KEY, x)');
    for (let i = 1; i <= 50; i++) await db.exec('INSERT INTO n (x) VALUES (?)', [i * 10]);
    expect((await db.query('SELECT id FROM n WHERE id > 47')).rows).toEqual([[48], [49], [50]]);
    expect((await db.query('SELECT sum(x) FROM n WHERE id BETWEEN 1 AND 3')).rows).toEqual([[60]]);
    await db.close();
  });

  it('persists in a folder across reopen, with the log replayed after the checkpoint', async () => {
    const path = tempDir();
    const db = await Database.open({ path, checkpointChangesMin: 10 });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    for (let i = 0; i < 25; i++) await db.exec('INSERT INTO t (v) VALUES (?)', [`row ${i}`]);
    // No close: recovery must replay what the checkpoint does not cover.
    const again = await Database.open({ path });
    expect((await again.query('SELECT count(*), max(id) FROM t')).rows).toEqual([[25, 25]]);
    await again.exec("INSERT INTO t (v) VALUES ('after')");
    await again.close();
    const third = await Database.open({ path });
    expect(await third.get('SELECT v FROM t WHERE id = 26')).toEqual({ v: 'after' });
    await third.close();
  });

  // The commit that crosses checkpointChangesMin returns first; the checkpoint runs right after,
  // before any later statement, and a checkpoint that fails costs the commit nothing.
  it('checkpoints after the commit that made it due returns, before the next statement', async () => {
    const store = new PageWriteFailures();
    const db = await Database.open({ storage: store, checkpointChangesMin: 20 });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    await db.exec('BEGIN');
    for (let i = 1; i <= 30; i++) await db.exec('INSERT INTO t (v) VALUES (?)', [`row ${i}`]);
    store.failNext = true; // the checkpoint's page write fails once
    await db.exec('COMMIT'); // resolves: the commit is durable in the log
    expect(store.failNext).toBe(true); // and the checkpoint has not run yet
    expect((await db.query('SELECT count(*) FROM t')).rows).toEqual([[30]]);
    expect(store.failNext).toBe(false); // the checkpoint ran, and failed, before that query
    expect(store.metaWrites).toBe(0);
    // Still due: the next commit checkpoints, again before the statement after it.
    await db.exec("INSERT INTO t (v) VALUES ('more')");
    expect(store.metaWrites).toBe(0);
    await db.query('SELECT 1');
    expect(store.metaWrites).toBe(1);
    await db.close();
    const again = await Database.open({ storage: store });
    expect((await again.query('SELECT count(*) FROM t')).rows).toEqual([[31]]);
    await again.close();
  });

  it('shares one durable write among concurrent commits (group commit)', async () => {
    const db = await Database.open({ path: tempDir() });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v)');
    const before = db.internals.store.stats.writes;
    await Promise.all(Array.from({ length: 50 }, (_, i) => db.exec('INSERT INTO t VALUES (?, ?)', [i + 1, i])));
    const writes = db.internals.store.stats.writes - before;
    expect(writes).toBeLessThan(50);
    expect((await db.query('SELECT count(*) FROM t')).rows).toEqual([[50]]);
    await db.close();
  });

  // Calls made while the database is busy wait in one queue (base/fifo.ts) and run in call order.
  it('runs thousands of calls queued behind a busy database, in the order they were made', async () => {
    const db = await Database.open();
    await db.exec('CREATE TABLE log (seq INTEGER PRIMARY KEY, v)');
    const calls = 5000;
    // The first call compiles its plan under the lock; every later one finds it busy and queues.
    const done = await Promise.all(Array.from({ length: calls }, (_, i) => db.exec('INSERT INTO log (v) VALUES (?)', [i])));
    expect(done.map((r) => r.lastInsertRowid)).toEqual(Array.from({ length: calls }, (_, i) => i + 1));
    expect((await db.query('SELECT count(*), min(v), max(v) FROM log WHERE seq = v + 1')).rows).toEqual([[calls, 0, calls - 1]]);
    await db.close();
  });

  it('is importable as the package root by plain Node', async () => {
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', "import { Database } from 'dosql'; const db = await Database.open(); console.log((await db.query('SELECT 1 + 1')).rows[0][0]);"], { encoding: 'utf8' });
    expect(out.trim()).toBe('2');
  });
});

describe('sqlite_schema', () => {
  it('lists tables with their CREATE statements, also inside a transaction', async () => {
    const db = await Database.open();
    await db.exec('CREATE TABLE a (x INTEGER PRIMARY KEY); CREATE TABLE b (y TEXT)');
    expect((await db.query("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name")).rows).toEqual([
      ['table', 'a', 'a', 'CREATE TABLE a (x INTEGER PRIMARY KEY)'],
      ['table', 'b', 'b', 'CREATE TABLE b (y TEXT)'],
    ]);
    await db.exec('BEGIN; DROP TABLE a; CREATE TABLE c (z)');
    expect((await db.query('SELECT name FROM sqlite_master ORDER BY 1')).rows).toEqual([['b'], ['c']]);
    await db.exec('ROLLBACK');
    expect((await db.query('SELECT count(*) FROM sqlite_schema')).rows).toEqual([[2]]);
    await db.close();
  });
});

describe('SQLite key corner cases', () => {
  it('keeps rows whose non-INTEGER PRIMARY KEY is NULL, each distinct', async () => {
    const db = await Database.open();
    await db.exec('CREATE TABLE t (a PRIMARY KEY, c); INSERT INTO t VALUES (NULL, 1); INSERT INTO t VALUES (NULL, 2); INSERT INTO t VALUES (3, 3)');
    expect((await db.query('SELECT c FROM t ORDER BY c')).rows).toEqual([[1], [2], [3]]);
    await expect(db.exec('INSERT INTO t VALUES (3, 4)')).rejects.toMatchObject({ code: 'CONSTRAINT_UNIQUE' });
    await db.close();
  });

  it('treats a NATURAL JOIN without common columns as a cross join', async () => {
    const db = await Database.open();
    await db.exec('CREATE TABLE x (a); CREATE TABLE y (b); INSERT INTO x VALUES (1), (2); INSERT INTO y VALUES (5)');
    expect((await db.query('SELECT * FROM x NATURAL JOIN y ORDER BY a')).rows).toEqual([[1, 5], [2, 5]]);
    await db.close();
  });
});

/** A memory store whose next checkpoint write (one that writes a table meta record) can fail once. */
class PageWriteFailures extends MemoryStore {
  failNext = false;
  metaWrites = 0;
  override async write(batch: WriteBatch): Promise<void> {
    const meta = (batch.put ?? []).some(([key]) => key.startsWith('tbl-meta-'));
    if (meta && this.failNext) {
      this.failNext = false;
      throw new DosqlError('IO', 'injected checkpoint failure');
    }
    await super.write(batch);
    if (meta) this.metaWrites++;
  }
}
