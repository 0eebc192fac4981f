import { describe, expect, it } from 'vitest';
import * as V from '../../query/values/index.js';
import { rng } from '../support/random.js';
import { db, genValue, key, oracleRow, seedOr, toParam } from './oracle.js';

const SEED = seedOr(0xaff);

describe('affinity', () => {
  it('affinityOfType follows the five rules', () => {
    const cases: [string, V.Affinity][] = [
      ['INT', 'INTEGER'], ['INTEGER', 'INTEGER'], ['TINYINT', 'INTEGER'], ['BIGINT', 'INTEGER'],
      ['UNSIGNED BIG INT', 'INTEGER'], ['INT8', 'INTEGER'], ['CHARACTER(20)', 'TEXT'], ['VARCHAR(255)', 'TEXT'],
      ['NCHAR(55)', 'TEXT'], ['TEXT', 'TEXT'], ['CLOB', 'TEXT'], ['BLOB', 'BLOB'], ['', 'BLOB'], ['REAL', 'REAL'],
      ['DOUBLE', 'REAL'], ['DOUBLE PRECISION', 'REAL'], ['FLOAT', 'REAL'], ['NUMERIC', 'NUMERIC'],
      ['DECIMAL(10,5)', 'NUMERIC'], ['BOOLEAN', 'NUMERIC'], ['DATE', 'NUMERIC'], ['DATETIME', 'NUMERIC'],
      ['FLOATING POINT', 'INTEGER'], ['STRING', 'NUMERIC'], ['charint', 'INTEGER'], ['blobtext', 'TEXT'],
    ];
    for (const [t, a] of cases) expect(V.affinityOfType(t), t).toBe(a);
  });

  it(`applyAffinity equals what SQLite stores (seed ${SEED})`, () => {
    const r = rng(SEED);
    const affs = ['INTEGER', 'REAL', 'NUMERIC', 'TEXT', 'BLOB'] as const;
    db.exec('CREATE TEMP TABLE IF NOT EXISTS aff(c0 INTEGER, c1 REAL, c2 NUMERIC, c3 TEXT, c4 BLOB)');
    const failures: string[] = [];
    for (let i = 0; i < 1500; i++) {
      const v = genValue(r);
      db.exec('DELETE FROM aff');
      db.prepare('INSERT INTO aff VALUES (?, ?, ?, ?, ?)').run(...[v, v, v, v, v].map(toParam));
      const row = oracleRow('SELECT * FROM aff');
      affs.forEach((a, k) => {
        const got = key(V.applyAffinity(v, a));
        if (got !== key(row[k]!)) failures.push(`${key(v)} into ${a}: got ${got} want ${key(row[k]!)}`);
      });
    }
    expect(failures.slice(0, 10), `seed ${SEED}`).toEqual([]);
  });

  it('applyAffinity of numbers at the edges equals what SQLite stores', () => {
    const affs = ['INTEGER', 'REAL', 'NUMERIC', 'TEXT', 'BLOB'] as const;
    const edges = [0, -0, 2.5, -2.5, 1e-300, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 63, -(2 ** 63), 2 ** 64, 1e300, Infinity, -Infinity]; // NaN is never a Value: it binds as NULL
    db.exec('CREATE TEMP TABLE IF NOT EXISTS aff(c0 INTEGER, c1 REAL, c2 NUMERIC, c3 TEXT, c4 BLOB)');
    for (const v of edges) {
      db.exec('DELETE FROM aff');
      db.prepare('INSERT INTO aff VALUES (?, ?, ?, ?, ?)').run(...[v, v, v, v, v].map(toParam));
      const row = oracleRow('SELECT * FROM aff');
      affs.forEach((a, k) => expect(key(V.applyAffinity(v, a)), `${v} into ${a}`).toBe(key(row[k]!)));
    }
  });
});
