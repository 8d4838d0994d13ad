import { KafkaJSAggregateError, KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSRequestTimeoutError } from 'kafkajs';
import { SluiceError } from '../../../core/errors';
import { kafkaErrorType, toSluiceError } from '../../../streams/kafka/kafkaErrors';

/** A protocol error as kafkajs builds it from a broker error code (src/protocol/error.js). */
function protocolError(type: string, code: number, retriable: boolean): KafkaJSProtocolError {
  return new KafkaJSProtocolError(Object.assign(new Error(`broker said ${type}`), { type, code, retriable }));
}

const context = { operation: 'produce to', stream: 'telemetry' };

describe('kafka error mapping', () => {
  it.each([
    ['UNKNOWN_TOPIC_OR_PARTITION', 3, 'STREAM_NOT_FOUND', false],
    ['TOPIC_ALREADY_EXISTS', 36, 'STREAM_EXISTS', false],
    ['MESSAGE_TOO_LARGE', 10, 'RECORD_TOO_LARGE', false],
    ['INVALID_TIMESTAMP', 32, 'RECORD_INVALID', false],
    ['NOT_LEADER_FOR_PARTITION', 6, 'STREAM_NOT_READY', true],
    ['LEADER_NOT_AVAILABLE', 5, 'STREAM_NOT_READY', true],
    ['REQUEST_TIMED_OUT', 7, 'TIMEOUT', true],
    ['OUT_OF_ORDER_SEQUENCE_NUMBER', 45, 'PRODUCE_FAILED', true],
    ['INVALID_TOPIC_EXCEPTION', 17, 'ADDRESS_INVALID', false],
  ])('maps broker error %s to %s', (type, code, expected, retriable) => {
    const mapped = toSluiceError(protocolError(type, code, true), context);
    expect(mapped.code).toBe(expected);
    expect(mapped.retriable).toBe(retriable);
    expect(mapped.message).toContain('kafka produce to "telemetry"');
  });

  it('looks through "retries exhausted" to the error that was retried, and keeps it retriable', () => {
    const exhausted = new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('Connection error: ECONNREFUSED'), { retryCount: 5, retryTime: 3000 });
    expect(exhausted.retriable).toBe(false); // kafkajs' own view
    expect(kafkaErrorType(exhausted)).toBe('KafkaJSConnectionError');
    const mapped = toSluiceError(exhausted, context);
    expect(mapped.code).toBe('CONNECTION_FAILED');
    expect(mapped.retriable).toBe(true);
    expect(mapped.cause).toBe(exhausted);
  });

  it('looks through kafkajs\' non-retriable wrapper (a bailed retry) to its cause', () => {
    const inner = protocolError('MESSAGE_TOO_LARGE', 10, false);
    // what kafkajs' retrier does on bail: new KafkaJSNonRetriableError(e, { cause: e }) (its .d.ts omits the second argument)
    const bailed = Object.assign(new KafkaJSNonRetriableError(inner), { cause: inner });
    expect(bailed.name).toBe('KafkaJSNonRetriableError');
    expect(toSluiceError(bailed, context).code).toBe('RECORD_TOO_LARGE');
  });

  it('looks into aggregate errors (per-topic answers of admin requests)', () => {
    const aggregate = new KafkaJSAggregateError('Topic creation errors', [protocolError('TOPIC_ALREADY_EXISTS', 36, false)]);
    expect(toSluiceError(aggregate, { operation: 'createStream', stream: 't' }).code).toBe('STREAM_EXISTS');
  });

  it('maps request timeouts by class name', () => {
    expect(toSluiceError(new KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 7) timed out'), context).code).toBe('TIMEOUT');
  });

  it('passes SluiceErrors through and names unknown kafkajs errors in the message', () => {
    const ours = new SluiceError('POSITION_EXPIRED', 'gone');
    expect(toSluiceError(ours, context)).toBe(ours);
    const unknown = toSluiceError(protocolError('CLUSTER_AUTHORIZATION_FAILED', 31, false), context);
    expect(unknown.code).toBe('UNKNOWN');
    expect(unknown.retriable).toBe(false);
    expect(unknown.message).toContain('CLUSTER_AUTHORIZATION_FAILED');
    expect(toSluiceError('a string', context).code).toBe('UNKNOWN');
  });
});
