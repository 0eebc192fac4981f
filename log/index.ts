/**
 * The write-ahead log's public surface: the vocabulary (`types.ts`), the hybrid logical clock,
 * segment keys, the record codec, and the `Log` itself.
 */
export type { AppliedTxn, Change, ColumnDef, CommittedTxn, EncodedRun, Hlc, InsertRun, LogRecord, Lsn, PendingChange, TableDef } from './types.js';
export { HLC_LOGICAL_BITS, HLC_LOGICAL_MAX, HLC_PHYSICAL_MS_MAX, HybridClock, hlcLogical, hlcPack, hlcPhysicalMs } from './hlc.js';
export { LOG_KEY_PREFIX, LSN_HEX_DIGITS, LSN_MAX, SEGMENT_KEY_LENGTH, segmentKey, segmentKeyLsn } from './lsn.js';
export { FRAME_HEADER_BYTES, decodeBody, decodeFrames, encodeRecord, type DecodeEnd, type DecodedFrames } from './record.js';
export {
  APPEND_QUEUE_BYTES_MAX,
  Log,
  READ_PAGE_SEGMENTS,
  SEGMENT_BYTES_DEFAULT,
  SEGMENT_BYTES_MAX,
  SEGMENT_BYTES_MIN,
  type AppendResult,
  type LogOptions,
} from './log.js';
