/**
 * The sorted key list the memory and file stores answer `list` from, kept sorted lazily.
 *
 * Most new keys do not arrive at the end: a database's log records (`log/...`) sort before its
 * table pages (`tbl/...`), so keeping the array sorted on every write meant a splice that copies
 * the array's tail, O(n) per commit. Here a key greater than every key goes on the end, any other
 * new key waits in `added`, and a deleted key waits in `removed`. The order is restored when
 * somebody reads it (`sorted`): one sort of the keys added since and one merge, O(n + k log k),
 * paid by the next list rather than by every write.
 *
 * Contract: `add` only keys not present, `remove` only keys present (the store's Map decides).
 */
export class SortedKeys {
  private keys: string[];
  /** New keys not yet merged into `keys`, in arrival order. */
  private added: string[] = [];
  /** Keys deleted since the last merge, still in `keys` or `added`. */
  private readonly removed = new Set<string>();

  /** `initial` must be sorted and free of duplicates. */
  constructor(initial: string[] = []) {
    this.keys = initial;
  }

  add(key: string): void {
    // Still in `keys` or `added` from before its deletion: only the deletion is undone.
    if (this.removed.delete(key)) return;
    const n = this.keys.length;
    if (this.added.length === 0 && (n === 0 || this.keys[n - 1]! < key)) this.keys.push(key);
    else this.added.push(key);
  }

  remove(key: string): void {
    const n = this.keys.length;
    // The common delete of the newest key needs no bookkeeping.
    if (this.added.length === 0 && n > 0 && this.keys[n - 1] === key) this.keys.pop();
    else this.removed.add(key);
  }

  /** Every present key in order. The array is the list's own: do not modify it. */
  sorted(): readonly string[] {
    if (this.added.length === 0 && this.removed.size === 0) return this.keys;
    const added = this.added.sort();
    const out: string[] = [];
    let i = 0;
    let j = 0;
    const keys = this.keys;
    for (let steps = 0; i < keys.length || j < added.length; steps++) {
      const k = j >= added.length || (i < keys.length && keys[i]! < added[j]!) ? keys[i++]! : added[j++]!;
      if (!this.removed.has(k)) out.push(k);
    }
    this.keys = out;
    this.added = [];
    this.removed.clear();
    return out;
  }
}
