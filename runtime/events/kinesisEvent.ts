/**
 * Kinesis events exactly as Lambda builds them (Lambda developer guide, "Example Kinesis
 * record event"): base64 data, approximateArrivalTimestamp in epoch SECONDS with a fraction,
 * eventID `<shardId>:<sequenceNumber>`, one entry per record in shard order.
 */
import type { KinesisStreamEvent, KinesisStreamRecord, KinesisStreamTumblingWindowEvent } from 'aws-lambda';
import type { StreamRecord } from '../../streams/streamClient';
import { LOCAL_EXECUTION_ROLE_ARN } from './arns';

export interface KinesisEventSource {
  streamArn: string;
  region: string;
  /** the function's execution role; default: the fixed local role (see arns.ts) */
  invokeIdentityArn?: string;
}

export function buildKinesisRecord(record: StreamRecord, source: KinesisEventSource): KinesisStreamRecord {
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: record.key,
      sequenceNumber: record.position,
      data: record.value.toString('base64'),
      approximateArrivalTimestamp: record.arrivalTime / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${record.partition}:${record.position}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: source.invokeIdentityArn ?? LOCAL_EXECUTION_ROLE_ARN,
    awsRegion: source.region,
    eventSourceARN: source.streamArn,
  };
}

export function buildKinesisEvent(records: StreamRecord[], source: KinesisEventSource): KinesisStreamEvent {
  return { Records: records.map((record) => buildKinesisRecord(record, source)) };
}

/**
 * The tumbling-window event AWS sends (with-kinesis "KinesisTimeWindowEvent"). @types/aws-lambda
 * leaves out shardId and eventSourceARN, which AWS does send; state is `{}` at a window's start.
 */
export interface KinesisTumblingWindowEvent extends KinesisStreamTumblingWindowEvent {
  state: Record<string, unknown>;
  shardId: string;
  eventSourceARN: string;
}

export interface TumblingWindowInvocation {
  /** window bounds in epoch ms (start inclusive, end exclusive) */
  window: { start: number; end: number };
  /** what the previous invocation of this window returned as state; undefined at the window's start */
  state?: Record<string, unknown>;
  shardId: string;
  isFinalInvokeForWindow: boolean;
  isWindowTerminatedEarly: boolean;
}

/** `2020-12-09T07:04:00Z`, AWS's format for window bounds (milliseconds only when not zero). */
export function windowTimestamp(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('.000Z', 'Z');
}

/** The tumbling window (epoch ms) a record arriving at `arrivalTimeMs` belongs to; windows are aligned to the epoch. */
export function tumblingWindowOf(arrivalTimeMs: number, windowSeconds: number): { start: number; end: number } {
  const size = windowSeconds * 1000;
  const start = Math.floor(arrivalTimeMs / size) * size;
  return { start, end: start + size };
}

export function buildTumblingWindowEvent(records: StreamRecord[], source: KinesisEventSource, invocation: TumblingWindowInvocation): KinesisTumblingWindowEvent {
  return {
    Records: records.map((record) => buildKinesisRecord(record, source)),
    window: { start: windowTimestamp(invocation.window.start), end: windowTimestamp(invocation.window.end) },
    state: invocation.state ?? {},
    shardId: invocation.shardId,
    eventSourceARN: source.streamArn,
    isFinalInvokeForWindow: invocation.isFinalInvokeForWindow,
    isWindowTerminatedEarly: invocation.isWindowTerminatedEarly,
  };
}
