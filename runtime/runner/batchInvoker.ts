/**
 * One invocation of the user's handler with a batch, as Lambda's poller does it: build the
 * AWS-shaped event, take a function instance (warm or cold), invoke with the timeout, and turn
 * the answer into a verdict for the batch processor (success / partial / failed).
 */
import type { Handler } from 'aws-lambda';
import { sleep } from '../../core/retry';
import type { Logger } from 'pino';
import type { StreamRecord } from '../../streams/streamClient';
import type { BatchVerdict } from '../engine/batchProcessor';
import { buildKafkaEvent } from '../events/kafkaEvent';
import { buildKinesisEvent } from '../events/kinesisEvent';
import { itemIdentifierOf } from '../events/itemIdentifier';
import type { InstancePool } from '../instances/instancePool';
import { interpretBatchResponse } from '../invoke/batchResponse';
import { invokeHandler } from '../invoke/invokeHandler';
import type { InvokeOutcome } from '../invoke/invokeHandler';
import type { MappingConfig } from '../mapping/mappingTypes';
import type { RuntimeMetrics } from '../metrics/runtimeMetrics';
import type { SourceIdentity } from './sourceIdentity';

export interface InvocationRecord {
  requestId: string;
  outcome: InvokeOutcome['kind'];
}

export interface BatchInvokerDeps {
  mapping: MappingConfig;
  source: SourceIdentity;
  instances: InstancePool<Handler>;
  metrics: RuntimeMetrics;
  logger: Logger;
}

export function buildEvent(records: StreamRecord[], source: SourceIdentity): unknown {
  if (source.kind === 'kinesis' && source.kinesis) return buildKinesisEvent(records, source.kinesis);
  if (source.kafka) return buildKafkaEvent(records, source.kafka);
  throw new Error(`no event source identity for ${source.kind}`);
}

/** Invokes an event on a pooled instance; an instance whose invocation timed out is not reused (Lambda restarts it). */
export async function invokeOnInstance(deps: BatchInvokerDeps, event: unknown): Promise<InvokeOutcome> {
  const { mapping } = deps;
  const instance = await deps.instances.acquire();
  // Holds the instance, as work inside the handler would; it does not count toward the timeout.
  if (mapping.Runtime.ExtraLatencyMs > 0) await sleep(mapping.Runtime.ExtraLatencyMs);
  const outcome = await invokeHandler(instance.handler, event, {
    functionName: mapping.FunctionName,
    memoryLimitInMB: mapping.Function.MemorySize,
    timeoutMs: mapping.Function.Timeout * 1000,
    region: deps.source.kinesis?.region,
  });
  instance.invocations += 1;
  if (outcome.kind === 'timeout') deps.instances.discard(instance);
  else deps.instances.release(instance);
  return outcome;
}

export function describeFailure(outcome: InvokeOutcome): string {
  if (outcome.kind === 'timeout') return outcome.message;
  if (outcome.kind === 'error') return `${outcome.error.name}: ${outcome.error.message}`;
  return 'success';
}

/** Returns the `invoke` the partition worker calls per batch, plus the request id of the last invocation per partition. */
export function createBatchInvoker(deps: BatchInvokerDeps): { invoke(records: StreamRecord[], partition: string): Promise<BatchVerdict>; lastRequestId(partition: string): string | undefined } {
  const lastRequestIds = new Map<string, string>();
  const reportItems = deps.mapping.FunctionResponseTypes.includes('ReportBatchItemFailures');
  return {
    lastRequestId: (partition) => lastRequestIds.get(partition),
    async invoke(records, partition) {
      const labels = { function: deps.mapping.FunctionName, partition };
      const outcome = await invokeOnInstance(deps, buildEvent(records, deps.source));
      lastRequestIds.set(partition, outcome.requestId);
      deps.metrics.invocations.inc(labels);
      deps.metrics.batchSize.observe({ function: deps.mapping.FunctionName }, records.length);
      deps.metrics.durationSeconds.observe({ function: deps.mapping.FunctionName }, outcome.durationMs / 1000);
      if (outcome.kind !== 'success') {
        deps.metrics.errors.inc(labels);
        deps.logger.warn({ partition, requestId: outcome.requestId, records: records.length, error: describeFailure(outcome) }, 'invocation failed');
        return { kind: 'failed', reason: describeFailure(outcome) };
      }
      const verdict = interpretBatchResponse(outcome.response, records.map((record) => itemIdentifierOf(record, deps.source.kind)), reportItems);
      if (verdict.kind !== 'success') {
        deps.metrics.errors.inc(labels);
        deps.logger.warn({ partition, requestId: outcome.requestId, verdict }, 'batch reported failures');
      }
      return verdict;
    },
  };
}
