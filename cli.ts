#!/usr/bin/env node
/**
 * `npm start` / `npx dosql [path]`: an interactive SQL shell on an embedded DoSQL database.
 *
 * With no argument it opens (or creates) the durable database in `./data`; `:memory:` opens an
 * in-memory one. Statements end with ';'. Dot-commands as in sqlite3's shell: `.tables`,
 * `.schema [table]`, `.help`, `.quit`. Input that is not a terminal is read and run whole, so
 * `echo "SELECT 1;" | npm start` works in scripts.
 */
import { createInterface } from 'node:readline';
import { Database, DosqlError, type SqlValue } from './index.js';

const arg = process.argv[2] ?? './data';
const db = await Database.open(arg === ':memory:' ? {} : { path: arg });
const interactive = process.stdin.isTTY === true;

function render(v: SqlValue): string {
  if (v === null) return 'NULL';
  if (v instanceof Uint8Array) return `x'${Buffer.from(v).toString('hex')}'`;
  return String(v);
}

function printTable(columns: string[], rows: SqlValue[][]): void {
  const cells = rows.map((r) => r.map(render));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (vals: string[]): string => vals.map((v, i) => v.padEnd(widths[i]!)).join(' | ');
  console.log(line(columns));
  console.log(widths.map((w) => '-'.repeat(w)).join('-+-'));
  for (const r of cells) console.log(line(r));
  console.log(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
}

async function runSql(sql: string): Promise<void> {
  try {
    if (/^\s*(select|values|with|explain|pragma)\b/i.test(sql)) {
      const r = await db.query(sql);
      printTable(r.columns, r.rows);
    } else {
      const r = await db.exec(sql);
      console.log(`ok: ${r.rowsAffected} row(s) changed, lsn ${r.lsn}`);
    }
  } catch (e) {
    if (e instanceof DosqlError) console.log(`error ${e.code}: ${e.message}`);
    else throw e;
  }
}

function dotCommand(line: string): boolean {
  const [cmd, name] = line.trim().split(/\s+/);
  if (cmd === '.quit' || cmd === '.exit') return false;
  if (cmd === '.tables') console.log(db.schema().map((t) => t.name).join('  '));
  else if (cmd === '.schema') for (const t of db.schema()) if (!name || t.name.toLowerCase() === name.toLowerCase()) console.log(`${t.sql};`);
  else console.log('.tables  .schema [table]  .quit   (end SQL statements with ;)');
  return true;
}

/** Split input into complete statements (ending in ';' outside quotes) and the unfinished rest. */
function takeStatements(buffer: string): { done: string[]; rest: string } {
  const done: string[] = [];
  let quote = '';
  let start = 0;
  for (let i = 0; i < buffer.length; i++) {
    const c = buffer[i]!;
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === ';') {
      done.push(buffer.slice(start, i + 1));
      start = i + 1;
    }
  }
  return { done: done.filter((s) => s.trim() !== ';'), rest: buffer.slice(start) };
}

if (interactive) console.log(`DoSQL shell on ${arg === ':memory:' ? 'an in-memory database' : arg}. Type .help for help.`);
const rl = createInterface({ input: process.stdin, output: interactive ? process.stdout : undefined, prompt: 'dosql> ' });
let buffer = '';
if (interactive) rl.prompt();
for await (const line of rl) {
  if (buffer.trim() === '' && line.trim().startsWith('.')) {
    if (!dotCommand(line)) break;
  } else {
    buffer += line + '\n';
    const { done, rest } = takeStatements(buffer);
    buffer = rest;
    for (const sql of done) await runSql(sql);
  }
  if (interactive) rl.setPrompt(buffer.trim() ? '   ...> ' : 'dosql> '), rl.prompt();
}
if (buffer.trim()) await runSql(buffer);
rl.close();
await db.close();
