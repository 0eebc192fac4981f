/**
 * sqllogictest in the test suite: select1.test (SQLite's own corpus) must run, and the pass counts
 * are printed. The floor below is what DoSQL passes today; it may only go up.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { runSltFile, runSltText } from './runner.js';

const CORPUS = new URL('./corpus/', import.meta.url).pathname;

describe('sqllogictest', () => {
  it('runs select1.test and reports pass/fail counts', async () => {
    const r = await runSltFile(`${CORPUS}select1.test`);
    console.log(`select1.test: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);
    expect(r.passed + r.failed).toBeGreaterThan(1000);
    expect(r.failed).toBe(0);
  });

  it('passes every evidence/ file (the SQL language itself)', async () => {
    const dir = `${CORPUS}evidence/`;
    for (const name of readdirSync(dir).filter((f) => f.endsWith('.test')).sort()) {
      const r = await runSltFile(dir + name);
      console.log(`evidence/${name}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);
      expect(r.failures.slice(0, 3), name).toEqual([]);
    }
  });

  it('passes a fast sample of the generated files (one per kind)', async () => {
    for (const file of ['random/select/slt_good_0.test', 'index/between/1000/slt_good_0.test']) {
      const r = await runSltFile(`${CORPUS}${file}`);
      console.log(`${file}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);
      expect(r.failures.slice(0, 3), file).toEqual([]);
    }
  });

  it('fails a record whose result differs, and checks statement errors', async () => {
    const r = await runSltText('statement ok\nCREATE TABLE t(a INTEGER)\n\nstatement ok\nINSERT INTO t VALUES (1),(2)\n\nquery I rowsort\nSELECT a FROM t\n----\n1\n3\n\nquery I valuesort\nSELECT a FROM t\n----\n1\n2\n\nstatement error\nSELECT * FROM nope\n\nquery I nosort\nSELECT a FROM t ORDER BY a DESC\n----\n2 values hashing to ' + 'x'.repeat(32) + '\n');
    expect(r.passed).toBe(4);
    expect(r.failed).toBe(2);
  });
});
