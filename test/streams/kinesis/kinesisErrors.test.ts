/**
 * SDK errors become SluiceErrors in one place. The table uses the SDK's own exception
 * classes; the connection failure is a real one (a port nobody listens on).
 */
import net from 'node:net';
import {
  ExpiredIteratorException,
  InternalFailureException,
  InvalidArgumentException,
  KMSAccessDeniedException,
  LimitExceededException,
  ProvisionedThroughputExceededException,
  ResourceInUseException,
  ResourceNotFoundException,
} from '@aws-sdk/client-kinesis';
import { ConfigError, SluiceError, isSluiceError } from '../../../core/errors';
import type { ErrorCode } from '../../../core/errors';
import { toSluiceError } from '../../../streams/kinesis/kinesisErrors';
import { createKinesisStreamClient } from '../../../streams/kinesis/kinesisStreamClient';

const meta = { $metadata: { httpStatusCode: 400 }, message: 'from the service' };

describe('kinesis error mapping', () => {
  it.each<[string, Error, string, ErrorCode, boolean]>([
    ['missing stream', new ResourceNotFoundException(meta), 'DescribeStreamSummary', 'STREAM_NOT_FOUND', false],
    ['name taken', new ResourceInUseException(meta), 'CreateStream', 'STREAM_EXISTS', false],
    ['stream still CREATING', new ResourceInUseException(meta), 'ListShards', 'STREAM_NOT_READY', true],
    ['shard throughput', new ProvisionedThroughputExceededException(meta), 'GetRecords', 'THROUGHPUT_EXCEEDED', true],
    ['control-plane rate', new LimitExceededException(meta), 'ListShards', 'THROUGHPUT_EXCEEDED', true],
    ['shard limit of the account', new LimitExceededException(meta), 'CreateStream', 'LIMIT_EXCEEDED', false],
    ['expired iterator', new ExpiredIteratorException(meta), 'GetRecords', 'POSITION_EXPIRED', false],
    ['bad sequence number', new InvalidArgumentException(meta), 'GetShardIterator', 'POSITION_INVALID', false],
    ['bad record', new InvalidArgumentException(meta), 'PutRecords', 'RECORD_INVALID', false],
    ['bad stream parameters', new InvalidArgumentException(meta), 'CreateStream', 'CONFIG_INVALID', false],
    ['service failure', new InternalFailureException({ ...meta, $metadata: { httpStatusCode: 500 } }), 'PutRecords', 'SERVICE_UNAVAILABLE', true],
    ['KMS access denied', new KMSAccessDeniedException(meta), 'PutRecords', 'UNKNOWN', false],
  ])('maps %s', (_label, error, operation, code, retriable) => {
    const mapped = toSluiceError(error, { operation, stream: 'telemetry' });
    expect(mapped.code).toBe(code);
    expect(mapped.retriable).toBe(retriable);
    expect(mapped.message).toContain(`Kinesis ${operation} on stream "telemetry"`);
    expect(mapped.message).toContain('from the service');
    expect(mapped.cause).toBe(error);
  });

  it('maps network errors by their code, and leaves SluiceErrors alone', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(toSluiceError(refused, { operation: 'PutRecords' }).code).toBe('CONNECTION_FAILED');
    // what the SDK's retry middleware leaves of a network error raised in another realm (jest's vm)
    expect(toSluiceError(new Error('AWS SDK error wrapper for Error: connect ECONNREFUSED 127.0.0.1:1'), { operation: 'PutRecords' }).code).toBe('CONNECTION_FAILED');
    const timedOut = Object.assign(new Error('timed out'), { name: 'TimeoutError' });
    expect(toSluiceError(timedOut, { operation: 'PutRecords' }).code).toBe('TIMEOUT');
    const ours = new SluiceError('POSITION_INVALID', 'already mapped');
    expect(toSluiceError(ours, { operation: 'GetRecords' })).toBe(ours);
  });

  it('gives a retriable CONNECTION_FAILED when nothing listens at the endpoint, after its retries', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address() as net.AddressInfo;
        probe.close(() => resolve(address.port));
      });
    });
    const client = createKinesisStreamClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', retry: { retries: 1, initialDelayMs: 1, maxDelayMs: 1 } });
    let caught: unknown;
    try {
      await client.describeStream('anything');
    } catch (error) {
      caught = error;
    } finally {
      await client.close();
    }
    expect(isSluiceError(caught, 'CONNECTION_FAILED')).toBe(true);
    expect((caught as SluiceError).retriable).toBe(true);
  });

  it.each([
    ['kinesis.endpoint', { endpoint: '127.0.0.1:4567', region: 'us-east-1' }],
    ['kinesis.region', { endpoint: 'http://127.0.0.1:4567', region: '' }],
    ['kinesis.pollIntervalMs', { endpoint: 'http://127.0.0.1:4567', region: 'us-east-1', pollIntervalMs: -1 }],
    ['kinesis.retry.retries', { endpoint: 'http://127.0.0.1:4567', region: 'us-east-1', retry: { retries: 1.5 } }],
  ])('refuses bad options with a ConfigError naming %s', (path, options) => {
    let caught: unknown;
    try {
      createKinesisStreamClient(options);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).path).toBe(path);
  });
});
