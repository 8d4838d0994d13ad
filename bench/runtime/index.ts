/**
 * `npm run bench -- runtime`: the mapping runner (fast mode) against baselines in the same run.
 *   throughput  a no-op handler through MappingRunner (Kafka, BatchSize 500, TRIM_HORIZON) vs a
 *               raw kafkajs consumer (eachBatch, no-op) reading the same pre-produced topic;
 *               rounds alternate, medians reported. Raw's clock runs from GROUP_JOIN, the runtime's
 *               from its first partition assignment, both to the last batch's end, so connecting and
 *               the join itself are not in them (reported as setupMs).
 *   parallel    IO-bound handlers (each invocation awaits 10 ms, BatchSize 10) on Kinesis
 *               (kinesalite, Redis leases) at 1x1, 4x1, 4x4, 4x8 shards x ParallelizationFactor;
 *               batches/s over a fixed window once every shard is owned, and
 *               efficiency = rate / (lanes x rate at 1 lane).
 *   latency     produce-to-handler-start for a trickle of records on Kafka (hdr-histogram-js).
 * MaximumBatchingWindowInSeconds is 0 throughout (Kafka's AWS default is 0.5 s, which would
 * add up to 0.5 s to the tail of a throughput round and to every trickled record).
 * Env: SLUICE_KAFKA_BROKERS, SLUICE_KINESIS_ENDPOINT, SLUICE_REDIS_URL, SLUICE_BENCH_RECORDS,
 * SLUICE_BENCH_PARALLEL_BATCH_SIZE (default 10; smaller shows whether kinesalite limits 32 lanes).
 */
import path from 'node:path';
import * as hdr from 'hdr-histogram-js';
import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import type { Admin } from 'kafkajs';
import type { BenchSuite } from '../index';
import { resolveMappingConfig } from '../../runtime/mapping/mappingConfig';
import { RedisKeys } from '../../runtime/redis/keys';
import { MappingRunner } from '../../runtime/runner/mappingRunner';
import { openStreamClient } from '../../streams/openStreamClient';
import type { StreamClient, StreamRecordInput } from '../../streams/streamClient';
import { resetBenchProbe, wallClockMs } from './handlers';
import type { BenchProbe } from './handlers';

const brokers = (process.env.SLUICE_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const kinesisHost = (process.env.SLUICE_KINESIS_ENDPOINT ?? 'http://127.0.0.1:4567').replace(/^https?:\/\//, '');
const redisUrl = process.env.SLUICE_REDIS_URL ?? 'redis://127.0.0.1:6379';
const THROUGHPUT_RECORDS = Number(process.env.SLUICE_BENCH_RECORDS ?? 200_000);
const THROUGHPUT_PARTITIONS = 4;
const THROUGHPUT_ROUNDS = 3;
const PARALLEL_BATCH_SIZE = Number(process.env.SLUICE_BENCH_PARALLEL_BATCH_SIZE ?? 10);
const PARALLEL_CONFIGS = [
  { shards: 1, factor: 1 },
  { shards: 4, factor: 1 },
  { shards: 4, factor: 4 },
  { shards: 4, factor: 8 },
];
const PARALLEL_WARMUP_MS = 500;
const PARALLEL_WINDOW_MS = 2500;
const LATENCY_RECORDS = 200;
const LATENCY_PER_SECOND = 100;

const handlerFile = path.join(__dirname, 'handlers.ts');
const runId = `${process.pid}-${Date.now().toString(36)}`;
let nameCounter = 0;
function uniqueName(prefix: string): string {
  nameCounter += 1;
  return `${prefix}-${runId}-${nameCounter}`;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`bench runtime: timed out waiting for ${what}`);
    await sleep(5);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

const round3 = (value: number): number => Math.round(value * 1000) / 1000;

function makeRecords(count: number, bytes: number): StreamRecordInput[] {
  return Array.from({ length: count }, (_, index) => {
    const value = Buffer.alloc(bytes, 0x61);
    value.write(String(index));
    return { key: `device-${index % 1000}`, value };
  });
}

async function produceAll(client: StreamClient, stream: string, records: StreamRecordInput[], chunk: number): Promise<void> {
  for (let start = 0; start < records.length; start += chunk) await client.produce(stream, records.slice(start, start + chunk));
}

interface RunnerSetup {
  client: StreamClient;
  source: string;
  handler: string;
  mapping: Record<string, unknown>;
  redis?: Redis;
  keyPrefix?: string;
  functionName?: string;
}

function newRunner(setup: RunnerSetup): MappingRunner {
  const mapping = resolveMappingConfig({
    FunctionName: setup.functionName ?? uniqueName('bench'),
    Source: setup.source,
    StartingPosition: 'TRIM_HORIZON',
    MaximumBatchingWindowInSeconds: 0,
    Runtime: { Mode: 'fast' },
    ...setup.mapping,
    Function: { Handler: `${handlerFile}#${setup.handler}` },
  }, 'bench/runtime');
  return new MappingRunner({ mapping, client: setup.client, redis: setup.redis, keyPrefix: setup.keyPrefix, leaseDurationMs: 10_000 });
}

interface ThroughputRun {
  perSec: number;
  setupMs: number;
}

/** Records per second between two wall-clock instants. */
function rateOf(count: number, firstAt: number, lastAt: number): number {
  return Math.round(count / ((lastAt - firstAt) / 1000));
}

async function runtimeThroughput(client: StreamClient, admin: Admin, topic: string, total: number): Promise<ThroughputRun> {
  const probe = resetBenchProbe();
  const functionName = uniqueName('bench-noop');
  const runner = newRunner({ client, functionName, source: `kafka://${brokers.join(',')}/${topic}`, handler: 'noop', mapping: { BatchSize: 500 } });
  const startedAt = wallClockMs();
  // the clock starts when the group has assigned a first partition (as raw's starts at GROUP_JOIN)
  let assignedAt = 0;
  const watch = setInterval(() => {
    if (assignedAt === 0 && runner.stats().ownedPartitions.length > 0) assignedAt = wallClockMs();
  }, 1);
  try {
    await runner.start();
    await waitFor(() => probe.records >= total, `${total} records through the runtime`, 120_000);
    if (probe.records !== total) throw new Error(`runtime delivered ${probe.records} records, expected ${total}`);
    const clockFrom = assignedAt === 0 ? probe.firstBatchAt : Math.min(assignedAt, probe.firstBatchAt);
    return { perSec: rateOf(probe.records, clockFrom, probe.lastBatchAt), setupMs: Math.round(clockFrom - startedAt) };
  } finally {
    clearInterval(watch);
    await runner.stop();
    await admin.deleteGroups([`sluice-${functionName}`]).catch(() => undefined);
  }
}

async function rawThroughput(kafka: Kafka, admin: Admin, topic: string, total: number): Promise<ThroughputRun> {
  const groupId = uniqueName('bench-raw');
  const consumer = kafka.consumer({ groupId, retry: { retries: 5 } });
  const startedAt = wallClockMs();
  let seen = 0;
  let joinedAt = 0;
  let lastAt = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    if (joinedAt === 0) joinedAt = wallClockMs();
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        seen += batch.messages.length;
        lastAt = wallClockMs();
        return Promise.resolve();
      },
    });
    await waitFor(() => seen >= total, `${total} records through raw kafkajs`, 120_000);
    return { perSec: rateOf(seen, joinedAt, lastAt), setupMs: Math.round(joinedAt - startedAt) };
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
}

async function benchThroughput(client: StreamClient, kafka: Kafka, admin: Admin): Promise<Record<string, unknown>> {
  const topic = uniqueName('bench-rt-tp');
  await client.createStream(topic, THROUGHPUT_PARTITIONS);
  try {
    console.error(`bench runtime: producing ${THROUGHPUT_RECORDS} records of 100 bytes`);
    await produceAll(client, topic, makeRecords(THROUGHPUT_RECORDS, 100), 1000);
    const runtime: ThroughputRun[] = [];
    const raw: ThroughputRun[] = [];
    for (let round = 0; round < THROUGHPUT_ROUNDS; round++) {
      console.error(`bench runtime: throughput round ${round + 1}/${THROUGHPUT_ROUNDS}`);
      // alternate which goes first, so neither always runs on a warmer JIT/page cache
      const order = round % 2 === 0 ? ['raw', 'runtime'] : ['runtime', 'raw'];
      for (const which of order) {
        if (which === 'raw') raw.push(await rawThroughput(kafka, admin, topic, THROUGHPUT_RECORDS));
        else runtime.push(await runtimeThroughput(client, admin, topic, THROUGHPUT_RECORDS));
      }
    }
    const runtimePerSec = median(runtime.map((run) => run.perSec));
    const rawPerSec = median(raw.map((run) => run.perSec));
    return {
      records: THROUGHPUT_RECORDS, valueBytes: 100, partitions: THROUGHPUT_PARTITIONS, batchSize: 500, rounds: THROUGHPUT_ROUNDS,
      runtimePerSec, rawKafkajsPerSec: rawPerSec, ratio: round3(runtimePerSec / rawPerSec), target: 0.8,
      runtimeRounds: runtime.map((run) => run.perSec), rawRounds: raw.map((run) => run.perSec),
      runtimeSetupMs: median(runtime.map((run) => run.setupMs)), rawSetupMs: median(raw.map((run) => run.setupMs)),
    };
  } finally {
    await client.deleteStream(topic).catch(() => undefined);
  }
}

interface ParallelRun {
  shards: number;
  factor: number;
  lanes: number;
  batchesPerSec: number;
  recordsPerSec: number;
  backlogLeft: boolean;
}

async function parallelRun(client: StreamClient, redis: Redis, keyPrefix: string, stream: string, produced: number, shards: number, factor: number): Promise<ParallelRun> {
  const probe: BenchProbe = resetBenchProbe();
  const runner = newRunner({
    client, redis, keyPrefix, source: `kinesis://${kinesisHost}/${stream}`, handler: 'wait10ms',
    mapping: { BatchSize: PARALLEL_BATCH_SIZE, ParallelizationFactor: factor },
  });
  try {
    await runner.start();
    await waitFor(() => runner.stats().ownedPartitions.length === shards && probe.batches > 0, `${shards} shards owned`, 30_000);
    await sleep(PARALLEL_WARMUP_MS);
    const before = { batches: probe.batches, records: probe.records, at: wallClockMs() };
    await sleep(PARALLEL_WINDOW_MS);
    const seconds = (wallClockMs() - before.at) / 1000;
    const batchesPerSec = Math.round((probe.batches - before.batches) / seconds);
    const recordsPerSec = Math.round((probe.records - before.records) / seconds);
    return { shards, factor, lanes: shards * factor, batchesPerSec, recordsPerSec, backlogLeft: probe.records < produced };
  } finally {
    await runner.stop();
  }
}

async function cleanupRedis(redis: Redis, keys: RedisKeys): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', keys.everything(), 'COUNT', 1000);
    cursor = next;
    if (batch.length > 0) deleted += await redis.del(...batch);
  } while (cursor !== '0');
  return deleted;
}

async function benchParallel(): Promise<Record<string, unknown>> {
  const client = openStreamClient(`kinesis://${kinesisHost}/x`);
  const redis = new Redis(redisUrl);
  const keyPrefix = `sluice-bench-rt-${runId}`;
  const streams = new Map<number, { name: string; produced: number }>();
  try {
    // each stream holds enough backlog for the fastest config reading it over the whole run
    for (const shards of [...new Set(PARALLEL_CONFIGS.map((config) => config.shards))]) {
      const lanes = Math.max(...PARALLEL_CONFIGS.filter((config) => config.shards === shards).map((config) => config.shards * config.factor));
      const produced = Math.ceil((lanes * 100 * PARALLEL_BATCH_SIZE * (PARALLEL_WARMUP_MS + PARALLEL_WINDOW_MS + 2000)) / 1000);
      const name = uniqueName('bench-rt-par');
      await client.createStream(name, shards);
      streams.set(shards, { name, produced });
      console.error(`bench runtime: producing ${produced} records into ${shards}-shard kinesis stream`);
      await produceAll(client, name, makeRecords(produced, 50), 500);
    }
    const runs: ParallelRun[] = [];
    for (const { shards, factor } of PARALLEL_CONFIGS) {
      console.error(`bench runtime: parallel ${shards} shards x factor ${factor}`);
      const stream = streams.get(shards);
      if (!stream) throw new Error(`no ${shards}-shard stream`);
      runs.push(await parallelRun(client, redis, keyPrefix, stream.name, stream.produced, shards, factor));
    }
    const single = runs[0]?.batchesPerSec ?? 0;
    return {
      handler: 'awaits 10 ms per invocation', batchSize: PARALLEL_BATCH_SIZE, windowMs: PARALLEL_WINDOW_MS, target: 'efficiency >= 0.8 at 32 lanes',
      configs: runs.map((run) => ({ ...run, efficiency: round3(run.batchesPerSec / (run.lanes * single)) })),
    };
  } finally {
    for (const { name } of streams.values()) await client.deleteStream(name).catch(() => undefined);
    await cleanupRedis(redis, new RedisKeys(keyPrefix)).catch(() => undefined);
    await client.close();
    redis.disconnect();
  }
}

async function benchLatency(client: StreamClient): Promise<Record<string, unknown>> {
  const topic = uniqueName('bench-rt-lat');
  await client.createStream(topic, THROUGHPUT_PARTITIONS);
  const probe = resetBenchProbe();
  const runner = newRunner({ client, source: `kafka://${brokers.join(',')}/${topic}`, handler: 'latency', mapping: { BatchSize: 100 } });
  try {
    await runner.start();
    await waitFor(() => runner.stats().ownedPartitions.length === THROUGHPUT_PARTITIONS, 'all partitions assigned', 30_000);
    await sleep(500);
    console.error(`bench runtime: latency, ${LATENCY_RECORDS} records at ${LATENCY_PER_SECOND}/s`);
    const startAt = wallClockMs();
    for (let index = 0; index < LATENCY_RECORDS; index++) {
      const due = startAt + (index * 1000) / LATENCY_PER_SECOND;
      const wait = due - wallClockMs();
      if (wait > 0) await sleep(wait);
      await client.produce(topic, [{ key: `device-${index}`, value: Buffer.from(JSON.stringify({ producedAt: wallClockMs() })) }]);
    }
    await waitFor(() => probe.latenciesMs.length >= LATENCY_RECORDS, 'trickled records', 30_000);
    const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
    for (const ms of probe.latenciesMs) histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
    const ms = (micros: number): number => Math.round(micros / 10) / 100;
    const figures = {
      records: probe.latenciesMs.length, perSecond: LATENCY_PER_SECOND, mode: 'fast',
      p50Ms: ms(histogram.getValueAtPercentile(50)), p99Ms: ms(histogram.getValueAtPercentile(99)), maxMs: ms(histogram.maxValue), meanMs: ms(histogram.mean),
    };
    histogram.destroy();
    return figures;
  } finally {
    await runner.stop();
    await client.deleteStream(topic).catch(() => undefined);
  }
}

export const runtimeBench: BenchSuite = {
  name: 'runtime',
  description: 'mapping runner (fast mode): no-op throughput vs raw kafkajs, parallel 10 ms handlers on Kinesis, invocation latency',
  async run() {
    const client = openStreamClient(`kafka://${brokers.join(',')}/x`, { clientId: 'sluice-bench-runtime' });
    const kafka = new Kafka({ brokers, clientId: 'sluice-bench-raw', logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      // SLUICE_BENCH_PARTS=throughput,parallel,latency picks parts (default: all)
      const parts = (process.env.SLUICE_BENCH_PARTS ?? 'throughput,parallel,latency').split(',');
      const throughput = parts.includes('throughput') ? await benchThroughput(client, kafka, admin) : undefined;
      const parallel = parts.includes('parallel') ? await benchParallel() : undefined;
      const latency = parts.includes('latency') ? await benchLatency(client) : undefined;
      return { throughput, parallel, latency };
    } finally {
      await admin.disconnect();
      await client.close();
    }
  },
};
