/**
 * Which leases a worker should take in one round: a pure function of the leases, the live
 * workers and Redis's clock, following the Kinesis Client Library's lease taker
 * (EnumerateLeaseTakeover):
 *   1. only shards ready to process count: not at SHARD_END, and every parent at SHARD_END or
 *      gone (a child shard never starts before its parents end: order per key across reshards);
 *   2. target = ceil(ready leases / workers); a worker at or above target takes nothing;
 *   3. expired or unowned leases first, up to the target;
 *   4. only when none are free, steal from the most loaded worker: if it holds more than the
 *      target, or exactly the target while this worker needs more than one (at most
 *      `maxStealsPerRound`, default 1, so leases move slowly and the group settles).
 * Every planned take carries the counter seen, so the take is conditional: two workers that
 * plan the same lease cannot both get it.
 */
import { isHeld, isShardEnd } from './shardLease';
import type { ShardLease } from './shardLease';

type PlanningLease = Pick<ShardLease, 'shardId' | 'owner' | 'counter' | 'checkpoint' | 'parentShardIds' | 'expiresAt'>;

export interface PlannedTake {
  shardId: string;
  /** the counter seen: the take succeeds only if it is unchanged */
  expectedCounter: number;
  reason: 'unowned' | 'expired' | 'steal';
  /** for steals: the worker losing the lease */
  from?: string;
}

export interface LeaseTakeoverOptions {
  maxStealsPerRound?: number;
}

/** Shards that may be processed now: not ended, and all parents ended or gone. */
export function shardsReadyToProcess(leases: readonly Pick<ShardLease, 'shardId' | 'checkpoint' | 'parentShardIds'>[]): string[] {
  const byId = new Map(leases.map((lease) => [lease.shardId, lease]));
  return leases
    .filter((lease) => !isShardEnd(lease))
    .filter((lease) =>
      lease.parentShardIds.every((parentId) => {
        const parent = byId.get(parentId);
        return parent === undefined || isShardEnd(parent);
      }),
    )
    .map((lease) => lease.shardId);
}

/** FNV-1a: a per-worker, deterministic order, so workers racing for free leases pick different ones first. */
function preference(me: string, shardId: string): number {
  let hash = 0x811c9dc5;
  const text = `${me}/${shardId}`;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

function byPreference(me: string): (a: PlanningLease, b: PlanningLease) => number {
  return (a, b) => preference(me, a.shardId) - preference(me, b.shardId) || (a.shardId < b.shardId ? -1 : 1);
}

export function planLeaseTakeover(
  leases: readonly PlanningLease[],
  liveWorkers: readonly string[],
  me: string,
  now: number,
  options: LeaseTakeoverOptions = {},
): PlannedTake[] {
  const ready = new Set(shardsReadyToProcess(leases));
  const active = leases.filter((lease) => ready.has(lease.shardId));
  if (active.length === 0) return [];

  // Workers: the live registry, me, and any owner still holding a lease (it may have missed a heartbeat).
  const counts = new Map<string, number>([[me, 0]]);
  for (const worker of liveWorkers) counts.set(worker, 0);
  const held = active.filter((lease) => isHeld(lease, now));
  for (const lease of held) counts.set(lease.owner as string, (counts.get(lease.owner as string) ?? 0) + 1);

  const target = Math.ceil(active.length / counts.size);
  const needed = target - (counts.get(me) ?? 0);
  if (needed <= 0) return [];

  const free = active.filter((lease) => !isHeld(lease, now)).sort(byPreference(me));
  if (free.length > 0) {
    return free.slice(0, needed).map((lease) => ({
      shardId: lease.shardId,
      expectedCounter: lease.counter,
      reason: lease.owner === null ? 'unowned' : 'expired',
    }));
  }

  let mostLoaded: string | undefined;
  let mostLoadedCount = -1;
  for (const [worker, count] of [...counts].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (worker !== me && count > mostLoadedCount) {
      mostLoaded = worker;
      mostLoadedCount = count;
    }
  }
  if (mostLoaded === undefined) return [];
  let steals = 0;
  if (mostLoadedCount > target) steals = Math.min(needed, mostLoadedCount - target);
  else if (mostLoadedCount === target && needed > 1) steals = 1;
  steals = Math.min(steals, options.maxStealsPerRound ?? 1);
  const victim = mostLoaded;
  return held
    .filter((lease) => lease.owner === victim)
    .sort(byPreference(me))
    .slice(0, steals)
    .map((lease) => ({ shardId: lease.shardId, expectedCounter: lease.counter, reason: 'steal' as const, from: victim }));
}
