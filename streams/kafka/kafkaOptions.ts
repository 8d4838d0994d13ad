/**
 * Options of the Kafka adapter: one object with defaults, validated once, errors naming the
 * field (`kafka.fetchMaxBytes: must be an integer 1024..104857600, got 0`).
 */
import { ConfigError } from '../../core/errors';
import { silentLogger } from '../../core/logger';
import type { Logger } from '../../core/logger';

export interface KafkaStreamClientOptions {
  /** bootstrap brokers, host:port */
  brokers: string[];
  clientId?: string;
  /** pino logger; kafkajs' own log lines are routed into a child of it */
  logger?: Logger;
  /** TCP connect timeout per broker (kafkajs default 1000 ms is short for a busy laptop) */
  connectionTimeoutMs?: number;
  /** how long a request may wait for its response; Fetch long-polls add their wait on top */
  requestTimeoutMs?: number;
  /**
   * Idempotent producer (the Java client's default since Kafka 3.0): the broker drops a batch
   * kafkajs re-sends after a lost response, so internal retries never duplicate records.
   */
  idempotent?: boolean;
  /** how often kafkajs retries a failed produce request before produce() rejects */
  produceRetries?: number;
  /** attempts our own retry layer makes for transient failures (leader moves, lost connections) */
  retries?: number;
  /**
   * Largest record batch sent to one partition, in bytes. Default: the topic's
   * `max.message.bytes` as the broker reports it (1048588 unless configured).
   */
  maxBatchBytes?: number;
  /** most bytes one reader holds from one Fetch: bounds a reader's memory (a single larger batch still comes whole) */
  fetchMaxBytes?: number;
  /**
   * Longest time one Fetch may wait at the broker (Java's fetch.max.wait.ms, 500 ms); a longer
   * read({ waitMs }) sends several. kafkajs lets a connection close only once its requests have
   * answered, so this is also how long a reader's close() may take.
   */
  fetchMaxWaitMs?: number;
  /** how long a topic's partition count and size limit are cached for produce */
  metadataCacheMs?: number;
}

export interface ResolvedKafkaOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  idempotent: boolean;
  produceRetries: number;
  retries: number;
  maxBatchBytes: number | undefined;
  fetchMaxBytes: number;
  fetchMaxWaitMs: number;
  metadataCacheMs: number;
}

const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

function integerIn(path: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) throw new ConfigError(path, `must be an integer ${min}..${max}, got ${String(value)}`);
  return value;
}

export function resolveKafkaOptions(options: KafkaStreamClientOptions): ResolvedKafkaOptions {
  if (!Array.isArray(options.brokers) || options.brokers.length === 0) throw new ConfigError('kafka.brokers', 'needs at least one broker host:port');
  for (const broker of options.brokers) {
    if (typeof broker !== 'string' || !HOST_PORT.test(broker)) throw new ConfigError('kafka.brokers', `"${String(broker)}" is not host:port`);
  }
  const clientId = options.clientId ?? 'sluice';
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(clientId)) throw new ConfigError('kafka.clientId', `must be 1..128 letters, digits, . _ -; got "${clientId}"`);
  const idempotent = options.idempotent ?? true;
  const produceRetries = integerIn('kafka.produceRetries', options.produceRetries, 5, 0, 100);
  // kafkajs refuses an idempotent producer without retries: its guarantee rests on re-sending.
  if (idempotent && produceRetries < 1) throw new ConfigError('kafka.produceRetries', 'must be at least 1 for an idempotent producer');
  return {
    brokers: [...options.brokers],
    clientId,
    logger: options.logger ?? silentLogger,
    connectionTimeoutMs: integerIn('kafka.connectionTimeoutMs', options.connectionTimeoutMs, 3000, 100, 120_000),
    requestTimeoutMs: integerIn('kafka.requestTimeoutMs', options.requestTimeoutMs, 30_000, 1000, 600_000),
    idempotent,
    produceRetries,
    retries: integerIn('kafka.retries', options.retries, 5, 0, 100),
    maxBatchBytes: options.maxBatchBytes === undefined ? undefined : integerIn('kafka.maxBatchBytes', options.maxBatchBytes, 0, 1024, 1024 * 1024 * 1024),
    fetchMaxBytes: integerIn('kafka.fetchMaxBytes', options.fetchMaxBytes, 1024 * 1024, 1024, 100 * 1024 * 1024),
    fetchMaxWaitMs: integerIn('kafka.fetchMaxWaitMs', options.fetchMaxWaitMs, 500, 10, 60_000),
    metadataCacheMs: integerIn('kafka.metadataCacheMs', options.metadataCacheMs, 30_000, 0, 3_600_000),
  };
}
