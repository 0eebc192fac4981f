/**
 * How LSNs name log segments in the byte store.
 *
 * A segment is one store entry whose key is `log/` followed by the first LSN it holds as 16
 * lowercase hex digits. Fixed width makes the store's string order equal to LSN order, so "the
 * segment holding LSN x" is the greatest key <= key(x): one reverse `list` with `end: key(x + 1)`
 * and `limit: 1`, with no in-memory index of segments.
 */
import { DosqlError, assert } from '../base/errors.js';
import type { Lsn } from './types.js';

export const LOG_KEY_PREFIX = 'log/';
/** Hex digits of the LSN in a segment key. */
export const LSN_HEX_DIGITS = 16;
/** Length of every segment key in characters (ASCII, so also bytes). */
export const SEGMENT_KEY_LENGTH = LOG_KEY_PREFIX.length + LSN_HEX_DIGITS;
/** Largest LSN a segment key can carry. */
export const LSN_MAX: Lsn = (1n << 64n) - 1n;

export function segmentKey(lsn: Lsn): string {
  assert(lsn >= 0n && lsn <= LSN_MAX, `lsn ${lsn} out of range`);
  return LOG_KEY_PREFIX + lsn.toString(16).padStart(LSN_HEX_DIGITS, '0');
}

/** The first LSN a segment key names; CORRUPT when the key is not one `segmentKey` makes. */
export function segmentKeyLsn(key: string): Lsn {
  const hex = key.slice(LOG_KEY_PREFIX.length);
  if (!key.startsWith(LOG_KEY_PREFIX) || !/^[0-9a-f]{16}$/.test(hex)) {
    throw new DosqlError('CORRUPT', `log segment key ${JSON.stringify(key)} is malformed`);
  }
  return BigInt('0x' + hex);
}
