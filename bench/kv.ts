/**
 * The key-value fixture every OLTP workload shares: its DDL, its INSERT, the formula for row `i`
 * and the deterministic id walk. Kept free of any engine and of `node:` imports so the Durable
 * Object bench Worker (bench/workers/do-bench.ts) bundles the very same data and SQL as the Node
 * workloads (bench/engines.ts re-exports it).
 */

export type Param = number | string | null;

/** The key-value table's DDL, under another name when a workload needs a second table. */
export function kvDdl(table = 't'): string {
  return `CREATE TABLE ${table} (id INTEGER PRIMARY KEY, name TEXT, score REAL, grp INTEGER)`;
}

export function kvInsert(table = 't'): string {
  return `INSERT INTO ${table} VALUES (?, ?, ?, ?)`;
}

export const KV_DDL = kvDdl();
export const KV_INSERT = kvInsert();

/** The OLTP statements, one text per workload, used by every engine. */
export const KV_LOOKUP = 'SELECT name, score FROM t WHERE id = ?';
export const KV_SCAN = 'SELECT id, name, score FROM t WHERE id BETWEEN ? AND ?';
export const KV_UPDATE = 'UPDATE t SET score = score + 1 WHERE id = ?';

/** Row `i` of the key-value table: the same on every engine. */
export function kvRow(i: number): Param[] {
  return [i, `name-${i}`, i * 0.5, (i * 7919) % 1000];
}

/** Deterministic pseudo-random ids in 1..n (a multiplicative walk, the same on every engine). */
export function randomIds(count: number, n: number): number[] {
  return Array.from({ length: count }, (_, i) => 1 + ((i * 7919 + 13) % n));
}

/** Ids 1..n. */
export function idRange(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}
