/**
 * DoSQL's package entry: the embedded database API.
 */
export { Database, PreparedStatement, Transaction, STATEMENT_CACHE_ENTRIES_MAX, SAVEPOINTS_MAX } from './query/database.js';
export { TRANSACTION_BYTES_MAX } from './query/txn.js';
export type { BatchResult, CallOptions, ExecResult, OpenOptions, Params, QueryResult, RetentionOptions, TransactionOptions } from './query/database.js';
export type { BranchInfo } from './query/branches.js';
export type { AsOf } from './base/api.js';
export { DosqlError, ERROR_CODES } from './base/errors.js';
export type { ErrorCode } from './base/errors.js';
export type { SqlValue, IntMode } from './base/values.js';
export type { ByteStore } from './storage/types.js';
export { MemoryStore } from './storage/memory.js';
export { Subscription } from './query/cdc.js';
export type { ChangeBatch, ChangeEvent, ChangeTransaction, DebeziumEvent } from './query/cdc.js';
export type { SlotInfo, SlotOptions } from './query/slots.js';
