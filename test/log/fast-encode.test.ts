import { describe, expect, it } from 'vitest';
import { Real } from '../../base/values.js';
import { encodeChangeRecord, encodeRecord } from '../../log/record.js';
import type { Change } from '../../log/types.js';

describe('append fast path', () => {
  it('encodes a change exactly as the general encoder does', () => {
    const changes: Change[] = [
      { op: 'insert', table: 3, rowid: 7, row: [7, 'x', new Real(2), 1.5, null, new Uint8Array([1, 2]), 9007199254740993n] },
      { op: 'delete', table: 3, rowid: 8, before: [8, 'y'] },
      { op: 'update', table: 3, rowid: 9, before: [9], row: [10] },
    ];
    for (const change of changes) {
      expect(encodeChangeRecord(41, 5, change)).toEqual(encodeRecord({ kind: 'change', lsn: 41n, txn: 5n, change }));
    }
  });
});
