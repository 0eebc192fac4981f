/**
 * `db.slots`: create, drop, list, read and acknowledge replication slots (see log/slots.ts for
 * what a slot is and query/cdc.ts for the events). Slot records are durable store entries, so
 * positions survive restarts; events are read from the log on demand.
 */
import { DosqlError } from '../base/errors.js';
import { LOG_KEY_PREFIX, segmentKey } from '../log/lsn.js';
import type { Log } from '../log/log.js';
import { SLOTS_MAX, checkSlotName, deleteSlot, loadSlots, saveSlot, type ChangeOperation, type SlotRecord, type SlotStatus } from '../log/slots.js';
import type { TableStore } from '../materializers/tables.js';
import type { ByteStore } from '../storage/types.js';
import { transactionEvents, type ChangeBatch, type ChangeTransaction, type SlotSource } from './cdc.js';

export interface SlotOptions {
  /** Only changes of these tables. */
  tables?: string[];
  /** Only these operations. */
  operations?: ChangeOperation[];
  /** Only these columns in `before`/`after`. */
  columns?: string[];
  /** Where the slot starts: after the current commit (default), at the beginning, or after an LSN. */
  from?: 'now' | 'beginning' | { lsn: bigint | number };
  /** 'debezium' for Debezium-style envelopes (op c/u/d, before, after, source). */
  format?: 'dosql' | 'debezium';
}

export interface SlotInfo {
  name: string;
  /** Oldest log position the slot still needs (the commit after its confirmed one). */
  restartLsn: bigint;
  /** Last acknowledged commit LSN. */
  confirmedLsn: bigint;
  /** Log entries (LSNs) written after the confirmed position. */
  lagEntries: bigint;
  /** Bytes of log segments after the confirmed position. */
  lagBytes: number;
  status: SlotStatus;
}

/** Most transactions one read scans past the slot's filters before returning what it has. */
export const SLOT_READ_TRANSACTIONS_MAX = 10_000;
/** Default bound on events per read. */
export const SLOT_READ_EVENTS_DEFAULT = 1000;

export interface SlotHost {
  store: ByteStore;
  log: Log;
  tables: TableStore;
  /** A slot further behind than this many bytes of log is marked lost; unbounded when undefined. */
  maxSlotLagBytes?: number;
  nextCommit(): Promise<void>;
  readonly closed: boolean;
}

export class Slots implements SlotSource {
  private records: Map<string, SlotRecord> | undefined;

  constructor(private readonly host: SlotHost) {}

  get closed(): boolean {
    return this.host.closed;
  }

  nextCommit(): Promise<void> {
    return this.host.nextCommit();
  }

  async create(name: string, options: SlotOptions = {}): Promise<SlotInfo> {
    checkSlotName(name);
    const slots = await this.load();
    if (slots.has(name)) throw new DosqlError('ERROR', `slot ${name} already exists`);
    if (slots.size >= SLOTS_MAX) throw new DosqlError('LIMIT_EXCEEDED', `more than SLOTS_MAX (${SLOTS_MAX}) slots`);
    const last = this.host.log.durableLsn;
    const from = options.from ?? 'now';
    const confirmedLsn = from === 'now' ? last : from === 'beginning' ? 0n : BigInt(from.lsn);
    if (confirmedLsn < 0n || confirmedLsn > last) throw new DosqlError('RANGE', `slot start LSN ${confirmedLsn} is outside 0..${last}`);
    const slot: SlotRecord = {
      name,
      confirmedLsn,
      status: 'active',
      format: options.format ?? 'dosql',
      createdAt: Date.now(),
      ...(options.tables && { tables: options.tables.map((t) => t.toLowerCase()) }),
      ...(options.operations && { operations: checkOperations(options.operations) }),
      ...(options.columns && { columns: options.columns.map((c) => c.toLowerCase()) }),
    };
    if (slot.format !== 'dosql' && slot.format !== 'debezium') throw new DosqlError('MISUSE', `format must be 'dosql' or 'debezium'`);
    await saveSlot(this.host.store, slot);
    slots.set(name, slot);
    return this.info(slot);
  }

  async drop(name: string): Promise<void> {
    const slots = await this.load();
    if (!slots.delete(name)) throw new DosqlError('ERROR', `no such slot: ${name}`);
    await deleteSlot(this.host.store, name);
  }

  async list(): Promise<SlotInfo[]> {
    const out: SlotInfo[] = [];
    for (const slot of (await this.load()).values()) out.push(await this.info(slot));
    return out;
  }

  /** The next transactions after the slot's confirmed position (or `after`), without moving it. */
  async read(name: string, options: { max?: number; after?: bigint } = {}): Promise<ChangeBatch> {
    const slot = await this.slot(name);
    const max = options.max ?? SLOT_READ_EVENTS_DEFAULT;
    if (!Number.isSafeInteger(max) || max < 1) throw new DosqlError('MISUSE', 'max must be a positive integer');
    const start = (options.after ?? slot.confirmedLsn) + 1n;
    const transactions: ChangeTransaction[] = [];
    let position = start - 1n;
    let events = 0;
    let scanned = 0;
    const catalog = this.host.tables.catalog;
    for await (const txn of this.host.log.read(start)) {
      const t = transactionEvents(slot, txn, (id) => catalog.definitionOf(id));
      position = txn.commitLsn;
      if (t) {
        transactions.push(t);
        events += t.eventCount;
      }
      if (events >= max || ++scanned >= SLOT_READ_TRANSACTIONS_MAX) break;
    }
    return { transactions, position };
  }

  /** Acknowledge everything up to and including the commit at `lsn`; earlier acks are no-ops. */
  async ack(name: string, lsn: bigint | number): Promise<void> {
    const slot = await this.slot(name);
    const at = BigInt(lsn);
    if (at > this.host.log.durableLsn) throw new DosqlError('RANGE', `cannot acknowledge LSN ${at}: the last commit is LSN ${this.host.log.durableLsn}`);
    if (at <= slot.confirmedLsn) return;
    slot.confirmedLsn = at;
    await saveSlot(this.host.store, slot);
  }

  /** Mark slots lost that fell further behind than maxSlotLagBytes. */
  async enforceLag(): Promise<void> {
    if (this.host.maxSlotLagBytes === undefined) return;
    for (const slot of (await this.load()).values()) {
      if (slot.status === 'active' && (await this.lagBytes(slot)) > this.host.maxSlotLagBytes) {
        slot.status = 'lost';
        await saveSlot(this.host.store, slot);
      }
    }
  }

  private async slot(name: string): Promise<SlotRecord> {
    checkSlotName(name);
    const slot = (await this.load()).get(name);
    if (!slot) throw new DosqlError('ERROR', `no such slot: ${name}`);
    await this.enforceLag();
    if (slot.status === 'lost') {
      throw new DosqlError('RANGE', `slot ${name} is lost: it fell more than maxSlotLagBytes (${this.host.maxSlotLagBytes}) behind; drop it and create a new one`);
    }
    return slot;
  }

  private async info(slot: SlotRecord): Promise<SlotInfo> {
    const last = this.host.log.durableLsn;
    return {
      name: slot.name,
      restartLsn: slot.confirmedLsn + 1n,
      confirmedLsn: slot.confirmedLsn,
      lagEntries: last - slot.confirmedLsn,
      lagBytes: await this.lagBytes(slot),
      status: slot.status,
    };
  }

  /** Bytes of log segments starting after the confirmed position. */
  private async lagBytes(slot: SlotRecord): Promise<number> {
    const segments = await this.host.store.list({ prefix: LOG_KEY_PREFIX, start: segmentKey(slot.confirmedLsn + 1n) });
    return segments.reduce((n, [, v]) => n + v.byteLength, 0);
  }

  private async load(): Promise<Map<string, SlotRecord>> {
    this.records ??= await loadSlots(this.host.store);
    return this.records;
  }
}

function checkOperations(ops: ChangeOperation[]): ChangeOperation[] {
  for (const op of ops) if (op !== 'INSERT' && op !== 'UPDATE' && op !== 'DELETE') throw new DosqlError('MISUSE', `unknown operation ${String(op)}`);
  return ops;
}
