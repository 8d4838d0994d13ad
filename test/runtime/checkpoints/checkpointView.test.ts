import type Redis from 'ioredis';
import { isSluiceError } from '../../../core/errors';
import { CHECKPOINT_COLUMNS, CheckpointView, checkpointTable } from '../../../runtime/checkpoints/checkpointView';
import { LeaseCoordinator } from '../../../runtime/leases/leaseCoordinator';
import type { LeaseLostReason, ShardLeaseHandle } from '../../../runtime/leases/leaseCoordinator';
import { LeaseStore } from '../../../runtime/leases/leaseStore';
import { CHECKPOINT } from '../../../runtime/leases/shardLease';
import type { RedisKeys } from '../../../runtime/redis/keys';
import { leaseGroupName } from '../../../runtime/redis/keys';
import { connectTestRedis, deleteKeys, uniqueKeys, waitFor } from '../leases/redisTestKit';

describe('checkpoint view (sluice checkpoints show|rewind)', () => {
  let redis: Redis;
  let keys: RedisKeys;
  let view: CheckpointView;

  beforeEach(() => {
    redis = connectTestRedis();
    keys = uniqueKeys('checkpoints');
    view = new CheckpointView({ redis, keys });
  });

  afterEach(async () => {
    await deleteKeys(redis, keys);
    redis.disconnect();
  });

  it('lists every lease group\'s shards with checkpoint, owner and lease state', async () => {
    const group = leaseGroupName('aggregate', 'telemetry');
    const store = new LeaseStore({ redis, keys, leaseGroup: group, leaseDurationMs: 5000 });
    const shortLeases = new LeaseStore({ redis, keys, leaseGroup: group, leaseDurationMs: 100 });
    await store.syncShards(
      [
        { id: 'shardId-000000000000', parents: [], closed: true },
        { id: 'shardId-000000000001', parents: [], closed: false },
        { id: 'shardId-000000000002', parents: [], closed: false },
        { id: 'shardId-000000000003', parents: ['shardId-000000000000'], closed: false },
        { id: 'shardId-000000000004', parents: [], closed: false },
      ],
      { type: 'TRIM_HORIZON' },
    );
    const ended = await store.takeLease('shardId-000000000000', 'w1', null);
    if (!ended.taken) throw new Error('take failed');
    await store.checkpoint('shardId-000000000000', 'w1', ended.lease.counter, '4000');
    const held = await store.takeLease('shardId-000000000001', 'w1', null);
    if (!held.taken) throw new Error('take failed');
    await store.checkpoint('shardId-000000000001', 'w1', held.lease.counter, '5000');
    await shortLeases.takeLease('shardId-000000000002', 'w2', null);
    await new Promise((resolve) => setTimeout(resolve, 250)); // w2's 100 ms lease expires

    const other = new LeaseStore({ redis, keys, leaseGroup: leaseGroupName('alerts', 'telemetry') });
    await other.syncShards([{ id: 'shardId-000000000000', parents: [], closed: false }], { type: 'AT_TIMESTAMP', timestamp: Date.UTC(2026, 0, 1) });

    expect(await view.leaseGroups()).toEqual(['aggregate@telemetry', 'alerts@telemetry']);
    const rows = await view.list();
    expect(rows.map((row) => [row.group, row.partition, row.checkpoint, row.state, row.owner])).toEqual([
      ['aggregate@telemetry', 'shardId-000000000000', '4000', 'held', 'w1'],
      ['aggregate@telemetry', 'shardId-000000000001', '5000', 'held', 'w1'],
      ['aggregate@telemetry', 'shardId-000000000002', CHECKPOINT.TRIM_HORIZON, 'expired', 'w2'],
      ['aggregate@telemetry', 'shardId-000000000003', CHECKPOINT.TRIM_HORIZON, 'waiting', null],
      ['aggregate@telemetry', 'shardId-000000000004', CHECKPOINT.TRIM_HORIZON, 'free', null],
      ['alerts@telemetry', 'shardId-000000000000', CHECKPOINT.AT_TIMESTAMP, 'free', null],
    ]);
    const heldRow = rows[1];
    expect(heldRow?.expiresInMs).toBeGreaterThan(0);
    expect(heldRow?.expiresInMs).toBeLessThanOrEqual(5000);
    expect(heldRow?.source).toBe('kinesis-lease');

    await store.markShardEnd('shardId-000000000000', 'w1', ended.lease.counter);
    const afterEnd = await view.list(group);
    expect(afterEnd.map((row) => row.state)).toEqual(['ended', 'held', 'expired', 'free', 'free']);
    expect(afterEnd[3]?.parents).toEqual(['shardId-000000000000']);

    const table = checkpointTable(await view.list('alerts@telemetry'));
    expect(table[0]).toEqual([...CHECKPOINT_COLUMNS]);
    expect(table[1]).toEqual(['alerts@telemetry', 'shardId-000000000000', 'AT_TIMESTAMP 2026-01-01T00:00:00.000Z', 'free', '-', '-', '0', '-']);
  });

  it('rewinds a running worker\'s shard: the worker loses it, and whoever takes it next starts at the rewound position', async () => {
    const group = leaseGroupName('aggregate', 'telemetry');
    const store = new LeaseStore({ redis, keys, leaseGroup: group, leaseDurationMs: 1500 });
    await store.syncShards([{ id: 'shardId-000000000000', parents: [], closed: false }], { type: 'LATEST' });
    const coordinator = new LeaseCoordinator({ store, workerId: 'worker-a', renewIntervalMs: 300, takeIntervalMs: 100 });
    const acquired: string[] = [];
    const handles: ShardLeaseHandle[] = [];
    const lost: LeaseLostReason[] = [];
    coordinator.on('acquired', (_shardId, checkpoint, _lease, handle) => {
      acquired.push(checkpoint);
      handles.push(handle);
    });
    coordinator.on('lost', (_shardId, reason) => lost.push(reason));
    coordinator.start();
    try {
      await waitFor('the worker acquires the shard', () => acquired.length === 1);
      await coordinator.checkpoint('shardId-000000000000', '9000');

      const row = await view.rewind(group, 'shardId-000000000000', '1234');
      expect(row).toMatchObject({ partition: 'shardId-000000000000', checkpoint: '1234', owner: null });
      await waitFor('the worker lost and re-acquired the shard', () => acquired.length === 2);
      expect(lost).toHaveLength(1);
      expect(acquired).toEqual([CHECKPOINT.LATEST, '1234']);
      // the earlier acquisition (a partition worker still running from 9000) cannot undo the rewind
      const stale = await (handles[0] as ShardLeaseHandle).checkpoint('9500').then(() => undefined, (caught: unknown) => caught);
      expect(isSluiceError(stale, 'LEASE_LOST')).toBe(true);
      expect((handles[0] as ShardLeaseHandle).isHeld()).toBe(false);
      await (handles[1] as ShardLeaseHandle).checkpoint('1300');
      expect((await view.list(group))[0]).toMatchObject({ checkpoint: '1300', owner: 'worker-a', state: 'held' });
    } finally {
      await coordinator.stop();
    }
    expect((await view.list(group))[0]).toMatchObject({ checkpoint: '1300', owner: null, state: 'free' });
  });

  it('parses what an admin types for a rewind, and refuses the rest', async () => {
    const group = 'g@s';
    const store = new LeaseStore({ redis, keys, leaseGroup: group });
    await store.syncShards([{ id: 'shard', parents: [], closed: false }], { type: 'LATEST' });
    expect((await view.rewind(group, 'shard', 'TRIM_HORIZON')).checkpoint).toBe(CHECKPOINT.TRIM_HORIZON);
    expect(await view.rewind(group, 'shard', 'AT_TIMESTAMP:2026-02-03T04:05:06Z')).toMatchObject({ checkpoint: CHECKPOINT.AT_TIMESTAMP, atTimestamp: Date.UTC(2026, 1, 3, 4, 5, 6) });
    expect(await view.rewind(group, 'shard', { type: 'LATEST' })).toMatchObject({ checkpoint: CHECKPOINT.LATEST, atTimestamp: null });
    for (const text of ['yesterday', '-5', '007', 'AT_TIMESTAMP:soon', 'SHARD_END']) {
      const error = await view.rewind(group, 'shard', text).then(() => undefined, (caught: unknown) => caught);
      expect({ text, invalid: isSluiceError(error, 'POSITION_INVALID') }).toEqual({ text, invalid: true });
    }
    const missing = await view.rewind(group, 'no-such-shard', 'LATEST').then(() => undefined, (caught: unknown) => caught);
    expect(isSluiceError(missing, 'PARTITION_NOT_FOUND')).toBe(true);
  });
});
