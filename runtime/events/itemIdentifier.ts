/**
 * What identifies a record in a partial batch response (`batchItemFailures[].itemIdentifier`).
 *
 * - Kinesis: the record's sequence number, a string (Lambda developer guide, "Configuring
 *   partial batch response with Kinesis Data Streams").
 * - Kafka (MSK and self-managed, ReportBatchItemFailures since 2025): an OBJECT naming the
 *   `<topic>-<partition>` key of the event's `records` map and the offset,
 *   `{ "itemIdentifier": { "partition": "mytopic-0", "offset": 15 } }`. Followed from the AWS-
 *   maintained Powertools for AWS Lambda (Python) batch utility and the aws-lambda-rust-runtime
 *   Kafka response types; AWS's own Kafka page ("Configuring error handling controls for Kafka
 *   event sources") documents the feature but we could not read its example.
 *
 * The runtime compares identifiers as strings: `itemIdentifierOf` gives a record's key and
 * `itemIdentifierKey` turns what a handler returned into the same key, or undefined when it
 * cannot name a record (which fails the whole batch, like AWS).
 */
import type { StreamKind, StreamRecord } from '../../streams/streamClient';
import { kafkaTopicPartition } from './kafkaEvent';

export interface KafkaItemIdentifier {
  /** `<topic>-<partition>`, the key of the event's records map */
  partition: string;
  offset: number;
}

/** The value a handler puts in `itemIdentifier` for this record. */
export function batchItemIdentifierOf(record: StreamRecord, kind: StreamKind): string | KafkaItemIdentifier {
  if (kind === 'kinesis') return record.position;
  return { partition: kafkaTopicPartition(record.stream, record.partition), offset: Number(record.position) };
}

const kafkaKey = (partition: string, offset: string): string => `${partition}@${offset}`;

/** The string the runtime matches a record by: Kinesis the sequence number, Kafka `<topic>-<partition>@<offset>`. */
export function itemIdentifierOf(record: StreamRecord, kind: StreamKind): string {
  return kind === 'kinesis' ? record.position : kafkaKey(kafkaTopicPartition(record.stream, record.partition), record.position);
}

/**
 * The key of an `itemIdentifier` a handler returned, or undefined when it is missing, null,
 * empty or malformed. A number is read as its decimal string and a Kafka offset may be a
 * decimal string, like the Java JSON binding Lambda uses (it coerces scalars).
 */
export function itemIdentifierKey(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { partition, offset } = value as { partition?: unknown; offset?: unknown };
  if (typeof partition !== 'string' || partition === '') return undefined;
  if (typeof offset === 'number' && Number.isInteger(offset) && offset >= 0) return kafkaKey(partition, String(offset));
  if (typeof offset === 'string' && /^\d+$/.test(offset)) return kafkaKey(partition, BigInt(offset).toString());
  return undefined;
}
