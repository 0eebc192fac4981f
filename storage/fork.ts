/**
 * A copy-on-write view of another store, for branches: reads fall through to the parent for the
 * keys the branch shares with it; every write goes to the branch's own store.
 *
 * What is shared is decided by rules on key prefixes, each optionally cut off below a key (the
 * parent's log up to the fork point, its B-tree pages). Those keys are immutable in the parent
 * (log segments are never rewritten below the tail; pages are copy-on-write and the parent keeps
 * them once it has branches), so the branch sees exactly the parent's state at the fork and
 * nothing the parent writes later. A shared key the branch writes is shadowed by its own copy; a
 * shared key it deletes is only deleted from its own store, which is enough because the engine
 * never reads a key it has deleted (retired pages, truncated log tails).
 *
 * `list` merges parent entries only for rules marked `list` (the log, which is found by listing);
 * page keys are fetched by id and never listed across stores, so that sweeping the branch's own
 * orphans does not see the parent's pages.
 */
import type { ByteStore, ListOptions, StoreStats, WriteBatch } from './types.js';

export interface ForkRule {
  /** Keys starting with this are shared with the parent. */
  prefix: string;
  /** Only keys strictly below this one are shared (undefined: all of the prefix). */
  below?: string;
  /** Whether `list` shows the parent's keys of this rule. */
  list: boolean;
}

export class ForkStore implements ByteStore {
  /** Close the parent too when this store closes (when the fork opened the parent itself). */
  closeParent = false;

  constructor(
    readonly own: ByteStore,
    readonly parent: ByteStore,
    private readonly rules: readonly ForkRule[],
  ) {}

  get stats(): StoreStats {
    return this.own.stats;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const v = await this.own.get(key);
    if (v !== undefined || !this.shared(key)) return v;
    return this.parent.get(key);
  }

  async getMany(keys: string[]): Promise<Map<string, Uint8Array>> {
    const out = await this.own.getMany(keys);
    const missing = keys.filter((k) => !out.has(k) && this.shared(k));
    if (missing.length) for (const [k, v] of await this.parent.getMany(missing)) out.set(k, v);
    return out;
  }

  async list(o: ListOptions): Promise<Array<[string, Uint8Array]>> {
    const mine = await this.own.list(o);
    const rule = this.rules.find((r) => r.list && o.prefix !== undefined && o.prefix.startsWith(r.prefix));
    if (!rule) return mine;
    const end = rule.below === undefined ? o.end : o.end === undefined || rule.below < o.end ? rule.below : o.end;
    const theirs = await this.parent.list({ ...o, end });
    const seen = new Set(mine.map(([k]) => k));
    const merged = [...mine, ...theirs.filter(([k]) => !seen.has(k))];
    merged.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (o.reverse) merged.reverse();
    return o.limit === undefined ? merged : merged.slice(0, o.limit);
  }

  write(batch: WriteBatch): Promise<void> {
    return this.own.write(batch);
  }

  put(key: string, value: Uint8Array): Promise<void> {
    return this.own.put(key, value);
  }

  delete(key: string): Promise<void> {
    return this.own.delete(key);
  }

  async close(): Promise<void> {
    await this.own.close();
    if (this.closeParent) await this.parent.close();
  }

  private shared(key: string): boolean {
    for (const r of this.rules) {
      if (key.startsWith(r.prefix) && (r.below === undefined || key < r.below)) return true;
    }
    return false;
  }
}
