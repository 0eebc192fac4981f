/**
 * A first-in first-out queue with O(1) `shift`. `Array.prototype.shift` copies the array's tail
 * once the array is large (V8 cannot trim arrays in its large-object space), so a queue of 100k
 * waiters drained one `shift` at a time took seconds. Here taken items are skipped by an index,
 * and the array is cut down only once at least half of it (and QUEUE_COMPACT_ITEMS_MIN items)
 * has been taken: amortized O(1) per item.
 */

/** Taken items tolerated at the front before the backing array is compacted. */
const QUEUE_COMPACT_ITEMS_MIN = 1024;

export class Fifo<T> {
  private items: Array<T | undefined> = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The oldest item, left in place; undefined when empty. */
  peek(): T | undefined {
    return this.head === this.items.length ? undefined : this.items[this.head];
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }

  /** The oldest item, removed; undefined when empty. */
  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined; // let it be collected
    if (this.head >= QUEUE_COMPACT_ITEMS_MIN && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
