/**
 * Kafka events exactly as Lambda builds them for Amazon MSK (`aws:kafka`) and self-managed
 * Kafka (`SelfManagedKafka`) (Lambda developer guide, "Example event"): records grouped under
 * `<topic>-<partition>`, key and value base64, timestamp in epoch ms, headers as a list of
 * one-entry objects `{ "<name>": [<byte>, ...] }`, bootstrapServers comma-separated.
 *
 * Two details @types/aws-lambda does not show: a record without a key has no `key` field (AWS
 * omits it; Powertools made `key` optional after users hit this), and a self-managed Kafka
 * event has no eventSourceArn. Header bytes are written unsigned (0..255).
 */
import type { MSKRecord } from 'aws-lambda';
import type { StreamRecord } from '../../streams/streamClient';

export type KafkaEventSourceName = 'aws:kafka' | 'SelfManagedKafka';
export type KafkaTimestampType = MSKRecord['timestampType'];

export interface KafkaEventSource {
  eventSource: KafkaEventSourceName;
  /** the MSK cluster ARN (aws:kafka only; see mskClusterArn) */
  eventSourceArn?: string;
  bootstrapServers: string[];
  /** how the topic stamps records; Kafka's default (message.timestamp.type) is CREATE_TIME */
  timestampType?: KafkaTimestampType;
}

/** MSKRecord with `key` optional, as AWS really sends it. */
export type KafkaEventRecord = Omit<MSKRecord, 'key'> & { key?: string };

export interface KafkaEvent {
  eventSource: KafkaEventSourceName;
  eventSourceArn?: string;
  bootstrapServers: string;
  records: Record<string, KafkaEventRecord[]>;
}

/** `<topic>-<partition>`, the key AWS groups records under (and names in partial batch responses). */
export function kafkaTopicPartition(topic: string, partition: string | number): string {
  return `${topic}-${partition}`;
}

export function buildKafkaRecord(record: StreamRecord, timestampType: KafkaTimestampType = 'CREATE_TIME'): KafkaEventRecord {
  return {
    topic: record.stream,
    partition: Number(record.partition),
    offset: Number(record.position),
    timestamp: record.timestamp,
    timestampType,
    // streams/kafka reads a missing key as '': that is AWS's "no key field"
    ...(record.key === '' ? {} : { key: Buffer.from(record.key, 'utf8').toString('base64') }),
    value: record.value.toString('base64'),
    headers: Object.entries(record.headers).map(([name, value]) => ({ [name]: [...value] })),
  };
}

export function buildKafkaEvent(records: StreamRecord[], source: KafkaEventSource): KafkaEvent {
  const grouped: Record<string, KafkaEventRecord[]> = {};
  for (const record of records) {
    const key = kafkaTopicPartition(record.stream, record.partition);
    (grouped[key] ??= []).push(buildKafkaRecord(record, source.timestampType));
  }
  return {
    eventSource: source.eventSource,
    ...(source.eventSource === 'aws:kafka' && source.eventSourceArn !== undefined ? { eventSourceArn: source.eventSourceArn } : {}),
    bootstrapServers: source.bootstrapServers.join(','),
    records: grouped,
  };
}
