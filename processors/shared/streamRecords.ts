/**
 * The records of a Lambda stream event, whichever stream it came from. Processors are plain
 * Lambda handlers, so they get a KinesisStreamEvent or an MSK/self-managed Kafka event; this
 * turns either into one list with what a processor needs to be correct under at-least-once
 * delivery: the record's scope (one ordered sequence: a Kinesis shard or a Kafka partition),
 * its position in it (for applyOnce and idempotent writes), and the identifier AWS expects in
 * a partial batch response.
 */
import type { KinesisStreamEvent } from 'aws-lambda';

export interface ProcessorRecord {
  /** one ordered sequence of positions: `kinesis:<stream>/<shardId>` or `kafka:<topic>-<partition>` */
  scope: string;
  /** decimal sequence number or offset; only grows within a scope */
  position: string;
  /** partition key (Kinesis) or message key (Kafka); '' when the record has none */
  key: string;
  data: Buffer;
  /** what to put in batchItemFailures for this record: Kinesis the sequence number, Kafka `{ partition: '<topic>-<partition>', offset }` as AWS expects */
  itemIdentifier: string | { partition: string; offset: number };
  /** when the stream accepted the record (epoch ms) */
  arrivalTime: number;
}

interface KafkaLikeRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key?: string;
  value: string;
}

export interface KafkaLikeEvent {
  eventSource: string;
  records: Record<string, KafkaLikeRecord[]>;
}

export type ProcessorEvent = KinesisStreamEvent | KafkaLikeEvent;

function isKafkaEvent(event: ProcessorEvent): event is KafkaLikeEvent {
  return !Array.isArray((event as { Records?: unknown }).Records) && typeof (event as { records?: unknown }).records === 'object';
}

function streamNameOfArn(arn: string): string {
  const slash = arn.lastIndexOf('/');
  return slash < 0 ? arn : arn.slice(slash + 1);
}

/** All records of the event in delivery order (per scope, positions ascending). */
export function recordsOf(event: ProcessorEvent): ProcessorRecord[] {
  if (isKafkaEvent(event)) {
    const out: ProcessorRecord[] = [];
    for (const records of Object.values(event.records)) {
      for (const record of records) {
        out.push({
          scope: `kafka:${record.topic}-${record.partition}`,
          position: String(record.offset),
          key: record.key === undefined ? '' : Buffer.from(record.key, 'base64').toString('utf8'),
          data: Buffer.from(record.value, 'base64'),
          itemIdentifier: { partition: `${record.topic}-${record.partition}`, offset: record.offset },
          arrivalTime: record.timestamp,
        });
      }
    }
    return out;
  }
  return (event.Records ?? []).map((record) => {
    const colon = record.eventID.indexOf(':');
    const shardId = colon < 0 ? record.eventID : record.eventID.slice(0, colon);
    return {
      scope: `kinesis:${streamNameOfArn(record.eventSourceARN)}/${shardId}`,
      position: record.kinesis.sequenceNumber,
      key: record.kinesis.partitionKey,
      data: Buffer.from(record.kinesis.data, 'base64'),
      itemIdentifier: record.kinesis.sequenceNumber,
      arrivalTime: Math.round(record.kinesis.approximateArrivalTimestamp * 1000),
    };
  });
}

/** Records grouped by scope, each group in delivery order (a runtime batch has one scope; MSK events may carry several). */
/** A partial batch response failing `records` (ReportBatchItemFailures); an empty list is success. */
export function batchItemFailures(records: readonly ProcessorRecord[]): { batchItemFailures: Array<{ itemIdentifier: ProcessorRecord['itemIdentifier'] }> } {
  return { batchItemFailures: records.map((record) => ({ itemIdentifier: record.itemIdentifier })) };
}

export function recordsByScope(records: readonly ProcessorRecord[]): Map<string, ProcessorRecord[]> {
  const groups = new Map<string, ProcessorRecord[]>();
  for (const record of records) {
    const group = groups.get(record.scope);
    if (group) group.push(record);
    else groups.set(record.scope, [record]);
  }
  return groups;
}
