/**
 * Joins of many tables run in bounded time and memory: the planner orders the tables, pushes each
 * WHERE term to the earliest level, and reaches each next table through its key or an index with
 * values of the tables before it, so no cartesian product is ever built.
 */
import { describe, expect, it } from 'vitest';
import { Database } from '../../index.js';

describe('many-table joins', () => {
  it('join 64 tables through their keys', async () => {
    const db = await Database.open();
    const n = 64;
    for (let t = 1; t <= n; t++) {
      await db.exec(`CREATE TABLE t${t} (a INTEGER PRIMARY KEY, b INTEGER)`);
      await db.exec(`INSERT INTO t${t} VALUES ${Array.from({ length: 10 }, (_, i) => `(${i}, ${(i * 3 + t) % 10})`).join(', ')}`);
    }
    const from = Array.from({ length: n }, (_, i) => `t${i + 1}`).join(', ');
    // The chain written backwards, so FROM order alone would start with a cartesian product.
    const chain = Array.from({ length: n - 1 }, (_, i) => `t${n - i}.a = t${n - i - 1}.b`).join(' AND ');
    const r = await db.query(`SELECT count(*), max(t${n}.a) FROM ${from} WHERE ${chain} AND t1.a = 3`);
    expect(r.rows[0]![0]).toBe(1);
    await db.close();
  });

  it('use an index on the join column and keep results equal to the unplanned form', async () => {
    const db = await Database.open();
    await db.exec('CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER, total INTEGER)');
    await db.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, region TEXT)');
    await db.exec('CREATE INDEX orders_customer ON orders (customer)');
    await db.exec(`INSERT INTO customers VALUES ${Array.from({ length: 200 }, (_, i) => `(${i}, 'c${i}', '${i % 3 ? 'eu' : 'us'}')`).join(', ')}`);
    await db.exec(`INSERT INTO orders VALUES ${Array.from({ length: 2000 }, (_, i) => `(${i}, ${(i * 7) % 200}, ${i % 50})`).join(', ')}`);
    const planned = await db.query(
      "SELECT c.region, count(*), sum(o.total) FROM customers c JOIN orders o ON o.customer = c.id WHERE c.name LIKE 'c1%' GROUP BY c.region ORDER BY 1",
    );
    // LEFT JOIN takes the general nested-loop path: same answer for rows that match.
    const general = await db.query(
      "SELECT c.region, count(o.id), sum(o.total) FROM customers c LEFT JOIN orders o ON o.customer = c.id WHERE c.name LIKE 'c1%' AND o.id IS NOT NULL GROUP BY c.region ORDER BY 1",
    );
    expect(planned.rows).toEqual(general.rows);
    await db.close();
  });
});
