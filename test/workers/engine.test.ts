/**
 * The engine's own tests on the Durable Object backend, inside workerd: one engine, two storages.
 * - Crash: the randomized workload of test/crash/database-crash.test.ts (test/support/
 *   crash-workload.ts), crashed at every write point (half of them torn) over
 *   FaultyStore(DurableObjectStore), then reopened on the object's storage: every acknowledged
 *   commit is present, nothing unacknowledged (except the in-flight commit, whole or absent), and
 *   the B-trees equal a fresh replay of the log. Fewer seeds than the Node run (which covers the
 *   engine logic); here the point is the backend.
 * - SQL: SQLite's select1.test (test/slt/corpus, brought in with Vite's `?raw`) on a database
 *   whose storage is the Durable Object's, through the SLT runner (test/support/slt.ts).
 */
import { createHash } from 'node:crypto';
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { Database } from '../../index.js';
import { DurableObjectStore } from '../../storage/durable-object.js';
import { crashAtEveryWritePoint } from '../support/crash-workload.js';
import { runSlt } from '../support/slt.js';
import select1 from '../slt/corpus/select1.test?raw';
import { freshName, testEnv } from './helpers.js';

const SEEDS = 16;

function onObject<T>(f: (storage: DurableObjectStorage) => Promise<T>): Promise<T> {
  const env = testEnv();
  const stub = env.DATABASE.get(env.DATABASE.idFromName(freshName('engine')));
  return runInDurableObject(stub, (_instance, state) => f(state.storage));
}

/** The shared runner takes MD5 from its caller (it imports nothing from Node); nodejs_compat has it. */
function md5Hex(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

describe('engine on DurableObjectStore', () => {
  it(`crash at every write point keeps every acknowledged commit and nothing else (${SEEDS} seeds)`, () =>
    onObject(async (storage) => {
      const crashes = await crashAtEveryWritePoint(SEEDS, {
        // One object's storage for every run: emptied first.
        empty: async () => {
          await storage.deleteAll();
          return new DurableObjectStore(storage);
        },
        // Restart: a new store and database over the same Durable Object storage.
        restart: () => new DurableObjectStore(storage),
      });
      expect(crashes).toBeGreaterThan(SEEDS);
    }));

  it('runs select1.test with every record passing', () =>
    onObject(async (storage) => {
      const db = await Database.open({ storage: new DurableObjectStore(storage), intMode: 'number' });
      const r = await runSlt(db, select1, 'select1.test', md5Hex);
      await db.close();
      console.log(`select1.test on DurableObjectStore: ${r.passed} passed, ${r.failed} failed`);
      expect(r.failures.slice(0, 5)).toEqual([]);
      expect(r.passed).toBeGreaterThan(1000);
      // The data is really in the object's storage: reopen and count.
      const again = await Database.open({ storage: new DurableObjectStore(storage) });
      expect(again.schema().length).toBeGreaterThan(0);
      await again.close();
    }));
});
