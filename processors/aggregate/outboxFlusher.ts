/**
 * Produces what the outbox holds, then removes it: closed windows' Aggregate records to the
 * aggregates stream, late readings to the late stream, dead letters to the processor DLQ.
 * A window marked closed in Redis is never lost: its outbox entry was written by the same
 * script that closed it, and leaves only after the stream took its records. A crash between
 * produce and removal produces them again (at-least-once: storage is idempotent on the
 * window's natural key). Entries are claimed with a lease so concurrent flushers (a handler
 * after its batch, the timer) rarely duplicate work.
 */
import type { Logger } from 'pino';
import type { AvroCodec } from '../../schemas/avroCodec';
import { SUBJECTS } from '../../schemas/sluiceSchemas';
import type { StreamClient, StreamRecordInput } from '../../streams/streamClient';
import type { OutboxTarget } from './aggregateKeys';
import type { AggregateStore } from './aggregateStore';
import { recordOfPayload } from './outboxRecords';
import { aggregatesOf } from './windowView';

export interface StreamTarget {
  client: StreamClient;
  stream: string;
}

export interface OutboxTargets {
  aggregates: StreamTarget;
  /** unset: this flusher leaves late records to one that has the stream */
  late?: StreamTarget;
  dlq?: StreamTarget;
}

export interface FlushResult {
  aggregates: number;
  late: number;
  dlq: number;
  /** outbox entries dropped because what they named is gone (a window past its retention) or unreadable */
  dropped: number;
}

const CLAIM_LEASE_MS = 10_000;
const CLAIM_LIMIT = 500;

export class OutboxFlusher {
  constructor(
    private readonly store: AggregateStore,
    private readonly codec: AvroCodec,
    private readonly targets: OutboxTargets,
    private readonly quantiles: readonly number[],
    private readonly logger: Logger,
  ) {}

  /** Flushes everything due at `now`; throws when a stream refuses (the entries are retried after their lease). */
  async flush(now: number): Promise<FlushResult> {
    const result: FlushResult = { aggregates: 0, late: 0, dlq: 0, dropped: 0 };
    for (const target of ['aggregates', 'late', 'dlq'] as const) {
      const stream = this.targets[target];
      if (!stream) continue;
      for (;;) {
        const entries = await this.store.claimOutbox(target, now, CLAIM_LEASE_MS, CLAIM_LIMIT);
        if (entries.length === 0) break;
        const { records, dropped } = target === 'aggregates' ? await this.windowRecords(entries.map((entry) => entry.id)) : this.payloadRecords(entries);
        if (records.length > 0) await stream.client.produce(stream.stream, records);
        await this.store.ackOutbox(target, entries.map((entry) => entry.id));
        result[target] += records.length;
        result.dropped += dropped;
        if (entries.length < CLAIM_LIMIT) break;
      }
    }
    return result;
  }

  private async windowRecords(ids: string[]): Promise<{ records: StreamRecordInput[]; dropped: number }> {
    const keys = ids.map((id) => id.slice(id.indexOf('|') + 1));
    const windows = await this.store.readWindows(keys);
    const records: StreamRecordInput[] = [];
    let dropped = 0;
    for (const [i, window] of windows.entries()) {
      if (!window || window.status !== 'closed') {
        // gone past its retention before anyone could produce it: nothing left to send
        this.logger.warn({ window: keys[i] }, 'outbox names a window that is not there (closed) any more; dropping the entry');
        dropped += 1;
        continue;
      }
      for (const aggregate of aggregatesOf(window, this.quantiles)) {
        // no producer timestamp: the stream stamps it (a worker's clock must not make Kafka refuse the record)
        records.push({ key: aggregate.scopeId, value: await this.codec.encode(SUBJECTS.aggregate, aggregate) });
      }
    }
    return { records, dropped };
  }

  private payloadRecords(entries: Array<{ id: string; payload: string | null }>): { records: StreamRecordInput[]; dropped: number } {
    const records: StreamRecordInput[] = [];
    let dropped = 0;
    for (const entry of entries) {
      const record = entry.payload === null ? undefined : recordOfPayload(entry.payload);
      if (record) records.push(record);
      else {
        this.logger.warn({ id: entry.id }, 'outbox entry without a readable payload; dropping it');
        dropped += 1;
      }
    }
    return { records, dropped };
  }
}

export type { OutboxTarget };
