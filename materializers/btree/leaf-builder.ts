/**
 * Builds B-tree leaves as their stored bytes, from entries given in key order: the pages of a
 * bulk append (BTree.appendPacked), whose rows never exist as arrays in the tree.
 *
 * A stored leaf is msgpack `[0, keys, rows, n]` (page-store.ts). Keys and rows go into two scratch
 * arenas as they come, because each array's header, which holds the count, comes before it; `take`
 * then writes the page once, exactly sized, and the arenas are reused for the next page. The byte
 * estimate (`leafBytes`) is summed as entries are added, so the page never has to be walked.
 */
import { assert } from '../../base/errors.js';
import { MsgpackWriter } from '../../log/msgpack.js';
import { PackedLeaf } from './packed-leaf.js';
import { keyBytes, PAGE_HEADER_BYTES } from './page-store.js';

/**
 * Entries a bulk append takes, in ascending key order (BTree.appendPacked). The owner of the rows
 * writes them, so rows that already exist as msgpack (the log's bytes) are copied, not encoded.
 */
export interface PackedEntries {
  readonly count: number;
  /** Key of entry i, 0 <= i < count. */
  keyAt(i: number): string;
  /**
   * Writes entry i's row, a msgpack array of Values, with `w`, and returns its rowBytes
   * (page-store.ts); -1 when the row holds something the writer does not write (what was written
   * is then dropped).
   */
  writeRow(i: number, w: MsgpackWriter): number;
}

/** The kind number of a leaf in a stored page, and the `n` of a page that is not a root. */
const KIND_LEAF = 0;
const NOT_ROOT = -1;

export class LeafBuilder {
  private readonly keys = new MsgpackWriter();
  private readonly rows = new MsgpackWriter();
  private readonly page = new MsgpackWriter();
  /** Entries in the page in progress. */
  count = 0;
  /** `leafBytes` of the page in progress, in estimated bytes. */
  bytes = PAGE_HEADER_BYTES;
  /** The first and the last key of the page in progress; '' while it is empty. */
  firstKey = '';
  lastKey = '';

  /**
   * Adds entry i of `entries` after the last one (its key must be greater). False, having added
   * nothing, when its key is over `keyCharsMax`, its row cannot be written, or the entry (keyBytes
   * plus rowBytes) would exceed `entryBytesMax`.
   */
  add(entries: PackedEntries, i: number, keyCharsMax: number, entryBytesMax: number): boolean {
    const key = entries.keyAt(i);
    if (key.length > keyCharsMax) return false;
    assert(this.count === 0 || key > this.lastKey, 'a leaf is built in key order');
    const rows = this.rows;
    const at = rows.length;
    const rowBytes = entries.writeRow(i, rows);
    const entryBytes = keyBytes(key) + rowBytes;
    if (rowBytes < 0 || entryBytes > entryBytesMax) {
      rows.pos = rows.start + at;
      return false;
    }
    this.keys.string(key);
    if (this.count === 0) this.firstKey = key;
    this.lastKey = key;
    this.count++;
    this.bytes += entryBytes;
    return true;
  }

  /** The page in progress as a dirty packed leaf (at least one entry); the next one starts empty. */
  take(): PackedLeaf {
    assert(this.count > 0, 'a leaf holds at least one entry');
    const w = this.page;
    w.arrayHeader(4);
    w.number(KIND_LEAF);
    w.arrayHeader(this.count);
    w.copy(this.keys.buf, this.keys.start, this.keys.pos);
    w.arrayHeader(this.count);
    w.copy(this.rows.buf, this.rows.start, this.rows.pos);
    w.number(NOT_ROOT);
    const leaf = PackedLeaf.built(w.takeCopy(), this.count, this.bytes, this.lastKey);
    this.reset();
    return leaf;
  }

  /** Drops the page in progress. */
  reset(): void {
    this.keys.discard();
    this.rows.discard();
    this.count = 0;
    this.bytes = PAGE_HEADER_BYTES;
    this.firstKey = '';
    this.lastKey = '';
  }
}
