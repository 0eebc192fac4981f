/**
 * The sqllogictest runner in Node: each file runs on a fresh in-memory database, read from disk,
 * with Node's MD5 for hashed results. Parsing, rendering and judging records are
 * test/support/slt.ts, shared with the run inside workerd (test/workers/engine.test.ts).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Database } from '../../index.js';
import { runSlt, type SltResult } from '../support/slt.js';

export type { SltResult };

function md5Hex(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

export async function runSltText(text: string, file = '<text>'): Promise<SltResult> {
  const db = await Database.open({ intMode: 'number' });
  try {
    return await runSlt(db, text, file, md5Hex);
  } finally {
    await db.close();
  }
}

export async function runSltFile(path: string): Promise<SltResult> {
  return runSltText(readFileSync(path, 'utf8'), path);
}
