/**
 * A transaction's pending changes are bounded (Txn.bytesMax, the `transactionBytesMax` open
 * option): a statement that would pass the bound fails with LIMIT_EXCEEDED and changes nothing,
 * the transaction keeps what came before, and the database keeps serving. Rows here are sized so
 * that one insert costs exactly 100 estimated bytes: 32 for the change record, 3 for the row, 9
 * for the integer key, 5 + 51 for the text.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Database, TRANSACTION_BYTES_MAX } from '../../index.js';

const BYTES_PER_INSERT = 100;
const ROWS_MAX = 10;
const V = 'x'.repeat(51);

const opened: Database[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) await db.close();
});

async function small(): Promise<Database> {
  const db = await Database.open({ transactionBytesMax: ROWS_MAX * BYTES_PER_INSERT });
  opened.push(db);
  await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
  return db;
}

async function count(db: Database): Promise<number> {
  return (await db.query('SELECT count(*) FROM t')).rows[0]![0] as number;
}

describe('transaction size', () => {
  it('takes changes up to the limit, refuses one past it, and commits what it took', async () => {
    const db = await small();
    const ins = db.prepare('INSERT INTO t VALUES (?, ?)');
    await db.exec('BEGIN');
    for (let id = 1; id <= ROWS_MAX; id++) await ins.run([id, V]);
    const err = await ins.run([ROWS_MAX + 1, V]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect((err as Error).message).toContain('transactionBytesMax');
    expect((err as Error).message).toContain(String(ROWS_MAX * BYTES_PER_INSERT));
    expect(await count(db)).toBe(ROWS_MAX);
    await db.exec('COMMIT');
    expect(await count(db)).toBe(ROWS_MAX);
    // A new transaction starts with the whole budget.
    await db.exec('BEGIN');
    for (let id = 101; id < 101 + ROWS_MAX; id++) await db.exec('INSERT INTO t VALUES (?, ?)', [id, V]);
    await db.exec('COMMIT');
    expect(await count(db)).toBe(2 * ROWS_MAX);
  });

  it('rolls back the whole statement that passes it, and a rollback to a savepoint gives its bytes back', async () => {
    const db = await small();
    await db.exec('BEGIN');
    for (let id = 1; id <= 5; id++) await db.exec('INSERT INTO t VALUES (?, ?)', [id, V]);
    const values = Array.from({ length: 6 }, (_, i) => `(${6 + i}, '${V}')`).join(', ');
    await expect(db.exec(`INSERT INTO t VALUES ${values}`)).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(await count(db)).toBe(5);
    await db.exec('SAVEPOINT s');
    for (let id = 6; id <= 10; id++) await db.exec('INSERT INTO t VALUES (?, ?)', [id, V]);
    await db.exec('ROLLBACK TO s');
    for (let id = 6; id <= 10; id++) await db.exec('INSERT INTO t VALUES (?, ?)', [id, V]);
    await expect(db.exec('INSERT INTO t VALUES (11, ?)', [V])).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    await db.exec('COMMIT');
    expect(await count(db)).toBe(10);
  });

  it('counts updates and deletes, and refuses an autocommit statement too large on its own', async () => {
    const db = await small();
    for (let id = 1; id <= 3; id++) await db.exec('INSERT INTO t VALUES (?, ?)', [id, V]);
    // An update costs its record and both images (32 + 68 + 68): four of them pass 600.
    const limited = await Database.open({ transactionBytesMax: 600 });
    opened.push(limited);
    await limited.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    await limited.exec(`INSERT INTO t VALUES (1, '${V}'), (2, '${V}'), (3, '${V}'), (4, '${V}')`);
    await limited.exec('BEGIN');
    await limited.exec('UPDATE t SET v = v WHERE id <= 3');
    await expect(limited.exec('UPDATE t SET v = v WHERE id = 4')).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    await limited.exec('ROLLBACK');
    const values = Array.from({ length: ROWS_MAX + 1 }, (_, i) => `(${10 + i}, '${V}')`).join(', ');
    await expect(db.exec(`INSERT INTO t VALUES ${values}`)).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(await count(db)).toBe(3);
    await db.exec('DELETE FROM t');
    expect(await count(db)).toBe(0);
  });

  it('refuses a limit that is not a positive integer', async () => {
    for (const bad of [0, -1, 1.5, Number.NaN, '10' as unknown as number]) {
      await expect(Database.open({ transactionBytesMax: bad })).rejects.toMatchObject({ code: 'MISUSE' });
    }
    expect(TRANSACTION_BYTES_MAX).toBe(256 * 1024 * 1024);
  });
});
