import type Redis from 'ioredis';
import { isSluiceError } from '../../../core/errors';
import type { ErrorCode } from '../../../core/errors';
import { LeaseStore } from '../../../runtime/leases/leaseStore';
import { CHECKPOINT, startPositionOf } from '../../../runtime/leases/shardLease';
import type { ShardDescription } from '../../../runtime/leases/shardLease';
import type { RedisKeys } from '../../../runtime/redis/keys';
import { connectTestRedis, deleteKeys, uniqueKeys } from './redisTestKit';

const GROUP = 'fn@stream';
const openShards = (...ids: string[]): ShardDescription[] => ids.map((id) => ({ id, parents: [], closed: false }));

async function expectError(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(isSluiceError(error, code)).toBe(true);
}

describe('lease store (Redis)', () => {
  let redis: Redis;
  let keys: RedisKeys;
  let store: LeaseStore;

  beforeEach(() => {
    redis = connectTestRedis();
    keys = uniqueKeys('leases');
    store = new LeaseStore({ redis, keys, leaseGroup: GROUP, leaseDurationMs: 2000 });
  });

  afterEach(async () => {
    await deleteKeys(redis, keys);
    redis.disconnect();
  });

  describe('syncShards', () => {
    it('creates a lease per shard at the initial position, and leaves existing leases alone', async () => {
      const first = await store.syncShards(openShards('shardId-0', 'shardId-1'), { type: 'TRIM_HORIZON' });
      expect(first.created.sort()).toEqual(['shardId-0', 'shardId-1']);
      const taken = await store.takeLease('shardId-0', 'w1', null);
      if (!taken.taken) throw new Error('take failed');
      await store.checkpoint('shardId-0', 'w1', taken.lease.counter, '100');

      const second = await store.syncShards(openShards('shardId-0', 'shardId-1', 'shardId-2'), { type: 'LATEST' });
      expect(second.created).toEqual(['shardId-2']);
      const { leases } = await store.listLeases();
      expect(leases.map((lease) => [lease.shardId, lease.checkpoint, lease.owner])).toEqual([
        ['shardId-0', '100', 'w1'],
        ['shardId-1', CHECKPOINT.TRIM_HORIZON, null],
        ['shardId-2', CHECKPOINT.LATEST, null],
      ]);
      expect(await redis.smembers(keys.leaseGroups())).toEqual([GROUP]);
    });

    it('with LATEST skips closed shards, and starts children of a leased parent at TRIM_HORIZON', async () => {
      await store.syncShards([{ id: 'old', parents: [], closed: true }, { id: 'p', parents: ['old'], closed: false }], { type: 'LATEST' });
      let { leases } = await store.listLeases();
      expect(leases.map((lease) => [lease.shardId, lease.checkpoint])).toEqual([['p', CHECKPOINT.LATEST]]);

      // p is split into c1 and c2 while the mapping runs: the children must be read from their start
      await store.syncShards(
        [
          { id: 'old', parents: [], closed: true },
          { id: 'p', parents: ['old'], closed: true },
          { id: 'c1', parents: ['p'], closed: false },
          { id: 'c2', parents: ['p'], closed: false },
        ],
        { type: 'LATEST' },
      );
      ({ leases } = await store.listLeases());
      expect(leases.map((lease) => [lease.shardId, lease.checkpoint, lease.parentShardIds])).toEqual([
        ['c1', CHECKPOINT.TRIM_HORIZON, ['p']],
        ['c2', CHECKPOINT.TRIM_HORIZON, ['p']],
        ['p', CHECKPOINT.LATEST, ['old']],
      ]);
    });

    it('with AT_TIMESTAMP starts a new family at the timestamp, parents and children alike', async () => {
      await store.syncShards([{ id: 'p', parents: [], closed: true }, { id: 'c', parents: ['p'], closed: false }], { type: 'AT_TIMESTAMP', timestamp: 1_700_000_000_000 });
      const { leases } = await store.listLeases();
      expect(leases.map((lease) => [lease.shardId, lease.checkpoint, lease.atTimestamp])).toEqual([
        ['c', CHECKPOINT.AT_TIMESTAMP, 1_700_000_000_000],
        ['p', CHECKPOINT.AT_TIMESTAMP, 1_700_000_000_000],
      ]);
      expect(startPositionOf(leases[0] as (typeof leases)[0])).toEqual({ type: 'at-timestamp', timestamp: 1_700_000_000_000 });
    });

    it('deletes the leases of shards that left the stream and reports the unfinished ones', async () => {
      await store.syncShards(openShards('a', 'b', 'c'), { type: 'TRIM_HORIZON' });
      const taken = await store.takeLease('a', 'w1', null);
      if (!taken.taken) throw new Error('take failed');
      await store.markShardEnd('a', 'w1', taken.lease.counter);
      const result = await store.syncShards(openShards('c'), { type: 'TRIM_HORIZON' });
      expect(result.removed.sort()).toEqual(['a', 'b']);
      expect(result.removedUnfinished).toEqual(['b']);
      expect((await store.listLeases()).leases.map((lease) => lease.shardId)).toEqual(['c']);
    });
  });

  describe('take, renew, release', () => {
    beforeEach(async () => {
      await store.syncShards(openShards('s'), { type: 'TRIM_HORIZON' });
    });

    it('takes an unowned lease, bumps the counter and sets the expiry from Redis time', async () => {
      const [seconds] = await redis.time();
      const result = await store.takeLease('s', 'w1', null);
      expect(result.taken).toBe(true);
      if (!result.taken) return;
      expect(result.lease).toMatchObject({ shardId: 's', owner: 'w1', counter: 1, checkpoint: CHECKPOINT.TRIM_HORIZON, ownerSwitchesSinceCheckpoint: 1 });
      expect(result.lease.expiresAt).toBeGreaterThanOrEqual(Number(seconds) * 1000 + 2000);
    });

    it('refuses to take a live lease without the current counter, and lets a steal with it through', async () => {
      const first = await store.takeLease('s', 'w1', null);
      if (!first.taken) throw new Error('take failed');
      expect(await store.takeLease('s', 'w2', null)).toEqual({ taken: false, reason: 'held' });
      expect(await store.takeLease('s', 'w2', first.lease.counter - 1)).toEqual({ taken: false, reason: 'held' });
      const steal = await store.takeLease('s', 'w2', first.lease.counter);
      expect(steal.taken && steal.lease.owner).toBe('w2');
      expect(steal.taken && steal.lease.counter).toBe(first.lease.counter + 1);
      expect(steal.taken && steal.lease.ownerSwitchesSinceCheckpoint).toBe(2);
      // the previous owner's renewal is refused: it must stop
      await expectError(store.renewLease('s', 'w1', first.lease.counter), 'LEASE_LOST');
    });

    it('lets anyone take a lease once it expired by Redis time', async () => {
      const short = new LeaseStore({ redis, keys, leaseGroup: GROUP, leaseDurationMs: 150 });
      const first = await short.takeLease('s', 'w1', null);
      if (!first.taken) throw new Error('take failed');
      expect((await short.takeLease('s', 'w2', null)).taken).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const second = await short.takeLease('s', 'w2', null);
      expect(second.taken && second.lease.owner).toBe('w2');
    });

    it('renews for the holder with its counter and bumps the counter each time', async () => {
      const first = await store.takeLease('s', 'w1', null);
      if (!first.taken) throw new Error('take failed');
      const renewed = await store.renewLease('s', 'w1', first.lease.counter);
      expect(renewed.counter).toBe(first.lease.counter + 1);
      expect(renewed.expiresAt).toBeGreaterThanOrEqual(first.lease.expiresAt);
      await expectError(store.renewLease('s', 'w1', first.lease.counter), 'LEASE_LOST'); // stale counter
      await expectError(store.renewLease('s', 'w2', renewed.counter), 'LEASE_LOST'); // not the owner
      await expectError(store.renewLease('nope', 'w1', 1), 'LEASE_LOST');
    });

    it('releases only for the holder, leaving the lease free for the next taker', async () => {
      const first = await store.takeLease('s', 'w1', null);
      if (!first.taken) throw new Error('take failed');
      expect(await store.releaseLease('s', 'w2', first.lease.counter)).toBe(false);
      expect(await store.releaseLease('s', 'w1', first.lease.counter)).toBe(true);
      expect(await store.getLease('s')).toMatchObject({ owner: null, expiresAt: 0 });
      expect((await store.takeLease('s', 'w2', null)).taken).toBe(true);
    });

    it('keeps workers in the registry while their heartbeat lives', async () => {
      const short = new LeaseStore({ redis, keys, leaseGroup: GROUP, leaseDurationMs: 150 });
      await short.heartbeat('w1', 150);
      const { liveWorkers } = await short.heartbeat('w2', 5000);
      expect(liveWorkers.sort()).toEqual(['w1', 'w2']);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await short.heartbeat('w2', 5000)).liveWorkers).toEqual(['w2']);
      await short.removeWorker('w2');
      expect((await short.heartbeat('w3', 5000)).liveWorkers).toEqual(['w3']);
    });
  });

  describe('checkpoint', () => {
    beforeEach(async () => {
      await store.syncShards(openShards('s'), { type: 'TRIM_HORIZON' });
    });

    it('refuses a zombie: the previous holder cannot move the checkpoint after a takeover', async () => {
      const zombie = await store.takeLease('s', 'w1', null);
      if (!zombie.taken) throw new Error('take failed');
      await store.checkpoint('s', 'w1', zombie.lease.counter, '49590338271490256608559692538361571095921575989136588898');
      const successor = await store.takeLease('s', 'w2', zombie.lease.counter);
      if (!successor.taken) throw new Error('steal failed');

      await expectError(store.checkpoint('s', 'w1', zombie.lease.counter, '49590338271490256608559692538361571095921575989136589999'), 'LEASE_LOST');
      expect((await store.getLease('s'))?.checkpoint).toBe('49590338271490256608559692538361571095921575989136588898');
      await store.checkpoint('s', 'w2', successor.lease.counter, '49590338271490256608559692538361571095921575989136589000');
      expect(await store.getLease('s')).toMatchObject({ checkpoint: '49590338271490256608559692538361571095921575989136589000', ownerSwitchesSinceCheckpoint: 0 });
    });

    it('never moves backwards, comparing sequence numbers as big integers', async () => {
      const held = await store.takeLease('s', 'w1', null);
      if (!held.taken) throw new Error('take failed');
      await store.checkpoint('s', 'w1', held.lease.counter, '1000');
      await expectError(store.checkpoint('s', 'w1', held.lease.counter, '999'), 'POSITION_INVALID'); // shorter, though "999" > "1000" as text
      await store.checkpoint('s', 'w1', held.lease.counter, '1000'); // same place: fine
      await store.checkpoint('s', 'w1', held.lease.counter, '10000');
      await expectError(store.checkpoint('s', 'w1', held.lease.counter, 'TRIM_HORIZON'), 'POSITION_INVALID');
      await expectError(store.checkpoint('s', 'w1', held.lease.counter, '0100'), 'POSITION_INVALID');
      expect((await store.getLease('s'))?.checkpoint).toBe('10000');
    });

    it('ends at SHARD_END: nothing moves it afterwards except a rewind, and nobody takes the ended lease', async () => {
      const held = await store.takeLease('s', 'w1', null);
      if (!held.taken) throw new Error('take failed');
      await store.markShardEnd('s', 'w1', held.lease.counter);
      await expectError(store.checkpoint('s', 'w1', held.lease.counter, '5'), 'POSITION_INVALID');
      expect(await store.takeLease('s', 'w2', null)).toEqual({ taken: false, reason: 'shard-end' });
      expect(startPositionOf((await store.getLease('s')) as NonNullable<Awaited<ReturnType<LeaseStore['getLease']>>>)).toBeNull();
    });

    it('rewind moves a checkpoint backwards and fences out the current holder', async () => {
      const held = await store.takeLease('s', 'w1', null);
      if (!held.taken) throw new Error('take failed');
      await store.checkpoint('s', 'w1', held.lease.counter, '500');
      const rewound = await store.rewind('s', { type: 'SEQUENCE_NUMBER', sequenceNumber: '120' });
      expect(rewound).toMatchObject({ owner: null, checkpoint: '120', counter: held.lease.counter + 1 });
      await expectError(store.checkpoint('s', 'w1', held.lease.counter, '600'), 'LEASE_LOST');
      await expectError(store.renewLease('s', 'w1', held.lease.counter), 'LEASE_LOST');
      const next = await store.takeLease('s', 'w2', null);
      expect(next.taken && startPositionOf(next.lease)).toEqual({ type: 'after', position: '120' });
      await expectError(store.rewind('missing', { type: 'TRIM_HORIZON' }), 'PARTITION_NOT_FOUND');
    });
  });
});
