import type Redis from 'ioredis';
import { isSluiceError } from '../../../core/errors';
import { LeaseCoordinator } from '../../../runtime/leases/leaseCoordinator';
import type { LeaseLostReason, ShardLeaseHandle } from '../../../runtime/leases/leaseCoordinator';
import { LeaseStore } from '../../../runtime/leases/leaseStore';
import { CHECKPOINT } from '../../../runtime/leases/shardLease';
import type { ShardDescription, ShardLease } from '../../../runtime/leases/shardLease';
import type { RedisKeys } from '../../../runtime/redis/keys';
import { connectTestRedis, deleteKeys, uniqueKeys, waitFor } from './redisTestKit';

const GROUP = 'processor@telemetry';
const LEASE_DURATION_MS = 1200;
const SHARDS: ShardDescription[] = Array.from({ length: 6 }, (_, i) => ({ id: `shardId-00000000000${i}`, parents: [], closed: false }));

interface Success {
  shardId: string;
  worker: string;
  counter: number;
  sequence: number;
}

/**
 * One worker as the runtime will run it: its own Redis connection, a coordinator, and a
 * stand-in for the engine that keeps checkpointing every shard it holds with a globally
 * increasing sequence number (INCR), logging each checkpoint Redis accepted.
 */
class TestWorker {
  readonly redis: Redis = connectTestRedis();
  readonly store: LeaseStore;
  readonly coordinator: LeaseCoordinator;
  readonly acquired: ShardLease[] = [];
  readonly lost: Array<{ shardId: string; reason: LeaseLostReason }> = [];
  readonly unexpectedErrors: unknown[] = [];
  private readonly handles = new Map<string, ShardLeaseHandle>();
  private processing = true;
  private processor: Promise<void> = Promise.resolve();

  constructor(readonly name: string, keys: RedisKeys, private readonly successes: Success[], discoverShards?: () => Promise<ShardDescription[]>) {
    this.store = new LeaseStore({ redis: this.redis, keys, leaseGroup: GROUP, leaseDurationMs: LEASE_DURATION_MS });
    this.coordinator = new LeaseCoordinator({ store: this.store, workerId: name, renewIntervalMs: 400, takeIntervalMs: 150, discoverShards });
    this.coordinator.on('acquired', (shardId, _checkpoint, lease, handle) => {
      this.acquired.push(lease);
      this.handles.set(shardId, handle);
    });
    this.coordinator.on('lost', (shardId, reason) => {
      this.lost.push({ shardId, reason });
      this.handles.delete(shardId);
    });
  }

  start(sequenceKey?: string): void {
    this.coordinator.start();
    if (sequenceKey) this.processor = this.process(sequenceKey);
  }

  private async process(sequenceKey: string): Promise<void> {
    while (this.processing) {
      await Promise.all(
        [...this.handles.values()].filter((handle) => handle.isHeld()).map(async (handle) => {
          const shardId = handle.shardId;
          const sequence = await this.redis.incr(sequenceKey);
          try {
            await handle.withLease(async (fence) => {
              await this.store.checkpoint(shardId, fence.worker, fence.counter, String(sequence));
              this.successes.push({ shardId, worker: this.name, counter: fence.counter, sequence });
            });
          } catch (error) {
            if (!isSluiceError(error, 'LEASE_LOST')) this.unexpectedErrors.push(error);
          }
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
  }

  /** Like a process killed: no release, no goodbye; its leases stay until they expire. */
  async crash(): Promise<void> {
    this.processing = false;
    await this.processor;
    await this.coordinator.stop({ release: false });
  }

  async stop(): Promise<void> {
    this.processing = false;
    await this.processor;
    await this.coordinator.stop();
  }

  async close(): Promise<void> {
    await this.stop();
    this.redis.disconnect();
  }
}

/** Reads every lease every few ms and records which owner each (shard, counter) had. */
class LeaseSampler {
  readonly ownersByToken = new Map<string, Set<string>>();
  readonly counterWentBack: string[] = [];
  samples = 0;
  private readonly lastCounter = new Map<string, number>();
  private running = true;
  private readonly loop: Promise<void>;

  constructor(private readonly store: LeaseStore) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const { leases } = await this.store.listLeases();
      for (const lease of leases) {
        if ((this.lastCounter.get(lease.shardId) ?? -1) > lease.counter) this.counterWentBack.push(lease.shardId);
        this.lastCounter.set(lease.shardId, lease.counter);
        if (lease.owner === null) continue;
        const token = `${lease.shardId}#${lease.counter}`;
        const owners = this.ownersByToken.get(token) ?? new Set<string>();
        owners.add(lease.owner);
        this.ownersByToken.set(token, owners);
      }
      this.samples += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

async function ownersInRedis(store: LeaseStore): Promise<Map<string, string | null>> {
  const { now, leases } = await store.listLeases();
  return new Map(leases.map((lease) => [lease.shardId, lease.owner !== null && lease.expiresAt > now ? lease.owner : null]));
}

/** Each worker holds `expected` shards by its own view, the views are disjoint, and Redis agrees. */
async function settled(admin: LeaseStore, workers: TestWorker[], expected: number[]): Promise<boolean> {
  const views = workers.map((worker) => worker.coordinator.heldShards());
  if (views.some((view, i) => view.length !== expected[i])) return false;
  const owners = await ownersInRedis(admin);
  return views.every((view, i) => view.every((shardId) => owners.get(shardId) === workers[i]?.name));
}

describe('lease coordinator (Redis, several workers in one process)', () => {
  let admin: Redis;
  let keys: RedisKeys;
  let adminStore: LeaseStore;
  let workers: TestWorker[];

  beforeEach(() => {
    admin = connectTestRedis();
    keys = uniqueKeys('coordinator');
    adminStore = new LeaseStore({ redis: admin, keys, leaseGroup: GROUP, leaseDurationMs: LEASE_DURATION_MS });
    workers = [];
  });

  afterEach(async () => {
    await Promise.all(workers.map((worker) => worker.close()));
    await deleteKeys(admin, keys);
    admin.disconnect();
  });

  it('two then three workers share 6 shards evenly; a crashed worker\'s shards are taken over after expiry; fencing never lets two owners checkpoint', async () => {
    await adminStore.syncShards(SHARDS, { type: 'TRIM_HORIZON' });
    const successes: Success[] = [];
    const sequenceKey = `${keys.prefix}:test-sequence`;
    const sampler = new LeaseSampler(adminStore);
    const [a, b, c] = ['worker-a', 'worker-b', 'worker-c'].map((name) => new TestWorker(name, keys, successes)) as [TestWorker, TestWorker, TestWorker];
    workers.push(a, b, c);

    a.start(sequenceKey);
    b.start(sequenceKey);
    await waitFor('two workers hold 3 shards each', () => settled(adminStore, [a, b], [3, 3]));

    c.start(sequenceKey);
    await waitFor('three workers hold 2 shards each', () => settled(adminStore, [a, b, c], [2, 2, 2]));
    expect(a.lost.length + b.lost.length).toBeGreaterThanOrEqual(2); // c got its two by stealing

    await c.crash();
    const crashed = (await adminStore.listLeases()).leases.filter((lease) => lease.owner === c.name);
    expect(crashed).toHaveLength(2);
    await waitFor('the two survivors hold 3 shards each', () => settled(adminStore, [a, b], [3, 3]));

    // Taken over only after they expired: a take sets expiresAt = Redis time of the take + duration.
    for (const old of crashed) {
      const takeovers = [...a.acquired, ...b.acquired].filter((lease) => lease.shardId === old.shardId && lease.counter > old.counter);
      const first = takeovers.sort((x, y) => x.counter - y.counter)[0] as ShardLease;
      expect(first.counter).toBe(old.counter + 1); // nobody touched it between the crash and the takeover
      expect(first.expiresAt - LEASE_DURATION_MS).toBeGreaterThanOrEqual(old.expiresAt);
    }
    await sampler.stop();

    // As seen from Redis: one owner per fencing token, and tokens only grow.
    expect(sampler.samples).toBeGreaterThan(10);
    expect(sampler.counterWentBack).toEqual([]);
    for (const [token, owners] of sampler.ownersByToken) expect({ token, owners: [...owners] }).toEqual({ token, owners: [expect.any(String)] });

    // As seen by the checkpoints Redis accepted: in checkpoint order each shard's token never
    // goes back, and a token belongs to one worker - no zombie write slipped in after a takeover.
    expect(new Set(successes.map((success) => success.worker))).toEqual(new Set([a.name, b.name, c.name]));
    for (const shard of SHARDS) {
      const ordered = successes.filter((success) => success.shardId === shard.id).sort((x, y) => x.sequence - y.sequence);
      const workerOfToken = new Map<number, string>();
      for (let i = 0; i < ordered.length; i++) {
        const success = ordered[i] as Success;
        if (i > 0) expect(success.counter).toBeGreaterThanOrEqual((ordered[i - 1] as Success).counter);
        expect(workerOfToken.get(success.counter) ?? success.worker).toBe(success.worker);
        workerOfToken.set(success.counter, success.worker);
      }
    }
    expect([...a.unexpectedErrors, ...b.unexpectedErrors, ...c.unexpectedErrors]).toEqual([]);
  });

  it('a clean stop releases the leases, so the other worker takes them without waiting for the expiry', async () => {
    await adminStore.syncShards(SHARDS.slice(0, 4), { type: 'TRIM_HORIZON' });
    const [a, b] = ['worker-a', 'worker-b'].map((name) => new TestWorker(name, keys, [])) as [TestWorker, TestWorker];
    workers.push(a, b);
    a.start();
    b.start();
    await waitFor('two workers hold 2 shards each', () => settled(adminStore, [a, b], [2, 2]));
    const released = b.coordinator.heldShards();
    await b.stop();
    const owners = await ownersInRedis(adminStore);
    for (const shardId of released) expect([null, a.name]).toContain(owners.get(shardId));
    expect(await admin.zrange(keys.workers(GROUP), 0, -1)).toEqual([a.name]); // b left the registry
    await waitFor('the remaining worker holds all 4', () => settled(adminStore, [a], [4]));
  });

  it('refuses a zombie\'s checkpoint after a takeover and tells the engine the lease is lost', async () => {
    await adminStore.syncShards(SHARDS.slice(0, 2), { type: 'TRIM_HORIZON' });
    const a = new TestWorker('worker-a', keys, []);
    workers.push(a);
    a.start();
    await waitFor('the worker holds both shards', () => settled(adminStore, [a], [2]));
    const [stolen, kept] = a.coordinator.heldShards() as [string, string];
    await a.coordinator.checkpoint(stolen, '100');

    // another worker takes the lease over (as after a pause longer than the lease: a steal with the counter seen)
    const seen = (await adminStore.getLease(stolen)) as ShardLease;
    const takeover = await adminStore.takeLease(stolen, 'worker-b', seen.counter);
    expect(takeover.taken).toBe(true);

    const refused = await a.coordinator.checkpoint(stolen, '200').then(() => undefined, (error: unknown) => error);
    expect(isSluiceError(refused, 'LEASE_LOST')).toBe(true);
    expect(a.lost).toEqual([{ shardId: stolen, reason: 'lease-lost' }]);
    expect(await adminStore.getLease(stolen)).toMatchObject({ owner: 'worker-b', checkpoint: '100' });
    await a.coordinator.checkpoint(kept, '300');
    expect((await adminStore.getLease(kept))?.checkpoint).toBe('300');
  });

  it('does not acquire a child shard before its parent reached SHARD_END, then starts the children from their beginning', async () => {
    const family: ShardDescription[] = [
      { id: 'parent', parents: [], closed: true },
      { id: 'child-1', parents: ['parent'], closed: false },
      { id: 'child-2', parents: ['parent'], closed: false },
    ];
    const a = new TestWorker('worker-a', keys, [], async () => family);
    workers.push(a);
    let rounds = 0;
    a.coordinator.on('round', () => {
      rounds += 1;
    });
    a.start();
    await waitFor('the parent is acquired', () => a.coordinator.heldShards().includes('parent'));
    const seenRounds = rounds;
    await waitFor('three more take rounds', () => rounds >= seenRounds + 3);
    expect(a.coordinator.heldShards()).toEqual(['parent']);
    expect((await adminStore.listLeases()).leases.filter((lease) => lease.shardId.startsWith('child')).map((lease) => lease.owner)).toEqual([null, null]);

    await a.coordinator.checkpoint('parent', '77');
    await a.coordinator.markShardEnd('parent');
    await waitFor('both children are acquired', () => a.coordinator.heldShards().join() === 'child-1,child-2');
    expect(a.acquired.map((lease) => lease.shardId)[0]).toBe('parent');
    expect(a.acquired.slice(1).map((lease) => [lease.shardId, lease.checkpoint]).sort()).toEqual([
      ['child-1', CHECKPOINT.TRIM_HORIZON],
      ['child-2', CHECKPOINT.TRIM_HORIZON],
    ]);
    expect(await adminStore.getLease('parent')).toMatchObject({ checkpoint: CHECKPOINT.SHARD_END, owner: null });
  });
});
