/**
 * The server's limits: how much one call may send and get back. One typed object, in the style of
 * capnweb's `RpcLimits`, so the defaults and their reasons sit in one place and a deployment can
 * override them (the `DOSQL_LIMITS` var, a JSON object of some of these fields; see README).
 *
 * Past a limit, a call fails with DosqlError LIMIT_EXCEEDED (HTTP 413 on the JSON route), naming
 * the limit and its value, and the object keeps serving. Results are checked after the engine has
 * built them (the engine has no cursor yet), so the row and byte limits bound what crosses the
 * wire, and callers page larger results with LIMIT/OFFSET.
 */
import { DosqlError } from '../base/errors.js';
import { PARAMETER_NUMBER_MAX, SQL_TEXT_CHARS_MAX } from '../query/parser.js';

export interface ServerLimits {
  /** Characters (UTF-16 code units) of SQL text in one call. */
  sqlTextCharsMax: number;
  /** Parameters (array elements or object keys) bound by one call. */
  paramsPerCallMax: number;
  /** Rows one call may return. */
  rowsPerResultMax: number;
  /** Estimated bytes of the values one call may return (see `resultBytes`). */
  resultBytesMax: number;
  /** Bytes of one HTTP request body (JSON route, RPC batch) or one RPC WebSocket message. */
  requestBodyBytesMax: number;
  /** Milliseconds an interactive transaction may stay idle (no call on it) before it is rolled back. */
  transactionIdleMsMax: number;
  /** Interactive transactions one database object holds open at once. */
  transactionsOpenMax: number;
  /** Statements in one `batch` call. */
  batchStatementsMax: number;
  /** Estimated encoded bytes of one transaction's pending changes (the engine's transactionBytesMax). */
  transactionBytesMax: number;
}

/** Default idle timeout of an interactive transaction (see `transactionIdleMsMax`). */
export const TRANSACTION_IDLE_MS_MAX = 30_000;
/** Default bound on open interactive transactions per database object. */
export const TRANSACTIONS_OPEN_MAX = 64;
/** Default bound on statements per batch call. */
export const BATCH_STATEMENTS_MAX = 1000;
/** Default bound on a transaction's pending changes in the object, in estimated encoded bytes. */
export const OBJECT_TRANSACTION_BYTES_MAX = 16 * 1024 * 1024;

export const SERVER_LIMITS: Readonly<ServerLimits> = Object.freeze({
  // The engine's own cap (query/lexer.ts); a server limit above it could never be reached.
  sqlTextCharsMax: SQL_TEXT_CHARS_MAX,
  // SQLite's largest bind index (?32766): more parameters could not be bound to anything.
  paramsPerCallMax: PARAMETER_NUMBER_MAX,
  // A result is materialized in memory before it is sent, in a 128 MB isolate shared by every
  // connection of the object: 100k rows of a few small columns stays within tens of MB.
  rowsPerResultMax: 100_000,
  // capnweb refuses messages over 32 MiB (DEFAULT_LIMITS.maxMessageSize); JSON escaping and
  // base64 BLOBs grow a result by up to ~1.4x, so 16 MiB of values always fits in one message.
  resultBytesMax: 16 * 1024 * 1024,
  // Room for the longest SQL text (1M chars, at most 3 MB of UTF-8) plus parameters (base64
  // BLOBs), while keeping a request's copy small next to the isolate's 128 MB.
  requestBodyBytesMax: 8 * 1024 * 1024,
  // An open transaction pins its snapshot (the tables keep write notes for its validation) and
  // holds its overlay in memory: a client that vanished without closing its socket must not keep
  // them for long, and a live one that pauses longer than this should not hold a transaction.
  transactionIdleMsMax: TRANSACTION_IDLE_MS_MAX,
  // Each open transaction costs its overlay and write notes in the 128 MB isolate.
  transactionsOpenMax: TRANSACTIONS_OPEN_MAX,
  // A batch runs as one transaction under the object's one-call-at-a-time rule: bound its length.
  batchStatementsMax: BATCH_STATEMENTS_MAX,
  // A transaction lives in memory until COMMIT, and a pending row takes several times its encoded
  // size there: 16 MiB encoded stays well inside the 128 MB isolate, next to the page cache.
  transactionBytesMax: OBJECT_TRANSACTION_BYTES_MAX,
});

/** Most bytes of the `DOSQL_LIMITS` var we parse (it is a handful of numbers). */
const LIMITS_CONFIG_CHARS_MAX = 4096;

/**
 * The defaults with a deployment's overrides (JSON object text, e.g. from the `DOSQL_LIMITS` var).
 * Unknown fields, non-integers and values below 1 are configuration errors (DosqlError MISUSE);
 * sqlTextCharsMax and paramsPerCallMax cannot exceed the engine's own caps.
 */
export function resolveLimits(config: string | undefined): ServerLimits {
  const limits: ServerLimits = { ...SERVER_LIMITS };
  if (config === undefined || config.trim() === '') return limits;
  if (config.length > LIMITS_CONFIG_CHARS_MAX) throw new DosqlError('MISUSE', 'DOSQL_LIMITS is too long');
  let parsed: unknown;
  try {
    parsed = JSON.parse(config);
  } catch {
    throw new DosqlError('MISUSE', 'DOSQL_LIMITS is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new DosqlError('MISUSE', 'DOSQL_LIMITS must be a JSON object');
  }
  for (const [name, value] of Object.entries(parsed)) {
    if (!(name in SERVER_LIMITS)) throw new DosqlError('MISUSE', `DOSQL_LIMITS: unknown limit ${name}`);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw new DosqlError('MISUSE', `DOSQL_LIMITS: ${name} must be a positive integer`);
    }
    limits[name as keyof ServerLimits] = value;
  }
  limits.sqlTextCharsMax = Math.min(limits.sqlTextCharsMax, SQL_TEXT_CHARS_MAX);
  limits.paramsPerCallMax = Math.min(limits.paramsPerCallMax, PARAMETER_NUMBER_MAX);
  return limits;
}

export function limitExceeded(what: string, actual: number | string, name: keyof ServerLimits, max: number): DosqlError {
  return new DosqlError('LIMIT_EXCEEDED', `${what} ${actual}; ${name} is ${max}`);
}
