import type { Value } from '../../base/values.js';
import type { MsgpackWriter } from '../../log/msgpack.js';
import type { PackedEntries } from '../../materializers/btree/leaf-builder.js';
import { rowBytes } from '../../materializers/btree/page-store.js';

/** Entries for a bulk append (BTree.appendPacked, LeafBuilder) from keys and rows as arrays. */
export function rowEntries(count: number, keyAt: (i: number) => string, rowAt: (i: number) => Value[], writeKey?: PackedEntries['writeKey']): PackedEntries {
  return {
    count,
    keyAt,
    ...(writeKey ? { writeKey } : {}),
    writeRow(i: number, w: MsgpackWriter): number {
      const row = rowAt(i);
      return w.row(row) ? rowBytes(row) : -1;
    },
  };
}
