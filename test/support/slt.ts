/**
 * A sqllogictest runner: executes SQLite's `.test` files against DoSQL's embedded API, in Node
 * (test/slt/runner.ts, reading the corpus from disk) and inside workerd on a Durable Object's
 * storage (test/workers/engine.test.ts, the corpus brought in with Vite's `?raw`). It imports
 * nothing from Node, so the callers supply the database and the MD5 function.
 *
 * The format and the rendering rules are those of test/slt/corpus/README.md (SQLite's own harness):
 * records separated by blank lines; `statement ok|error`; `query <types> <sort> [label]` with
 * expected values one per line, or `N values hashing to <md5>` past `hash-threshold`; `skipif` and
 * `onlyif` select records by engine (DoSQL runs as `sqlite`); `halt` stops the file.
 *
 * A record passes when DoSQL's outcome matches; a thrown error on a `statement ok` or `query`
 * record is a failure, never a crash of the runner.
 */
import { DosqlError } from '../../base/errors.js';
import type { SqlValue } from '../../base/values.js';
import type { Database } from '../../query/database.js';
import { sqlPrintf, toText } from '../../query/values/index.js';

export const SLT_ENGINE = 'sqlite';
/** Failures kept with their SQL and message per file (all are counted). */
const FAILURES_KEPT_MAX = 200;

/** Errors that mean the statement could not run at all (a failure), not that it stopped midway. */
const COMPILE_ERRORS = new Set(['SYNTAX_ERROR', 'NO_SUCH_TABLE', 'NO_SUCH_COLUMN', 'MISUSE', 'LIMIT_EXCEEDED']);

export interface SltRecord {
  kind: 'statement' | 'query';
  line: number;
  sql: string;
  expectError?: boolean;
  types?: string;
  sort?: 'nosort' | 'rowsort' | 'valuesort';
  label?: string;
  expected?: string[];
}

export interface SltFailure {
  line: number;
  sql: string;
  message: string;
}

export interface SltResult {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
  failures: SltFailure[];
}

interface Parsed {
  records: SltRecord[];
  skipped: number;
  hashThreshold: number;
}

export function parseSlt(text: string): Parsed {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const records: SltRecord[] = [];
  let skipped = 0;
  let hashThreshold = 0;
  let i = 0;
  let halted = false;
  while (i < lines.length && !halted) {
    // Gather one record: non-blank lines up to a blank one; comments vanish entirely.
    const block: Array<{ text: string; line: number }> = [];
    while (i < lines.length && lines[i]!.trim() === '') i++;
    while (i < lines.length && lines[i]!.trim() !== '') {
      if (!lines[i]!.startsWith('#')) block.push({ text: lines[i]!, line: i + 1 });
      i++;
    }
    if (block.length === 0) continue;
    let skip = false;
    while (block.length && /^(skipif|onlyif) /.test(block[0]!.text)) {
      const [cond, engine] = block.shift()!.text.split(/\s+/);
      if (cond === 'skipif' && engine === SLT_ENGINE) skip = true;
      if (cond === 'onlyif' && engine !== SLT_ENGINE) skip = true;
    }
    if (block.length === 0) continue;
    const head = block[0]!;
    const words = head.text.trim().split(/\s+/);
    if (words[0] === 'halt') {
      if (!skip) halted = true;
      continue;
    }
    if (words[0] === 'hash-threshold') {
      hashThreshold = Number(words[1]);
      continue;
    }
    if (words[0] === 'statement') {
      if (skip) {
        skipped++;
        continue;
      }
      records.push({ kind: 'statement', line: head.line, expectError: words[1] === 'error', sql: block.slice(1).map((b) => b.text).join('\n') });
      continue;
    }
    if (words[0] === 'query') {
      if (skip) {
        skipped++;
        continue;
      }
      const body = block.slice(1).map((b) => b.text);
      const sep = body.indexOf('----');
      records.push({
        kind: 'query',
        line: head.line,
        types: words[1],
        sort: (words[2] ?? 'nosort') as SltRecord['sort'],
        label: words[3],
        sql: (sep < 0 ? body : body.slice(0, sep)).join('\n'),
        expected: sep < 0 ? [] : body.slice(sep + 1),
      });
      continue;
    }
    // Unknown directive: ignore the record, as SQLite's harness does.
  }
  return { records, skipped, hashThreshold };
}

/** Render one value as SQLite's harness does for the column's type letter. */
export function renderValue(v: SqlValue, type: string): string {
  if (v === null) return 'NULL';
  if (type === 'I') return String(toInt32(v));
  // SQLite's harness formats with its own printf, which keeps 16 significant digits.
  if (type === 'R') return sqlPrintf('%.3f', [toDouble(v)]);
  const t = typeof v === 'number' || typeof v === 'bigint' ? numberText(v) : typeof v === 'string' ? v : toText(v) ?? '';
  if (t === '') return '(empty)';
  return t.replace(/[^\x20-\x7e]/g, '@');
}

function numberText(v: number | bigint): string {
  if (typeof v === 'bigint' || Number.isInteger(v)) return String(v);
  return toText(v) ?? '';
}

function numericPrefix(s: string): number {
  const m = /^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?/.exec(s);
  return m ? Number(m[0]) : 0;
}

function toDouble(v: SqlValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') return numericPrefix(v);
  return numericPrefix(new TextDecoder().decode(v as Uint8Array));
}

function toInt32(v: SqlValue): number {
  let big: bigint;
  if (typeof v === 'bigint') big = v;
  else {
    const d = typeof v === 'number' ? v : toDouble(v);
    if (!Number.isFinite(d)) big = d > 0 ? 2n ** 63n - 1n : d < 0 ? -(2n ** 63n) : 0n;
    else big = BigInt(Math.trunc(Math.max(Math.min(d, 9.2e18), -9.2e18)));
  }
  return Number(BigInt.asIntN(32, big));
}

function sortValues(values: string[][], sort: SltRecord['sort']): string[] {
  if (sort === 'rowsort') {
    return values
      .slice()
      .sort((a, b) => {
        for (let i = 0; i < a.length; i++) {
          if (a[i]! < b[i]!) return -1;
          if (a[i]! > b[i]!) return 1;
        }
        return 0;
      })
      .flat();
  }
  const flat = values.flat();
  return sort === 'valuesort' ? flat.sort() : flat;
}

/**
 * Run the records of `text` on `db` (which the caller opened, with `intMode: 'number'` as SQLite's
 * harness expects, and closes). `md5Hex` is the runtime's MD5 of a string, as lowercase hex: the
 * hashed results need it and neither runtime's Web Crypto offers MD5 to both.
 */
export async function runSlt(db: Database, text: string, file: string, md5Hex: (text: string) => string): Promise<SltResult> {
  const md5 = (values: string[]): string => md5Hex(values.map((v) => `${v}\n`).join(''));
  const parsed = parseSlt(text);
  const result: SltResult = { file, passed: 0, failed: 0, skipped: parsed.skipped, failures: [] };
  const labels = new Map<string, string>();
  const fail = (r: SltRecord, message: string): void => {
    result.failed++;
    if (result.failures.length < FAILURES_KEPT_MAX) result.failures.push({ line: r.line, sql: r.sql, message });
  };
  for (const r of parsed.records) {
    if (r.kind === 'statement') {
      let ok = true;
      let err = '';
      try {
        await db.exec(r.sql);
      } catch (e) {
        ok = false;
        err = (e as Error).message;
      }
      if (ok === !r.expectError) result.passed++;
      else fail(r, r.expectError ? 'expected an error' : `error: ${err}`);
      continue;
    }
    let rows: SqlValue[][];
    try {
      rows = (await db.query(r.sql)).rows;
    } catch (e) {
      // As in SQLite's harness, an error raised while rows are produced (not a statement that
      // fails to compile) ends the result set: DoSQL produces rows all at once, so none remain.
      if (!(e instanceof DosqlError) || COMPILE_ERRORS.has(e.code)) {
        fail(r, `error: ${(e as Error).message}`);
        continue;
      }
      rows = [];
    }
    const types = r.types!;
    const rendered = rows.map((row) => row.map((v, i) => renderValue(v, types[i] ?? 'T')));
    const values = sortValues(rendered, r.sort);
    const expected = r.expected!;
    let actualText: string[];
    if (expected.length === 1 && / values hashing to /.test(expected[0]!)) {
      actualText = [`${values.length} values hashing to ${md5(values)}`];
    } else if (parsed.hashThreshold > 0 && values.length > parsed.hashThreshold) {
      actualText = [`${values.length} values hashing to ${md5(values)}`];
    } else {
      actualText = values;
    }
    const expectedValues = expected;
    const same = actualText.length === expectedValues.length && actualText.every((v, i) => v === expectedValues[i]);
    if (r.label) {
      const key = md5(values);
      const prev = labels.get(r.label);
      if (prev !== undefined && prev !== key && !same) {
        fail(r, `label ${r.label} mismatch`);
        continue;
      }
      labels.set(r.label, key);
    }
    if (same) result.passed++;
    else fail(r, `expected ${JSON.stringify(expectedValues.slice(0, 12))} got ${JSON.stringify(actualText.slice(0, 12))}`);
  }
  return result;
}

