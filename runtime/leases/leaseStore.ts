/**
 * The shard leases of one lease group (a mapping: function + stream) in Redis, like the
 * Kinesis Client Library's lease table in DynamoDB. Every state change is one atomic Lua
 * script (runtime/redis/scripts); expiry uses Redis time, so the workers' clocks don't matter.
 *
 * The counter is the fencing token: bumped by every take, renewal and rewind. A holder
 * presents the counter it got; when someone else took the lease meanwhile the counter differs
 * and the holder's renewal, checkpoint or release is refused (LEASE_LOST).
 */
import { SluiceError } from '../../core/errors';
import type { RedisKeys } from '../redis/keys';
import { isCanonicalPosition } from '../redis/positionOrder';
import { execPipeline, queueScript, runScript, scriptPipeline } from '../redis/scriptLoader';
import type { RedisConnection } from '../redis/scriptLoader';
import { isScriptReplyCode, ScriptReplyCode, scriptReplyError } from '../redis/scriptCodes';
import { CHECKPOINT, checkpointFields, parseShardLease } from './shardLease';
import type { InitialPosition, RewindPosition, ShardDescription, ShardLease } from './shardLease';

export const DEFAULT_LEASE_DURATION_MS = 10_000;

export type TakeLeaseResult = { taken: true; lease: ShardLease } | { taken: false; reason: 'held' | 'not-found' | 'shard-end' };

export interface SyncShardsResult {
  created: string[];
  /** leases deleted because their shard left the stream */
  removed: string[];
  /** of those, the ones that had not reached SHARD_END: records nobody processed were trimmed away */
  removedUnfinished: string[];
}

export interface LeaseStoreOptions {
  redis: RedisConnection;
  keys: RedisKeys;
  leaseGroup: string;
  /** how long a take or renewal holds the lease (KCL failoverTimeMillis), default 10 s */
  leaseDurationMs?: number;
}

function checkWorker(worker: string): void {
  if (worker.length === 0) throw new SluiceError('CONFIG_INVALID', 'worker id: must be non-empty');
}

export class LeaseStore {
  readonly leaseGroup: string;
  readonly leaseDurationMs: number;
  private readonly redis: RedisConnection;
  private readonly keys: RedisKeys;

  constructor(options: LeaseStoreOptions) {
    this.redis = options.redis;
    this.keys = options.keys;
    this.leaseGroup = options.leaseGroup;
    this.leaseDurationMs = options.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
    if (!Number.isInteger(this.leaseDurationMs) || this.leaseDurationMs < 100) {
      throw new SluiceError('CONFIG_INVALID', `leaseDurationMs: must be an integer >= 100, got ${this.leaseDurationMs}`);
    }
    this.keys.leaseShards(this.leaseGroup); // validates the group name now rather than on first use
  }

  private leaseKey(shardId: string): string {
    return this.keys.lease(this.leaseGroup, shardId);
  }

  /**
   * Creates leases for shards that have none and deletes leases of shards no longer in the
   * stream. `shards` must be the stream's full description, open and closed shards.
   *
   * Like KCL: with LATEST only open shards (and descendants of leased shards) get a lease; a
   * child of a shard that already had a lease starts at TRIM_HORIZON, so nothing between the
   * parent's end and the child's start is skipped. Existing leases are never changed.
   */
  async syncShards(shards: readonly ShardDescription[], initial: InitialPosition): Promise<SyncShardsResult> {
    const initialFields = checkpointFields(initial);
    await this.redis.sadd(this.keys.leaseGroups(), this.leaseGroup);
    const existing = new Set(await this.redis.smembers(this.keys.leaseShards(this.leaseGroup)));
    const createdNow = new Map<string, string>(); // shard id -> its initial checkpoint
    const creations: Array<{ shard: ShardDescription; checkpoint: string; atTimestamp: string }> = [];

    for (const shard of parentsFirst(shards)) {
      if (existing.has(shard.id)) continue;
      const trackedParents = shard.parents.filter((parent) => existing.has(parent) || createdNow.has(parent));
      let checkpoint = initialFields.checkpoint;
      let atTimestamp = initialFields.atTimestamp;
      if (trackedParents.length > 0) {
        // The parents are read (or were) from a point before this child began: read it all.
        // Only when every parent starts AT_TIMESTAMP in this same sync does the child do too.
        const allNewAtTimestamp = trackedParents.every((parent) => createdNow.get(parent) === CHECKPOINT.AT_TIMESTAMP);
        if (!allNewAtTimestamp) {
          checkpoint = CHECKPOINT.TRIM_HORIZON;
          atTimestamp = '';
        }
      } else if (initial.type === 'LATEST' && shard.closed) {
        continue; // a closed shard holds nothing new, and LATEST skips the old
      }
      createdNow.set(shard.id, checkpoint);
      creations.push({ shard, checkpoint, atTimestamp });
    }

    const inStream = new Set(shards.map((shard) => shard.id));
    const vanished = shards.length === 0 ? [] : [...existing].filter((id) => !inStream.has(id));
    const vanishedLeases = await Promise.all(vanished.map((id) => this.getLease(id)));
    const removedUnfinished = vanishedLeases.filter((lease): lease is ShardLease => lease !== null && lease.checkpoint !== CHECKPOINT.SHARD_END).map((lease) => lease.shardId);

    if (creations.length === 0 && vanished.length === 0) return { created: [], removed: [], removedUnfinished: [] };
    const indexKey = this.keys.leaseShards(this.leaseGroup);
    const pipeline = scriptPipeline(this.redis);
    for (const { shard, checkpoint, atTimestamp } of creations) {
      queueScript(pipeline, 'createLease', [this.leaseKey(shard.id), indexKey], [shard.id, checkpoint, atTimestamp, JSON.stringify(shard.parents)]);
    }
    for (const id of vanished) queueScript(pipeline, 'deleteLease', [this.leaseKey(id), indexKey], [id]);
    const replies = await execPipeline(pipeline);
    const created = creations.filter((_creation, i) => replies[i] === 1).map(({ shard }) => shard.id);
    return { created, removed: vanished, removedUnfinished };
  }

  /**
   * KCL's conditional take. expectedCounter null: only if unowned, expired or already ours.
   * A number: only if the counter is still what the caller saw (a steal from a live owner, or
   * a take that must not race another taker).
   */
  async takeLease(shardId: string, worker: string, expectedCounter: number | null): Promise<TakeLeaseResult> {
    checkWorker(worker);
    const reply = await runScript(this.redis, 'takeLease', [this.leaseKey(shardId)], [worker, expectedCounter === null ? '' : String(expectedCounter), this.leaseDurationMs]);
    if (Array.isArray(reply)) return { taken: true, lease: parseShardLease(reply) };
    if (reply === ScriptReplyCode.LeaseNotFound) return { taken: false, reason: 'not-found' };
    if (reply === ScriptReplyCode.ShardEnded) return { taken: false, reason: 'shard-end' };
    return { taken: false, reason: 'held' };
  }

  /** Extends the lease by leaseDurationMs from Redis's now; LEASE_LOST if no longer ours. */
  async renewLease(shardId: string, worker: string, counter: number): Promise<ShardLease> {
    const reply = await runScript(this.redis, 'renewLease', [this.leaseKey(shardId)], [worker, counter, this.leaseDurationMs]);
    if (Array.isArray(reply)) return parseShardLease(reply);
    throw scriptReplyError(isScriptReplyCode(reply) ? reply : ScriptReplyCode.LeaseLost, `renew ${this.leaseGroup}/${shardId} by ${worker}`);
  }

  /**
   * Moves the checkpoint to a sequence number. Refused (LEASE_LOST) unless `worker` still
   * holds the lease with `counter`; refused (POSITION_INVALID) if it would move backwards.
   */
  async checkpoint(shardId: string, worker: string, counter: number, sequenceNumber: string): Promise<void> {
    if (!isCanonicalPosition(sequenceNumber)) {
      throw new SluiceError('POSITION_INVALID', `checkpoint ${this.leaseGroup}/${shardId}: a sequence number is a decimal string, got ${JSON.stringify(sequenceNumber)}`);
    }
    await this.moveCheckpoint(shardId, worker, counter, sequenceNumber);
  }

  /** The shard was read to its end: checkpoint SHARD_END so its children may start. */
  async markShardEnd(shardId: string, worker: string, counter: number): Promise<void> {
    await this.moveCheckpoint(shardId, worker, counter, CHECKPOINT.SHARD_END);
  }

  private async moveCheckpoint(shardId: string, worker: string, counter: number, position: string): Promise<void> {
    const reply = await runScript(this.redis, 'checkpointLease', [this.leaseKey(shardId)], [worker, counter, position]);
    if (reply < 0) throw scriptReplyError(isScriptReplyCode(reply) ? reply : ScriptReplyCode.LeaseLost, `checkpoint ${this.leaseGroup}/${shardId} at ${position} by ${worker}`);
  }

  /** Gives the lease up if still ours; false if it was not (nothing to release). */
  async releaseLease(shardId: string, worker: string, counter: number): Promise<boolean> {
    return (await runScript(this.redis, 'releaseLease', [this.leaseKey(shardId)], [worker, counter])) === 1;
  }

  /**
   * Admin (`sluice checkpoints rewind`): sets the checkpoint anywhere, backwards included;
   * bumps the counter and clears the owner so the current holder stops and the next holder
   * reads from the new position.
   */
  async rewind(shardId: string, position: RewindPosition): Promise<ShardLease> {
    const { checkpoint, atTimestamp } = checkpointFields(position);
    const reply = await runScript(this.redis, 'rewindLease', [this.leaseKey(shardId)], [checkpoint, atTimestamp]);
    if (Array.isArray(reply)) return parseShardLease(reply);
    throw new SluiceError('PARTITION_NOT_FOUND', `rewind ${this.leaseGroup}/${shardId}: no lease for this shard`);
  }

  async getLease(shardId: string): Promise<ShardLease | null> {
    const hash = await this.redis.hgetall(this.leaseKey(shardId));
    return Object.keys(hash).length === 0 ? null : parseShardLease(hash);
  }

  /** Every lease of the group, sorted by shard id, with Redis's clock at the time of reading. */
  async listLeases(): Promise<{ now: number; leases: ShardLease[] }> {
    const shardIds = (await this.redis.smembers(this.keys.leaseShards(this.leaseGroup))).sort();
    const pipeline = this.redis.multi();
    pipeline.time();
    for (const id of shardIds) pipeline.hgetall(this.leaseKey(id));
    const [time, ...hashes] = await execPipeline(pipeline);
    const [seconds, micros] = time as [string, string];
    const leases = (hashes as Record<string, string>[]).filter((hash) => Object.keys(hash).length > 0).map((hash) => parseShardLease(hash));
    return { now: Number(seconds) * 1000 + Math.floor(Number(micros) / 1000), leases };
  }

  /** Registers `worker` as live for ttlMs (Redis time) and lists the live workers. */
  async heartbeat(worker: string, ttlMs: number): Promise<{ now: number; liveWorkers: string[] }> {
    checkWorker(worker);
    const [now, ...liveWorkers] = await runScript(this.redis, 'heartbeat', [this.keys.workers(this.leaseGroup)], [worker, ttlMs]);
    return { now: Number(now), liveWorkers };
  }

  /** A clean shutdown leaves the registry at once instead of waiting for its heartbeat to expire. */
  async removeWorker(worker: string): Promise<void> {
    await this.redis.zrem(this.keys.workers(this.leaseGroup), worker); // one command: atomic without a script
  }
}

/** Shards ordered so that every parent present comes before its children. */
function parentsFirst(shards: readonly ShardDescription[]): ShardDescription[] {
  const byId = new Map(shards.map((shard) => [shard.id, shard]));
  const ordered: ShardDescription[] = [];
  const visited = new Set<string>();
  const visit = (shard: ShardDescription): void => {
    if (visited.has(shard.id)) return;
    visited.add(shard.id);
    for (const parent of shard.parents) {
      const parentShard = byId.get(parent);
      if (parentShard) visit(parentShard);
    }
    ordered.push(shard);
  };
  shards.forEach(visit);
  return ordered;
}
