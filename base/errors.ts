/**
 * DosqlError: the one error class every layer throws for anything a user can cause or notice.
 *
 * The set of codes is closed so that callers (and the remote client, which shares this file) can
 * switch on `code` without parsing messages. A syntax error also carries the 1-based line and
 * column of the offending token, so tools can point at it.
 *
 * Contract: any function documented as "throws DosqlError" throws nothing else for bad input;
 * a plain Error escaping the engine is a bug.
 */

export const ERROR_CODES = [
  'SYNTAX_ERROR', // SQL text could not be parsed; line and column are set
  'NO_SUCH_TABLE', // a statement names a table the catalog does not have
  'NO_SUCH_COLUMN', // a statement names a column no table in scope has
  'TABLE_EXISTS', // CREATE TABLE of a name already taken (without IF NOT EXISTS)
  'CONSTRAINT_UNIQUE', // a PRIMARY KEY or UNIQUE constraint would be violated
  'CONSTRAINT_NOTNULL', // a NOT NULL column would receive NULL
  'CONSTRAINT_CHECK', // a CHECK constraint evaluated to false
  'CONSTRAINT_FOREIGNKEY', // a FOREIGN KEY constraint would be violated (PRAGMA foreign_keys = ON)
  'MISMATCH', // a value of the wrong type where SQLite rejects it (e.g. non-integer rowid)
  'RANGE', // a parameter index, LIMIT or other number out of its allowed range
  'LIMIT_EXCEEDED', // a named limit (bytes, counts) was passed; see the constant in the message
  'CONFLICT', // a concurrent transaction committed a conflicting change first; retrying may succeed
  'CORRUPT', // stored data fails its checksum or structure check inside committed data
  'IO', // the storage backend failed
  'CLOSED', // the database (or store) was closed
  'MISUSE', // the API was called wrongly (bad parameter shape, nested transaction...)
  'UNAUTHORIZED', // no valid token was presented (HTTP 401)
  'FORBIDDEN', // the token does not allow this: another database, or a write with a read-only token (HTTP 403)
  'TIMEOUT', // a server-held resource (an interactive transaction) expired after its idle timeout and was rolled back
  'CONNECTION', // the remote call could not complete because the connection dropped; it may or may not have run
  'ERROR', // any other SQL error SQLite would report as a generic error
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorPosition {
  /** 1-based line of the offending token in the SQL text. */
  line: number;
  /** 1-based column (UTF-16 code units) of the offending token. */
  column: number;
  /** 0-based offset (UTF-16 code units) into the SQL text. */
  offset: number;
}

export class DosqlError extends Error {
  override readonly name = 'DosqlError';
  readonly code: ErrorCode;
  readonly line?: number;
  readonly column?: number;

  constructor(code: ErrorCode, message: string, options?: { position?: ErrorPosition; cause?: unknown }) {
    const pos = options?.position;
    super(pos ? `${message} (line ${pos.line}, column ${pos.column})` : message, { cause: options?.cause });
    this.code = code;
    if (pos) {
      this.line = pos.line;
      this.column = pos.column;
    }
  }
}

export function isDosqlError(e: unknown, code?: ErrorCode): e is DosqlError {
  return e instanceof DosqlError && (code === undefined || e.code === code);
}

/** Invariant check: a failed assertion is a bug in DoSQL, never the user's input. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`dosql invariant violated: ${message}`);
}
