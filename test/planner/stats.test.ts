/**
 * Planner statistics stay equal to what the table holds: row counts and the distinct values of
 * each index prefix, through inserts, updates, deletes, rollbacks, CREATE INDEX on existing rows,
 * checkpoints and reopening.
 */
import { describe, expect, it } from 'vitest';
import { Database } from '../../query/database.js';
import { MemoryStore } from '../../storage/memory.js';
import { rng } from '../support/random.js';

async function actual(db: Database): Promise<{ rows: number; ab: number[]; c: number[] }> {
  const n = async (sql: string): Promise<number> => Number((await db.get(sql))!.n);
  return {
    rows: await n('SELECT count(*) AS n FROM t'),
    ab: [await n('SELECT count(*) AS n FROM (SELECT DISTINCT a FROM t)'), await n('SELECT count(*) AS n FROM (SELECT DISTINCT a, b FROM t)')],
    c: [await n('SELECT count(*) AS n FROM (SELECT DISTINCT c FROM t)')],
  };
}

function kept(db: Database): { rows: number; ab: number[]; c: number[] } {
  const { tables } = db.internals;
  const def = tables.catalog.table('t')!;
  const s = tables.stats(def)!;
  return { rows: s.rows, ab: [...(s.indexDistinct.get('t_ab') ?? [])], c: [...(s.indexDistinct.get('t_c') ?? [])] };
}

describe('planner statistics', () => {
  for (const seed of [1, 2, 3]) {
    it(`match the table after random writes (seed ${seed})`, async () => {
      const r = rng(seed);
      const store = new MemoryStore();
      let db = await Database.open({ storage: store, checkpointChangesMin: 50 });
      await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, a, b, c)');
      await db.exec('CREATE INDEX t_ab ON t(a, b)');
      const value = (): unknown => r.pick([null, 1, 2, 3, 'x', 'y', 2.5]);
      for (let step = 0; step < 400; step++) {
        const k = r.int(60);
        const op = r.int(10);
        if (step === 150) await db.exec('CREATE INDEX t_c ON t(c)');
        if (step === 250) {
          await db.close();
          db = await Database.open({ storage: store, checkpointChangesMin: 50 });
        }
        if (op < 5) await db.exec('INSERT OR REPLACE INTO t VALUES (?, ?, ?, ?)', [k, value(), value(), value()] as never);
        else if (op < 7) await db.exec('UPDATE t SET a = ?, b = ? WHERE id = ?', [value(), value(), k] as never);
        else if (op < 9) await db.exec('DELETE FROM t WHERE id = ?', [k]);
        else {
          await db.exec('BEGIN');
          await db.exec('DELETE FROM t WHERE id < 30');
          await db.exec('ROLLBACK');
        }
      }
      const want = await actual(db);
      expect(want.rows).toBeGreaterThan(5);
      expect(kept(db)).toEqual(want);
      await db.close();
      const reopened = await Database.open({ storage: store });
      expect(kept(reopened)).toEqual(want);
      await reopened.close();
    });
  }
});
