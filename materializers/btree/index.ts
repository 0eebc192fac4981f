/**
 * The B-tree layer: order-preserving keys, copy-on-write page storage and the B+ tree on top.
 * Tables (materializers/tables.ts) are built from these three pieces.
 */
export { decodeKey, encodeKey, encodeRowidKey, encodeValue, numberOfKey, writeRowidKey } from './keys.js';
export {
  PAGE_CACHE_BYTES_MAX,
  PageStore,
  type BranchPage,
  type FlushOptions,
  type LeafPage,
  type LeafValue,
  type OverflowPage,
  type OverflowRef,
  type Page,
  type PageStoreOptions,
  type PageStoreStats,
  ROW_ARRAY_BYTES,
  rowBytes,
  valueBytes,
} from './page-store.js';
export { type PackedEntries } from './leaf-builder.js';
export { valuesBytes } from './packed-leaf.js';
export { ROWID_PREFIX_EXACT_LIMIT, lowerBoundPrefix } from './search.js';
export {
  BTree,
  NOT_CACHED,
  OVERFLOW_CHUNK_BYTES,
  PAGE_BYTES_TARGET,
  PAGE_BYTES_TARGET_MIN,
  ROW_BYTES_MAX,
  type BTreeOptions,
  type ScanOptions,
  type TreeShape,
} from './btree.js';
