/**
 * Bug-hunting CLI for the differential test: runs seeds [from, to) with n queries each and prints
 * every mismatch (not only the first few), for minimizing by hand.
 * Usage: npx tsx test/differential/hunt.ts <from> <to> <queriesPerSeed>
 */
import BetterSqlite3 from 'better-sqlite3';
import { Database } from '../../index.js';
import { rng } from '../support/random.js';
import { difference, runDosql, runSqlite } from './compare.js';
import { QueryGen, enabled } from './queries.js';
import { generateSetup } from './schema.js';
const [from, to, nq] = process.argv.slice(2).map(Number);
let total = 0, fails = 0, both = 0;
const t0 = Date.now();
for (let seed = from; seed < to; seed++) {
  const r = rng(seed);
  const setup = generateSetup(r, { indexNonNumericColumns: enabled('indexNonNumericColumns'), autoRowid: enabled('autoRowidBelowZero'), nullPrimaryKey: enabled('nullPrimaryKey') });
  const lite = new BetterSqlite3(':memory:');
  const dosql = await Database.open();
  for (const sql of setup.statements) {
    const d = difference(runSqlite(lite, sql), await runDosql(dosql, sql, true), false);
    if (d) { console.log(`SEED ${seed} SETUP ${sql}\n${d}`); fails++; }
  }
  const gen = new QueryGen(r, setup.tables);
  for (let i = 0; i < nq; i++) {
    const q = gen.query();
    const a = runSqlite(lite, q.sql); const b = await runDosql(dosql, q.sql, false);
    total++; if (!a.ok && !b.ok) both++;
    const d = difference(a, b, q.ordered);
    if (d) { fails++; console.log(`SEED ${seed} Q${i} ${q.sql}\n${d}\n`); }
  }
  lite.close(); await dosql.close();
}
console.log(`total ${total} fails ${fails} bothFailed ${both} ms ${Date.now()-t0}`);
