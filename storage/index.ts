/**
 * The storage layer's public surface: the byte-store interface and limits, the in-memory
 * reference backend, the shared limit checks, CRC-32, and the fault-injecting wrapper.
 *
 * The Node file backend (`./file.js`) is deliberately NOT re-exported: it imports `node:fs`, and
 * everything reachable from this module must also load inside a Worker. Node-only code imports
 * `FileStore` from `storage/file.js` directly.
 */
export * from './types.js';
export { MemoryStore, lowerBound } from './memory.js';
export { checkBatch, checkKeyCount, selectRange } from './limits.js';
export { crc32 } from './crc32.js';
export { FaultyStore, type FaultPlan } from './fault.js';
