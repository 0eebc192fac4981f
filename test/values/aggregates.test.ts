import { describe, expect, it } from 'vitest';
import type { Value } from '../../base/values.js';
import * as V from '../../query/values/index.js';
import { rng, type Rng } from '../support/random.js';
import { attempt, db, genValue, key, oracle, seedOr, toParam } from './oracle.js';

const SEED = seedOr(0xa66);

function genColumn(r: Rng): Value[] {
  const n = r.int(8);
  const kind = r.int(4);
  return Array.from({ length: n }, () => {
    if (kind === 0) return r.chance(0.2) ? null : r.int(1000) - 500;
    if (kind === 1) return r.pick([9223372036854775807n, -9223372036854775808n, 1, -1, null, 5e18 as Value]);
    if (kind === 2) return r.chance(0.3) ? null : V.add(0, r.next() * 100 - 50);
    return genValue(r);
  });
}

describe('aggregates match SQLite', () => {
  it(`count/sum/total/avg/min/max/group_concat over random columns (seed ${SEED})`, () => {
    const r = rng(SEED);
    db.exec('CREATE TEMP TABLE IF NOT EXISTS agg(i INTEGER PRIMARY KEY, x, s)');
    const failures: string[] = [];
    const calls: [string, string, (x: Value, s: Value) => Value[]][] = [
      ['count(*)', 'count', () => []],
      ['count(x)', 'count', (x) => [x]],
      ['sum(x)', 'sum', (x) => [x]],
      ['total(x)', 'total', (x) => [x]],
      ['avg(x)', 'avg', (x) => [x]],
      ['min(x)', 'min', (x) => [x]],
      ['max(x)', 'max', (x) => [x]],
      ['group_concat(x)', 'group_concat', (x) => [x]],
      ['group_concat(x, s)', 'group_concat', (x, s) => [x, s]],
      ['string_agg(x, s)', 'string_agg', (x, s) => [x, s]],
    ];
    for (let i = 0; i < 400; i++) {
      const xs = genColumn(r);
      const seps: Value[] = xs.map(() => r.pick([',', '-', '', null, 7]));
      db.exec('DELETE FROM agg');
      const ins = db.prepare('INSERT INTO agg(i, x, s) VALUES (?, ?, ?)');
      xs.forEach((x, k) => ins.run(k, toParam(x), toParam(seps[k]!)));
      for (const [sql, name, args] of calls) {
        const want = key(oracle(`SELECT ${sql} FROM (SELECT * FROM agg ORDER BY i)`));
        const got = key(
          attempt(() => {
            const a = V.AGGREGATES[name]!();
            xs.forEach((x, k) => a.step(args(x, seps[k]!)));
            return a.final();
          }),
        );
        if (got !== want) failures.push(`${sql} over [${xs.map(key).join(', ')}]: got ${got} want ${want}`);
      }
    }
    expect(failures.slice(0, 10), `seed ${SEED}`).toEqual([]);
  });

  it('sum overflow is an error, total is not', () => {
    const s = V.AGGREGATES['sum']!();
    s.step([9223372036854775807n]);
    s.step([1]);
    expect(() => s.final()).toThrow('integer overflow');
    const t = V.AGGREGATES['total']!();
    t.step([9223372036854775807n]);
    t.step([1]);
    expect(t.final()).toBe(9223372036854775808);
    expect(V.AGGREGATES['sum']!().final()).toBe(null);
    expect(key(V.AGGREGATES['total']!().final())).toBe('real:0');
  });
});
