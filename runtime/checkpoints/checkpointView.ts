/**
 * Checkpoints as `sluice checkpoints show|rewind` presents them. Kinesis checkpoints live in
 * the shard leases in Redis (one lease group per mapping: function + stream); Kafka offsets
 * live in Kafka's consumer groups and are added by the Kafka side of the runtime, in rows of
 * the same shape (`source: 'kafka-offset'`).
 */
import type { RedisKeys } from '../redis/keys';
import type { RedisConnection } from '../redis/scriptLoader';
import { LeaseStore } from '../leases/leaseStore';
import { shardsReadyToProcess } from '../leases/leaseTakeover';
import { isHeld, isShardEnd, parseRewindPosition } from '../leases/shardLease';
import type { RewindPosition, ShardLease } from '../leases/shardLease';

export type CheckpointSource = 'kinesis-lease' | 'kafka-offset';

/**
 * held: an owner renews it; expired: its owner stopped renewing, anyone may take it;
 * free: nobody holds it; ended: SHARD_END; waiting: a child whose parents have not ended.
 */
export type LeaseState = 'held' | 'expired' | 'free' | 'ended' | 'waiting';

export interface CheckpointRow {
  source: CheckpointSource;
  /** the mapping: lease group (Kinesis) or consumer group (Kafka) */
  group: string;
  /** shard id or Kafka partition */
  partition: string;
  /** sequence number / offset, or TRIM_HORIZON, LATEST, AT_TIMESTAMP, SHARD_END */
  checkpoint: string;
  /** epoch ms of an AT_TIMESTAMP checkpoint */
  atTimestamp: number | null;
  owner: string | null;
  state: LeaseState;
  /** ms until the lease expires by Redis time, for held leases */
  expiresInMs: number | null;
  counter: number;
  parents: string[];
  ownerSwitchesSinceCheckpoint: number;
}

export interface CheckpointViewOptions {
  redis: RedisConnection;
  keys: RedisKeys;
}

function leaseState(lease: ShardLease, ready: ReadonlySet<string>, now: number): LeaseState {
  if (isShardEnd(lease)) return 'ended';
  if (!ready.has(lease.shardId)) return 'waiting';
  if (isHeld(lease, now)) return 'held';
  return lease.owner === null ? 'free' : 'expired';
}

function toRow(group: string, lease: ShardLease, ready: ReadonlySet<string>, now: number): CheckpointRow {
  const state = leaseState(lease, ready, now);
  return {
    source: 'kinesis-lease',
    group,
    partition: lease.shardId,
    checkpoint: lease.checkpoint,
    atTimestamp: lease.atTimestamp,
    owner: lease.owner,
    state,
    expiresInMs: state === 'held' ? lease.expiresAt - now : null,
    counter: lease.counter,
    parents: lease.parentShardIds,
    ownerSwitchesSinceCheckpoint: lease.ownerSwitchesSinceCheckpoint,
  };
}

export class CheckpointView {
  private readonly redis: RedisConnection;
  private readonly keys: RedisKeys;

  constructor(options: CheckpointViewOptions) {
    this.redis = options.redis;
    this.keys = options.keys;
  }

  /** Every lease group (mapping) that has leases, sorted. */
  async leaseGroups(): Promise<string[]> {
    return (await this.redis.smembers(this.keys.leaseGroups())).sort();
  }

  /** Checkpoint rows of one lease group, or of all; sorted by group then shard. */
  async list(leaseGroup?: string): Promise<CheckpointRow[]> {
    const groups = leaseGroup === undefined ? await this.leaseGroups() : [leaseGroup];
    const rows: CheckpointRow[] = [];
    for (const group of groups) {
      const { now, leases } = await this.store(group).listLeases();
      const ready = new Set(shardsReadyToProcess(leases));
      rows.push(...leases.map((lease) => toRow(group, lease, ready, now)));
    }
    return rows;
  }

  /**
   * `sluice checkpoints rewind`: moves a shard's checkpoint (backwards too). The current owner
   * loses the lease at its next renewal or checkpoint; the next holder reads from `position`.
   * `position` may be typed text: TRIM_HORIZON, LATEST, AT_TIMESTAMP:<ms|ISO> or a sequence number.
   */
  async rewind(leaseGroup: string, shardId: string, position: RewindPosition | string): Promise<CheckpointRow> {
    const target = typeof position === 'string' ? parseRewindPosition(position) : position;
    const store = this.store(leaseGroup);
    const lease = await store.rewind(shardId, target);
    const { now, leases } = await store.listLeases();
    return toRow(leaseGroup, lease, new Set(shardsReadyToProcess(leases)), now);
  }

  private store(leaseGroup: string): LeaseStore {
    return new LeaseStore({ redis: this.redis, keys: this.keys, leaseGroup });
  }
}

export const CHECKPOINT_COLUMNS = ['group', 'partition', 'checkpoint', 'state', 'owner', 'expires in', 'counter', 'parents'] as const;

/** Rows as text cells for a table, header first (the CLI pads and prints them). */
export function checkpointTable(rows: readonly CheckpointRow[]): string[][] {
  return [
    [...CHECKPOINT_COLUMNS],
    ...rows.map((row) => [
      row.group,
      row.partition,
      row.atTimestamp === null ? row.checkpoint : `${row.checkpoint} ${new Date(row.atTimestamp).toISOString()}`,
      row.state,
      row.owner ?? '-',
      row.expiresInMs === null ? '-' : `${(row.expiresInMs / 1000).toFixed(1)}s`,
      String(row.counter),
      row.parents.join(',') || '-',
    ]),
  ];
}
