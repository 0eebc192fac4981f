/**
 * The interactive SQL shell shared by `npm start`'s embedded shell (cli.ts) and `dosql shell <url>`
 * (client/cli.ts): statement splitting, sqlite3-like table output and dot-commands, over any
 * `ShellBackend` (an embedded `Database` or a `RemoteDatabase`).
 *
 * Input is read line by line; a statement runs once a ';' outside quotes and comments ends it, so
 * statements can span lines. A line starting with '.' (with no statement pending) is a
 * dot-command. Input that is not a terminal is read whole and run, so piping a script works.
 * A DosqlError is printed and the shell goes on; any other error is a bug and propagates.
 *
 * Node-only (readline); the client library itself does not import this file.
 */
import { createInterface } from 'node:readline';
import type { ExecResult, QueryResult } from '../base/api.js';
import { DosqlError } from '../base/errors.js';
import type { SqlValue } from '../base/values.js';

/** What the shell needs from a database. */
export interface ShellBackend {
  exec(sql: string): Promise<ExecResult>;
  query(sql: string): Promise<QueryResult>;
  /** Table names, in a stable order. */
  tables(): Promise<string[]>;
  /** CREATE statements (without the trailing ';'), of one table when `name` is given. */
  schema(name?: string): Promise<string[]>;
}

/** Longest rendering of one cell before it is cut with '...', so one huge value does not flood the terminal. */
export const CELL_CHARS_MAX = 200;
/** Lines buffered for one unfinished statement before the shell gives up on it. */
export const PENDING_LINES_MAX = 100_000;

export function renderValue(v: SqlValue): string {
  if (v === null) return 'NULL';
  if (v instanceof Uint8Array) {
    let hex = '';
    for (const b of v) hex += b.toString(16).padStart(2, '0');
    return `x'${hex}'`;
  }
  return String(v);
}

/** The rows as an aligned table with a header, a rule and a row count, as lines. */
export function formatTable(columns: string[], rows: SqlValue[][]): string[] {
  const cells = rows.map((r) =>
    r.map((v) => {
      const s = renderValue(v).replace(/\n/g, '\\n');
      return s.length > CELL_CHARS_MAX ? `${s.slice(0, CELL_CHARS_MAX - 3)}...` : s;
    }),
  );
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (vals: string[]): string => vals.map((v, i) => v.padEnd(widths[i]!)).join(' | ').trimEnd();
  const out = [line(columns), widths.map((w) => '-'.repeat(w)).join('-+-')];
  for (const r of cells) out.push(line(r));
  out.push(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
  return out;
}

/**
 * Split input into complete statements (ending in ';' outside quotes and comments) and the
 * unfinished rest. Leading whitespace is trimmed, so a syntax error's line and column count from
 * the statement's first character; empty statements are dropped.
 */
export function takeStatements(buffer: string): { done: string[]; rest: string } {
  const done: string[] = [];
  let quote = '';
  let start = 0;
  for (let i = 0; i < buffer.length; i++) {
    const c = buffer[i]!;
    if (quote === '--') {
      if (c === '\n') quote = '';
    } else if (quote === '/*') {
      if (c === '*' && buffer[i + 1] === '/') (quote = ''), i++;
    } else if (quote) {
      if (c === quote) quote = '';
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '[') quote = ']';
    else if (c === '-' && buffer[i + 1] === '-') (quote = '--'), i++;
    else if (c === '/' && buffer[i + 1] === '*') (quote = '/*'), i++;
    else if (c === ';') {
      done.push(buffer.slice(start, i + 1).replace(/^\s+/, '')); // error positions count from the statement
      start = i + 1;
    }
  }
  return { done: done.filter((s) => !isBlank(s)), rest: buffer.slice(start) };
}

/** True when the text holds nothing but whitespace, comments and ';'. */
function isBlank(sql: string): boolean {
  return stripLeadingComments(sql).replace(/;/g, '').trim() === '';
}

function stripLeadingComments(sql: string): string {
  let s = sql;
  for (let i = 0; i < 1000; i++) {
    const t = s.replace(/^\s+/, '');
    if (t.startsWith('--')) s = t.includes('\n') ? t.slice(t.indexOf('\n') + 1) : '';
    else if (t.startsWith('/*')) s = t.includes('*/') ? t.slice(t.indexOf('*/') + 2) : '';
    else return t;
  }
  return s;
}

/** Statements that return rows, run with `query`; everything else runs with `exec`. */
export function returnsRows(sql: string): boolean {
  return /^(select|values|with|explain|pragma)\b/i.test(stripLeadingComments(sql));
}

/** Run one statement and return what the shell prints for it. */
export async function runStatement(db: ShellBackend, sql: string): Promise<string[]> {
  try {
    if (returnsRows(sql)) {
      const r = await db.query(sql);
      return formatTable(r.columns, r.rows);
    }
    const r = await db.exec(sql);
    return [`ok: ${r.rowsAffected} row${r.rowsAffected === 1 ? '' : 's'} changed, lsn ${r.lsn}`];
  } catch (e) {
    if (e instanceof DosqlError) return [`error ${e.code}: ${e.message}`];
    throw e;
  }
}

export const HELP_TEXT = '.tables  .schema [table]  .help  .quit   (end SQL statements with ;)';

/** Run a dot-command: the lines to print, or undefined for `.quit`/`.exit`. */
export async function dotCommand(db: ShellBackend, line: string): Promise<string[] | undefined> {
  const [cmd, name] = line.trim().split(/\s+/);
  try {
    switch (cmd) {
      case '.quit':
      case '.exit':
        return undefined;
      case '.tables':
        return [(await db.tables()).join('  ')];
      case '.schema':
        return (await db.schema(name)).map((s) => `${s};`);
      default:
        return [HELP_TEXT];
    }
  } catch (e) {
    if (e instanceof DosqlError) return [`error ${e.code}: ${e.message}`];
    throw e;
  }
}

export interface ShellIo {
  input: NodeJS.ReadableStream;
  /** Where results go, a line at a time. */
  print: (line: string) => void;
  /** Prompt and banner only when the input is a terminal. */
  interactive: boolean;
  /** Where the prompt is written when interactive. */
  output?: NodeJS.WritableStream;
  banner?: string;
}

/** Read statements and dot-commands from `io.input` until it ends or `.quit`. */
export async function runShell(db: ShellBackend, io: ShellIo): Promise<void> {
  const { interactive, print } = io;
  if (interactive && io.banner) print(io.banner);
  const rl = createInterface({ input: io.input, output: interactive ? io.output : undefined, prompt: 'dosql> ', terminal: interactive });
  let buffer = '';
  let pendingLines = 0;
  if (interactive) rl.prompt();
  try {
    for await (const line of rl) {
      if (buffer.trim() === '' && line.trim().startsWith('.')) {
        const out = await dotCommand(db, line);
        if (!out) break;
        for (const l of out) print(l);
      } else {
        buffer += line + '\n';
        pendingLines++;
        const { done, rest } = takeStatements(buffer);
        buffer = rest;
        if (done.length) pendingLines = 0;
        for (const sql of done) for (const l of await runStatement(db, sql)) print(l);
        if (pendingLines > PENDING_LINES_MAX) {
          print(`error LIMIT_EXCEEDED: statement longer than ${PENDING_LINES_MAX} lines without ';'; discarded`);
          buffer = '';
          pendingLines = 0;
        }
      }
      if (interactive) rl.setPrompt(buffer.trim() ? '   ...> ' : 'dosql> '), rl.prompt();
    }
    if (!isBlank(buffer)) for (const l of await runStatement(db, buffer)) print(l);
  } finally {
    rl.close();
  }
}
