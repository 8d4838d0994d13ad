import fc from 'fast-check';
import { planLeaseTakeover, shardsReadyToProcess } from '../../../runtime/leases/leaseTakeover';
import type { PlannedTake } from '../../../runtime/leases/leaseTakeover';
import { CHECKPOINT } from '../../../runtime/leases/shardLease';
import type { ShardLease } from '../../../runtime/leases/shardLease';

const NOW = 1_000_000;
const DURATION = 10_000;

function lease(shardId: string, overrides: Partial<ShardLease> = {}): ShardLease {
  return { shardId, owner: null, counter: 0, checkpoint: CHECKPOINT.TRIM_HORIZON, atTimestamp: null, parentShardIds: [], ownerSwitchesSinceCheckpoint: 0, expiresAt: 0, ...overrides };
}

const held = (shardId: string, owner: string, overrides: Partial<ShardLease> = {}): ShardLease => lease(shardId, { owner, counter: 3, expiresAt: NOW + DURATION, ...overrides });

/** Applies a planned take as the takeLease script does: only if the counter is unchanged. */
function applyTake(leases: ShardLease[], worker: string, take: PlannedTake): boolean {
  const index = leases.findIndex((candidate) => candidate.shardId === take.shardId);
  const current = leases[index] as ShardLease;
  if (current.counter !== take.expectedCounter || current.checkpoint === CHECKPOINT.SHARD_END) return false;
  leases[index] = { ...current, owner: worker, counter: current.counter + 1, expiresAt: NOW + DURATION };
  return true;
}

function loads(leases: readonly ShardLease[], workers: readonly string[]): number[] {
  return workers.map((worker) => leases.filter((candidate) => mayProcess(candidate, leases) && candidate.owner === worker && candidate.expiresAt > NOW).length);
}

/**
 * Arbitrary lease tables: shards with parents among earlier shards (a reshard history), some
 * ended, owned by live workers, by dead workers whose leases expired, or by nobody.
 */
const scenario = fc
  .record({
    workerCount: fc.integer({ min: 1, max: 5 }),
    shards: fc.array(
      fc.record({
        parents: fc.uniqueArray(fc.nat(30), { maxLength: 2 }),
        ended: fc.boolean(),
        owner: fc.oneof(fc.constant(null), fc.nat(6)), // >= workerCount: a dead worker
        expired: fc.boolean(),
        counter: fc.nat(20),
      }),
      { minLength: 0, maxLength: 24 },
    ),
    order: fc.array(fc.nat(), { minLength: 5, maxLength: 5 }),
  })
  .map(({ workerCount, shards, order }) => {
    const workers = Array.from({ length: workerCount }, (_, i) => `w${i}`);
    const leases = shards.map((shard, i) => {
      const parents = shard.parents.filter((parent) => parent < i).map((parent) => `s${parent}`);
      const owner = shard.owner === null ? null : `w${shard.owner}`;
      const dead = owner !== null && !workers.includes(owner);
      return lease(`s${i}`, {
        parentShardIds: parents,
        checkpoint: shard.ended ? CHECKPOINT.SHARD_END : '100',
        owner,
        counter: shard.counter,
        expiresAt: owner === null ? 0 : dead || shard.expired ? NOW - 1 : NOW + DURATION,
      });
    });
    const turnOrder = [...workers].sort((a, b) => (order[Number(a.slice(1))] ?? 0) - (order[Number(b.slice(1))] ?? 0));
    return { workers, leases, turnOrder };
  });

/** The test's own oracle for "may be processed": not ended, every parent ended or absent. */
function mayProcess(target: ShardLease, leases: readonly ShardLease[]): boolean {
  if (target.checkpoint === CHECKPOINT.SHARD_END) return false;
  return target.parentShardIds.every((parentId) => {
    const parent = leases.find((candidate) => candidate.shardId === parentId);
    return !parent || parent.checkpoint === CHECKPOINT.SHARD_END;
  });
}

function checkPlan(plan: PlannedTake[], leases: readonly ShardLease[], me: string): void {
  expect(new Set(plan.map((take) => take.shardId)).size).toBe(plan.length);
  for (const take of plan) {
    const target = leases.find((candidate) => candidate.shardId === take.shardId) as ShardLease;
    expect(mayProcess(target, leases)).toBe(true); // never a child before its parents ended
    expect(target.owner === me && target.expiresAt > NOW).toBe(false); // never what it already holds
    expect(take.expectedCounter).toBe(target.counter);
  }
  expect(plan.filter((take) => take.reason === 'steal').length).toBeLessThanOrEqual(1);
}

describe('planLeaseTakeover', () => {
  it('takes unowned and expired leases first, up to ceil(leases / workers)', () => {
    const leases = [held('a', 'w1'), lease('b'), lease('c', { owner: 'dead', counter: 7, expiresAt: NOW - 1 }), lease('d'), held('e', 'w2')];
    const plan = planLeaseTakeover(leases, ['w1', 'w2', 'w3'], 'w3', NOW);
    expect(plan).toHaveLength(2); // target ceil(5 / 3) = 2
    for (const take of plan) {
      expect(['b', 'c', 'd']).toContain(take.shardId);
      expect(take).toMatchObject(take.shardId === 'c' ? { reason: 'expired', expectedCounter: 7 } : { reason: 'unowned', expectedCounter: 0 });
    }
  });

  it('steals one lease per round from the most loaded worker when below target', () => {
    const leases = ['a', 'b', 'c', 'd', 'e', 'f'].map((id, i) => held(id, i < 4 ? 'w1' : 'w2'));
    const plan = planLeaseTakeover(leases, ['w1', 'w2', 'w3'], 'w3', NOW);
    expect(plan).toEqual([expect.objectContaining({ reason: 'steal', from: 'w1', expectedCounter: 3 })]);
    expect(['a', 'b', 'c', 'd']).toContain(plan[0]?.shardId);
  });

  it('does not steal from a worker at target when it needs only one more', () => {
    // 5 leases, 3 workers: target 2; w3 has 1, the others 2 each: balanced within 1
    const leases = [held('a', 'w1'), held('b', 'w1'), held('c', 'w2'), held('d', 'w2'), held('e', 'w3')];
    expect(planLeaseTakeover(leases, ['w1', 'w2', 'w3'], 'w3', NOW)).toEqual([]);
  });

  it('waits for every parent to reach SHARD_END (or be gone) before taking a child', () => {
    const leases = [
      held('parent1', 'w1', { checkpoint: CHECKPOINT.SHARD_END }),
      lease('parent2', { checkpoint: '5' }),
      lease('child', { parentShardIds: ['parent1', 'parent2'] }),
      lease('orphan', { parentShardIds: ['trimmed-away'] }),
    ];
    expect(shardsReadyToProcess(leases).sort()).toEqual(['orphan', 'parent2']);
    const plan = planLeaseTakeover(leases, ['w1'], 'w1', NOW);
    expect(plan.map((take) => take.shardId).sort()).toEqual(['orphan', 'parent2']);
    const afterEnd = leases.map((candidate) => (candidate.shardId === 'parent2' ? { ...candidate, checkpoint: CHECKPOINT.SHARD_END } : candidate));
    expect(shardsReadyToProcess(afterEnd).sort()).toEqual(['child', 'orphan']);
  });

  it('property: workers taking turns converge to every ready shard held once, balanced within 1, children never before parents', () => {
    fc.assert(
      fc.property(scenario, ({ workers, leases: initial, turnOrder }) => {
        const leases = initial.map((candidate) => ({ ...candidate }));
        let quietTurns = 0;
        for (let turn = 0; quietTurns < workers.length; turn++) {
          if (turn > 400) throw new Error('did not converge');
          const me = turnOrder[turn % turnOrder.length] as string;
          const plan = planLeaseTakeover(leases, workers, me, NOW);
          checkPlan(plan, leases, me);
          const taken = plan.filter((take) => applyTake(leases, me, take)).length;
          expect(taken).toBe(plan.length); // turns are sequential here: nothing raced
          quietTurns = taken === 0 ? quietTurns + 1 : 0;
        }
        for (const candidate of leases) {
          if (mayProcess(candidate, leases)) {
            expect(workers).toContain(candidate.owner);
            expect(candidate.expiresAt).toBeGreaterThan(NOW);
          }
        }
        const counts = loads(leases, workers);
        expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
  });

  it('property: workers planning from the same snapshot never both get a shard (conditional takes)', () => {
    fc.assert(
      fc.property(scenario, fc.infiniteStream(fc.nat()), ({ workers, leases: initial }, shuffle) => {
        const leases = initial.map((candidate) => ({ ...candidate }));
        const snapshot = leases.map((candidate) => ({ ...candidate }));
        const plans = workers.flatMap((me) => {
          const plan = planLeaseTakeover(snapshot, workers, me, NOW);
          checkPlan(plan, snapshot, me);
          return plan.map((take) => ({ me, take }));
        });
        // apply every worker's takes, interleaved in an arbitrary order
        const order = plans.map((entry, i) => ({ entry, key: shuffle.next().value + i / 1000 })).sort((a, b) => a.key - b.key);
        const winners = new Map<string, string[]>();
        for (const { entry } of order) {
          if (applyTake(leases, entry.me, entry.take)) winners.set(entry.take.shardId, [...(winners.get(entry.take.shardId) ?? []), entry.me]);
        }
        for (const got of winners.values()) expect(got).toHaveLength(1);
        // and nobody got a shard whose owner was live and that it did not plan as a steal
        for (const [shardId, [winner]] of winners) {
          const before = snapshot.find((candidate) => candidate.shardId === shardId) as ShardLease;
          if (before.owner !== null && before.expiresAt > NOW && before.owner !== winner) {
            expect(plans.some(({ me, take }) => me === winner && take.shardId === shardId && take.reason === 'steal')).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
