import { describe, expect, it } from 'vitest';
import type { Value } from '../../base/values.js';
import * as V from '../../query/values/index.js';
import { rng } from '../support/random.js';
import { db, genValue, key, oracle, seedOr, toParam } from './oracle.js';

const SEED = seedOr(0xc0);
const OPS = ['=', '<>', '<', '<=', '>', '>='] as const;
const COLLATIONS = ['BINARY', 'NOCASE', 'RTRIM'] as const;

describe('comparison matches SQLite', () => {
  it(`operators and collations on values without affinity (seed ${SEED})`, () => {
    const r = rng(SEED);
    const failures: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const a = genValue(r);
      const b = r.chance(0.2) ? a : genValue(r);
      const op = OPS[i % OPS.length]!;
      const coll = COLLATIONS[r.int(3)]!;
      const want = key(oracle(`SELECT ?1 ${op} ?2 COLLATE ${coll}`, [a, b]));
      const got = key(V.compareOp(op, a, b, coll));
      if (got !== want) failures.push(`${key(a)} ${op} ${key(b)} ${coll}: got ${got} want ${want}`);
    }
    expect(failures.slice(0, 10), `seed ${SEED}`).toEqual([]);
  });

  it(`ORDER BY order equals compareValues (seed ${SEED + 1})`, () => {
    const r = rng(SEED + 1);
    const values: Value[] = Array.from({ length: 400 }, () => genValue(r));
    db.exec('CREATE TEMP TABLE IF NOT EXISTS ord(i INTEGER, v)');
    db.exec('DELETE FROM ord');
    const ins = db.prepare('INSERT INTO ord VALUES (?, ?)');
    values.forEach((v, i) => ins.run(i, toParam(v)));
    for (const coll of COLLATIONS) {
      const rows = db.prepare(`SELECT i FROM ord ORDER BY v COLLATE ${coll}, i`).raw().all() as [number][];
      const want = rows.map((x) => x[0]);
      const got = values
        .map((v, i) => [v, i] as const)
        .sort((x, y) => V.compareValues(x[0], y[0], coll) || x[1] - y[1])
        .map((x) => x[1]);
      expect(got, coll).toEqual(want);
    }
  });

  it(`comparison affinity: column vs parameter and column vs column (seed ${SEED + 2})`, () => {
    const r = rng(SEED + 2);
    const affs = ['INTEGER', 'REAL', 'NUMERIC', 'TEXT', 'BLOB'] as const;
    db.exec('CREATE TEMP TABLE IF NOT EXISTS caff(c0 INTEGER, c1 REAL, c2 NUMERIC, c3 TEXT, c4 BLOB)');
    const failures: string[] = [];
    for (let i = 0; i < 400; i++) {
      const stored = affs.map(() => genValue(r));
      db.exec('DELETE FROM caff');
      db.prepare('INSERT INTO caff VALUES (?, ?, ?, ?, ?)').run(...stored.map(toParam));
      const row = stored.map((v, k) => V.applyAffinity(v, affs[k]!));
      const p = genValue(r);
      for (let k = 0; k < 5; k++) {
        const op = OPS[r.int(6)]!;
        const want = key(oracle(`SELECT c${k} ${op} ? FROM caff`, [p]));
        const [x, y] = V.applyComparisonAffinity(row[k]!, affs[k], p, undefined);
        const got = key(V.compareOp(op, x, y));
        if (got !== want) failures.push(`c${k}(${affs[k]}) ${key(row[k]!)} ${op} ${key(p)}: got ${got} want ${want}`);
        const m = r.int(5);
        const want2 = key(oracle(`SELECT c${k} ${op} c${m} FROM caff`));
        const [x2, y2] = V.applyComparisonAffinity(row[k]!, affs[k], row[m]!, affs[m]);
        const got2 = key(V.compareOp(op, x2, y2));
        if (got2 !== want2) failures.push(`c${k} ${op} c${m}: ${key(row[k]!)} vs ${key(row[m]!)}: got ${got2} want ${want2}`);
      }
    }
    expect(failures.slice(0, 10), `seed ${SEED + 2}`).toEqual([]);
  });

  it(`isTruthy matches CASE WHEN (seed ${SEED + 3})`, () => {
    const r = rng(SEED + 3);
    for (let i = 0; i < 1500; i++) {
      const v = genValue(r);
      const want = oracle('SELECT CASE WHEN ?1 THEN 1 WHEN NOT ?1 THEN 0 ELSE NULL END', [v]);
      const t = V.isTruthy(v);
      expect(key(t === null ? null : t ? 1 : 0), key(v)).toBe(key(want));
    }
  });
});
