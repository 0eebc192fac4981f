/**
 * DoSQL's package entry: the embedded database API.
 */
export { Database, PreparedStatement, STATEMENT_CACHE_ENTRIES_MAX } from './query/database.js';
export type { ExecResult, OpenOptions, Params, QueryResult } from './query/database.js';
export { DosqlError, ERROR_CODES } from './base/errors.js';
export type { ErrorCode } from './base/errors.js';
export type { SqlValue, IntMode } from './base/values.js';
export type { ByteStore } from './storage/types.js';
export { MemoryStore } from './storage/memory.js';
