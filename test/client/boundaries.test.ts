/**
 * The client library must run in browsers and Workers: it may import only `base/` from the engine,
 * capnweb, and its own files; the Node-only modules (shell, cli) are never imported by it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { expect, test } from 'vitest';

const dir = new URL('../../client/', import.meta.url);
const NODE_ONLY = new Set(['shell.ts', 'cli.ts']);

function imports(file: string): string[] {
  const text = readFileSync(new URL(file, dir), 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'|import\(\s*(?:\/\*.*?\*\/\s*)?'([^']+)'\s*\)/gm)].map((m) => (m[1] ?? m[2])!);
}

test('client/ imports only base/, capnweb and itself; the library part no node: modules', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  expect(files).toContain('index.ts');
  for (const f of files) {
    for (const spec of imports(f)) {
      const ok = spec.startsWith('../base/') || spec.startsWith('./') || spec === 'capnweb' || (NODE_ONLY.has(f) && spec.startsWith('node:'));
      expect(ok, `${f} imports ${spec}`).toBe(true);
      if (!NODE_ONLY.has(f) && spec.startsWith('./')) expect(NODE_ONLY.has(spec.slice(2).replace(/\.js$/, '.ts')), `${f} imports ${spec}`).toBe(false);
    }
  }
});
