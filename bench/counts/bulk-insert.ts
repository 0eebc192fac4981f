/**
 * The bulk-insert workload under run.sh: 100k rows inserted with a prepared INSERT in one
 * transaction, on DoSQL (with `runMany`) or better-sqlite3 (`:memory:`, a call per row), each as
 * the bench uses it. The count
 * covers the statements and the COMMIT of one round, after two uncounted rounds; with
 * `statements`, only the statements.
 *
 *   bench/counts/run.sh 100000 bench/counts/bulk-insert.ts dosql|better-sqlite3 [statements]
 */
import { betterSqlite, dosql, KV_DDL, KV_INSERT, kvRow, type Engine } from '../engines.js';
import { phase } from './phase.js';

const ROWS = 100_000;
const ids = Array.from({ length: ROWS }, (_, i) => i + 1);
const open = () => (process.argv[2] === 'better-sqlite3' ? betterSqlite() : dosql());

const statementsOnly = process.argv[3] === 'statements';

/** One load; `counted` marks it for run.sh. */
async function round(e: Engine, counted: boolean): Promise<void> {
  const ins = e.prepare(KV_INSERT);
  await e.transaction(async () => {
    if (counted) await phase('start');
    // As the bench loads: one runMany call where the engine has it, a call per row elsewhere.
    if (ins.runMany) await ins.runMany(ids.map(kvRow));
    else await e.each(ids, (i) => ins.run(kvRow(i)));
    if (counted && statementsOnly) await phase('end');
  });
  if (counted && !statementsOnly) await phase('end');
}

for (let r = 0; r < 3; r++) {
  const e = await open();
  await e.exec(KV_DDL);
  await round(e, r === 2);
  await e.close();
}
