/**
 * Failure records of Kafka (MSK and self-managed) mappings, in the two shapes AWS documents:
 *
 * 1. SQS/SNS/S3 destinations ("Capturing discarded batches for Amazon MSK and self-managed
 *    Apache Kafka event sources"): one record per failed batch, KafkaBatchInfo with batchSize,
 *    eventSourceArn, bootstrapServers, payloadSize (bytes) and recordsInfo per `<topic>-<partition>`
 *    (first/last offset as strings, first/last record timestamp ISO); responseContext is null
 *    for MaximumPayloadSizeExceeded. The S3 variant adds `payload`, the whole event; sluice's
 *    includeRecords adds it as an object (AWS's S3 writes it as an escaped JSON string).
 * 2. A Kafka topic as destination ("Using a Kafka topic as an on-failure destination"): one
 *    message PER FAILED RECORD, keyed with the original record's key, KafkaBatchInfo with
 *    batchSize 1 and recordInfo { offset, timestamp }, and always `payload` = an event holding
 *    that one record.
 * RecordAgeExceeded has no responseContext (nothing was invoked), as verified for Kinesis; AWS
 * does not show it for Kafka. AWS's Kafka-destination example spells the condition
 * "RetriesExhausted" while every other AWS example says "RetryAttemptsExhausted"; sluice
 * writes the condition it is given.
 */
import type { StreamRecord } from '../../streams/streamClient';
import type { KafkaEvent, KafkaEventSource } from '../events/kafkaEvent';
import { buildKafkaEvent, kafkaTopicPartition } from '../events/kafkaEvent';
import { eventPayloadBytes } from '../events/payloadSize';
import type { FailureRecordInput, RequestContext, ResponseContext } from './failureContext';
import { isoTimestamp, requestContextOf, requireRecords, responseContextOf } from './failureContext';

export interface KafkaFailureInput extends FailureRecordInput {
  /** the failed records, in partition order */
  records: StreamRecord[];
  source: KafkaEventSource;
}

export interface KafkaRecordsInfo {
  firstRecordOffset: string;
  lastRecordOffset: string;
  firstRecordTimestamp: string;
  lastRecordTimestamp: string;
}

interface KafkaBatchInfoBase {
  batchSize: number;
  eventSourceArn?: string;
  bootstrapServers: string;
  payloadSize: number;
}

export interface KafkaFailureRecord {
  requestContext: RequestContext;
  responseContext?: ResponseContext | null;
  version: '1.0';
  timestamp: string;
  KafkaBatchInfo: KafkaBatchInfoBase & { recordsInfo: Record<string, KafkaRecordsInfo> };
  payload?: KafkaEvent;
}

export interface KafkaTopicFailureRecord {
  requestContext: RequestContext;
  responseContext?: ResponseContext | null;
  version: '1.0';
  timestamp: string;
  KafkaBatchInfo: KafkaBatchInfoBase & { recordInfo: { offset: string; timestamp: string } };
  payload: KafkaEvent;
}

function responsePart(input: FailureRecordInput): { responseContext?: ResponseContext | null } {
  if (input.condition === 'RecordAgeExceeded') return {};
  return { responseContext: input.condition === 'MaximumPayloadSizeExceeded' ? null : responseContextOf(input) };
}

function batchInfoBase(input: KafkaFailureInput, records: StreamRecord[], event: KafkaEvent): KafkaBatchInfoBase {
  return {
    batchSize: records.length,
    ...(event.eventSourceArn === undefined ? {} : { eventSourceArn: event.eventSourceArn }),
    bootstrapServers: event.bootstrapServers,
    payloadSize: eventPayloadBytes(event),
  };
}

/** The record for an SQS/SNS/S3-like destination: one per failed batch. */
export function buildKafkaFailureRecord(input: KafkaFailureInput): KafkaFailureRecord {
  requireRecords(input.records, 'buildKafkaFailureRecord');
  const event = buildKafkaEvent(input.records, input.source);
  const recordsInfo: Record<string, KafkaRecordsInfo> = {};
  for (const record of input.records) {
    const key = kafkaTopicPartition(record.stream, record.partition);
    const info = recordsInfo[key];
    if (info === undefined) {
      recordsInfo[key] = { firstRecordOffset: record.position, lastRecordOffset: record.position, firstRecordTimestamp: isoTimestamp(record.timestamp), lastRecordTimestamp: isoTimestamp(record.timestamp) };
    } else {
      info.lastRecordOffset = record.position;
      info.lastRecordTimestamp = isoTimestamp(record.timestamp);
    }
  }
  return {
    requestContext: requestContextOf(input),
    ...responsePart(input),
    version: '1.0',
    timestamp: isoTimestamp(input.now),
    KafkaBatchInfo: { ...batchInfoBase(input, input.records, event), recordsInfo },
    ...(input.includeRecords ? { payload: event } : {}),
  };
}

/**
 * The messages for a Kafka topic destination: one per failed record, each keyed like the
 * original (undefined when it had none: the producer then spreads them round-robin, like AWS).
 */
export function buildKafkaTopicFailureMessages(input: KafkaFailureInput): Array<{ key: string | undefined; record: KafkaTopicFailureRecord }> {
  requireRecords(input.records, 'buildKafkaTopicFailureMessages');
  return input.records.map((record) => {
    const event = buildKafkaEvent([record], input.source);
    return {
      key: record.key === '' ? undefined : record.key,
      record: {
        requestContext: requestContextOf(input),
        ...responsePart(input),
        version: '1.0',
        timestamp: isoTimestamp(input.now),
        KafkaBatchInfo: { ...batchInfoBase(input, [record], event), recordInfo: { offset: record.position, timestamp: isoTimestamp(record.timestamp) } },
        payload: event,
      },
    };
  });
}
