/**
 * The pk-lookups workload under run.sh: 100k random primary-key lookups on 100k rows, on DoSQL
 * or better-sqlite3 (`:memory:`), each as the bench uses it.
 *
 *   bench/counts/run.sh 200000 bench/counts/pk-lookups.ts dosql|better-sqlite3
 */
import { betterSqlite, dosql, loadKv, randomIds } from '../engines.js';
import { KV_LOOKUP } from '../kv.js';
import { phase } from './phase.js';

const ROWS = 100_000;
/** Rounds counted (after two uncounted ones, so that the JIT has settled). */
const ROUNDS = 2;

const engine = process.argv[2] === 'better-sqlite3' ? await betterSqlite() : await dosql();
await loadKv(engine, ROWS);
const get = engine.prepare(KV_LOOKUP);
const ids = randomIds(ROWS, ROWS);
const round = () => engine.each(ids, (id) => get.get([id]));
await round();
await round();
await phase('start');
for (let r = 0; r < ROUNDS; r++) await round();
await phase('end');
await engine.close();
