/**
 * The `dosql` command (bin/dosql.mjs runs the compiled file): `dosql shell <url> [--token T]`
 * connects to a database's URL with the remote client and runs the shared SQL shell
 * (client/shell.ts) on it. The token comes from `--token` or the `DOSQL_TOKEN` environment
 * variable; `--http` uses HTTP batch instead of a WebSocket.
 *
 * `.tables` and `.schema` read `sqlite_schema` (falling back to the server's `schema()` RPC while
 * the engine has no such table; see `remoteBackend`).
 */
import type { ExecResult, QueryResult } from '../base/api.js';
import { DosqlError, isDosqlError } from '../base/errors.js';
import { connect, type RemoteDatabase, type TableSchema, type Transport } from './index.js';
import { runShell, type ShellBackend } from './shell.js';

export const USAGE = `usage: dosql shell <url> [--token <token>] [--http]
  <url>      the database URL, e.g. http://127.0.0.1:8787/db/mydb (http, https, ws or wss)
  --token    bearer token (default: the DOSQL_TOKEN environment variable)
  --http     use HTTP batch requests instead of a WebSocket`;

/**
 * The shell's view of a remote database. `.tables`/`.schema` read `sqlite_schema`; when the
 * engine has no such table (NO_SUCH_TABLE) they use the server's `schema()` RPC, and when that is
 * missing too they say so.
 */
export function remoteBackend(db: RemoteDatabase): ShellBackend {
  const tableList = async (): Promise<TableSchema[]> => {
    try {
      const r = await db.query("SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND sql IS NOT NULL ORDER BY name");
      return r.rows.map((row) => ({ name: String(row[0]), sql: String(row[1]) }));
    } catch (e) {
      if (!isDosqlError(e, 'NO_SUCH_TABLE')) throw e;
    }
    try {
      return await db.schema();
    } catch (e) {
      if (!isDosqlError(e, 'ERROR')) throw e;
      throw new DosqlError('NO_SUCH_TABLE', 'the server has neither a sqlite_schema table nor a schema() call, so .tables and .schema cannot list tables');
    }
  };
  return {
    exec: (sql: string): Promise<ExecResult> => db.exec(sql),
    query: (sql: string): Promise<QueryResult> => db.query(sql),
    tables: async () => (await tableList()).map((t) => t.name).sort(),
    schema: async (name?: string) =>
      (await tableList()).filter((t) => !name || t.name.toLowerCase() === name.toLowerCase()).map((t) => t.sql),
  };
}

export interface CliArgs {
  url: string;
  token: string;
  transport: Transport;
}

/** Parse `shell <url> [--token T] [--http]`; a string is the error to print with the usage. */
export function parseArgs(argv: readonly string[], env: Record<string, string | undefined>): CliArgs | string {
  const [command, ...rest] = argv;
  if (command !== 'shell') return command ? `unknown command ${JSON.stringify(command)}` : 'missing command';
  let url: string | undefined;
  let token = env.DOSQL_TOKEN;
  let transport: Transport = 'websocket';
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--token') {
      token = rest[++i];
      if (token === undefined) return '--token needs a value';
    } else if (a.startsWith('--token=')) token = a.slice('--token='.length);
    else if (a === '--http') transport = 'http';
    else if (a.startsWith('-')) return `unknown option ${a}`;
    else if (url === undefined) url = a;
    else return `unexpected argument ${JSON.stringify(a)}`;
  }
  if (!url) return 'missing <url>';
  if (!token) return 'no token: pass --token or set DOSQL_TOKEN';
  return { url, token, transport };
}

/** Run the command; resolves to the process exit code. */
export async function main(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  io: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream; error: NodeJS.WritableStream; interactive: boolean },
): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.output.write(`${USAGE}\n`);
    return 0;
  }
  const args = parseArgs(argv, env);
  if (typeof args === 'string') {
    io.error.write(`dosql: ${args}\n${USAGE}\n`);
    return 2;
  }
  let db: RemoteDatabase;
  try {
    db = connect(args.url, { token: args.token, transport: args.transport });
    // Connect now, so a wrong URL or token is reported before the first prompt.
    await db.query('SELECT 1');
  } catch (e) {
    if (!(e instanceof DosqlError)) throw e;
    io.error.write(`dosql: error ${e.code}: ${e.message}\n`);
    return 1;
  }
  try {
    await runShell(remoteBackend(db), {
      input: io.input,
      output: io.output,
      interactive: io.interactive,
      print: (line) => io.output.write(`${line}\n`),
      banner: `DoSQL shell on ${args.url}. Type .help for help.`,
    });
  } finally {
    await db.close();
  }
  return 0;
}
