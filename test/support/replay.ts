/**
 * Compare a database's materialized tables with a fresh replay of its log from LSN 0: the
 * property every materializer must keep (see materializers/types.ts).
 */
import { Database } from '../../index.js';
import { MemoryStore } from '../../storage/memory.js';
import { TableStore } from '../../materializers/tables.js';
import type { Value } from '../../base/values.js';

export async function tableContents(tables: TableStore): Promise<Map<string, Value[][]>> {
  const out = new Map<string, Value[][]>();
  for (const def of tables.catalog.tables()) {
    const trees = tables.table(def.id);
    for (const [i, tree] of [trees.rows, ...trees.uniques, ...trees.indexes].entries()) {
      const rows: Value[][] = [];
      for await (const [key, row] of tree.scan()) rows.push([key, ...row.map(plainBytes)]);
      out.set(i === 0 ? def.name : `${def.name}#tree${i}`, rows);
    }
  }
  return out;
}

export async function replayFromZero(db: Database): Promise<TableStore> {
  const fresh = await TableStore.open(new MemoryStore());
  for await (const txn of db.internals.log.read(1n)) await fresh.apply(txn);
  return fresh;
}

/** Buffers (what msgpack decodes in Node) and Uint8Arrays with the same bytes compare equal. */
function plainBytes(v: Value): Value {
  return v instanceof Uint8Array ? Uint8Array.from(v) : v;
}
