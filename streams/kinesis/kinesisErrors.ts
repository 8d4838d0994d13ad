/**
 * The one place where AWS SDK / Kinesis errors become SluiceErrors. Everything in
 * streams/kinesis calls the SDK through kinesisCall (kinesisSdk.ts), which runs this, so the
 * rest of sluice sees only error codes and a `retriable` flag, never SDK exception classes.
 */
import { SluiceError } from '../../core/errors';
import type { ErrorCode } from '../../core/errors';

/** What was being done when the error happened: it decides the code and names things in the message. */
export interface KinesisCallContext {
  operation: string;
  stream?: string;
  shard?: string;
}

/** Control-plane calls whose LimitExceededException means an account limit (shards, streams), not a request rate. */
const LIMITED_BY_ACCOUNT = new Set(['CreateStream', 'SplitShard', 'MergeShards', 'UpdateShardCount']);
const ITERATOR_OPERATIONS = new Set(['GetShardIterator', 'GetRecords']);

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'ERR_SOCKET_CONNECTION_TIMEOUT']);
const TIMEOUT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
}

/**
 * The SDK's retry middleware re-wraps an error that is not `instanceof Error` of its own realm
 * as "AWS SDK error wrapper for Error: connect ECONNREFUSED ...", dropping `code`. That happens
 * whenever the SDK runs in a vm context (jest does this), so read the errno from the text then.
 */
function errnoInMessage(message: string | undefined): string | undefined {
  return message === undefined ? undefined : /\b(E[A-Z]{4,}|ERR_SOCKET_CONNECTION_TIMEOUT)\b/.exec(message)?.[1];
}

function describeTarget(context: KinesisCallContext): string {
  const stream = context.stream === undefined ? '' : ` on stream "${context.stream}"`;
  const shard = context.shard === undefined ? '' : ` shard "${context.shard}"`;
  return `Kinesis ${context.operation}${stream}${shard}`;
}

function classify(shape: SdkErrorShape, context: KinesisCallContext): { code: ErrorCode; retriable?: boolean } {
  const name = shape.name ?? '';
  switch (name) {
    case 'ResourceNotFoundException':
      // Kinesis says "not found" for a missing stream and for a missing shard alike; callers
      // that pass a shard decide which it was (kinesisShards.resolveNotFound).
      return { code: 'STREAM_NOT_FOUND' };
    case 'ResourceInUseException':
      // CreateStream: the name is taken. Anything else: the stream is CREATING/UPDATING/DELETING.
      return context.operation === 'CreateStream' ? { code: 'STREAM_EXISTS' } : { code: 'STREAM_NOT_READY' };
    case 'ProvisionedThroughputExceededException':
    case 'KMSThrottlingException':
    case 'ThrottlingException':
      return { code: 'THROUGHPUT_EXCEEDED' };
    case 'LimitExceededException':
      return LIMITED_BY_ACCOUNT.has(context.operation) ? { code: 'LIMIT_EXCEEDED' } : { code: 'THROUGHPUT_EXCEEDED' };
    case 'ExpiredIteratorException':
    case 'ExpiredNextTokenException':
      return { code: 'POSITION_EXPIRED' };
    case 'InvalidArgumentException':
    case 'ValidationException':
    case 'SerializationException':
      if (ITERATOR_OPERATIONS.has(context.operation)) return { code: 'POSITION_INVALID' };
      if (context.operation === 'PutRecords') return { code: 'RECORD_INVALID' };
      return { code: 'CONFIG_INVALID' };
    case 'InternalFailure':
    case 'InternalFailureException':
    case 'ServiceUnavailable':
    case 'ServiceUnavailableException':
      return { code: 'SERVICE_UNAVAILABLE' };
  }
  const errno = shape.code ?? errnoInMessage(shape.message);
  if (TIMEOUT_NAMES.has(name) || errno === 'ETIMEDOUT') return { code: 'TIMEOUT' };
  if (errno !== undefined && NETWORK_CODES.has(errno)) return { code: 'CONNECTION_FAILED' };
  if (shape.$fault === 'server' || (shape.$metadata?.httpStatusCode ?? 0) >= 500) return { code: 'SERVICE_UNAVAILABLE' };
  // KMS access problems, bad credentials, unknown exceptions: asking again will not help.
  return { code: 'UNKNOWN', retriable: false };
}

/** Turns anything the SDK threw into a SluiceError with a code, a retriable flag and a message naming the call. */
export function toSluiceError(error: unknown, context: KinesisCallContext): SluiceError {
  if (error instanceof SluiceError) return error;
  const shape: SdkErrorShape = typeof error === 'object' && error !== null ? (error as SdkErrorShape) : { message: String(error) };
  const { code, retriable } = classify(shape, context);
  const cause = [shape.name, shape.code].filter((part) => part !== undefined && part !== '' && part !== 'Error').join('/');
  const message = `${describeTarget(context)} failed${cause ? ` (${cause})` : ''}: ${shape.message ?? String(error)}`;
  return new SluiceError(code, message, retriable === undefined ? { cause: error } : { cause: error, retriable });
}

/** The error for a record Kinesis refused inside a PutRecords response (per-entry ErrorCode). */
export function entryErrorCode(errorCode: string): ErrorCode {
  if (errorCode === 'ProvisionedThroughputExceededException') return 'THROUGHPUT_EXCEEDED';
  if (errorCode === 'InternalFailure') return 'SERVICE_UNAVAILABLE';
  return classify({ name: errorCode }, { operation: 'PutRecords' }).code;
}
