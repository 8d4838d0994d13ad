/**
 * Building the AWS SDK client and calling it: the only file besides the commands' users that
 * knows how the SDK is configured. Every call goes through kinesisCall, so error mapping
 * (kinesisErrors.ts) and retries (core/retry.ts) happen in one place.
 */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import type { KinesisClientConfig } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ConfigError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { withRetry } from '../../core/retry';
import type { RetryOptions } from '../../core/retry';
import { toSluiceError } from './kinesisErrors';
import type { KinesisCallContext } from './kinesisErrors';

export interface KinesisConnectionOptions {
  /** http://host:port of a local endpoint (kinesalite); undefined = AWS itself, with the default credential chain */
  endpoint?: string;
  region: string;
  /** explicit credentials; a local endpoint gets dummy ones when none are given */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** ms to wait for a TCP connection / for a whole request before giving up (local endpoint only) */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export function createKinesisSdkClient(options: KinesisConnectionOptions): KinesisClient {
  if (typeof options.region !== 'string' || options.region === '') throw new ConfigError('kinesis.region', 'must be a non-empty AWS region name');
  const config: KinesisClientConfig = {
    region: options.region,
    // One retry policy for the whole adapter (core/retry.ts, through kinesisCall): the SDK's
    // own retries would multiply attempts and hide throttling from our backoff.
    maxAttempts: 1,
  };
  if (options.credentials) config.credentials = options.credentials;
  if (options.endpoint !== undefined) {
    if (!/^https?:\/\/[^/]+\/?$/.test(options.endpoint)) throw new ConfigError('kinesis.endpoint', `must be http://host:port or https://host:port, got "${options.endpoint}"`);
    config.endpoint = options.endpoint;
    // The Kinesis client defaults to an HTTP/2 handler; kinesalite speaks HTTP/1.1 only.
    config.requestHandler = new NodeHttpHandler({
      connectionTimeout: options.connectionTimeoutMs ?? 5000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      // without this a request past the timeout only logs a warning and hangs on
      throwOnRequestTimeout: true,
    });
    config.credentials ??= { accessKeyId: 'sluice-local', secretAccessKey: 'sluice-local' };
  }
  return new KinesisClient(config);
}

/**
 * Runs one SDK call with the adapter's retry policy: retriable SluiceErrors (throttling,
 * connection failures, a stream still CREATING) are retried with full-jitter backoff; the
 * rest are thrown at once.
 */
export function kinesisCall<T>(context: KinesisCallContext, retry: RetryOptions, logger: Logger, send: () => Promise<T>): Promise<T> {
  return withRetry(
    async () => {
      try {
        return await send();
      } catch (error) {
        throw toSluiceError(error, context);
      }
    },
    {
      ...retry,
      onRetry: (error, attempt, delayMs) => logger.debug({ err: error, attempt, delayMs, ...context }, 'retrying Kinesis call'),
    },
  );
}
