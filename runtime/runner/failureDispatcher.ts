/**
 * Hands what a batch could not process to the mapping's on-failure destination, shaped as
 * AWS shapes it (a Kinesis batch-info record, or per-record Kafka failure messages). Without a
 * destination AWS bypasses the records; we do too, but never silently: a warning names the
 * positions and a counter counts them. Delivery to the destination is retried until it
 * succeeds (the shard waits), because a failure record that is lost is a silent data loss.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { errorMessage } from '../../core/errors';
import { backoffDelay, sleep } from '../../core/retry';
import type { StreamClient, StreamRecordInput } from '../../streams/streamClient';
import type { FailedBatch } from '../engine/batchProcessor';
import { buildKafkaFailureRecord, buildKafkaTopicFailureMessages } from '../failure/kafkaFailureRecord';
import { buildKinesisFailureRecord } from '../failure/kinesisFailureRecord';
import type { MappingConfig } from '../mapping/mappingTypes';
import type { RuntimeMetrics } from '../metrics/runtimeMetrics';
import type { SourceIdentity } from './sourceIdentity';

export interface FailureDestination {
  client: StreamClient;
  stream: string;
}

export interface FailureDispatcherDeps {
  mapping: MappingConfig;
  source: SourceIdentity;
  destination: FailureDestination | undefined;
  lastRequestId(partition: string): string | undefined;
  metrics: RuntimeMetrics;
  logger: Logger;
  now?: () => number;
}

/** The stream records the destination receives for one failed batch. */
export function failureMessages(deps: FailureDispatcherDeps, partition: string, failure: FailedBatch): StreamRecordInput[] {
  const now = (deps.now ?? Date.now)();
  const common = {
    requestId: deps.lastRequestId(partition) ?? randomUUID(),
    functionArn: deps.source.functionArn,
    condition: failure.condition,
    approximateInvokeCount: failure.invokeCount,
    // RecordAgeExceeded records were never invoked: AWS leaves responseContext out for them
    functionError: failure.functionError ?? null,
    now,
    includeRecords: deps.mapping.DestinationConfig?.OnFailure.IncludeRecords ?? false,
  };
  const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
  if (deps.source.kind === 'kinesis' && deps.source.kinesis) {
    const record = buildKinesisFailureRecord({ ...common, records: failure.records, shardId: partition, streamArn: deps.source.kinesis.streamArn });
    return [{ key: partition, value: json(record), timestamp: now }];
  }
  if (!deps.source.kafka) throw new Error('kafka source without identity');
  const input = { ...common, records: failure.records, source: deps.source.kafka };
  if (deps.destination?.client.kind === 'kafka') {
    return buildKafkaTopicFailureMessages(input).map(({ key, record }) => ({ key: key ?? partition, value: json(record), timestamp: now }));
  }
  return [{ key: partition, value: json(buildKafkaFailureRecord(input)), timestamp: now }];
}

export function createFailureDispatcher(deps: FailureDispatcherDeps): (partition: string, failure: FailedBatch, signal?: AbortSignal) => Promise<void> {
  return async (partition, failure, signal) => {
    const labels = { function: deps.mapping.FunctionName, partition, condition: failure.condition };
    const first = failure.records[0]?.position;
    const last = failure.records[failure.records.length - 1]?.position;
    deps.metrics.failureDestinationRecords.inc(labels, failure.records.length);
    if (!deps.destination) {
      deps.logger.warn({ partition, condition: failure.condition, records: failure.records.length, first, last, reason: failure.lastReason }, 'no on-failure destination: records bypassed (AWS behaviour)');
      return;
    }
    const messages = failureMessages(deps, partition, failure);
    for (let attempt = 0; ; attempt++) {
      try {
        await deps.destination.client.produce(deps.destination.stream, messages);
        deps.logger.info({ partition, condition: failure.condition, records: failure.records.length, first, last }, 'sent to on-failure destination');
        return;
      } catch (error) {
        signal?.throwIfAborted();
        const delay = backoffDelay(Math.min(attempt, 10), { initialDelayMs: 200, maxDelayMs: 10_000, factor: 2 });
        deps.logger.error({ partition, attempt, error: errorMessage(error), delayMs: delay }, 'on-failure destination unavailable; the shard waits');
        await sleep(delay, signal);
      }
    }
  };
}
