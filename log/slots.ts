/**
 * Replication slots: named, durable positions of log consumers (CDC sinks), modelled on
 * PostgreSQL's: `confirmedLsn` is what the consumer has acknowledged (it resumes after it),
 * `restartLsn` the oldest log position the slot still needs (here the same: events are whole
 * committed transactions, so nothing before the confirmed commit is needed).
 *
 * A slot is one small store entry (`slot/<name>`), written on create, ack and state changes;
 * the events themselves are never copied: they are read from the log. The log keeps what every
 * slot needs; a slot that falls more than the configured lag behind is marked `lost` and stops
 * holding the log back.
 */
import { pack, unpack } from '../base/codec.js';
import { DosqlError } from '../base/errors.js';
import type { ByteStore } from '../storage/types.js';
import type { Lsn } from './types.js';

export type SlotStatus = 'active' | 'lost';
export type ChangeOperation = 'INSERT' | 'UPDATE' | 'DELETE';

export interface SlotRecord {
  name: string;
  /** Acknowledged position: the consumer has every transaction with commitLsn <= this. */
  confirmedLsn: Lsn;
  status: SlotStatus;
  /** Only these tables (lower-cased names); all when undefined. */
  tables?: string[];
  /** Only these operations; all when undefined. */
  operations?: ChangeOperation[];
  /** Only these columns in before/after (lower-cased); all when undefined. */
  columns?: string[];
  /** Event shape: DoSQL's own, or a Debezium-style envelope. */
  format: 'dosql' | 'debezium';
  /** Unix ms when the slot was made. */
  createdAt: number;
}

const SLOT_KEY_PREFIX = 'slot/';
export const SLOT_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
/** Most slots per database; each one pins log and costs a read per commit while subscribed. */
export const SLOTS_MAX = 64;

export function checkSlotName(name: unknown): string {
  if (typeof name !== 'string' || !SLOT_NAME_PATTERN.test(name)) {
    throw new DosqlError('MISUSE', `slot names are 1-64 characters of A-Z a-z 0-9 _ . -; got ${JSON.stringify(name)}`);
  }
  return name;
}

export async function loadSlots(store: ByteStore): Promise<Map<string, SlotRecord>> {
  const out = new Map<string, SlotRecord>();
  for (const [, v] of await store.list({ prefix: SLOT_KEY_PREFIX })) {
    const s = unpack(v) as SlotRecord;
    out.set(s.name, { ...s, confirmedLsn: BigInt(s.confirmedLsn) });
  }
  return out;
}

export async function saveSlot(store: ByteStore, slot: SlotRecord): Promise<void> {
  await store.put(SLOT_KEY_PREFIX + slot.name, pack(slot));
}

export async function deleteSlot(store: ByteStore, name: string): Promise<void> {
  await store.delete(SLOT_KEY_PREFIX + name);
}
