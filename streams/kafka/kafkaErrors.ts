/**
 * The one place kafkajs errors become SluiceErrors. kafkajs wraps what went wrong in layers
 * (KafkaJSNumberOfRetriesExceeded or KafkaJSNonRetriableError around the last attempt's error,
 * KafkaJSAggregateError around per-topic errors), so the mapping looks at the innermost error first.
 */
import { SluiceError, errorMessage, isSluiceError } from '../../core/errors';
import type { ErrorCode } from '../../core/errors';

/** What the adapter was doing, for the message: `produce to "telemetry": ...`. */
export interface KafkaErrorContext {
  operation: string;
  stream?: string;
  partition?: string;
}

interface KafkajsErrorShape {
  name?: unknown;
  type?: unknown;
  message?: unknown;
  cause?: unknown;
  originalError?: unknown;
  errors?: unknown;
}

function shape(error: unknown): KafkajsErrorShape | undefined {
  return typeof error === 'object' && error !== null ? (error as KafkajsErrorShape) : undefined;
}

/** kafkajs errors that only say "this failed" around the error that says why (its retrier's wrappers). */
const WRAPPERS = new Set(['KafkaJSNumberOfRetriesExceeded', 'KafkaJSNonRetriableError', 'KafkaJSError']);

/** The innermost kafkajs error: the one that names the broker's error code. */
export function innermostKafkaError(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 10; depth++) {
    const fields = shape(current);
    if (!fields) return current;
    if (WRAPPERS.has(String(fields.name)) && typeof fields.type !== 'string' && typeof fields.cause === 'object' && fields.cause !== null) current = fields.cause;
    else if (fields.name === 'KafkaJSAggregateError' && Array.isArray(fields.errors) && fields.errors.length > 0) current = fields.errors[0];
    else return current;
  }
  return current;
}

/** The broker's error type (`UNKNOWN_TOPIC_OR_PARTITION`) or the kafkajs error class name. */
export function kafkaErrorType(error: unknown): string | undefined {
  const fields = shape(innermostKafkaError(error));
  if (!fields) return undefined;
  if (typeof fields.type === 'string') return fields.type;
  return typeof fields.name === 'string' ? fields.name : undefined;
}

const CODE_BY_TYPE: Record<string, ErrorCode> = {
  UNKNOWN_TOPIC_OR_PARTITION: 'STREAM_NOT_FOUND',
  UNKNOWN_TOPIC_ID: 'STREAM_NOT_FOUND',
  TOPIC_ALREADY_EXISTS: 'STREAM_EXISTS',
  MESSAGE_TOO_LARGE: 'RECORD_TOO_LARGE',
  RECORD_LIST_TOO_LARGE: 'RECORD_TOO_LARGE',
  INVALID_TOPIC_EXCEPTION: 'ADDRESS_INVALID',
  INVALID_PARTITIONS: 'CONFIG_INVALID',
  INVALID_REPLICATION_FACTOR: 'CONFIG_INVALID',
  INVALID_REPLICA_ASSIGNMENT: 'CONFIG_INVALID',
  INVALID_CONFIG: 'CONFIG_INVALID',
  POLICY_VIOLATION: 'CONFIG_INVALID',
  INVALID_TIMESTAMP: 'RECORD_INVALID',
  INVALID_RECORD: 'RECORD_INVALID',
  CORRUPT_MESSAGE: 'RECORD_INVALID',
  OFFSET_OUT_OF_RANGE: 'POSITION_INVALID',
  // leadership moving, a broker starting or a replica catching up: asking again helps
  LEADER_NOT_AVAILABLE: 'STREAM_NOT_READY',
  NOT_LEADER_FOR_PARTITION: 'STREAM_NOT_READY',
  FENCED_LEADER_EPOCH: 'STREAM_NOT_READY',
  UNKNOWN_LEADER_EPOCH: 'STREAM_NOT_READY',
  REPLICA_NOT_AVAILABLE: 'STREAM_NOT_READY',
  NOT_ENOUGH_REPLICAS: 'STREAM_NOT_READY',
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 'STREAM_NOT_READY',
  NOT_CONTROLLER: 'STREAM_NOT_READY',
  OFFSET_NOT_AVAILABLE: 'STREAM_NOT_READY',
  KAFKA_STORAGE_ERROR: 'STREAM_NOT_READY',
  KafkaJSMetadataNotLoaded: 'STREAM_NOT_READY',
  KafkaJSTopicMetadataNotLoaded: 'STREAM_NOT_READY',
  REQUEST_TIMED_OUT: 'TIMEOUT',
  KafkaJSRequestTimeoutError: 'TIMEOUT',
  KafkaJSTimeout: 'TIMEOUT',
  KafkaJSLockTimeout: 'TIMEOUT',
  NETWORK_EXCEPTION: 'CONNECTION_FAILED',
  BROKER_NOT_AVAILABLE: 'CONNECTION_FAILED',
  KafkaJSConnectionError: 'CONNECTION_FAILED',
  KafkaJSConnectionClosedError: 'CONNECTION_FAILED',
  KafkaJSBrokerNotFound: 'CONNECTION_FAILED',
  KafkaJSNoBrokerAvailableError: 'CONNECTION_FAILED',
  // the broker throttles a client over its quota
  THROTTLING_QUOTA_EXCEEDED: 'THROUGHPUT_EXCEEDED',
  // the idempotent producer's sequence got out of step: a fresh attempt starts a new sequence
  OUT_OF_ORDER_SEQUENCE_NUMBER: 'PRODUCE_FAILED',
  INVALID_PRODUCER_EPOCH: 'PRODUCE_FAILED',
  UNKNOWN_PRODUCER_ID: 'PRODUCE_FAILED',
  INVALID_PRODUCER_ID_MAPPING: 'PRODUCE_FAILED',
};

function describe(context: KafkaErrorContext): string {
  const where = context.stream === undefined ? '' : ` "${context.stream}"${context.partition === undefined ? '' : ` partition ${context.partition}`}`;
  return `kafka ${context.operation}${where}`;
}

/**
 * A SluiceError for anything kafkajs threw. SluiceErrors pass through unchanged. The retriable
 * flag comes from our code table, not from kafkajs: kafkajs marks "retries exhausted" as
 * non-retriable even when the cause (a lost connection) may well heal by the next call.
 */
export function toSluiceError(error: unknown, context: KafkaErrorContext): SluiceError {
  if (isSluiceError(error)) return error;
  const type = kafkaErrorType(error);
  const code: ErrorCode = (type !== undefined ? CODE_BY_TYPE[type] : undefined) ?? 'UNKNOWN';
  const detail = errorMessage(innermostKafkaError(error));
  const typeNote = type !== undefined && code === 'UNKNOWN' ? ` (${type})` : '';
  return new SluiceError(code, `${describe(context)}: ${detail}${typeNote}`, { cause: error });
}

export function isKafkaErrorType(error: unknown, ...types: string[]): boolean {
  const type = kafkaErrorType(error);
  return type !== undefined && types.includes(type);
}
