import { describe, expect, it } from 'vitest';
import { Database, DosqlError } from '../../index.js';

async function ids(db: Database): Promise<unknown[]> {
  return (await db.query('SELECT id FROM t ORDER BY id')).rows.map((r) => r[0]);
}

async function fresh(): Promise<Database> {
  const db = await Database.open();
  await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)');
  return db;
}

describe('savepoints', () => {
  it('nest, roll back to a savepoint and release', async () => {
    const db = await fresh();
    await db.exec("BEGIN; INSERT INTO t VALUES (1, 'a'); SAVEPOINT s1; INSERT INTO t VALUES (2, 'b'); SAVEPOINT s2; INSERT INTO t VALUES (3, 'c')");
    expect(await ids(db)).toEqual([1, 2, 3]);
    await db.exec('ROLLBACK TO s2');
    expect(await ids(db)).toEqual([1, 2]);
    await db.exec("INSERT INTO t VALUES (4, 'c')"); // s2 still exists after ROLLBACK TO
    await db.exec('ROLLBACK TO SAVEPOINT s1');
    expect(await ids(db)).toEqual([1]);
    await db.exec("INSERT INTO t VALUES (5, 'e'); RELEASE s1; COMMIT");
    expect(await ids(db)).toEqual([1, 5]);
    await db.close();
  });

  it('begin a transaction outside one, committed by the outermost RELEASE', async () => {
    const db = await fresh();
    await db.exec("SAVEPOINT outer_sp; INSERT INTO t VALUES (1, 'a'); SAVEPOINT inner_sp; INSERT INTO t VALUES (2, 'b'); RELEASE inner_sp");
    expect(db.inTransaction).toBe(true);
    await db.exec('RELEASE outer_sp');
    expect(db.inTransaction).toBe(false);
    const reopened = await db.query('SELECT count(*) FROM t');
    expect(reopened.rows).toEqual([[2]]);
    await expect(db.exec('RELEASE nope')).rejects.toMatchObject({ code: 'ERROR' });
    await expect(db.exec('BEGIN; ROLLBACK TO nope')).rejects.toThrow(/no such savepoint/);
    await db.exec('ROLLBACK');
    await db.close();
  });

  it('undo schema changes made after the savepoint', async () => {
    const db = await fresh();
    await db.exec('BEGIN; SAVEPOINT a; CREATE TABLE u (x); INSERT INTO u VALUES (1); ROLLBACK TO a');
    await expect(db.query('SELECT * FROM u')).rejects.toMatchObject({ code: 'NO_SUCH_TABLE' });
    await db.exec('COMMIT');
    await db.close();
  });
});

describe('db.transaction and db.batch', () => {
  it('commits when the callback returns and rolls back when it throws', async () => {
    const db = await fresh();
    const n = await db.transaction(async (tx) => {
      await tx.exec("INSERT INTO t VALUES (1, 'a')");
      await tx.exec("INSERT INTO t VALUES (2, 'b')");
      return (await tx.get('SELECT count(*) AS n FROM t'))!.n;
    });
    expect(n).toBe(2);
    await expect(
      db.transaction(async (tx) => {
        await tx.exec("INSERT INTO t VALUES (3, 'c')");
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await ids(db)).toEqual([1, 2]);
    await db.close();
  });

  it('refuses transaction control inside, and a finished handle', async () => {
    const db = await fresh();
    let kept: import('../../index.js').Transaction | undefined;
    await expect(db.transaction(async (tx) => { kept = tx; await tx.exec('COMMIT'); })).rejects.toMatchObject({ code: 'MISUSE' });
    await expect(kept!.exec('SELECT 1')).rejects.toMatchObject({ code: 'MISUSE' });
    await expect(db.transaction(async () => 1, { isolation: 'chaos' as never })).rejects.toMatchObject({ code: 'MISUSE' });
    await db.close();
  });

  it('runs a batch atomically', async () => {
    const db = await fresh();
    const out = await db.batch([
      { sql: 'INSERT INTO t VALUES (?, ?)', params: [1, 'a'] },
      { sql: 'INSERT INTO t (v) VALUES (:v)', params: { v: 'b' } },
      { sql: 'SELECT id, v FROM t ORDER BY id' },
    ]);
    expect(out[1]!.lastInsertRowid).toBe(2);
    expect(out[2]!.rows).toEqual([[1, 'a'], [2, 'b']]);
    const err = await db.batch([{ sql: "INSERT INTO t VALUES (3, 'c')" }, { sql: "INSERT INTO t VALUES (4, 'a')" }]).catch((e) => e);
    expect(err).toBeInstanceOf(DosqlError);
    expect(err.code).toBe('CONSTRAINT_UNIQUE');
    expect(await ids(db)).toEqual([1, 2]);
    await db.close();
  });

  it('never blocks other callers, who do not see its uncommitted writes', async () => {
    const db = await fresh();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const tx = db.transaction(async (t) => {
      await t.exec("INSERT INTO t VALUES (1, 'a')");
      await gate;
    });
    await new Promise((r) => setTimeout(r, 5));
    expect((await db.query('SELECT count(*) FROM t')).rows).toEqual([[0]]);
    await db.exec("INSERT INTO t VALUES (2, 'b')"); // a writer is not blocked either
    release();
    await tx;
    expect((await db.query('SELECT count(*) FROM t')).rows).toEqual([[2]]);
    await db.close();
  });
});

describe('db.begin handles', () => {
  it('commit, roll back, and refuse use after the end', async () => {
    const db = await fresh();
    const a = db.begin();
    await a.exec("INSERT INTO t VALUES (1, 'a')");
    const b = db.begin({ isolation: 'snapshot' });
    await b.exec("INSERT INTO t VALUES (2, 'b')");
    b.rollback();
    b.rollback();
    expect(b.ended).toBe(true);
    await a.commit();
    await expect(a.exec('SELECT 1')).rejects.toMatchObject({ code: 'MISUSE' });
    await expect(a.commit()).rejects.toMatchObject({ code: 'MISUSE' });
    expect(await ids(db)).toEqual([1]);
    await db.close();
  });
});
