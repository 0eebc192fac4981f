/**
 * Scans AS OF an LSN read in chunks (TableStore.scanAsOfChunks) give exactly the rows the
 * row-at-a-time scan gives, at every LSN of a random history with updates, deletes (rows then
 * only in history, including long runs of them past the last current row) and re-inserts.
 */
import { describe, expect, it } from 'vitest';
import type { Value } from '../../base/values.js';
import { Database } from '../../index.js';
import { rng } from '../support/random.js';

describe('scans AS OF in chunks', () => {
  // 400 ids: few versions per row; 30 ids: many.
  for (const [seed, ids] of [[1, 400], [2, 400], [3, 30]] as const) {
    it(`equal the row-at-a-time scan at every LSN (seed ${seed}, ${ids} ids)`, async () => {
      const r = rng(seed);
      const db = await Database.open();
      await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v)');
      const lsns: bigint[] = [];
      for (let step = 0; step < 60; step++) {
        await db.exec('BEGIN');
        for (let k = 0; k < 20; k++) {
          const id = r.int(ids);
          const op = r.int(4);
          if (op === 0) await db.exec('DELETE FROM t WHERE id = ?', [id]);
          else if (op === 1) await db.exec('DELETE FROM t WHERE id > ?', [Math.floor(ids * 0.75) + r.int(Math.ceil(ids / 4))]);
          else await db.exec('INSERT OR REPLACE INTO t VALUES (?, ?)', [id, step]);
        }
        await db.exec('COMMIT');
        lsns.push(db.lsn);
      }
      const { tables } = db.internals;
      const def = tables.catalog.table('t')!;
      for (const lsn of lsns) {
        const { encodeRowidKey } = await import('../../materializers/btree/index.js');
        const mid = encodeRowidKey(Math.floor(ids / 2));
        for (const range of [{}, { lo: mid }, { hi: mid, hiInclusive: false }, { lo: encodeRowidKey(3), loInclusive: false, hi: mid }]) {
          const rows: Value[][] = [];
          for await (const rec of tables.scanAsOf(def, range, lsn)) rows.push(rec);
          const chunked: Value[][] = [];
          for await (const chunk of tables.scanAsOfChunks(def, range, lsn)) chunked.push(...chunk);
          expect(chunked, `seed ${seed} lsn ${lsn}`).toEqual(rows);
        }
      }
      await db.close();
    });
  }
});
