/**
 * The parts every ESM failure record shares (Lambda developer guide, "Capturing discarded
 * batches", ESM.md "Failure record"): requestContext, responseContext, version, timestamp.
 */
import { SluiceError } from '../../core/errors';

export type FailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded' | 'MaximumPayloadSizeExceeded';

export interface FailureRecordInput {
  /** the awsRequestId of the last invocation (any fresh uuid when the records were never invoked) */
  requestId: string;
  functionArn: string;
  condition: FailureCondition;
  /** 1 + retries done */
  approximateInvokeCount: number;
  /** 'Unhandled' after a thrown error or timeout; null after a partial batch response */
  functionError: 'Unhandled' | null;
  /** epoch ms the record is written */
  now: number;
  /** beyond AWS: put the failed records in `payload` (what AWS's S3 destination does) */
  includeRecords?: boolean;
}

export interface RequestContext {
  requestId: string;
  functionArn: string;
  condition: FailureCondition;
  approximateInvokeCount: number;
}

export interface ResponseContext {
  statusCode: number;
  executedVersion: string;
  functionError: 'Unhandled' | null;
}

export function requestContextOf(input: FailureRecordInput): RequestContext {
  return { requestId: input.requestId, functionArn: input.functionArn, condition: input.condition, approximateInvokeCount: input.approximateInvokeCount };
}

/** The function's answer, as Lambda reports it: always status 200 and $LATEST for an invoked batch. */
export function responseContextOf(input: FailureRecordInput): ResponseContext {
  return { statusCode: 200, executedVersion: '$LATEST', functionError: input.functionError };
}

/** ISO 8601 with milliseconds, as in every AWS failure record. */
export function isoTimestamp(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

export function requireRecords<T>(records: T[], what: string): [T, T] {
  const first = records[0];
  const last = records[records.length - 1];
  if (first === undefined || last === undefined) throw new SluiceError('OPERATION_INVALID', `${what}: a failure record needs at least one record`);
  return [first, last];
}
