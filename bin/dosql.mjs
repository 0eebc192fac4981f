#!/usr/bin/env node
// `npx dosql shell <url> [--token T] [--http]`: a SQL shell on a remote DoSQL database.
// Runs the compiled client (dist/, from `npm run build`); in a source checkout without a build
// it falls back to the TypeScript sources through tsx (a devDependency).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/client/cli.js', import.meta.url);
let cli;
if (existsSync(compiled)) {
  cli = await import(compiled.href);
} else {
  try {
    const { tsImport } = await import('tsx/esm/api');
    cli = await tsImport('../client/cli.ts', import.meta.url);
  } catch {
    process.stderr.write('dosql: dist/client/cli.js not found; run `npm run build` first\n');
    process.exit(1);
  }
}
const code = await cli.main(process.argv.slice(2), process.env, {
  input: process.stdin,
  output: process.stdout,
  error: process.stderr,
  interactive: process.stdin.isTTY === true,
});
process.exit(code);
