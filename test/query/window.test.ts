/**
 * Window functions agree with SQLite (better-sqlite3) on fixed data: ranking functions with
 * ties, value functions, aggregates over ROWS, RANGE and GROUPS frames with EXCLUDE, NULLs in
 * PARTITION BY and ORDER BY, named windows, and windows over grouped results.
 */
import { describe, expect, it } from 'vitest';
import { sqlitePair } from '../support/sqlite-pair.js';
import { rng } from '../support/random.js';

const SETUP = [
  'CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b INTEGER, c REAL)',
  "INSERT INTO t VALUES (1,'x',10,1.5),(2,'x',20,2.5),(3,'y',NULL,3.5),(4,'y',20,NULL),(5,'x',10,0.5),(6,NULL,30,1.0),(7,'z',5,2.0),(8,'y',20,4.0),(9,NULL,NULL,2.5),(10,'x',40,-1.0)",
  'CREATE TABLE e (id INTEGER PRIMARY KEY, v INTEGER)',
];

const QUERIES = [
  // Ranking, with ties and NULLs in the window ORDER BY.
  'SELECT id, row_number() OVER (ORDER BY b, id), rank() OVER (ORDER BY b), dense_rank() OVER (ORDER BY b) FROM t ORDER BY id',
  'SELECT id, rank() OVER (ORDER BY b DESC), rank() OVER (ORDER BY b NULLS LAST), rank() OVER (ORDER BY b DESC NULLS FIRST) FROM t ORDER BY id',
  'SELECT id, percent_rank() OVER (ORDER BY b), cume_dist() OVER (ORDER BY b) FROM t ORDER BY id',
  'SELECT id, percent_rank() OVER (PARTITION BY a ORDER BY b), cume_dist() OVER (PARTITION BY a ORDER BY c) FROM t ORDER BY id',
  'SELECT id, ntile(3) OVER (ORDER BY id), ntile(4) OVER (PARTITION BY a ORDER BY id), ntile(20) OVER (ORDER BY id) FROM t ORDER BY id',
  'SELECT id, row_number() OVER () FROM t ORDER BY id',
  'SELECT id, rank() OVER (), dense_rank() OVER (), cume_dist() OVER () FROM t ORDER BY id',
  // Rows come out in window order when the query has no ORDER BY.
  'SELECT id, a, row_number() OVER (PARTITION BY a ORDER BY id DESC) FROM t',
  // Value functions.
  'SELECT id, lag(b) OVER (ORDER BY id), lead(b) OVER (ORDER BY id), lag(b, 2, -1) OVER (ORDER BY id), lead(b, 3, 99) OVER (PARTITION BY a ORDER BY id) FROM t ORDER BY id',
  'SELECT id, lag(id, 0) OVER (ORDER BY id), lead(c, 1, c) OVER (ORDER BY id) FROM t ORDER BY id',
  'SELECT id, first_value(b) OVER (PARTITION BY a ORDER BY id), last_value(b) OVER (PARTITION BY a ORDER BY id), nth_value(b, 2) OVER (PARTITION BY a ORDER BY id) FROM t ORDER BY id',
  'SELECT id, last_value(id) OVER (ORDER BY b ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING), nth_value(id, 3) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 2 FOLLOWING) FROM t ORDER BY id',
  // Aggregates with the default frames.
  'SELECT id, sum(b) OVER (PARTITION BY a ORDER BY id), count(*) OVER (PARTITION BY a), count(b) OVER (ORDER BY b) FROM t ORDER BY id',
  'SELECT id, total(c) OVER (ORDER BY c), avg(b) OVER (PARTITION BY a), min(c) OVER (ORDER BY id), max(b) OVER (ORDER BY id DESC) FROM t ORDER BY id',
  "SELECT id, group_concat(id) OVER (PARTITION BY a ORDER BY id), group_concat(a, '-') OVER (ORDER BY id) FROM t ORDER BY id",
  'SELECT id, sum(b) OVER () FROM t ORDER BY id',
  'SELECT id, sum(b) FILTER (WHERE b > 10) OVER (ORDER BY id) FROM t ORDER BY id',
  // ROWS frames.
  'SELECT id, sum(b) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) FROM t ORDER BY id',
  'SELECT id, sum(b) OVER (ORDER BY id ROWS 2 PRECEDING), count(*) OVER (ORDER BY id ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) FROM t ORDER BY id',
  'SELECT id, sum(id) OVER (ORDER BY id ROWS BETWEEN 3 PRECEDING AND 1 PRECEDING), sum(id) OVER (ORDER BY id ROWS BETWEEN 1 FOLLOWING AND 3 FOLLOWING) FROM t ORDER BY id',
  'SELECT id, group_concat(id) OVER (PARTITION BY a ORDER BY b ROWS BETWEEN UNBOUNDED PRECEDING AND 1 FOLLOWING) FROM t ORDER BY id',
  // RANGE frames, with offsets and NULLs.
  'SELECT id, sum(id) OVER (ORDER BY b RANGE BETWEEN 10 PRECEDING AND 10 FOLLOWING) FROM t ORDER BY id',
  'SELECT id, sum(id) OVER (ORDER BY b DESC RANGE BETWEEN 5 PRECEDING AND CURRENT ROW) FROM t ORDER BY id',
  'SELECT id, count(*) OVER (ORDER BY c RANGE BETWEEN 1.5 PRECEDING AND 0.5 FOLLOWING) FROM t ORDER BY id',
  'SELECT id, count(*) OVER (ORDER BY b NULLS LAST RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) FROM t ORDER BY id',
  'SELECT id, sum(id) OVER (ORDER BY b RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), sum(id) OVER (ORDER BY b RANGE CURRENT ROW) FROM t ORDER BY id',
  // GROUPS frames and EXCLUDE.
  'SELECT id, sum(id) OVER (ORDER BY b GROUPS BETWEEN 1 PRECEDING AND 1 FOLLOWING) FROM t ORDER BY id',
  'SELECT id, group_concat(id) OVER (ORDER BY b GROUPS BETWEEN CURRENT ROW AND 2 FOLLOWING) FROM t ORDER BY id',
  'SELECT id, sum(id) OVER (ORDER BY b ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING EXCLUDE CURRENT ROW) FROM t ORDER BY id',
  'SELECT id, sum(id) OVER (ORDER BY b GROUPS BETWEEN 1 PRECEDING AND 1 FOLLOWING EXCLUDE GROUP), sum(id) OVER (ORDER BY b RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING EXCLUDE TIES) FROM t ORDER BY id',
  'SELECT id, first_value(id) OVER (ORDER BY b ROWS BETWEEN CURRENT ROW AND 2 FOLLOWING EXCLUDE CURRENT ROW) FROM t ORDER BY id',
  // Named windows.
  'SELECT id, sum(b) OVER w, row_number() OVER w FROM t WINDOW w AS (PARTITION BY a ORDER BY id) ORDER BY id',
  'SELECT id, sum(b) OVER (w ORDER BY id ROWS 1 PRECEDING) FROM t WINDOW w AS (PARTITION BY a) ORDER BY id',
  // Windows over grouped results, in expressions and in ORDER BY.
  'SELECT a, sum(b), rank() OVER (ORDER BY sum(b)) FROM t GROUP BY a ORDER BY a',
  'SELECT a, count(*), sum(count(*)) OVER (ORDER BY a) FROM t GROUP BY a ORDER BY a',
  'SELECT a, max(c) FROM t GROUP BY a ORDER BY row_number() OVER (ORDER BY max(c) DESC)',
  'SELECT id, b * 2 + row_number() OVER (ORDER BY id) AS x FROM t ORDER BY x DESC, id',
  'SELECT DISTINCT a, count(*) OVER (PARTITION BY a) FROM t ORDER BY 1',
  'SELECT id, rank() OVER (ORDER BY id) FROM t WHERE b > 10 ORDER BY id LIMIT 3 OFFSET 1',
  'SELECT * FROM (SELECT id, row_number() OVER (PARTITION BY a ORDER BY b DESC) AS rn FROM t) WHERE rn = 1 ORDER BY id',
  // Empty input.
  'SELECT v, row_number() OVER (ORDER BY v), sum(v) OVER () FROM e',
  'SELECT count(*), sum(count(*)) OVER () FROM e',
];

const ERRORS = [
  'SELECT id FROM t WHERE row_number() OVER () > 1',
  'SELECT ntile(0) OVER (ORDER BY id) FROM t',
  'SELECT sum(b) OVER w FROM t',
  'SELECT sum(b) OVER (ORDER BY id ROWS -1 PRECEDING) FROM t',
  'SELECT abs(b) OVER () FROM t',
];

describe('window functions match SQLite', () => {
  const pair = sqlitePair(SETUP);

  for (const q of QUERIES) {
    it(q, async () => {
      const expected = pair.ref.prepare(q).raw().all();
      const got = (await pair.db.query(q)).rows;
      expect(got).toEqual(expected);
    });
  }

  it('random window specs agree with SQLite', async () => {
    const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
    const r = rng(seed);
    const funcs = ['row_number()', 'rank()', 'dense_rank()', 'percent_rank()', 'cume_dist()', 'ntile(3)', 'lag(b)', 'lead(c, 2, 0)',
      'first_value(b)', 'last_value(c)', 'nth_value(id, 2)', 'sum(b)', 'count(*)', 'count(c)', 'avg(b)', 'min(c)', 'max(a)', 'total(b)', 'group_concat(id)'];
    const keys = ['a', 'b', 'c', 'id', 'b % 3', 'a || b'];
    const bound = (start: boolean, units: string): string => {
      const off = units === 'RANGE' ? r.pick(['0', '1', '5', '10', '2.5']) : String(r.int(4));
      return r.pick(start ? ['UNBOUNDED PRECEDING', `${off} PRECEDING`, 'CURRENT ROW', `${off} FOLLOWING`] : [`${off} PRECEDING`, 'CURRENT ROW', `${off} FOLLOWING`, 'UNBOUNDED FOLLOWING']);
    };
    for (let n = 0; n < 150; n++) {
      const parts: string[] = [];
      if (r.chance(0.5)) parts.push(`PARTITION BY ${r.pick(keys)}`);
      const units = r.pick(['ROWS', 'RANGE', 'GROUPS']);
      const order = units === 'RANGE' && r.chance(0.7) ? [r.pick(['b', 'c', 'id'])] : Array.from({ length: r.int(3) }, () => r.pick(keys));
      if (order.length) parts.push(`ORDER BY ${order.map((k) => `${k}${r.pick(['', ' DESC', ' NULLS LAST', ' DESC NULLS FIRST'])}`).join(', ')}`);
      if (r.chance(0.7)) {
        parts.push(`${units} BETWEEN ${bound(true, units)} AND ${bound(false, units)}`);
        if (r.chance(0.3)) parts.push(`EXCLUDE ${r.pick(['CURRENT ROW', 'GROUP', 'TIES', 'NO OTHERS'])}`);
      }
      const q = `SELECT id, ${r.pick(funcs)} OVER (${parts.join(' ')}) FROM t ORDER BY id`;
      let expected: unknown;
      try {
        expected = pair.ref.prepare(q).raw().all();
      } catch {
        await expect(pair.db.query(q), `seed ${seed}: ${q}`).rejects.toThrow();
        continue;
      }
      const got = await pair.db.query(q).catch((e: Error) => e.message);
      expect(got instanceof Object && 'rows' in got ? got.rows : got, `seed ${seed}: ${q}`).toEqual(expected);
    }
  });

  for (const q of ERRORS) {
    it(`rejects: ${q}`, async () => {
      expect(() => pair.ref.prepare(q).raw().all()).toThrow();
      await expect(pair.db.query(q)).rejects.toThrow();
    });
  }
});
