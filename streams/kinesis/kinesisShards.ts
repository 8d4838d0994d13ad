/**
 * Streams and shards: listing (ListShards with NextToken paging), parent/child order after a
 * reshard, waiting for a stream to become ACTIVE or to disappear, and hash-key arithmetic
 * for splits.
 */
import { DescribeStreamSummaryCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import type { KinesisClient, Shard } from '@aws-sdk/client-kinesis';
import { SluiceError, isSluiceError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import type { RetryOptions } from '../../core/retry';
import { sleep } from '../../core/retry';
import type { PartitionInfo } from '../streamClient';
import { kinesisCall } from './kinesisSdk';

export interface KinesisCallDeps {
  sdk: KinesisClient;
  retry: RetryOptions;
  logger: Logger;
}

/** Every shard of the stream, open and closed (within the retention period). STREAM_NOT_FOUND if it does not exist. */
export async function listShards(deps: KinesisCallDeps, stream: string): Promise<Shard[]> {
  const shards: Shard[] = [];
  let nextToken: string | undefined;
  do {
    // ListShards takes either the stream name (first page) or a NextToken (later pages), never both.
    const input = nextToken === undefined ? { StreamName: stream } : { NextToken: nextToken };
    const page = await kinesisCall({ operation: 'ListShards', stream }, deps.retry, deps.logger, () => deps.sdk.send(new ListShardsCommand(input)));
    shards.push(...(page.Shards ?? []));
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return shards;
}

/**
 * Shards as partitions, parents before children (a depth-first walk in shard-id order), so a
 * reader walking the list in order reads each key's older records first. A parent that is no
 * longer listed (trimmed after the retention period) is left out of `parents`: nobody should
 * wait for a shard that cannot be read any more.
 */
export function toPartitionInfos(shards: Shard[]): PartitionInfo[] {
  const byId = new Map<string, Shard>();
  for (const shard of shards) if (shard.ShardId !== undefined) byId.set(shard.ShardId, shard);
  const ordered: PartitionInfo[] = [];
  const visited = new Set<string>();
  const visit = (shard: Shard & { ShardId: string }): void => {
    if (visited.has(shard.ShardId)) return;
    visited.add(shard.ShardId);
    const parents = [shard.ParentShardId, shard.AdjacentParentShardId].filter((id): id is string => id !== undefined && byId.has(id));
    for (const parentId of parents) {
      const parent = byId.get(parentId);
      if (parent) visit(parent as Shard & { ShardId: string });
    }
    ordered.push({ id: shard.ShardId, parents, closed: shard.SequenceNumberRange?.EndingSequenceNumber !== undefined });
  };
  const ids = [...byId.keys()].sort();
  for (const id of ids) visit(byId.get(id) as Shard & { ShardId: string });
  return ordered;
}

async function streamStatus(deps: KinesisCallDeps, stream: string): Promise<string | undefined> {
  const summary = await kinesisCall({ operation: 'DescribeStreamSummary', stream }, deps.retry, deps.logger, () => deps.sdk.send(new DescribeStreamSummaryCommand({ StreamName: stream })));
  return summary.StreamDescriptionSummary?.StreamStatus;
}

/** Polls until the stream is ACTIVE (after CreateStream, SplitShard, MergeShards). */
export async function waitUntilActive(deps: KinesisCallDeps, stream: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  // kinesalite needs ms, AWS tens of seconds: start short, stretch to 1 s.
  for (let delay = 50; ; delay = Math.min(1000, delay * 2)) {
    const status = await streamStatus(deps, stream);
    if (status === 'ACTIVE') return;
    if (performance.now() + delay > deadline) throw new SluiceError('TIMEOUT', `Kinesis stream "${stream}" is still ${status ?? 'in an unknown state'} after ${timeoutMs} ms`);
    await sleep(delay);
  }
}

/** Polls until the stream no longer exists (after DeleteStream), so its name can be reused. */
export async function waitUntilDeleted(deps: KinesisCallDeps, stream: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(1000, delay * 2)) {
    try {
      await streamStatus(deps, stream);
    } catch (error) {
      if (isSluiceError(error, 'STREAM_NOT_FOUND')) return;
      throw error;
    }
    if (performance.now() + delay > deadline) throw new SluiceError('TIMEOUT', `Kinesis stream "${stream}" still exists ${timeoutMs} ms after DeleteStream`);
    await sleep(delay);
  }
}

/**
 * Kinesis answers ResourceNotFoundException for a missing stream and for a missing shard alike
 * (kinesalite even words both as "Shard ... does not exist"). Ask about the stream to tell
 * which: STREAM_NOT_FOUND if the stream is gone, else PARTITION_NOT_FOUND.
 */
export async function resolveNotFound(deps: KinesisCallDeps, error: SluiceError, stream: string, shard: string): Promise<SluiceError> {
  if (error.code !== 'STREAM_NOT_FOUND') return error;
  try {
    await streamStatus(deps, stream);
  } catch (describeError) {
    if (isSluiceError(describeError, 'STREAM_NOT_FOUND')) return new SluiceError('STREAM_NOT_FOUND', `Kinesis stream "${stream}" does not exist`, { cause: error });
    throw describeError;
  }
  return new SluiceError('PARTITION_NOT_FOUND', `Kinesis stream "${stream}" has no shard "${shard}"`, { cause: error });
}

/** The hash key that splits a shard's range [start, end] into two halves of (nearly) equal size. */
export function midpointHashKey(startingHashKey: string, endingHashKey: string): string {
  const start = BigInt(startingHashKey);
  const end = BigInt(endingHashKey);
  // Kinesis wants StartingHashKey + 1 < NewStartingHashKey < EndingHashKey
  if (end - start < 3n) throw new SluiceError('CONFIG_INVALID', `the hash key range [${startingHashKey}, ${endingHashKey}] is too small to split`);
  return (start + (end - start + 1n) / 2n).toString();
}
