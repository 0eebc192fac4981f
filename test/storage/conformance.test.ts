/**
 * One behaviour suite, run against every byte store backend: MemoryStore is the reference, and
 * FileStore (and FaultyStore with an empty plan) must be indistinguishable from it through the
 * ByteStore interface. The cases are in test/support/store-conformance.ts, shared with the
 * Durable Object backend's run inside workerd (test/workers/store.test.ts); what is Node's here
 * is opening each store, FileStore in a fresh temporary folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../storage/memory.js';
import { FileStore } from '../../storage/file.js';
import { FaultyStore } from '../../storage/fault.js';
import type { ByteStore } from '../../storage/types.js';
import { describeByteStoreConformance } from '../support/store-conformance.js';

interface Backend {
  name: string;
  open(dir: string): Promise<ByteStore>;
}

const backends: Backend[] = [
  { name: 'MemoryStore', open: async () => new MemoryStore() },
  { name: 'FileStore', open: (dir) => FileStore.open(dir) },
  { name: 'FaultyStore(MemoryStore, {})', open: async () => new FaultyStore(new MemoryStore(), {}) },
];

for (const backend of backends) {
  describeByteStoreConformance(backend.name, async (f) => {
    const dir = mkdtempSync(join(tmpdir(), 'dosql-conformance-'));
    const store = await backend.open(dir);
    try {
      await f(store);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
