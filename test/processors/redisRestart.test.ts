/**
 * The pipeline's Redis crashes (SIGKILL) and comes back with its AOF while records flow: the
 * aggregate handler, run by the MappingRunner from its file with its settings in the
 * environment as `sluice up` runs it, must neither crash the process nor lose or double-count
 * a reading. Afterwards the live windows equal a reference computed from the distinct input.
 * Runs on the project's own Redis (infra/redis/projectRedis.ts): the machine's keeps nothing on
 * disk, and other suites use it. On Kinesis the runner's leases and checkpoints live in that
 * Redis too.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Redis from 'ioredis';
import { startProjectRedis } from '../../infra/redis/projectRedis';
import type { ProjectRedis } from '../../infra/redis/projectRedis';
import { AggregateKeys } from '../../processors/aggregate/aggregateKeys';
import { windowSettingsFromEnv } from '../../processors/aggregate/aggregateSettings';
import { closeSharedResources } from '../../processors/shared/processorResources';
import { connectRedis } from '../../cli/support/redisConnection';
import { resolveMappingConfig } from '../../runtime/mapping/mappingConfig';
import { createRuntimeMetrics } from '../../runtime/metrics/runtimeMetrics';
import type { RuntimeMetrics } from '../../runtime/metrics/runtimeMetrics';
import { MappingRunner } from '../../runtime/runner/mappingRunner';
import { AvroCodec } from '../../schemas/avroCodec';
import type { EnrichedReading } from '../../schemas/records';
import { SUBJECTS, registerSluiceSchemas } from '../../schemas/sluiceSchemas';
import { openStreamClient } from '../../streams/openStreamClient';
import type { StreamClient } from '../../streams/streamClient';
import { tempRegistry } from '../schemas/tempRegistry';
import type { TempRegistry } from '../schemas/tempRegistry';
import { testServers, uniqueName } from '../support/servers';
import { aggregatesInRedis, expectSameAggregates, reading, referenceAggregates } from './aggregate/aggregateTestKit';

const root = path.resolve(__dirname, '../..');
const HANDLER = `${path.join(root, 'processors/aggregate/handler.ts')}#handler`;
const KAFKA = `kafka://${testServers.kafkaBrokers.join(',')}`;
const KINESIS = `kinesis://${testServers.kinesisEndpoint.replace(/^https?:\/\//, '')}`;
type Kind = 'kafka' | 'kinesis';
const CHUNKS = 40;
const CHUNK_PAUSE_MS = 250;
/**
 * How long Redis stays down at each restart: past the Kinesis lease duration (leases expire and
 * are taken again), longer than a command waits (batches fail and are retried), shorter (commands
 * wait). The long one first, so its lease expiry cannot restart a shard a shorter one stalled.
 */
const DOWN_MS = [4000, 1500, 200];

interface Recovery {
  /** from the SIGKILL until the new Redis answered PING with its AOF loaded */
  downMs: number;
  firstBatchAfterUpMs: number;
  firstBatchAfterKillMs: number;
}

/** `count` readings of 8 devices on 2 sites over the last ~50 s, in event-time order per device. */
function fleetReadings(base: number, count: number): EnrichedReading[] {
  return Array.from({ length: count }, (_, i) => {
    const device = i % 8;
    const seq = Math.floor(i / 8);
    return reading(`dev-${device}`, seq, base + seq * 700 + device * 11, { temperature: 15 + ((i * 37) % 200) / 10 - device, humidity: 40 + (i % 13) }, `site-${device % 2}`);
  });
}

/** Successful invocations so far: every invocation the runtime counted, less the failed ones. */
async function successfulInvocations(metrics: RuntimeMetrics): Promise<number> {
  const sum = async (metric: RuntimeMetrics['invocations']): Promise<number> => (await metric.get()).values.reduce((total, value) => total + value.value, 0);
  return (await sum(metrics.invocations)) - (await sum(metrics.errors));
}

describe('the aggregate handler while its Redis crashes (SIGKILL) and restarts', () => {
  let project: ProjectRedis;
  let dataDir: string;
  let temp: TempRegistry;
  let codec: AvroCodec;
  let outputClient: StreamClient;
  let observer: Redis;
  const prefix = uniqueName('aggrestart').replace(/[^A-Za-z0-9-]/g, '-');
  const outputs = { aggregates: uniqueName('agg-restart-out'), late: uniqueName('agg-restart-late'), dlq: uniqueName('agg-restart-dlq') };
  const unhandled: unknown[] = [];
  const recordUnhandled = (error: unknown): void => {
    unhandled.push(error);
  };

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-redis-restart-'));
    // 'always': with 'everysec' a SIGKILL can drop acknowledged writes (infra/redis/projectRedis.ts),
    // and a batch whose Kafka offset was committed is then never counted
    project = await startProjectRedis({ dir: dataDir, appendfsync: 'always' });
    temp = tempRegistry();
    await registerSluiceSchemas(temp.registry);
    codec = new AvroCodec(temp.registry);
    outputClient = openStreamClient(`${KAFKA}/unused`);
    for (const stream of Object.values(outputs)) await outputClient.createStream(stream, 1);
    observer = new Redis(project.url);
    observer.on('error', () => undefined); // it reconnects after each restart; its commands report failures
    Object.assign(process.env, {
      SLUICE_WINDOWS: 'tumbling:10s,hopping:30s/10s,session:5s',
      SLUICE_GRACE_MS: '600000', // nothing closes on the wall clock while the test runs
      SLUICE_REDIS_URL: project.url,
      SLUICE_SCHEMA_REGISTRY: temp.filePath,
      SLUICE_KEY_PREFIX: prefix,
      SLUICE_AGGREGATES_STREAM: `${KAFKA}/${outputs.aggregates}`,
      SLUICE_LATE_STREAM: `${KAFKA}/${outputs.late}`,
      SLUICE_PROCESSOR_DLQ: `${KAFKA}/${outputs.dlq}`,
    });
    process.on('unhandledRejection', recordUnhandled);
    process.on('uncaughtException', recordUnhandled);
  });

  afterAll(async () => {
    process.off('unhandledRejection', recordUnhandled);
    process.off('uncaughtException', recordUnhandled);
    await closeSharedResources();
    observer?.disconnect();
    for (const stream of Object.values(outputs)) await outputClient?.deleteStream(stream).catch(() => undefined);
    await outputClient?.close();
    await temp?.cleanup();
    await project?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it.each<Kind>(['kafka', 'kinesis'])('on %s: counts every distinct reading once across three restarts, and nothing crashes', async (kind) => {
    await observer.flushall(); // the project's own Redis: nothing else lives there
    const base = kind === 'kafka' ? KAFKA : KINESIS;
    const client = openStreamClient(`${base}/unused`);
    const source = uniqueName(`agg-restart-src-${kind}`);
    await client.createStream(source, 2);
    // Kinesis leases and checkpoints live in Redis too, on the connection `sluice run` opens
    const runnerRedis = kind === 'kinesis' ? await connectRedis(project.url) : undefined;
    const keys = new AggregateKeys(prefix);
    const settings = windowSettingsFromEnv(process.env);
    const readings = fleetReadings(Date.now() - 50_000, 480);
    const duplicates = readings.filter((_, i) => i % 7 === 3); // re-produced later: new positions, same (deviceId, seq)
    const stream = [...readings, ...duplicates];
    const chunkSize = Math.ceil(stream.length / CHUNKS);
    const counter = async (name: string): Promise<number> => Number((await observer.hget(keys.counters(), name)) ?? 0);

    const metrics = createRuntimeMetrics();
    const functionName = uniqueName(`agg-restart-${kind}`).replace(/[^A-Za-z0-9_-]/g, '-');
    const mapping = resolveMappingConfig({ FunctionName: functionName, Source: `${base}/${source}`, StartingPosition: 'TRIM_HORIZON', BatchSize: 10, Function: { Handler: HANDLER } }, 'test');
    const runner = new MappingRunner({ mapping, client, metrics, redis: runnerRedis, keyPrefix: prefix, leaseDurationMs: 3000 });
    const recoveries: Recovery[] = [];
    const consoleErrors = jest.spyOn(console, 'error'); // observes only: ioredis reports there an 'error' event nobody listens to
    try {
      await runner.start();
      const producing = (async () => {
        for (let at = 0; at < stream.length; at += chunkSize) {
          const chunk = stream.slice(at, at + chunkSize);
          await client.produce(source, await Promise.all(chunk.map(async (r) => ({ key: r.deviceId, value: await codec.encode(SUBJECTS.enrichedReading, r) }))));
          await new Promise((resolve) => setTimeout(resolve, CHUNK_PAUSE_MS));
        }
      })();
      for (const [restart, down] of DOWN_MS.entries()) {
        const before = await successfulInvocations(metrics);
        await waitUntil(async () => (await successfulInvocations(metrics)) > before + 2, 'batches before the restart', 60_000);
        const killedAt = performance.now();
        const { downMs } = await project.restart({ signal: 'SIGKILL', downMs: down });
        const upAt = performance.now();
        const atUp = await successfulInvocations(metrics);
        await waitUntil(async () => (await successfulInvocations(metrics)) > atUp, `a successful batch after restart ${restart + 1}`, 60_000, 5);
        const firstBatchAt = performance.now();
        recoveries.push({ downMs, firstBatchAfterUpMs: Math.round(firstBatchAt - upAt), firstBatchAfterKillMs: Math.round(firstBatchAt - killedAt) });
      }
      await producing;
      await waitUntil(async () => (await counter('readings')) === readings.length && (await counter('duplicates')) === duplicates.length, 'every reading counted', 90_000, 100, async () =>
        JSON.stringify({ counters: await observer.hgetall(keys.counters()), expected: { readings: readings.length, duplicates: duplicates.length }, recoveries, runner: runner.stats() }));
    } finally {
      await runner.stop();
      consoleErrors.mockRestore();
      runnerRedis?.disconnect();
      await client.deleteStream(source).catch(() => undefined);
      await client.close();
    }
    process.stdout.write(`${kind}: redis restart recoveries ${JSON.stringify(recoveries)}\n`);

    expect(recoveries).toHaveLength(DOWN_MS.length);
    expect(unhandled).toEqual([]);
    expect(consoleErrors.mock.calls.filter((call) => String(call[0]).includes('ioredis'))).toEqual([]);
    expect({ readings: await counter('readings'), duplicates: await counter('duplicates') }).toEqual({ readings: readings.length, duplicates: duplicates.length });
    expectSameAggregates(await aggregatesInRedis(observer, keys, settings.quantiles, 'open'), referenceAggregates(readings, settings));
  }, 240_000);
});

async function waitUntil(condition: () => Promise<boolean>, what: string, timeoutMs: number, intervalMs = 50, state?: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${state ? `: ${await state()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
