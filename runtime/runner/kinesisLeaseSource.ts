/**
 * Kinesis shards owned through KCL-style leases in Redis: the lease coordinator takes, renews,
 * balances and steals leases; this turns its events into owned partitions with readers that
 * start after the lease's checkpoint. A child shard is only acquired after its parents reached
 * SHARD_END (the coordinator's rule), which keeps per-key order across a reshard.
 */
import type { Logger } from 'pino';
import { errorMessage } from '../../core/errors';
import { backoffDelay, sleep } from '../../core/retry';
import type { StreamClient } from '../../streams/streamClient';
import { LeaseCoordinator } from '../leases/leaseCoordinator';
import type { ShardLeaseHandle } from '../leases/leaseCoordinator';
import { LeaseStore } from '../leases/leaseStore';
import type { InitialPosition } from '../leases/shardLease';
import { startPositionOf } from '../leases/shardLease';
import type { RedisConnection } from '../redis/scriptLoader';
import type { RedisKeys } from '../redis/keys';
import type { PartitionSource, PartitionSourceListener } from './partitionSource';

export interface KinesisLeaseSourceOptions {
  client: StreamClient;
  stream: string;
  redis: RedisConnection;
  keys: RedisKeys;
  leaseGroup: string;
  workerId: string;
  initialPosition: InitialPosition;
  leaseDurationMs?: number;
  shardSyncIntervalMs?: number;
  logger: Logger;
}

export class KinesisLeaseSource implements PartitionSource {
  private readonly coordinator: LeaseCoordinator;
  private readonly lostSignals = new Map<string, AbortController>();

  constructor(private readonly options: KinesisLeaseSourceOptions) {
    const store = new LeaseStore({ redis: options.redis, keys: options.keys, leaseGroup: options.leaseGroup, leaseDurationMs: options.leaseDurationMs });
    this.coordinator = new LeaseCoordinator({
      store,
      workerId: options.workerId,
      initialPosition: options.initialPosition,
      discoverShards: async () => (await options.client.listPartitions(options.stream)).map((p) => ({ id: p.id, parents: p.parents, closed: p.closed })),
      shardSyncIntervalMs: options.shardSyncIntervalMs ?? 5_000,
      logger: options.logger,
    });
  }

  async start(listener: PartitionSourceListener): Promise<void> {
    this.coordinator.on('acquired', (shardId, _checkpoint, lease, handle) => {
      void this.open(listener, shardId, lease, handle);
    });
    this.coordinator.on('lost', (shardId, reason) => {
      this.options.logger.info({ shardId, reason }, 'shard lease lost');
      this.lostSignals.get(shardId)?.abort(new Error(`lease of ${shardId} lost (${reason})`));
      this.lostSignals.delete(shardId);
      void listener.lost(shardId);
    });
    this.coordinator.start();
  }

  owned(): string[] {
    return this.coordinator.heldShards();
  }

  async stop(): Promise<void> {
    await this.coordinator.stop({ release: true });
  }

  private async open(listener: PartitionSourceListener, shardId: string, lease: Parameters<typeof startPositionOf>[0], handle: ShardLeaseHandle): Promise<void> {
    const start = startPositionOf(lease);
    if (start === null) return; // SHARD_END: nothing left to read
    const lost = new AbortController();
    this.lostSignals.set(shardId, lost);
    // A shard we hold but cannot open would stall: keep trying while the lease is ours.
    for (let attempt = 0; handle.isHeld() && !lost.signal.aborted; attempt++) {
      try {
        const reader = await this.options.client.openReader(this.options.stream, shardId, start);
        listener.owned({
          partition: shardId,
          reader,
          checkpoint: (position) => handle.checkpoint(position),
          endOfPartition: () => handle.markShardEnd(),
          lost: lost.signal,
        });
        return;
      } catch (error) {
        const delay = backoffDelay(Math.min(attempt, 8), { initialDelayMs: 200, maxDelayMs: 5000, factor: 2 });
        this.options.logger.error({ shardId, attempt, error: errorMessage(error), delayMs: delay }, 'cannot open shard reader; trying again');
        await sleep(delay);
      }
    }
  }
}
