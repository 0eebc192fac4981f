/**
 * Concurrent transactions (db.transaction) read a snapshot and are validated at commit.
 *
 * | anomaly      | SNAPSHOT  | SERIALIZABLE (default) |
 * |--------------|-----------|------------------------|
 * | lost update  | prevented | prevented              |
 * | write skew   | allowed   | prevented              |
 * | phantom      | allowed   | prevented              |
 *
 * Prevented means the later committer gets DosqlError CONFLICT and nothing of it is applied.
 */
import { describe, expect, it } from 'vitest';
import { Database, DosqlError, type Transaction } from '../../index.js';

type Level = 'snapshot' | 'serializable';

/** Run two transactions interleaved step by step: a1, b1, a2, b2 (commit of a, then of b). */
async function interleave(
  db: Database,
  level: Level,
  a: [(tx: Transaction) => Promise<void>, (tx: Transaction) => Promise<void>],
  b: [(tx: Transaction) => Promise<void>, (tx: Transaction) => Promise<void>],
): Promise<{ a: unknown; b: unknown }> {
  const gates = [deferred(), deferred(), deferred()];
  const ta = db
    .transaction(async (tx) => {
      await a[0](tx);
      gates[0]!.resolve();
      await gates[1]!.promise;
      await a[1](tx);
    }, { isolation: level })
    .then(() => 'committed', (e) => e);
  const tb = db
    .transaction(async (tx) => {
      await gates[0]!.promise;
      await b[0](tx);
      gates[1]!.resolve();
      await ta;
      await b[1](tx);
    }, { isolation: level })
    .then(() => 'committed', (e) => e);
  return { a: await ta, b: await tb };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function isConflict(e: unknown): boolean {
  return e instanceof DosqlError && e.code === 'CONFLICT';
}

async function bank(): Promise<Database> {
  const db = await Database.open();
  await db.exec('CREATE TABLE acct (id INTEGER PRIMARY KEY, balance INTEGER)');
  await db.exec('INSERT INTO acct VALUES (1, 100), (2, 100)');
  return db;
}

for (const level of ['snapshot', 'serializable'] as const) {
  describe(`${level} isolation`, () => {
    it('prevents lost updates', async () => {
      const db = await bank();
      let seenA = 0;
      let seenB = 0;
      const r = await interleave(
        db,
        level,
        [async (tx) => void (seenA = (await tx.get('SELECT balance FROM acct WHERE id = 1'))!.balance as number), async (tx) => void (await tx.exec('UPDATE acct SET balance = ? WHERE id = 1', [seenA + 10]))],
        [async (tx) => void (seenB = (await tx.get('SELECT balance FROM acct WHERE id = 1'))!.balance as number), async (tx) => void (await tx.exec('UPDATE acct SET balance = ? WHERE id = 1', [seenB + 20]))],
      );
      expect(r.a).toBe('committed');
      expect(isConflict(r.b)).toBe(true);
      expect((await db.get('SELECT balance FROM acct WHERE id = 1'))!.balance).toBe(110);
      await db.close();
    });

    it(level === 'snapshot' ? 'allows write skew' : 'prevents write skew', async () => {
      // Each doctor leaves only if the other is still on call; both read before either writes.
      const db2 = await Database.open();
      await db2.exec('CREATE TABLE oncall (doctor TEXT PRIMARY KEY, on_duty INTEGER)');
      await db2.exec("INSERT INTO oncall VALUES ('alice', 1), ('bob', 1)");
      let nA = 0;
      let nB = 0;
      const count = async (tx: Transaction) => (await tx.get('SELECT count(*) AS n FROM oncall WHERE on_duty = 1'))!.n as number;
      const r2 = await interleave(
        db2,
        level,
        [async (tx) => void (nA = await count(tx)), async (tx) => void (nA >= 2 && (await tx.exec("UPDATE oncall SET on_duty = 0 WHERE doctor = 'alice'")))],
        [async (tx) => void (nB = await count(tx)), async (tx) => void (nB >= 2 && (await tx.exec("UPDATE oncall SET on_duty = 0 WHERE doctor = 'bob'")))],
      );
      expect(r2.a).toBe('committed');
      const onDuty = (await db2.get('SELECT count(*) AS n FROM oncall WHERE on_duty = 1'))!.n;
      if (level === 'snapshot') {
        expect(r2.b).toBe('committed');
        expect(onDuty).toBe(0); // the anomaly: nobody is on call
      } else {
        expect(isConflict(r2.b)).toBe(true);
        expect(onDuty).toBe(1);
      }
      await db2.close();
    });

    it(level === 'snapshot' ? 'allows phantoms at commit, with stable reads' : 'prevents phantoms', async () => {
      const db = await bank();
      const counts: unknown[] = [];
      const r = await interleave(
        db,
        level,
        [async (tx) => void (await tx.exec('INSERT INTO acct VALUES (3, 500)')), async () => {}],
        [
          async (tx) => void counts.push((await tx.get('SELECT count(*) AS n FROM acct WHERE balance >= 100'))!.n),
          async (tx) => {
            counts.push((await tx.get('SELECT count(*) AS n FROM acct WHERE balance >= 100'))!.n);
            await tx.exec('INSERT INTO acct VALUES (9, ?)', [counts[1] as number]);
          },
        ],
      );
      expect(counts).toEqual([2, 2]); // the snapshot does not change under the transaction
      expect(r.a).toBe('committed');
      if (level === 'snapshot') expect(r.b).toBe('committed');
      else expect(isConflict(r.b)).toBe(true);
      await db.close();
    });
  });
}

describe('CONFLICT leaves nothing behind and a retry succeeds', () => {
  it('retries', async () => {
    const db = await bank();
    const r = await interleave(
      db,
      'serializable',
      [async () => {}, async (tx) => void (await tx.exec('UPDATE acct SET balance = balance + 1 WHERE id = 2'))],
      [async (tx) => void (await tx.get('SELECT balance FROM acct WHERE id = 2')), async (tx) => void (await tx.exec('UPDATE acct SET balance = balance + 1 WHERE id = 2'))],
    );
    expect(isConflict(r.b)).toBe(true);
    await db.transaction(async (tx) => void (await tx.exec('UPDATE acct SET balance = balance + 1 WHERE id = 2')));
    expect((await db.get('SELECT balance FROM acct WHERE id = 2'))!.balance).toBe(102);
    await db.close();
  });
});
