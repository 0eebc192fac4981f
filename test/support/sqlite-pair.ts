/**
 * DoSQL beside SQLite (better-sqlite3) in one test suite: both databases get the same setup
 * statements before the suite and are closed after it, so each test compares the two directly.
 */
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll } from 'vitest';
import { Database } from '../../index.js';

export interface SqlitePair {
  /** DoSQL, in memory. */
  db: Database;
  /** SQLite, `:memory:`. */
  ref: BetterSqlite3.Database;
}

/** Register the suite's setup and teardown; the pair's fields are ready inside tests. */
export function sqlitePair(setup: readonly string[], options: Parameters<typeof Database.open>[0] = {}): SqlitePair {
  const pair = {} as SqlitePair;
  beforeAll(async () => {
    pair.db = await Database.open(options);
    pair.ref = new BetterSqlite3(':memory:');
    for (const s of setup) {
      await pair.db.exec(s);
      pair.ref.exec(s);
    }
  });
  afterAll(async () => {
    await pair.db.close();
    pair.ref.close();
  });
  return pair;
}
