/**
 * What the outbox holds and produces. Late readings and dead letters are DeadLetter records
 * (Avro): a machine-readable reason, a message, where the record came from, and the original
 * bytes, so a late reading can be inspected or replayed; headers say which windows a late
 * reading missed and the watermark it met. They are encoded when the batch is planned and kept
 * in the outbox as `{ k: key, v: base64 }`. A closed window's Aggregate records are built from
 * the window itself when the outbox is flushed (it is immutable once closed).
 */
import type { AvroCodec } from '../../schemas/avroCodec';
import type { DeadLetter } from '../../schemas/records';
import { SUBJECTS } from '../../schemas/sluiceSchemas';
import type { StreamRecordInput } from '../../streams/streamClient';
import type { ProcessorRecord } from '../shared/streamRecords';
import type { OutboxRecord } from './aggregateStore';
import type { LateReading } from './batchPlanner';

export function sourceKindOf(record: ProcessorRecord): string {
  return record.scope.slice(0, record.scope.indexOf(':'));
}

function payloadOf(key: string, value: Buffer): string {
  return JSON.stringify({ k: key, v: value.toString('base64') });
}

/** The stream record an outbox payload stands for. */
export function recordOfPayload(payload: string): StreamRecordInput | undefined {
  try {
    const parsed = JSON.parse(payload) as { k?: unknown; v?: unknown };
    if (typeof parsed.k !== 'string' || typeof parsed.v !== 'string') return undefined;
    return { key: parsed.k, value: Buffer.from(parsed.v, 'base64') };
  } catch {
    return undefined;
  }
}

export async function deadLetterRecord(codec: AvroCodec, scope: string, record: ProcessorRecord, rejection: { reason: string; message: string }, now: number): Promise<OutboxRecord> {
  const deadLetter: DeadLetter = {
    reasonCode: rejection.reason,
    message: rejection.message,
    source: { kind: sourceKindOf(record), address: record.scope },
    original: record.data,
    firstSeenAt: now,
    attempts: 1,
    headers: { processor: 'aggregate', position: record.position },
  };
  return { target: 'dlq', id: `dlq|${scope}|${record.position}`, payload: payloadOf(record.key || 'unknown', await codec.encode(SUBJECTS.deadLetter, deadLetter)) };
}

export async function lateRecord(codec: AvroCodec, scope: string, late: LateReading, record: ProcessorRecord, now: number): Promise<OutboxRecord> {
  const { reading } = late.input;
  const when = new Date(reading.eventTime).toISOString();
  const message = late.reason === 'event_time_in_future'
    ? `reading ${reading.deviceId} seq ${reading.seq} at ${when} is stamped too far ahead of the wall clock (${new Date(now).toISOString()}): not aggregated`
    : `reading ${reading.deviceId} seq ${reading.seq} at ${when} came after the grace period of ${late.missed.length} window(s): ${late.missed.join('; ')}`;
  const deadLetter: DeadLetter = {
    reasonCode: late.reason,
    message,
    source: { kind: sourceKindOf(record), address: record.scope },
    original: record.data,
    firstSeenAt: now,
    attempts: 1,
    headers: {
      processor: 'aggregate',
      position: record.position,
      deviceId: reading.deviceId,
      seq: String(reading.seq),
      eventTime: String(reading.eventTime),
      watermark: late.watermark === null ? '' : String(late.watermark),
      missed: JSON.stringify(late.missed),
    },
  };
  return { target: 'late', id: `late|${scope}|${record.position}`, payload: payloadOf(reading.deviceId, await codec.encode(SUBJECTS.deadLetter, deadLetter)) };
}
