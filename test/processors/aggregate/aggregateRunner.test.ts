/**
 * End to end through the runtime: EnrichedReadings (with device duplicates re-produced at
 * other positions) on a real Kafka topic and a real kinesalite stream, the aggregate handler
 * loaded by the MappingRunner from its file with its settings in the environment, exactly as
 * `sluice up` runs it. The live windows in Redis, and then the final aggregates the timer
 * emits, equal a reference computed from the distinct input.
 */
import path from 'node:path';
import { AggregateKeys } from '../../../processors/aggregate/aggregateKeys';
import { windowSettingsFromEnv } from '../../../processors/aggregate/aggregateSettings';
import { closeSharedResources } from '../../../processors/shared/processorResources';
import { resolveMappingConfig } from '../../../runtime/mapping/mappingConfig';
import { MappingRunner } from '../../../runtime/runner/mappingRunner';
import type { Aggregate, EnrichedReading } from '../../../schemas/records';
import { SUBJECTS } from '../../../schemas/sluiceSchemas';
import { openStreamClient } from '../../../streams/openStreamClient';
import type { StreamClient } from '../../../streams/streamClient';
import { waitFor } from '../../runtime/runner/runnerTestSupport';
import { testServers, uniqueName } from '../../support/servers';
import { AggregateTestBed, aggregatesInRedis, expectSameAggregates, naturalKey, reading, referenceAggregates } from './aggregateTestKit';

const root = path.resolve(__dirname, '../../..');
const HANDLER = `${path.join(root, 'processors/aggregate/handler.ts')}#handler`;
type Kind = 'kafka' | 'kinesis';

const bed = new AggregateTestBed();
const environment = {
  SLUICE_WINDOWS: 'tumbling:10s,hopping:30s/10s,session:5s',
  // long enough that nothing closes on the wall clock while the test runs; the test closes them
  SLUICE_GRACE_MS: '600000',
};

function address(kind: Kind, stream: string): string {
  return kind === 'kafka' ? `kafka://${testServers.kafkaBrokers.join(',')}/${stream}` : `kinesis://${testServers.kinesisEndpoint.replace(/^https?:\/\//, '')}/${stream}`;
}

beforeAll(async () => {
  await bed.start();
  Object.assign(process.env, environment, {
    SLUICE_REDIS_URL: testServers.redisUrl,
    SLUICE_SCHEMA_REGISTRY: bed.registryPath,
    SLUICE_KEY_PREFIX: bed.prefix,
    SLUICE_AGGREGATES_STREAM: address('kafka', bed.streams.aggregates),
    SLUICE_LATE_STREAM: address('kafka', bed.streams.late),
    SLUICE_PROCESSOR_DLQ: address('kafka', bed.streams.dlq),
  });
});

afterAll(async () => {
  await closeSharedResources();
  await bed.close();
});

/** 160 readings of 6 devices on 2 sites over the last 40 s, some with gaps that split sessions. */
function fleetReadings(base: number): EnrichedReading[] {
  const out: EnrichedReading[] = [];
  for (let i = 0; i < 160; i += 1) {
    const device = i % 6;
    const seq = Math.floor(i / 6);
    const quietSpell = seq >= 10 && seq < 14 && device % 2 === 0 ? 0 : 1; // even devices skip a few readings: separate sessions
    if (!quietSpell) continue;
    out.push(reading(`dev-${device}`, seq, base + seq * 1500 + device * 7, { temperature: 15 + ((i * 37) % 200) / 10 - device, humidity: 40 + (i % 13) }, `site-${device % 2}`));
  }
  return out;
}

describe.each<Kind>(['kafka', 'kinesis'])('aggregate handler on %s through the MappingRunner', (kind) => {
  let client: StreamClient;
  let source: string;

  beforeAll(async () => {
    client = openStreamClient(address(kind, 'x'));
    source = uniqueName(`agg-src-${kind}`);
    await client.createStream(source, 2);
  });

  afterAll(async () => {
    await client.deleteStream(source).catch(() => undefined);
    await client.close();
  });

  it('aggregates each distinct reading once, live in Redis and in the final aggregates', async () => {
    // one prefix for both streams: under jest the handler module is evaluated once (its settings stay)
    const prefix = bed.prefix;
    await bed.deletePrefix(prefix);
    const keys = new AggregateKeys(prefix);
    const settings = windowSettingsFromEnv(process.env);
    const readings = fleetReadings(Date.now() - 45_000);
    const duplicates = readings.filter((_, i) => i % 9 === 4); // re-produced later: new positions, same (deviceId, seq)
    const encode = async (r: EnrichedReading): Promise<{ key: string; value: Buffer }> => ({ key: r.deviceId, value: await bed.codec.encode(SUBJECTS.enrichedReading, r) });
    await client.produce(source, await Promise.all(readings.map(encode)));
    await client.produce(source, await Promise.all(duplicates.map(encode)));

    const functionName = uniqueName(`agg-${kind}`).replace(/[^A-Za-z0-9_-]/g, '-');
    const mapping = resolveMappingConfig({ FunctionName: functionName, Source: address(kind, source), StartingPosition: 'TRIM_HORIZON', BatchSize: 25, Function: { Handler: HANDLER } }, 'test');
    const runner = new MappingRunner({ mapping, client, redis: bed.redis, keyPrefix: prefix, leaseDurationMs: 3000 });
    await runner.start();
    try {
      const counter = async (name: string): Promise<number> => Number((await bed.redis.hget(keys.counters(), name)) ?? 0);
      await waitFor(async () => (await counter('readings')) === readings.length && (await counter('duplicates')) === duplicates.length, 'every reading counted', 60_000);
    } finally {
      await runner.stop();
    }
    const reference = referenceAggregates(readings, settings);
    // emit-on-update: the open windows already hold the exact figures
    expectSameAggregates(await aggregatesInRedis(bed.redis, keys, settings.quantiles, 'open'), reference);
    const latest = await bed.redis.hgetall(keys.latest('dev-1'));
    const lastOfDevice1 = readings.filter((r) => r.deviceId === 'dev-1').at(-1) as EnrichedReading;
    expect(latest['m:temperature']).toBe(`${lastOfDevice1.metrics.temperature},${lastOfDevice1.eventTime},${lastOfDevice1.seq}`);

    // emit-final: the timer, a day later on its clock, closes every window and produces it
    const timer = bed.processor(settings, () => Date.now() + 86_400_000, prefix);
    const closed = await timer.closeWindows();
    expect(closed.closed).toBe(new Set([...reference.values()].map((a) => `${a.scope}|${a.scopeId}|${a.windowKind}|${a.windowStart}|${a.windowEnd}`)).size);
    const produced = new Map<string, Aggregate>();
    for (const aggregate of await bed.aggregatesProduced()) if (aggregate.scopeId.startsWith('dev-') || aggregate.scopeId.startsWith('site-')) produced.set(naturalKey(aggregate), aggregate);
    const mine = new Map([...produced].filter(([key]) => reference.has(key)));
    expectSameAggregates(mine, reference);
    expect(await bed.deadLettersIn('late')).toEqual([]);
    await bed.deletePrefix(prefix);
  }, 120_000);
});
