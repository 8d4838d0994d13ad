/**
 * From a stream address (kafka://..., kinesis://...) to the adapter that serves it. The one
 * place above the adapters that knows both exist; callers get a StreamClient and the stream
 * name, and never see kafkajs or the AWS SDK.
 */
import type { Logger } from '../core/logger';
import { createKafkaStreamClient } from './kafka/kafkaStreamClient';
import { createKinesisStreamClient } from './kinesis/kinesisStreamClient';
import { parseStreamAddress } from './streamAddress';
import type { StreamAddress } from './streamAddress';
import type { StreamClient } from './streamClient';

export interface OpenStreamClientOptions {
  logger?: Logger;
  /** Kafka client id (shows up in broker logs and metrics); ignored for Kinesis */
  clientId?: string;
}

/** Parses `address` if it is a string (ADDRESS_INVALID if it is not a stream address) and builds its adapter. */
export function openStreamClient(address: StreamAddress | string, options: OpenStreamClientOptions = {}): StreamClient {
  const parsed = typeof address === 'string' ? parseStreamAddress(address) : address;
  if (parsed.kind === 'kafka') {
    return createKafkaStreamClient({ brokers: parsed.brokers, clientId: options.clientId, logger: options.logger });
  }
  return createKinesisStreamClient({ endpoint: parsed.endpoint, region: parsed.region, logger: options.logger });
}
