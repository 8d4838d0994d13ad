import type Redis from 'ioredis';
import { isSluiceError } from '../../../core/errors';
import type { ErrorCode } from '../../../core/errors';
import { LeaseStore } from '../../../runtime/leases/leaseStore';
import type { RedisKeys } from '../../../runtime/redis/keys';
import { MAX_WINDOW_STATE_BYTES, TumblingWindowStore } from '../../../runtime/windows/tumblingWindowStore';
import { connectTestRedis, deleteKeys, uniqueKeys } from '../leases/redisTestKit';

const MAPPING = 'windowed@telemetry';
const SHARD = 'shardId-000000000000';
const MINUTE = { start: Date.UTC(2020, 11, 9, 7, 4), end: Date.UTC(2020, 11, 9, 7, 5) };

async function expectError(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(isSluiceError(error, code)).toBe(true);
}

describe('tumbling window state store (Redis)', () => {
  let redis: Redis;
  let keys: RedisKeys;
  let windows: TumblingWindowStore;

  beforeEach(() => {
    redis = connectTestRedis();
    keys = uniqueKeys('windows');
    windows = new TumblingWindowStore({ redis, keys });
  });

  afterEach(async () => {
    await deleteKeys(redis, keys);
    await redis.quit();
  });

  it('carries state between invocations of a window and survives a restart (a new connection and store)', async () => {
    expect(await windows.get(MAPPING, SHARD, MINUTE.start)).toBeNull();
    await windows.put(MAPPING, SHARD, MINUTE, { count: 3, devices: ['a', 'b'] });
    await windows.put(MAPPING, SHARD, MINUTE, { count: 5, devices: ['a', 'b', 'c'] });

    const restarted = connectTestRedis();
    try {
      const afterRestart = new TumblingWindowStore({ redis: restarted, keys });
      expect(await afterRestart.get(MAPPING, SHARD, MINUTE.start)).toEqual({ ...MINUTE, state: { count: 5, devices: ['a', 'b', 'c'] } });
      expect(await afterRestart.openWindows(MAPPING, SHARD)).toEqual([MINUTE]);
    } finally {
      restarted.disconnect();
    }
  });

  it('keeps windows per mapping and shard, lists a shard\'s open windows oldest first, and deletes them', async () => {
    const next = { start: MINUTE.end, end: MINUTE.end + 60_000 };
    await windows.put(MAPPING, SHARD, next, { n: 2 });
    await windows.put(MAPPING, SHARD, MINUTE, { n: 1 });
    await windows.put(MAPPING, 'shardId-000000000001', MINUTE, { n: 10 });
    await windows.put('other@telemetry', SHARD, MINUTE, { n: 100 });
    expect(await windows.openWindows(MAPPING, SHARD)).toEqual([MINUTE, next]);

    expect(await windows.delete(MAPPING, SHARD, MINUTE.start)).toBe(true);
    expect(await windows.delete(MAPPING, SHARD, MINUTE.start)).toBe(false);
    expect(await windows.get(MAPPING, SHARD, MINUTE.start)).toBeNull();
    expect(await windows.openWindows(MAPPING, SHARD)).toEqual([next]);
    expect((await windows.get(MAPPING, 'shardId-000000000001', MINUTE.start))?.state).toEqual({ n: 10 });
    expect((await windows.get('other@telemetry', SHARD, MINUTE.start))?.state).toEqual({ n: 100 });
  });

  it('refuses state over 1 MB with STATE_TOO_LARGE and keeps the previous state', async () => {
    await windows.put(MAPPING, SHARD, MINUTE, { count: 1 });
    const overhead = Buffer.byteLength(JSON.stringify({ blob: '' }));
    const atLimit = { blob: 'x'.repeat(MAX_WINDOW_STATE_BYTES - overhead) };
    await windows.put(MAPPING, SHARD, MINUTE, atLimit); // exactly 1 MB is allowed
    // read its size, not the megabyte itself: a 1 MB reply makes ioredis' parser keep a
    // shrinking buffer timer for seconds, which jest reports as an open handle
    const storedBytes = (): Promise<number> => redis.hstrlen(keys.window(MAPPING, SHARD, MINUTE.start), 'state');
    expect(await storedBytes()).toBe(MAX_WINDOW_STATE_BYTES);
    await expectError(windows.put(MAPPING, SHARD, MINUTE, { blob: 'x'.repeat(MAX_WINDOW_STATE_BYTES - overhead + 1) }), 'STATE_TOO_LARGE');
    // multi-byte characters count as their UTF-8 bytes
    await expectError(windows.put(MAPPING, SHARD, MINUTE, { blob: 'é'.repeat(MAX_WINDOW_STATE_BYTES / 2) }), 'STATE_TOO_LARGE');
    expect(await storedBytes()).toBe(MAX_WINDOW_STATE_BYTES);
  });

  it('refuses state that is not a JSON object, and bounds that are not a window', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expectError(windows.put(MAPPING, SHARD, MINUTE, circular), 'ENCODE_FAILED');
    await expectError(windows.put(MAPPING, SHARD, MINUTE, [1, 2] as unknown as Record<string, unknown>), 'ENCODE_FAILED');
    await expectError(windows.put(MAPPING, SHARD, { start: MINUTE.end, end: MINUTE.start }, {}), 'OPERATION_INVALID');
    expect(await windows.openWindows(MAPPING, SHARD)).toEqual([]);
  });

  it('with a lease fence, only the current holder of the shard lease can write: a zombie cannot', async () => {
    const leases = new LeaseStore({ redis, keys, leaseGroup: MAPPING });
    await leases.syncShards([{ id: SHARD, parents: [], closed: false }], { type: 'TRIM_HORIZON' });
    const first = await leases.takeLease(SHARD, 'worker-a', null);
    if (!first.taken) throw new Error('take failed');
    await windows.put(MAPPING, SHARD, MINUTE, { by: 'a' }, { worker: 'worker-a', counter: first.lease.counter });

    const second = await leases.takeLease(SHARD, 'worker-b', first.lease.counter);
    if (!second.taken) throw new Error('steal failed');
    await expectError(windows.put(MAPPING, SHARD, MINUTE, { by: 'zombie a' }, { worker: 'worker-a', counter: first.lease.counter }), 'LEASE_LOST');
    await expectError(windows.delete(MAPPING, SHARD, MINUTE.start, { worker: 'worker-a', counter: first.lease.counter }), 'LEASE_LOST');
    expect((await windows.get(MAPPING, SHARD, MINUTE.start))?.state).toEqual({ by: 'a' });
    await windows.put(MAPPING, SHARD, MINUTE, { by: 'b' }, { worker: 'worker-b', counter: second.lease.counter });
    expect((await windows.get(MAPPING, SHARD, MINUTE.start))?.state).toEqual({ by: 'b' });
  });
});
