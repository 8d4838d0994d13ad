/**
 * The failure record a Kinesis mapping sends to its on-failure destination (ESM.md "Failure
 * destination record", verified against AWS): not the data but where it is, in
 * KinesisBatchInfo. Details reproduced:
 * - responseContext is `{ statusCode: 200, executedVersion: "$LATEST", functionError }`, with
 *   functionError "Unhandled" after an error and null after a partial batch response;
 * - there is NO responseContext at all for RecordAgeExceeded (nothing was invoked); sluice
 *   leaves it out for MaximumPayloadSizeExceeded too, for the same reason (not verified);
 * - timestamp and approximateArrivalOf... are ISO strings with milliseconds.
 * With includeRecords (beyond AWS, like AWS's S3 destination) `payload: { Records }` carries the
 * full event records, so the batch can be replayed.
 */
import type { KinesisStreamRecord } from 'aws-lambda';
import type { StreamRecord } from '../../streams/streamClient';
import { DEFAULT_REGION, regionOfArn } from '../events/arns';
import { buildKinesisRecord } from '../events/kinesisEvent';
import type { FailureRecordInput, RequestContext, ResponseContext } from './failureContext';
import { isoTimestamp, requestContextOf, requireRecords, responseContextOf } from './failureContext';

export interface KinesisFailureInput extends FailureRecordInput {
  /** the failed records, in shard order */
  records: StreamRecord[];
  shardId: string;
  streamArn: string;
  /** for payload records (default: the function's local role) */
  invokeIdentityArn?: string;
}

export interface KinesisBatchInfo {
  shardId: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
  approximateArrivalOfFirstRecord: string;
  approximateArrivalOfLastRecord: string;
  batchSize: number;
  streamArn: string;
}

export interface KinesisFailureRecord {
  requestContext: RequestContext;
  responseContext?: ResponseContext;
  version: '1.0';
  timestamp: string;
  KinesisBatchInfo: KinesisBatchInfo;
  payload?: { Records: KinesisStreamRecord[] };
}

export function buildKinesisFailureRecord(input: KinesisFailureInput): KinesisFailureRecord {
  const [first, last] = requireRecords(input.records, 'buildKinesisFailureRecord');
  const invoked = input.condition === 'RetryAttemptsExhausted';
  const region = regionOfArn(input.streamArn) ?? DEFAULT_REGION;
  return {
    requestContext: requestContextOf(input),
    ...(invoked ? { responseContext: responseContextOf(input) } : {}),
    version: '1.0',
    timestamp: isoTimestamp(input.now),
    KinesisBatchInfo: {
      shardId: input.shardId,
      startSequenceNumber: first.position,
      endSequenceNumber: last.position,
      approximateArrivalOfFirstRecord: isoTimestamp(first.arrivalTime),
      approximateArrivalOfLastRecord: isoTimestamp(last.arrivalTime),
      batchSize: input.records.length,
      streamArn: input.streamArn,
    },
    ...(input.includeRecords
      ? { payload: { Records: input.records.map((record) => buildKinesisRecord(record, { streamArn: input.streamArn, region, ...(input.invokeIdentityArn ? { invokeIdentityArn: input.invokeIdentityArn } : {}) })) } }
      : {}),
  };
}
