/**
 * Change data capture: committed transactions read from the log and shaped as change events for
 * a replication slot (log/slots.ts), pulled with `read`/`ack` or pushed by a `Subscription`.
 *
 * Delivery is at-least-once from the slot's confirmed position: `read` never moves the slot, and
 * a consumer acknowledges a commit LSN once it has stored what came before it. Every event's `id`
 * is the LSN of its change record, so it is the same on every redelivery and a sink deduplicates
 * by it. The exactly-once pattern: store the last processed commit LSN in the same transaction as
 * the sink's data, resume from it (`from: { lsn }` on a new slot, or ack it on restart) and drop
 * events whose id you have seen.
 *
 * Backpressure: a subscription hands out at most `maxInFlight` unacknowledged events and waits
 * for acks before reading further; nothing is buffered for a slow consumer, and writers never
 * wait for one: events are read from the log on demand.
 */
import type { ChangeBatchWire, ChangeEventWire, ChangeTransactionWire, DebeziumEventWire } from '../base/api.js';
import { DosqlError } from '../base/errors.js';
import { Fifo } from '../base/fifo.js';
import { toSqlValue, type SqlValue, type Value } from '../base/values.js';
import { hlcPhysicalMs } from '../log/hlc.js';
import type { ChangeOperation, SlotRecord } from '../log/slots.js';
import type { Change, CommittedTxn, TableDef } from '../log/types.js';

/**
 * The event shapes are defined once, in base/api.ts, because the remote client shares them:
 * a change event, its Debezium-style envelope, a whole transaction, and a read's batch.
 */
export type ChangeEvent = ChangeEventWire;
export type DebeziumEvent = DebeziumEventWire;
export type ChangeTransaction = ChangeTransactionWire;
export type ChangeBatch = ChangeBatchWire;

const OPERATION: Record<'insert' | 'update' | 'delete', ChangeOperation> = { insert: 'INSERT', update: 'UPDATE', delete: 'DELETE' };

/** The events of one committed transaction that a slot selects; undefined when none. */
export function transactionEvents(slot: SlotRecord, txn: CommittedTxn, tableOf: (id: number) => TableDef | undefined): ChangeTransaction | undefined {
  const timestamp = new Date(hlcPhysicalMs(txn.hlc)).toISOString();
  const events: Array<ChangeEvent | DebeziumEvent> = [];
  txn.changes.forEach((c, i) => {
    if (c.op === 'create_table' || c.op === 'drop_table' || c.op === 'alter_table') return;
    const def = tableOf(c.table);
    if (!def) throw new DosqlError('CORRUPT', `log refers to unknown table id ${c.table}`);
    const operation = OPERATION[c.op];
    if (slot.tables && !slot.tables.includes(def.name.toLowerCase())) return;
    if (slot.operations && !slot.operations.includes(operation)) return;
    const event = changeEvent(def, c, txn, txn.firstLsn + BigInt(i), timestamp, slot.columns);
    events.push(slot.format === 'debezium' ? debezium(event) : event);
  });
  if (events.length === 0) return undefined;
  return { txnId: txn.txn, commitLsn: txn.commitLsn, timestamp, hlc: txn.hlc, eventCount: events.length, events };
}

function changeEvent(def: TableDef, c: Exclude<Change, { op: 'create_table' | 'drop_table' | 'alter_table' }>, txn: CommittedTxn, lsn: bigint, timestamp: string, columns?: string[]): ChangeEvent {
  const event: ChangeEvent = {
    id: String(lsn),
    operation: OPERATION[c.op],
    table: def.name,
    lsn,
    txnId: txn.txn,
    timestamp,
    hlc: txn.hlc,
    key: keyOf(def, c.rowid, c.op === 'delete' ? c.before : c.row),
  };
  if (c.op !== 'insert') event.before = rowObject(def, c.before, columns);
  if (c.op !== 'delete') event.after = rowObject(def, c.row, columns);
  return event;
}

function keyOf(def: TableDef, rowid: number | bigint, row: Value[]): Record<string, SqlValue> {
  if (def.primaryKey.length) return Object.fromEntries(def.primaryKey.map((i) => [def.columns[i]!.name, toSqlValue(row[i] ?? null, 'number')]));
  const name = def.rowidColumn >= 0 ? def.columns[def.rowidColumn]!.name : 'rowid';
  return { [name]: toSqlValue(rowid, 'number') };
}

function rowObject(def: TableDef, row: Value[], columns?: string[]): Record<string, SqlValue> {
  const o: Record<string, SqlValue> = {};
  def.columns.forEach((col, i) => {
    if (!columns || columns.includes(col.name.toLowerCase())) o[col.name] = toSqlValue(row[i] ?? null, 'number');
  });
  return o;
}

function debezium(e: ChangeEvent): DebeziumEvent {
  return {
    id: e.id,
    op: e.operation === 'INSERT' ? 'c' : e.operation === 'UPDATE' ? 'u' : 'd',
    before: e.before ?? null,
    after: e.after ?? null,
    source: { lsn: e.id, txId: String(e.txnId), ts_ms: hlcPhysicalMs(e.hlc), table: e.table, connector: 'dosql' },
  };
}

/** What a subscription needs from the database; implemented by Database's slot API. */
export interface SlotSource {
  read(name: string, options: { max: number; after?: bigint }): Promise<ChangeBatch>;
  ack(name: string, lsn: bigint): Promise<void>;
  /** Resolves at the next durable commit (or when the database closes). */
  nextCommit(): Promise<void>;
  readonly closed: boolean;
}

/** Most events a subscription may hold unacknowledged by default. */
export const SUBSCRIPTION_IN_FLIGHT_EVENTS_DEFAULT = 1000;
/** Most events per delivered batch by default. */
export const SUBSCRIPTION_BATCH_EVENTS_DEFAULT = 100;

/**
 * A push subscription: `for await (const batch of db.subscribe(slot))` yields arrays of whole
 * transactions, in commit order, starting after the slot's confirmed position. `ack(lsn)` moves
 * the slot and frees in-flight room; without acks it stops at `maxInFlight` events.
 */
export class Subscription implements AsyncIterableIterator<ChangeTransaction[]> {
  private delivered: bigint | undefined;
  private readonly inFlight = new Fifo<{ commitLsn: bigint; events: number }>();
  private inFlightEvents = 0;
  private ended = false;
  private ackWaiter: (() => void) | undefined;

  constructor(
    private readonly source: SlotSource,
    readonly slot: string,
    private readonly batchSize: number,
    private readonly maxInFlight: number,
  ) {
    if (!Number.isSafeInteger(batchSize) || batchSize < 1 || !Number.isSafeInteger(maxInFlight) || maxInFlight < 1) {
      throw new DosqlError('MISUSE', 'batchSize and maxInFlight must be positive integers');
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<ChangeTransaction[]>> {
    for (let waits = 0; waits < Number.MAX_SAFE_INTEGER; waits++) {
      if (this.ended || this.source.closed) return { done: true, value: undefined };
      if (this.inFlightEvents >= this.maxInFlight) {
        await new Promise<void>((r) => (this.ackWaiter = r));
        continue;
      }
      const max = Math.min(this.batchSize, this.maxInFlight - this.inFlightEvents);
      const commit = this.source.nextCommit();
      const batch = await this.source.read(this.slot, { max, after: this.delivered });
      this.delivered = batch.position;
      if (batch.transactions.length) {
        for (const t of batch.transactions) {
          this.inFlight.push({ commitLsn: t.commitLsn, events: t.eventCount });
          this.inFlightEvents += t.eventCount;
        }
        return { done: false, value: batch.transactions };
      }
      await commit;
    }
    return { done: true, value: undefined };
  }

  /** Acknowledge everything up to and including the commit at `lsn`. */
  async ack(lsn: bigint): Promise<void> {
    await this.source.ack(this.slot, lsn);
    while (this.inFlight.length && this.inFlight.peek()!.commitLsn <= lsn) this.inFlightEvents -= this.inFlight.shift()!.events;
    this.ackWaiter?.();
    this.ackWaiter = undefined;
  }

  async return(): Promise<IteratorResult<ChangeTransaction[]>> {
    this.ended = true;
    this.ackWaiter?.();
    return { done: true, value: undefined };
  }
}
