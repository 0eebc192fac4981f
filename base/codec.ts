/**
 * The one msgpack configuration every persisted structure uses (log records, B-tree pages,
 * checkpoints), so that values round-trip exactly: INTEGER vs REAL (the `Real` box travels as a
 * msgpack extension), 64-bit integers as bigint, BLOBs as bytes.
 *
 * Records are plain maps/arrays (no msgpackr "records" extension) so that the bytes are stable
 * and readable by any msgpack implementation that knows extension 0x52 is a REAL double.
 */
import { Packr, addExtension } from 'msgpackr';
import { Real } from './values.js';

/** msgpack extension type carrying an integral REAL as a float64. */
const REAL_EXTENSION_TYPE = 0x52;

addExtension({
  Class: Real,
  type: REAL_EXTENSION_TYPE,
  pack(r: Real): Buffer {
    const b = Buffer.allocUnsafe(8);
    b.writeDoubleBE(r.value, 0);
    return b;
  },
  unpack(b: Uint8Array): Real {
    return new Real(new DataView(b.buffer, b.byteOffset, 8).getFloat64(0));
  },
});

const packr = new Packr({
  useRecords: false,
  moreTypes: false,
  int64AsType: 'bigint',
  mapsAsObjects: true,
  variableMapSize: true,
});

export function pack(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function unpack(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}
