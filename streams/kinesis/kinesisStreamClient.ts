/**
 * The Kinesis adapter of the stream interface (streams/streamClient.ts), on
 * @aws-sdk/client-kinesis. One SDK client per StreamClient; close() destroys it.
 *
 *   producing  kinesisProducer.ts   PutRecords at the limits, retry of partial failures
 *   reading    kinesisReader.ts     GetShardIterator + GetRecords paging
 *   shards     kinesisShards.ts     ListShards, parent/child order, waits, split arithmetic
 *   headers    kinesisEnvelope.ts   how headers and producer timestamps travel
 *   errors     kinesisErrors.ts     SDK errors -> SluiceError codes
 */
import { CreateStreamCommand, DeleteStreamCommand, MergeShardsCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { ConfigError, SluiceError, isSluiceError } from '../../core/errors';
import { silentLogger } from '../../core/logger';
import type { Logger } from '../../core/logger';
import { DEFAULT_RETRY } from '../../core/retry';
import type { RetryOptions } from '../../core/retry';
import type { PartitionId, PartitionInfo, PartitionReader, ProducedRecord, StartPosition, StreamClient, StreamDescription, StreamRecordInput } from '../streamClient';
import { putRecordsInBatches } from './kinesisProducer';
import { openKinesisReader } from './kinesisReader';
import type { KinesisReaderDeps } from './kinesisReader';
import { createKinesisSdkClient, kinesisCall } from './kinesisSdk';
import type { KinesisConnectionOptions } from './kinesisSdk';
import { listShards, midpointHashKey, resolveNotFound, toPartitionInfos, waitUntilActive, waitUntilDeleted } from './kinesisShards';

export interface KinesisStreamClientOptions extends KinesisConnectionOptions {
  logger?: Logger;
  /** backoff for throttling, connection errors and partial PutRecords failures (core/retry.ts) */
  retry?: Partial<RetryOptions>;
  /** pause after an empty GetRecords page while a read waits (default 200 ms: AWS allows 5 reads/s per shard) */
  pollIntervalMs?: number;
  /**
   * Read 'at-timestamp' from TRIM_HORIZON, skipping earlier arrivals, instead of asking for an
   * AT_TIMESTAMP iterator (kinesalite hangs on one with no record after it). Default: on for a
   * local endpoint, off for AWS.
   */
  emulateAtTimestamp?: boolean;
  /** how long createStream, deleteStream and resharding wait for the stream to settle (default 5 min) */
  settleTimeoutMs?: number;
}

export interface KinesisStreamClient extends StreamClient {
  readonly kind: 'kinesis';
  /**
   * The SDK client underneath, for tests and benchmarks (counting requests with middleware,
   * raw baselines on the same connection). Code above streams/ stays on StreamClient.
   */
  readonly sdkClient: KinesisClient;
  /** Splits an open shard in two at newStartingHashKey (default: the middle of its hash range) and waits until the stream is ACTIVE. */
  splitShard(stream: string, shardId: PartitionId, newStartingHashKey?: string): Promise<void>;
  /** Merges two adjacent open shards into one and waits until the stream is ACTIVE. */
  mergeShards(stream: string, shardId: PartitionId, adjacentShardId: PartitionId): Promise<void>;
}

function checkOptions(options: KinesisStreamClientOptions): { pollIntervalMs: number; settleTimeoutMs: number; retry: RetryOptions } {
  const pollIntervalMs = options.pollIntervalMs ?? 200;
  if (!Number.isFinite(pollIntervalMs) || pollIntervalMs < 0) throw new ConfigError('kinesis.pollIntervalMs', `must be a number >= 0, got ${pollIntervalMs}`);
  const settleTimeoutMs = options.settleTimeoutMs ?? 300_000;
  if (!Number.isFinite(settleTimeoutMs) || settleTimeoutMs <= 0) throw new ConfigError('kinesis.settleTimeoutMs', `must be a number > 0, got ${settleTimeoutMs}`);
  const retry: RetryOptions = { ...DEFAULT_RETRY, ...options.retry };
  if (!Number.isInteger(retry.retries) || retry.retries < 0) throw new ConfigError('kinesis.retry.retries', `must be an integer >= 0, got ${retry.retries}`);
  return { pollIntervalMs, settleTimeoutMs, retry };
}

export function createKinesisStreamClient(options: KinesisStreamClientOptions): KinesisStreamClient {
  const { pollIntervalMs, settleTimeoutMs, retry } = checkOptions(options);
  const logger = options.logger ?? silentLogger;
  const sdk = createKinesisSdkClient(options);
  const deps: KinesisReaderDeps = { sdk, retry, logger, pollIntervalMs, emulateAtTimestamp: options.emulateAtTimestamp ?? options.endpoint !== undefined };
  // Control-plane calls that change state are not blindly repeated: a CreateStream retried
  // after a lost answer would report STREAM_EXISTS for the stream it just created.
  const once: RetryOptions = { ...retry, retries: 0 };
  const readers = new Set<PartitionReader>();

  async function describeStream(name: string): Promise<StreamDescription> {
    return { name, kind: 'kinesis', partitions: await listPartitions(name) };
  }

  async function listPartitions(name: string): Promise<PartitionInfo[]> {
    return toPartitionInfos(await listShards(deps, name));
  }

  async function shardHashRange(stream: string, shardId: string): Promise<{ start: string; end: string }> {
    const shard = (await listShards(deps, stream)).find((candidate) => candidate.ShardId === shardId);
    const range = shard?.HashKeyRange;
    if (!range?.StartingHashKey || !range.EndingHashKey) throw new SluiceError('PARTITION_NOT_FOUND', `Kinesis stream "${stream}" has no shard "${shardId}"`);
    return { start: range.StartingHashKey, end: range.EndingHashKey };
  }

  return {
    kind: 'kinesis',
    sdkClient: sdk,

    async createStream(name: string, partitions: number): Promise<void> {
      if (!Number.isInteger(partitions) || partitions < 1) throw new ConfigError('createStream.partitions', `must be a positive integer, got ${partitions}`);
      await kinesisCall({ operation: 'CreateStream', stream: name }, once, logger, () => sdk.send(new CreateStreamCommand({ StreamName: name, ShardCount: partitions })));
      await waitUntilActive(deps, name, settleTimeoutMs);
      logger.info({ stream: name, shards: partitions }, 'created Kinesis stream');
    },

    describeStream,
    listPartitions,

    async deleteStream(name: string): Promise<void> {
      await kinesisCall({ operation: 'DeleteStream', stream: name }, once, logger, () => sdk.send(new DeleteStreamCommand({ StreamName: name, EnforceConsumerDeletion: true })));
      await waitUntilDeleted(deps, name, settleTimeoutMs);
      logger.info({ stream: name }, 'deleted Kinesis stream');
    },

    async produce(name: string, records: StreamRecordInput[]): Promise<ProducedRecord[]> {
      if (records.length === 0) return [];
      return putRecordsInBatches(deps, name, records);
    },

    async openReader(name: string, partition: PartitionId, start: StartPosition): Promise<PartitionReader> {
      const reader = await openKinesisReader(deps, name, partition, start, (closed) => readers.delete(closed));
      readers.add(reader);
      return reader;
    },

    async splitShard(stream: string, shardId: PartitionId, newStartingHashKey?: string): Promise<void> {
      const hashKey = newStartingHashKey ?? (await shardHashRange(stream, shardId).then((range) => midpointHashKey(range.start, range.end)));
      await kinesisCall({ operation: 'SplitShard', stream, shard: shardId }, once, logger, () => sdk.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: shardId, NewStartingHashKey: hashKey }))).catch(async (error: unknown) => {
        throw isSluiceError(error) ? await resolveNotFound(deps, error, stream, shardId) : error;
      });
      await waitUntilActive(deps, stream, settleTimeoutMs);
      logger.info({ stream, shard: shardId, newStartingHashKey: hashKey }, 'split Kinesis shard');
    },

    async mergeShards(stream: string, shardId: PartitionId, adjacentShardId: PartitionId): Promise<void> {
      await kinesisCall({ operation: 'MergeShards', stream, shard: shardId }, once, logger, () => sdk.send(new MergeShardsCommand({ StreamName: stream, ShardToMerge: shardId, AdjacentShardToMerge: adjacentShardId }))).catch(async (error: unknown) => {
        throw isSluiceError(error) ? await resolveNotFound(deps, error, stream, `${shardId}" or "${adjacentShardId}`) : error;
      });
      await waitUntilActive(deps, stream, settleTimeoutMs);
      logger.info({ stream, shard: shardId, adjacentShard: adjacentShardId }, 'merged Kinesis shards');
    },

    async close(): Promise<void> {
      await Promise.all([...readers].map((reader) => reader.close()));
      sdk.destroy();
    },
  };
}
