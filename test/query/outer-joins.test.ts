/**
 * RIGHT and FULL joins agree with SQLite (better-sqlite3): unmatched rows of the right side (and
 * of both sides for FULL) come out null-extended, with ON, USING and NATURAL, NULL join keys,
 * empty sides, WHERE over the null-extended columns, and mixes with LEFT and inner joins.
 */
import { describe, expect, it } from 'vitest';
import { sqlitePair } from '../support/sqlite-pair.js';

const SETUP = [
  'CREATE TABLE l (id INTEGER PRIMARY KEY, k INTEGER, v TEXT)',
  "INSERT INTO l VALUES (1,1,'l1'),(2,2,'l2'),(3,NULL,'l3'),(4,4,'l4'),(5,2,'l5')",
  'CREATE TABLE r (rid INTEGER PRIMARY KEY, k INTEGER, w TEXT)',
  "INSERT INTO r VALUES (10,2,'r2'),(11,3,'r3'),(12,NULL,'rn'),(13,2,'r2b'),(14,5,'r5')",
  'CREATE TABLE m (k INTEGER, z TEXT)',
  "INSERT INTO m VALUES (1,'m1'),(3,'m3'),(5,'m5'),(NULL,'mn')",
  'CREATE TABLE empty (k INTEGER, q TEXT)',
];

const QUERIES = [
  'SELECT * FROM l RIGHT JOIN r ON l.k = r.k',
  'SELECT * FROM l FULL JOIN r ON l.k = r.k',
  'SELECT * FROM l FULL OUTER JOIN r ON l.k = r.k',
  'SELECT * FROM l RIGHT OUTER JOIN r ON l.k = r.k AND r.w <> \'r2\'',
  'SELECT l.id, r.rid FROM l FULL JOIN r ON l.k = r.k WHERE l.id IS NULL OR r.rid IS NULL',
  'SELECT l.id, r.rid FROM l RIGHT JOIN r ON l.k = r.k WHERE r.rid > 11',
  'SELECT k, l.id, r.rid FROM l FULL JOIN r USING (k)',
  'SELECT * FROM l RIGHT JOIN r USING (k)',
  'SELECT l.id, m.z FROM l NATURAL FULL JOIN m',
  'SELECT * FROM l FULL JOIN empty ON l.k = empty.k',
  'SELECT * FROM empty FULL JOIN r ON empty.k = r.k',
  'SELECT * FROM empty RIGHT JOIN r ON 1',
  'SELECT * FROM l RIGHT JOIN empty ON 1',
  'SELECT l.id, r.rid, m.z FROM l FULL JOIN r ON l.k = r.k FULL JOIN m ON m.k = coalesce(l.k, r.k)',
  'SELECT l.id, r.rid, m.z FROM l LEFT JOIN r ON l.k = r.k RIGHT JOIN m ON m.k = l.k',
  'SELECT l.id, r.rid, m.z FROM l JOIN m ON l.k = m.k RIGHT JOIN r ON r.k = m.k',
  'SELECT count(*), count(l.id), count(r.rid) FROM l FULL JOIN r ON l.k = r.k',
  'SELECT r.k, count(l.id) FROM l RIGHT JOIN r ON l.k = r.k GROUP BY r.k',
  'SELECT * FROM (SELECT * FROM l WHERE id < 3) a FULL JOIN (SELECT * FROM r WHERE rid > 11) b ON a.k = b.k',
  'SELECT l.id, r.rid FROM l FULL JOIN r ON l.k = r.k ORDER BY 1 NULLS LAST, 2 LIMIT 4',
  // An unqualified USING column of a RIGHT/FULL join is coalesce(left, right), in `*` and `t.*` too.
  'SELECT k, l.k, r.k FROM l RIGHT JOIN r USING (k)',
  'SELECT l.*, r.* FROM l FULL JOIN r USING (k)',
  'SELECT * FROM l FULL JOIN r USING (k) FULL JOIN m USING (k)',
  'SELECT k FROM l FULL JOIN r USING (k) FULL JOIN m USING (k) ORDER BY 1',
];

/** Rows without ORDER BY are compared as multisets. */
function sorted(rows: unknown[][]): string[] {
  return rows.map((r) => JSON.stringify(r)).sort();
}

describe('RIGHT and FULL joins match SQLite', () => {
  const pair = sqlitePair(SETUP);

  for (const q of QUERIES) {
    it(q, async () => {
      const expected = pair.ref.prepare(q).raw().all() as unknown[][];
      const got = await pair.db.query(q);
      expect(got.columns.length).toBe(expected[0]?.length ?? got.columns.length);
      if (/ORDER BY/.test(q)) expect(got.rows).toEqual(expected);
      else expect(sorted(got.rows)).toEqual(sorted(expected));
    });
  }
});
