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
import { keyCharsBytes, PAGE_HEADER_BYTES } from './page-store.js';

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
  /**
   * Writes entry i's key as a msgpack string, the bytes `w.string(keyAt(i))` would write, and
   * returns its length in chars: for owners whose keys cost less to write than to make (rowid
   * keys). Optional; the builder then makes only a page's first and last keys.
   */
  writeKey?(i: number, w: MsgpackWriter): number;
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
  /** The entries of the page in progress, and the positions of its first and last among them. */
  private entries: PackedEntries | undefined = undefined;
  private first = 0;
  private last = 0;

  /**
   * Adds entry i of `entries` after the last one (its key must be greater). False, having added
   * nothing, when its key is over `keyCharsMax`, its row cannot be written, or the entry (keyBytes
   * plus rowBytes) would exceed `entryBytesMax`.
   */
  add(entries: PackedEntries, i: number, keyCharsMax: number, entryBytesMax: number): boolean {
    assert(this.count === 0 || (entries === this.entries && i > this.last), 'a leaf is built from one owner, in order');
    const { keys, rows } = this;
    const keysAt = keys.length;
    let keyChars: number;
    if (entries.writeKey) keyChars = entries.writeKey(i, keys);
    else {
      const key = entries.keyAt(i);
      assert(this.count === 0 || key > this.lastKey, 'a leaf is built in key order');
      keys.string(key);
      keyChars = key.length;
    }
    const rowsAt = rows.length;
    const rowBytes = keyChars > keyCharsMax ? -1 : entries.writeRow(i, rows);
    const entryBytes = keyCharsBytes(keyChars) + rowBytes;
    if (rowBytes < 0 || entryBytes > entryBytesMax) {
      keys.pos = keys.start + keysAt;
      rows.pos = rows.start + rowsAt;
      return false;
    }
    if (this.count === 0) {
      this.entries = entries;
      this.first = i;
    }
    this.last = i;
    this.count++;
    this.bytes += entryBytes;
    return true;
  }

  /** The first key of the page in progress (at least one entry). */
  get firstKey(): string {
    assert(this.count > 0, 'a leaf holds at least one entry');
    return this.entries!.keyAt(this.first);
  }

  /** The last key of the page in progress; '' while it is empty. */
  get lastKey(): string {
    return this.count === 0 ? '' : this.entries!.keyAt(this.last);
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
    const lastKey = this.lastKey;
    assert(this.count === 1 || this.firstKey < lastKey, 'a leaf is built in key order');
    const leaf = PackedLeaf.built(w.takeCopy(), this.count, this.bytes, lastKey);
    this.reset();
    return leaf;
  }

  /** Drops the page in progress. */
  reset(): void {
    this.keys.discard();
    this.rows.discard();
    this.count = 0;
    this.bytes = PAGE_HEADER_BYTES;
    this.entries = undefined;
  }
}
