/**
 * Databases a test file opens, closed after each of its tests: `fresh` opens one and runs its DDL,
 * `track` hands over one opened otherwise. Call at the top level of the file (it adds an afterEach).
 */
import { afterEach } from 'vitest';
import { Database, type OpenOptions } from '../../index.js';

export function testDatabases(): {
  fresh: (ddl: string, options?: OpenOptions) => Promise<Database>;
  track: (db: Database) => Database;
  /** The databases open in the running test, oldest first. */
  opened: readonly Database[];
} {
  const open: Database[] = [];
  afterEach(async () => {
    for (const db of open.splice(0)) await db.close();
  });
  const track = (db: Database): Database => {
    open.push(db);
    return db;
  };
  const fresh = async (ddl: string, options: OpenOptions = {}): Promise<Database> => {
    const db = track(await Database.open(options));
    await db.exec(ddl);
    return db;
  };
  return { fresh, track, opened: open };
}
