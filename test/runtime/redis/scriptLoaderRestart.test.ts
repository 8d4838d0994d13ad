/**
 * The runtime's Redis scripts across a restart of Redis (the project's own, with its AOF): a
 * restarted Redis has an empty script cache, so EVALSHA would answer NOSCRIPT; every way sluice
 * runs a script must load it again and go on, on the same connection. And a call that meets
 * Redis down either waits for it (a short outage) or fails as a retriable CONNECTION_FAILED,
 * and a Kinesis lease checkpoint is retried until Redis is back rather than ending the shard.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { isSluiceError } from '../../../core/errors';
import { isPortFree } from '../../../infra/ports';
import { startProjectRedis } from '../../../infra/redis/projectRedis';
import type { ProjectRedis } from '../../../infra/redis/projectRedis';
import { applyOnce } from '../../../runtime/exactlyOnce/applyOnce';
import { applyOnceWith, guardedScript } from '../../../runtime/exactlyOnce/guardedScript';
import { LeaseCoordinator } from '../../../runtime/leases/leaseCoordinator';
import type { ShardLeaseHandle } from '../../../runtime/leases/leaseCoordinator';
import { LeaseStore } from '../../../runtime/leases/leaseStore';
import { RedisKeys } from '../../../runtime/redis/keys';
import { quietConnectionErrors, resilientRedisOptions } from '../../../runtime/redis/redisAvailability';
import { execPipeline, luaScripts, queueScript, runScript, scriptPipeline } from '../../../runtime/redis/scriptLoader';
import { RedisSchemaStore } from '../../../schemas/redisSchemaStore';

const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex');

let project: ProjectRedis;
let dataDir: string;
/** the connection under test: opened once, kept across every restart */
let redis: Redis;
/** a fresh connection per look, so what it sees is Redis's state, not a client's */
async function look<T>(use: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(project.url, { maxRetriesPerRequest: 1 });
  try {
    return await use(client);
  } finally {
    client.disconnect();
  }
}
const cached = (lua: string): Promise<boolean> => look(async (client) => ((await client.script('EXISTS', sha1(lua))) as number[])[0] === 1);

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-script-restart-'));
  project = await startProjectRedis({ dir: dataDir, appendfsync: 'always' });
  redis = quietConnectionErrors(new Redis(project.url, resilientRedisOptions()));
});

afterAll(async () => {
  redis?.disconnect();
  await project?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('runtime scripts across a Redis restart', () => {
  const keys = new RedisKeys('restart-test');
  const heartbeatLua = (): string => (luaScripts().get('heartbeat') as { lua: string }).lua;

  it('runScript loads a script again on the same connection after a SIGKILL emptied the script cache', async () => {
    const [, first] = await runScript(redis, 'heartbeat', [keys.workers('g')], ['worker-a', 60_000]);
    expect(first).toEqual('worker-a');
    expect(await cached(heartbeatLua())).toBe(true);
    await project.restart({ signal: 'SIGKILL' });
    expect(await cached(heartbeatLua())).toBe(false); // EVALSHA alone would now answer NOSCRIPT
    const reply = await runScript(redis, 'heartbeat', [keys.workers('g')], ['worker-b', 60_000]);
    expect(reply.slice(1).sort()).toEqual(['worker-a', 'worker-b']); // and the AOF kept worker-a
    expect(await cached(heartbeatLua())).toBe(true);
  });

  it('a script pipeline (queueScript) works after a restart', async () => {
    await project.restart({ signal: 'SIGKILL' });
    const pipeline = scriptPipeline(redis);
    for (const id of ['s-1', 's-2']) queueScript(pipeline, 'createLease', [keys.lease('g', id), keys.leaseShards('g')], [id, 'TRIM_HORIZON', '', '[]']);
    expect(await execPipeline(pipeline)).toEqual([1, 1]);
    expect(await look((client) => client.smembers(keys.leaseShards('g')))).toEqual(expect.arrayContaining(['s-1', 's-2']));
  });

  it('applyOnce and a guarded script work after a restart and after SCRIPT FLUSH, still exactly once', async () => {
    const counterKey = 'restart-test:count';
    const bump = guardedScript('restartBump', `local function apply(keys, args) return true, redis.call('INCRBY', keys[1], args[1]) end`);
    expect(await applyOnce(redis, { scope: 'a', position: '1', ops: [{ op: 'incrby', key: counterKey, value: 1 }] }, keys)).toBe('applied');
    expect(await applyOnceWith(redis, bump, { scope: 'b', position: '1', keys: [counterKey], args: [10] }, keys)).toMatchObject({ outcome: 'applied', reply: 11 });
    await project.restart({ signal: 'SIGKILL' });
    expect(await applyOnce(redis, { scope: 'a', position: '1', ops: [{ op: 'incrby', key: counterKey, value: 1 }] }, keys)).toBe('duplicate');
    expect(await applyOnceWith(redis, bump, { scope: 'b', position: '2', keys: [counterKey], args: [100] }, keys)).toMatchObject({ outcome: 'applied', reply: 111 });
    await look((client) => client.script('FLUSH')); // NOSCRIPT on a socket that had loaded them
    expect(await cached(bump.lua)).toBe(false);
    expect(await applyOnce(redis, { scope: 'a', position: '2', ops: [{ op: 'incrby', key: counterKey, value: 1000 }] }, keys)).toBe('applied');
    expect(await applyOnceWith(redis, bump, { scope: 'b', position: '2', keys: [counterKey], args: [100] }, keys)).toMatchObject({ outcome: 'duplicate' });
    expect(await look((client) => client.get(counterKey))).toBe('1111');
  });

  it('the Redis schema store registers a version after a restart (its own EVALSHA, EVAL on NOSCRIPT)', async () => {
    const store = RedisSchemaStore.connect(project.url, { keyPrefix: 'restart-test:schemas' });
    try {
      const subject = (n: number): { subject: string; fingerprint: string; schemaText: string; expectedVersionCount: number } => ({ subject: `s${n}`, fingerprint: `f${n}`, schemaText: `"string${n}"`, expectedVersionCount: 0 });
      expect(await store.putVersion(subject(1))).toMatchObject({ outcome: 'registered', version: 1 });
      await project.restart({ signal: 'SIGKILL' });
      expect(await store.putVersion(subject(2))).toMatchObject({ outcome: 'registered', version: 1 });
      expect(await store.listSubjects()).toEqual(['s1', 's2']);
    } finally {
      await store.close();
    }
  });
});

describe('a call that meets Redis down', () => {
  const keys = new RedisKeys('down-test');

  async function whileDown(downMs: number, call: () => Promise<unknown>): Promise<{ outcome: PromiseSettledResult<unknown>; restarted: Promise<unknown> }> {
    const restarted = project.restart({ signal: 'SIGKILL', downMs });
    while (!(await isPortFree(project.port))) await new Promise((resolve) => setTimeout(resolve, 10));
    const [outcome] = await Promise.allSettled([call()]);
    return { outcome: outcome as PromiseSettledResult<unknown>, restarted };
  }

  it('waits for Redis when it is back within the wait, and goes through', async () => {
    const { outcome, restarted } = await whileDown(200, () => runScript(redis, 'heartbeat', [keys.workers('g')], ['w', 60_000]));
    await restarted;
    expect(outcome).toMatchObject({ status: 'fulfilled', value: [expect.any(Number), 'w'] });
  });

  it('fails as a retriable CONNECTION_FAILED when Redis stays down longer, and the retry after the restart succeeds', async () => {
    const { outcome, restarted } = await whileDown(4000, () => applyOnce(redis, { scope: 'x', position: '7', ops: [{ op: 'incrby', key: 'down-test:n', value: 1 }] }, keys));
    expect(outcome.status).toBe('rejected');
    const error = (outcome as PromiseRejectedResult).reason as unknown;
    expect(isSluiceError(error, 'CONNECTION_FAILED') && error.retriable).toBe(true);
    await restarted;
    expect(await applyOnce(redis, { scope: 'x', position: '7', ops: [{ op: 'incrby', key: 'down-test:n', value: 1 }] }, keys)).toBe('applied');
  });

  it('a Kinesis lease checkpoint waits out the outage instead of failing (which would stop the shard for good)', async () => {
    const store = new LeaseStore({ redis, keys, leaseGroup: 'fn@stream', leaseDurationMs: 6000 });
    await store.syncShards([{ id: 'shardId-0', parents: [], closed: false }], { type: 'TRIM_HORIZON' });
    const coordinator = new LeaseCoordinator({ store, workerId: 'worker-1', renewIntervalMs: 1000, takeIntervalMs: 200 });
    const acquired = new Promise<ShardLeaseHandle>((resolve) => coordinator.on('acquired', (_shard, _checkpoint, _lease, handle) => resolve(handle)));
    coordinator.start();
    try {
      const handle = await acquired;
      // down for 2 s: longer than a command waits, shorter than the lease
      const { outcome, restarted } = await whileDown(2000, () => handle.checkpoint('12345'));
      await restarted;
      expect(outcome.status).toBe('fulfilled');
      expect(handle.isHeld()).toBe(true);
      expect((await store.getLease('shardId-0'))?.checkpoint).toBe('12345');
    } finally {
      await coordinator.stop();
    }
  });
});
