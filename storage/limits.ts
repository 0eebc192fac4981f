/**
 * Limit checks and range selection shared by every backend, so that all of them refuse the same
 * calls with the same error before writing anything.
 */
import { DosqlError } from '../base/errors.js';
import {
  STORE_ENTRY_BYTES_MAX,
  STORE_KEY_BYTES_MAX,
  STORE_KEYS_PER_CALL_MAX,
  type ListOptions,
  type WriteBatch,
} from './types.js';
import { lowerBound } from './memory.js';

const utf8 = new TextEncoder();

export function checkKeyCount(count: number): void {
  if (count > STORE_KEYS_PER_CALL_MAX) {
    throw new DosqlError(
      'LIMIT_EXCEEDED',
      `${count} keys in one storage call; STORE_KEYS_PER_CALL_MAX is ${STORE_KEYS_PER_CALL_MAX}`,
    );
  }
}

export function checkBatch(batch: WriteBatch): void {
  checkKeyCount((batch.put?.length ?? 0) + (batch.delete?.length ?? 0));
  for (const k of batch.delete ?? []) checkKey(k);
  for (const [k, v] of batch.put ?? []) {
    const entryBytes = checkKey(k) + v.byteLength;
    if (entryBytes > STORE_ENTRY_BYTES_MAX) {
      throw new DosqlError(
        'LIMIT_EXCEEDED',
        `storage entry of ${entryBytes} bytes; STORE_ENTRY_BYTES_MAX is ${STORE_ENTRY_BYTES_MAX}`,
      );
    }
  }
}

function checkKey(key: string): number {
  // ASCII keys (the norm) are measured without encoding them.
  const bytes = /^[\x00-\x7f]*$/.test(key) ? key.length : utf8.encode(key).byteLength;
  if (bytes > STORE_KEY_BYTES_MAX) {
    throw new DosqlError('LIMIT_EXCEEDED', `storage key of ${bytes} bytes; STORE_KEY_BYTES_MAX is ${STORE_KEY_BYTES_MAX}`);
  }
  return bytes;
}

/** The keys of a sorted array that a ListOptions selects, in the order it asks for. */
export function selectRange(sorted: readonly string[], o: ListOptions): string[] {
  let lo = 0;
  let hi = sorted.length;
  if (o.start !== undefined) lo = Math.max(lo, lowerBound(sorted, o.start));
  if (o.prefix !== undefined) lo = Math.max(lo, lowerBound(sorted, o.prefix));
  if (o.end !== undefined) hi = Math.min(hi, lowerBound(sorted, o.end));
  if (o.prefix !== undefined) hi = Math.min(hi, lowerBound(sorted, o.prefix + '\uffff'));
  if (hi <= lo) return [];
  const limit = o.limit ?? Infinity;
  if (o.reverse) {
    const from = Math.max(lo, hi - limit);
    return sorted.slice(from, hi).reverse();
  }
  return sorted.slice(lo, Math.min(hi, lo + limit));
}
