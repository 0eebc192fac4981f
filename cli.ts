#!/usr/bin/env node
/**
 * `node dist/cli.js [path]`: an interactive SQL shell on an embedded DoSQL database.
 *
 * With no argument it opens (or creates) the durable database in `./data`; `:memory:` opens an
 * in-memory one. Statements end with ';'. Dot-commands as in sqlite3's shell: `.tables`,
 * `.schema [table]`, `.help`, `.quit`. Input that is not a terminal is read and run whole, so
 * `echo "SELECT 1;" | node dist/cli.js` works in scripts. The shell itself (statement splitting,
 * table output) is client/shell.ts, shared with the remote shell `dosql shell <url>`.
 */
import { Database } from './index.js';
import { runShell, type ShellBackend } from './client/shell.js';

const arg = process.argv[2] ?? './data';
const db = await Database.open(arg === ':memory:' ? {} : { path: arg });

const backend: ShellBackend = {
  exec: (sql) => db.exec(sql),
  query: (sql) => db.query(sql),
  tables: async () => db.schema().map((t) => t.name),
  schema: async (name) =>
    db
      .schema()
      .filter((t) => !name || t.name.toLowerCase() === name.toLowerCase())
      .map((t) => t.sql),
};

try {
  await runShell(backend, {
    input: process.stdin,
    output: process.stdout,
    interactive: process.stdin.isTTY === true,
    print: (line) => console.log(line),
    banner: `DoSQL shell on ${arg === ':memory:' ? 'an in-memory database' : arg}. Type .help for help.`,
  });
} finally {
  await db.close();
}
