/**
 * The runtime's Redis helpers against baselines measured in the same run:
 * - applyOnce with 500-op batches (one Lua script: check types, apply, record the position)
 *   vs the same 500 ops as a plain pipeline (no exactly-once) and as MULTI/EXEC;
 * - lease checkpoints (fenced Lua script) awaited one by one vs a plain awaited HSET;
 * - tumbling-window put+get of a 10 KB state.
 * Run alone: `node bin/run-ts.js bench/runtime/redisHelpers.ts`, or register `redisHelpersBench`
 * as a suite in bench/index.ts. Env: SLUICE_REDIS_URL, SLUICE_BENCH_SECONDS (per case, default 3).
 */
import Redis from 'ioredis';
import type { BenchSuite } from '../index';
import { ExactlyOnceStore } from '../../runtime/exactlyOnce/applyOnce';
import type { RedisOp } from '../../runtime/exactlyOnce/applyOnce';
import { LeaseStore } from '../../runtime/leases/leaseStore';
import { RedisKeys } from '../../runtime/redis/keys';
import { TumblingWindowStore } from '../../runtime/windows/tumblingWindowStore';

const redisUrl = process.env.SLUICE_REDIS_URL ?? 'redis://127.0.0.1:6379';
const seconds = Number(process.env.SLUICE_BENCH_SECONDS ?? 3);
const BATCH_OPS = 500;
const DEVICES = 100;

/** Runs `step` back to back for `seconds`; returns steps per second. */
async function rate(step: (i: number) => Promise<unknown>): Promise<{ steps: number; perSecond: number }> {
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  let steps = 0;
  while (performance.now() < end) await step(steps++);
  return { steps, perSecond: Math.round(steps / ((performance.now() - start) / 1000)) };
}

/** A batch like an aggregate processor's: per device a count, a sum, a max and a min (4 ops per reading). */
function batchOps(keys: RedisKeys, batch: number, devices = DEVICES): RedisOp[] {
  const ops: RedisOp[] = [];
  for (let i = 0; ops.length < BATCH_OPS; i++) {
    const key = `${keys.prefix}:agg:device-${(batch * 7 + i) % devices}`;
    const value = (batch * 31 + i) % 1000;
    ops.push({ op: 'hincrby', key, field: 'count', value: 1 }, { op: 'hincrby', key, field: 'sum', value }, { op: 'hmax', key, field: 'max', value }, { op: 'hmin', key, field: 'min', value });
  }
  return ops;
}

async function cleanup(redis: Redis, keys: RedisKeys): Promise<void> {
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', keys.everything(), 'COUNT', 1000);
    cursor = next;
    if (batch.length > 0) await redis.del(...batch);
  } while (cursor !== '0');
}

export async function benchRedisHelpers(): Promise<Record<string, unknown>> {
  const redis = new Redis(redisUrl);
  const keys = new RedisKeys(`sluice-bench-${process.pid}`);
  try {
    const exactlyOnce = new ExactlyOnceStore({ redis, keys });
    const batches = Array.from({ length: 64 }, (_, batch) => batchOps(keys, batch));
    const opsOf = (i: number): RedisOp[] => batches[i % batches.length] as RedisOp[];

    const applyOnceRate = await rate((i) => exactlyOnce.applyOnce({ scope: 'bench/0', position: String(1_000_000 + i), ops: opsOf(i) }));
    // 125 readings from 5 devices: runs on one key/field fold into one op before Redis
    const fewDeviceBatches = Array.from({ length: 64 }, (_, batch) => batchOps(keys, batch, 5));
    const fewDevicesRate = await rate((i) => exactlyOnce.applyOnce({ scope: 'bench/1', position: String(1_000_000 + i), ops: fewDeviceBatches[i % 64] as RedisOp[] }));
    const duplicateRate = await rate(() => exactlyOnce.applyOnce({ scope: 'bench/0', position: '1', ops: opsOf(0) }));
    const pipelineRate = await rate(async (i) => {
      const pipeline = redis.pipeline();
      for (const op of opsOf(i)) {
        // hmax/hmin have no single-command equivalent: HSET stands in (a lower bound of the work)
        if (op.op === 'hincrby') pipeline.hincrby(op.key, op.field, op.value);
        else if (op.op === 'hmax' || op.op === 'hmin') pipeline.hset(op.key, op.field, op.value);
      }
      pipeline.set(keys.exactlyOnceApplied('bench/pipeline'), String(i));
      await pipeline.exec();
    });
    const multiRate = await rate(async (i) => {
      const multi = redis.multi();
      for (const op of opsOf(i)) {
        if (op.op === 'hincrby') multi.hincrby(op.key, op.field, op.value);
        else if (op.op === 'hmax' || op.op === 'hmin') multi.hset(op.key, op.field, op.value);
      }
      multi.set(keys.exactlyOnceApplied('bench/multi'), String(i));
      await multi.exec();
    });

    const leases = new LeaseStore({ redis, keys, leaseGroup: 'bench@stream', leaseDurationMs: 60_000 });
    await leases.syncShards([{ id: 'shardId-000000000000', parents: [], closed: false }], { type: 'TRIM_HORIZON' });
    const held = await leases.takeLease('shardId-000000000000', 'bench-worker', null);
    if (!held.taken) throw new Error('bench: could not take the lease');
    const checkpointRate = await rate((i) => leases.checkpoint('shardId-000000000000', 'bench-worker', held.lease.counter, String(1_000_000 + i)));
    const plainHsetRate = await rate((i) => redis.hset(`${keys.prefix}:plain-checkpoint`, 'checkpoint', String(i)));

    const windows = new TumblingWindowStore({ redis, keys });
    const state = { devices: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`device-${i}`, { count: i, sum: i * 10, max: i }])) };
    const stateBytes = Buffer.byteLength(JSON.stringify(state));
    const windowRate = await rate(async (i) => {
      const window = { start: (i % 10) * 60_000, end: (i % 10) * 60_000 + 60_000 };
      await windows.put('bench@stream', 'shardId-000000000000', window, state);
      await windows.get('bench@stream', 'shardId-000000000000', window.start);
    });

    return {
      applyOnce: {
        opsPerBatch: BATCH_OPS,
        batchesPerSecond: applyOnceRate.perSecond,
        opsPerSecond: applyOnceRate.perSecond * BATCH_OPS,
        devicesPerBatch: DEVICES,
        duplicateBatchesPerSecond: duplicateRate.perSecond,
        fiveDevicesPerBatchOpsPerSecond: fewDevicesRate.perSecond * BATCH_OPS,
        baselinePipelineOpsPerSecond: pipelineRate.perSecond * BATCH_OPS,
        baselineMultiOpsPerSecond: multiRate.perSecond * BATCH_OPS,
        vsPipeline: Number((applyOnceRate.perSecond / pipelineRate.perSecond).toFixed(2)),
        vsMulti: Number((applyOnceRate.perSecond / multiRate.perSecond).toFixed(2)),
      },
      leaseCheckpoint: {
        awaitedPerSecond: checkpointRate.perSecond,
        baselineAwaitedHsetPerSecond: plainHsetRate.perSecond,
        vsHset: Number((checkpointRate.perSecond / plainHsetRate.perSecond).toFixed(2)),
      },
      windowPutGet: { stateBytes, roundTripsPerSecond: windowRate.perSecond },
    };
  } finally {
    await cleanup(redis, keys);
    redis.disconnect();
  }
}

export const redisHelpersBench: BenchSuite = {
  name: 'runtime-redis',
  description: `applyOnce (${BATCH_OPS}-op batches) vs pipeline/MULTI, fenced checkpoints vs HSET, window state put+get (${seconds} s per case)`,
  run: benchRedisHelpers,
};

// bin/run-ts.js requires this file, so require.main is not it: compare the entry path instead
if (process.argv[1] === __filename) {
  benchRedisHelpers()
    .then((result) => console.log(JSON.stringify(result, null, 2)))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
