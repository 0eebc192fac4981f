/**
 * Every SQL text in the sqllogictest corpus that SQLite accepts must parse: the SQL of
 * `statement ok` and `query` records (records guarded for other engines are skipped), and
 * `statement error` records may fail but only with a DosqlError.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isDosqlError } from '../../base/errors.js';
import { parse } from '../../query/parser.js';

const SLT_ROOT = '/work/shared/slt';

interface SltRecord {
  kind: 'ok' | 'error' | 'query';
  sql: string;
  line: number;
}

function sltFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sltFiles(p));
    else if (name.endsWith('.test')) out.push(p);
  }
  return out;
}

/** The SQL records of one file, per the corpus README (comments dropped, guards applied). */
export function sltRecords(text: string): SltRecord[] {
  const records: SltRecord[] = [];
  const lines = text.split('\n');
  let block: Array<{ text: string; line: number }> = [];
  const flush = (): boolean => {
    let skip = false;
    let k = 0;
    for (; k < block.length; k++) {
      const words = block[k]!.text.split(/\s+/);
      if (words[0] === 'skipif' && words[1] === 'sqlite') skip = true;
      else if (words[0] === 'onlyif' && words[1] !== 'sqlite') skip = true;
      else if (words[0] !== 'skipif' && words[0] !== 'onlyif') break;
    }
    const head = block[k];
    const body = block.slice(k + 1).map((l) => l.text);
    block = [];
    if (!head || skip) return false;
    const words = head.text.split(/\s+/);
    if (words[0] === 'halt') return true;
    if (words[0] === 'statement') {
      records.push({ kind: words[1] === 'ok' ? 'ok' : 'error', sql: body.join('\n'), line: head.line });
    } else if (words[0] === 'query') {
      const sep = body.indexOf('----');
      records.push({ kind: 'query', sql: (sep === -1 ? body : body.slice(0, sep)).join('\n'), line: head.line });
    }
    return false;
  };
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.replace(/\r$/, '');
    if (text.startsWith('#')) continue;
    if (text.trim() === '') {
      if (flush()) return records;
    } else block.push({ text, line: i + 1 });
  }
  flush();
  return records;
}

describe('sqllogictest corpus parses', () => {
  const files = sltFiles(SLT_ROOT);
  it('finds the corpus', () => {
    expect(files.length).toBeGreaterThan(10);
  });
  for (const file of files) {
    it(file.slice(SLT_ROOT.length + 1), () => {
      const failures: string[] = [];
      let count = 0;
      for (const r of sltRecords(readFileSync(file, 'utf8'))) {
        count++;
        try {
          parse(r.sql);
        } catch (e) {
          if (r.kind === 'error' && isDosqlError(e)) continue;
          failures.push(`line ${r.line}: ${(e as Error).message}\n  ${r.sql.slice(0, 300)}`);
        }
      }
      expect(count).toBeGreaterThan(0);
      expect(failures.slice(0, 10)).toEqual([]);
    });
  }
});
