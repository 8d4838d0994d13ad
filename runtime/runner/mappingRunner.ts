/**
 * Runs one event source mapping in this process: owns partitions (Redis leases on Kinesis,
 * the consumer group on Kafka), runs a PartitionWorker per owned partition, invokes the
 * handler on pooled function instances, sends failures to the destination, and drains on stop
 * (in-flight batches finish and are checkpointed; nothing new starts). Several runners of the
 * same mapping, in one process or many, share the partitions between them.
 */
import { randomUUID } from 'node:crypto';
import type { Handler } from 'aws-lambda';
import type { Logger } from 'pino';
import { SluiceError, errorMessage } from '../../core/errors';
import { silentLogger } from '../../core/logger';
import { backoffDelay, sleep } from '../../core/retry';
import { parseStreamAddress } from '../../streams/streamAddress';
import type { StartPosition, StreamClient } from '../../streams/streamClient';
import { supportsConsumerGroups } from '../../streams/streamClient';
import type { BatchPolicy } from '../engine/batchProcessor';
import { PartitionWorker } from '../engine/partitionWorker';
import { compileFilterCriteria } from '../filter/filterCriteria';
import { InstancePool } from '../instances/instancePool';
import { loadHandler } from '../invoke/loadHandler';
import type { InitialPosition } from '../leases/shardLease';
import type { MappingConfig } from '../mapping/mappingTypes';
import type { RuntimeMetrics } from '../metrics/runtimeMetrics';
import { createRuntimeMetrics } from '../metrics/runtimeMetrics';
import { leaseGroupName, RedisKeys } from '../redis/keys';
import type { RedisConnection } from '../redis/scriptLoader';
import { TumblingWindowStore } from '../windows/tumblingWindowStore';
import { createBatchInvoker } from './batchInvoker';
import { createFailureDispatcher } from './failureDispatcher';
import type { FailureDestination } from './failureDispatcher';
import { KafkaGroupSource } from './kafkaGroupSource';
import { KinesisLeaseSource } from './kinesisLeaseSource';
import type { OwnedPartition, PartitionSource } from './partitionSource';
import { sourceIdentityOf } from './sourceIdentity';
import { createWindowInvoker } from './windowInvoker';

export interface MappingRunnerOptions {
  mapping: MappingConfig;
  /** the source stream's client (kafka:// or kinesis:// of mapping.Source) */
  client: StreamClient;
  /** client of DestinationConfig.OnFailure.Destination, when there is one */
  destination?: FailureDestination;
  /** needed for Kinesis leases and tumbling-window state */
  redis?: RedisConnection;
  keyPrefix?: string;
  workerId?: string;
  /** Kinesis lease duration (KCL failover time) */
  leaseDurationMs?: number;
  /** Kafka consumer group id (default `sluice-<FunctionName>`) */
  groupId?: string;
  /** Kafka: the group's session timeout, the Kafka counterpart of the lease duration (default 30 s) */
  sessionTimeoutMs?: number;
  /** scale-to-zero: instances idle this long are dropped (default 60 s, as a Lambda keeps them a few minutes) */
  instanceIdleTimeoutMs?: number;
  metrics?: RuntimeMetrics;
  logger?: Logger;
}

export interface MappingRunnerStats {
  ownedPartitions: string[];
  instances: number;
  busyInstances: number;
}

/** Like Lambda's retries of a failing stream batch: quick first, then spaced out. */
function retryDelayFor(mapping: MappingConfig): (retry: number) => number {
  const fast = mapping.Runtime.Mode === 'fast';
  const options = fast ? { initialDelayMs: 20, maxDelayMs: 1000, factor: 2 } : { initialDelayMs: 1000, maxDelayMs: 30_000, factor: 2 };
  return (retry) => Math.max(options.initialDelayMs / 2, backoffDelay(Math.min(retry, 16), options));
}

function initialPositionOf(mapping: MappingConfig): InitialPosition {
  if (mapping.StartingPosition === 'AT_TIMESTAMP') return { type: 'AT_TIMESTAMP', timestamp: (mapping.StartingPositionTimestamp ?? 0) * 1000 };
  return { type: mapping.StartingPosition };
}

function startPositionOf(mapping: MappingConfig): StartPosition {
  if (mapping.StartingPosition === 'TRIM_HORIZON') return { type: 'earliest' };
  if (mapping.StartingPosition === 'AT_TIMESTAMP') return { type: 'at-timestamp', timestamp: (mapping.StartingPositionTimestamp ?? 0) * 1000 };
  return { type: 'latest' };
}

/** Each instance evaluates the handler module afresh, so module-level state is per instance, like Lambda. */
function freshHandlerLoader(mapping: MappingConfig): () => Promise<Handler> {
  return async () => {
    const first = loadHandler(mapping.Function.Handler, process.cwd());
    delete require.cache[first.file];
    return loadHandler(mapping.Function.Handler, process.cwd()).handler;
  };
}

export class MappingRunner {
  readonly metrics: RuntimeMetrics;
  readonly workerId: string;
  private readonly logger: Logger;
  private readonly workers = new Map<string, { worker: PartitionWorker; done: Promise<void> }>();
  private source: PartitionSource | undefined;
  private instances: InstancePool<Handler> | undefined;
  private stopping = false;

  get functionName(): string {
    return this.options.mapping.FunctionName;
  }

  constructor(private readonly options: MappingRunnerOptions) {
    this.metrics = options.metrics ?? createRuntimeMetrics();
    this.workerId = options.workerId ?? `worker-${randomUUID().slice(0, 8)}`;
    this.logger = (options.logger ?? silentLogger).child({ function: options.mapping.FunctionName, worker: this.workerId });
  }

  async start(): Promise<void> {
    const { mapping, client } = this.options;
    if (!mapping.Enabled) {
      this.logger.info('mapping is disabled: nothing is invoked (like a disabled AWS mapping)');
      return;
    }
    const address = parseStreamAddress(mapping.Source);
    // Fails before anything starts if the stream is missing (AWS: "Stream not found").
    const partitions = await client.listPartitions(address.stream);
    const identity = sourceIdentityOf(address, mapping.FunctionName);
    const functionLabel = { function: mapping.FunctionName };
    this.instances = new InstancePool<Handler>({
      load: freshHandlerLoader(mapping),
      maxInstances: mapping.Runtime.MaxInstances ?? mapping.Function.ReservedConcurrentExecutions ?? Math.max(1, partitions.length * mapping.ParallelizationFactor),
      coldStartMs: mapping.Runtime.Mode === 'realistic' ? mapping.Runtime.ColdStartMs : 0,
      idleTimeoutMs: this.options.instanceIdleTimeoutMs ?? 60_000,
      onColdStart: () => this.metrics.coldStarts.inc(functionLabel),
      onCountChange: (count) => this.metrics.instances.set(functionLabel, count),
    });
    // Fail fast on a handler that cannot load, before owning any partition.
    loadHandler(mapping.Function.Handler, process.cwd());

    const invoker = createBatchInvoker({ mapping, source: identity, instances: this.instances, metrics: this.metrics, logger: this.logger });
    const dispatch = createFailureDispatcher({ mapping, source: identity, destination: this.options.destination, lastRequestId: invoker.lastRequestId, metrics: this.metrics, logger: this.logger });
    const accepts = compileFilterCriteria(mapping.FilterCriteria, address.kind);
    const keys = new RedisKeys(this.options.keyPrefix);
    const leaseGroup = leaseGroupName(mapping.FunctionName, address.stream);
    const windows = mapping.TumblingWindowInSeconds > 0
      ? createWindowInvoker({ mapping, source: identity, instances: this.instances, metrics: this.metrics, logger: this.logger, leaseGroup, store: new TumblingWindowStore({ redis: this.requireRedis('TumblingWindowInSeconds'), keys }) })
      : undefined;
    const policy: BatchPolicy = {
      maximumRetryAttempts: mapping.MaximumRetryAttempts,
      maximumRecordAgeInSeconds: mapping.MaximumRecordAgeInSeconds,
      bisectBatchOnFunctionError: mapping.BisectBatchOnFunctionError,
      retryDelayMs: retryDelayFor(mapping),
    };

    const startWorker = (owned: OwnedPartition): void => {
      if (this.stopping) return;
      const labels = { function: mapping.FunctionName, partition: owned.partition };
      const worker = new PartitionWorker({
        reader: owned.reader,
        parallelization: mapping.ParallelizationFactor,
        batchSize: mapping.BatchSize,
        batchingWindowMs: mapping.MaximumBatchingWindowInSeconds * 1000,
        accepts: (record) => {
          const ok = accepts(record);
          if (!ok) this.metrics.recordsFiltered.inc(labels);
          return ok;
        },
        policy,
        invoke: (records) => (windows ? windows.invoke(records, owned.partition) : invoker.invoke(records, owned.partition)),
        dispatchFailure: (failure) => dispatch(owned.partition, failure, owned.lost),
        checkpoint: async (position) => {
          await owned.checkpoint(position);
          this.metrics.checkpoints.inc(labels);
        },
        endOfPartition: owned.endOfPartition,
        pollIntervalMs: mapping.Runtime.Mode === 'realistic' ? mapping.Runtime.PollIntervalMs : 0,
        readWaitMs: mapping.Runtime.Mode === 'realistic' ? 0 : 200,
        window: windows ? { sizeMs: mapping.TumblingWindowInSeconds * 1000, closeWindow: (start, signal) => windows.closeWindow(owned.partition, start, signal) } : undefined,
        observer: {
          recordsRead: (count, age) => {
            this.metrics.recordsRead.inc(labels, count);
            if (age !== undefined) this.metrics.iteratorAgeMs.set(labels, age);
          },
          batchDone: (_lane, _size, _ms, result) => this.metrics.retries.inc(labels, result.retries),
        },
        sleep,
      });
      owned.lost.addEventListener('abort', () => worker.abandon(new SluiceError('LEASE_LOST', `${owned.partition} was taken away`)), { once: true });
      const done = worker.run().then(
        (exit) => this.logger.info({ partition: owned.partition, exit }, 'partition worker finished'),
        (error: unknown) => this.logger.info({ partition: owned.partition, error: errorMessage(error) }, 'partition worker stopped'),
      ).finally(async () => {
        this.workers.delete(owned.partition);
        await owned.reader.close().catch(() => undefined);
      });
      this.workers.set(owned.partition, { worker, done });
    };

    const lost = async (partition: string): Promise<void> => {
      const running = this.workers.get(partition);
      if (!running) return;
      running.worker.abandon(new SluiceError('LEASE_LOST', `${partition} was taken away`));
      await running.done;
    };

    if (address.kind === 'kafka') {
      if (!supportsConsumerGroups(client)) throw new SluiceError('CONFIG_INVALID', 'the Kafka client cannot join consumer groups');
      this.source = new KafkaGroupSource({ client, stream: address.stream, groupId: this.options.groupId ?? `sluice-${mapping.FunctionName}`, start: startPositionOf(mapping), sessionTimeoutMs: this.options.sessionTimeoutMs, logger: this.logger });
    } else {
      this.source = new KinesisLeaseSource({
        client, stream: address.stream, redis: this.requireRedis('a Kinesis source (leases)'), keys, leaseGroup, workerId: this.workerId,
        initialPosition: initialPositionOf(mapping), leaseDurationMs: this.options.leaseDurationMs, logger: this.logger,
      });
    }
    await this.source.start({ owned: startWorker, lost });
    this.logger.info({ source: mapping.Source, partitions: partitions.length }, 'mapping started');
  }

  stats(): MappingRunnerStats {
    return { ownedPartitions: [...this.workers.keys()].sort(), instances: this.instances?.size ?? 0, busyInstances: this.instances?.busy ?? 0 };
  }

  /** Drains: in-flight batches finish and are checkpointed, then ownership is given up. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const { worker } of this.workers.values()) worker.stop();
    await Promise.allSettled([...this.workers.values()].map((running) => running.done));
    await this.source?.stop();
    this.instances?.close();
    this.logger.info('mapping stopped');
  }

  private requireRedis(what: string): RedisConnection {
    if (!this.options.redis) throw new SluiceError('CONFIG_INVALID', `${what} needs Redis: pass --redis-url (or set SLUICE_REDIS_URL)`);
    return this.options.redis;
  }
}
