/**
 * The ByteStore conformance suite (test/support/store-conformance.ts, the cases the Node backends
 * pass in test/storage/conformance.test.ts) on DurableObjectStore, inside workerd on a real
 * SQLite-backed Durable Object's storage: the Durable Object backend must be indistinguishable from
 * MemoryStore through the interface. One case is this backend's own: a value put into the storage
 * by someone else, not bytes, is CORRUPT.
 *
 * Each test gets its own object (a fresh name) and works on `state.storage` through
 * `runInDurableObject`, with the object's own Database never opened.
 */
import { runInDurableObject } from 'cloudflare:test';
import { describe, it } from 'vitest';
import { DurableObjectStore } from '../../storage/durable-object.js';
import { describeByteStoreConformance, expectCode } from '../support/store-conformance.js';
import { freshName, testEnv } from './helpers.js';

/** Run `f` on a DurableObjectStore over a fresh object's storage. */
async function withStore<T>(f: (store: DurableObjectStore, storage: DurableObjectStorage) => Promise<T>): Promise<T> {
  const env = testEnv();
  const stub = env.DATABASE.get(env.DATABASE.idFromName(freshName('store')));
  return runInDurableObject(stub, async (_instance, state) => f(new DurableObjectStore(state.storage), state.storage));
}

describeByteStoreConformance('DurableObjectStore', withStore);

describe('ByteStore conformance: DurableObjectStore', () => {
  it('reports a value that is not bytes as CORRUPT', () =>
    withStore(async (store, storage) => {
      await storage.put('foreign', { not: 'bytes' });
      await expectCode(store.get('foreign'), 'CORRUPT');
    }));
});
