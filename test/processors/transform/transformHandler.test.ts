/**
 * The transform handler on hand-built Lambda events (both shapes): enrichment from the real
 * registry, dead letters with their reasons, the unknown-device policy, and failures of Redis,
 * PostgreSQL or a stream failing the invocation instead of being acknowledged.
 */
import Redis from 'ioredis';
import { Pool } from 'pg';
import { registerDevices } from '../../../processors/registry/deviceImport';
import { DeviceLookup } from '../../../processors/registry/deviceLookup';
import { DedupeWindow } from '../../../processors/transform/dedupeWindow';
import { withDerivedMetrics } from '../../../processors/transform/derivedMetrics';
import { createTransformHandler } from '../../../processors/transform/transformHandler';
import type { TransformDeps } from '../../../processors/transform/transformHandler';
import type { DeadLetter, EnrichedReading } from '../../../schemas/records';
import { SUBJECTS } from '../../../schemas/sluiceSchemas';
import { openStreamClient } from '../../../streams/openStreamClient';
import type { StreamClient, StreamRecord } from '../../../streams/streamClient';
import { testServers, uniqueName } from '../../support/servers';
import { forgetTestDevices } from '../registry/registryTestSupport';
import { wireHeader } from '../../schemas/tempRegistry';
import type { CodecBed } from './transformTestSupport';
import { RecordingSink, codecBed, encodeReading, kafkaEvent, kinesisEvent, reading, streamRecord } from './transformTestSupport';

const KEY_PREFIX = uniqueName('sluice-test-transform');

let bed: CodecBed;
let redis: Redis;
let pool: Pool;

beforeAll(async () => {
  bed = await codecBed();
  redis = new Redis(testServers.redisUrl);
  pool = new Pool({ connectionString: testServers.postgresUrl, max: 2 });
});

afterAll(async () => {
  const keys = await redis.keys(`${KEY_PREFIX}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  await forgetTestDevices(pool);
  await pool.end();
  await bed.temp.cleanup();
});

interface Bed {
  run: ReturnType<typeof createTransformHandler>;
  enriched: RecordingSink;
  deadLetters: RecordingSink;
}

function transformBed(overrides: Partial<TransformDeps> = {}): Bed {
  const enriched = new RecordingSink();
  const deadLetters = new RecordingSink();
  const run = createTransformHandler({
    codec: bed.codec,
    window: new DedupeWindow(redis, { keyPrefix: KEY_PREFIX, maxSeqs: 128, ttlMs: 60_000 }),
    devices: new DeviceLookup(pool),
    unknownDevices: 'pass',
    enriched: { client: enriched, stream: 'enriched' },
    deadLetters: { client: deadLetters, stream: 'dlq' },
    now: () => 1_800_000_000_000,
    ...overrides,
  });
  return { run, enriched, deadLetters };
}

async function decoded<T>(sink: RecordingSink): Promise<T[]> {
  return Promise.all(sink.records.map(async (record) => (await bed.codec.decode(record.value)) as T));
}

describe('transform handler', () => {
  it('enriches a registered device from the registry and an unknown one as unassigned, keyed by deviceId', async () => {
    const known = uniqueName('known');
    const unknown = uniqueName('stranger');
    await registerDevices(pool, [{ deviceId: known, deviceType: 'climate-v2', siteId: 'site-07', thresholds: { temperature_max: 28, humidity_min: 15 } }]);
    const { run, enriched } = transformBed();
    const topic = uniqueName('telemetry');
    const records = [
      streamRecord(topic, '0', 0, known, await encodeReading(bed.codec, reading(known, 1, { temperatureF: 68, humidity: 50 }, { location: { lat: 59.3, lon: 18.1, alt: null } }))),
      streamRecord(topic, '0', 1, unknown, await encodeReading(bed.codec, reading(unknown, 1, { powerKw: 1.5 }))),
    ];
    const result = await run(kafkaEvent(records));
    expect(result).toEqual({ batchItemFailures: [], records: 2, emitted: 2, redelivered: 0, duplicatesDropped: 0, deadLettered: 0, deadLettersByReason: {} });
    expect(enriched.records.map((record) => record.key)).toEqual([known, unknown]);
    const [first, second] = await decoded<EnrichedReading>(enriched);
    expect(first).toEqual({
      deviceId: known, deviceType: 'climate-v2', siteId: 'site-07', eventTime: 1_700_000_001_000, seq: 1,
      // 68 °F is 20 °C; the derived metrics follow from the normalized values
      metrics: withDerivedMetrics({ temperature: 20, humidity: 50 }),
      location: { lat: 59.3, lon: 18.1, alt: null }, battery: 90, firmware: 'th-1.0.0', ingestTime: 1_700_000_001_500,
      transformTime: 1_800_000_000_000, thresholds: { temperature_max: 28, humidity_min: 15 },
    });
    expect(second).toMatchObject({ deviceId: unknown, deviceType: 'temperature-humidity', siteId: 'unassigned', metrics: { powerW: 1500 }, thresholds: null });
  });

  it('reads Kinesis events the same way', async () => {
    const deviceId = uniqueName('kin');
    const { run, enriched } = transformBed();
    const record = streamRecord(uniqueName('stream'), 'shardId-000000000000', '49650000000000000000000000000000000000000000000000000001', deviceId, await encodeReading(bed.codec, reading(deviceId, 3)));
    await expect(run(kinesisEvent([record]))).resolves.toMatchObject({ emitted: 1 });
    expect((await decoded<EnrichedReading>(enriched))[0]).toMatchObject({ deviceId, seq: 3, siteId: 'unassigned' });
  });

  it('dead-letters what it cannot use, with a reason and the original bytes, and emits the rest', async () => {
    const deviceId = uniqueName('dl');
    const { run, enriched, deadLetters } = transformBed();
    const topic = uniqueName('telemetry');
    const good = await encodeReading(bed.codec, reading(deviceId, 1));
    const aggregate = await bed.codec.encode(SUBJECTS.aggregate, {
      scope: 'device', scopeId: deviceId, windowKind: 'tumbling', windowStart: 0, windowEnd: 1, metric: 'x', count: 1, sum: 1, min: 1, max: 1, mean: 1, m2: 0, firstValue: 1, firstTime: 0, lastValue: 1, lastTime: 0,
    });
    const inputs: Array<[string, Buffer]> = [
      ['json', Buffer.from('{"deviceId":"x"}')],
      ['truncated', good.subarray(0, good.length - 3)],
      ['unknown id', Buffer.concat([wireHeader(9999), good.subarray(5)])],
      ['aggregate', aggregate],
      ['NaN', await encodeReading(bed.codec, reading(deviceId, 2, { temperature: Number.NaN }))],
      ['negative seq', await encodeReading(bed.codec, reading(deviceId, -1))],
      ['empty', Buffer.alloc(0)],
      ['good', good],
    ];
    const records = inputs.map(([, value], position) => streamRecord(topic, '2', position, position === 7 ? deviceId : '', value));
    const result = await run(kafkaEvent(records));
    expect(result).toMatchObject({ records: 8, emitted: 1, deadLettered: 7, deadLettersByReason: { bad_avro: 3, unknown_schema: 1, wrong_schema: 1, invalid_reading: 2 } });
    const letters = await decoded<DeadLetter>(deadLetters);
    expect(letters.map((letter) => [letter.reasonCode, letter.headers?.['sluice-codec-reason'] ?? null])).toEqual([
      ['bad_avro', 'bad_magic'], ['bad_avro', 'truncated'], ['unknown_schema', 'unknown_schema'], ['wrong_schema', 'incompatible_reader'],
      ['invalid_reading', null], ['invalid_reading', null], ['bad_avro', 'empty'],
    ]);
    letters.forEach((letter, index) => {
      expect(letter.original).toEqual(inputs[index]?.[1]);
      expect(letter.source).toEqual({ kind: 'kafka', address: `${topic}-2` });
      expect(letter.headers).toMatchObject({ processor: 'transform', position: String(index) });
    });
    expect(letters[4]?.message).toBe('metrics.temperature: must be a finite number, got NaN');
    expect(letters[5]?.message).toBe('seq: must be an integer >= 0, got -1');
    expect(deadLetters.records.map((record) => [record.key, record.headers?.['sluice-reason']?.toString()])).toEqual([
      ['unknown', 'bad_avro'], ['unknown', 'bad_avro'], ['unknown', 'unknown_schema'], ['unknown', 'wrong_schema'], [deviceId, 'invalid_reading'], [deviceId, 'invalid_reading'], ['unknown', 'bad_avro'],
    ]);
    expect((await decoded<EnrichedReading>(enriched)).map((r) => r.seq)).toEqual([1]);
  });

  it('dead-letters unknown devices as unknown_device when SLUICE_UNKNOWN_DEVICES is dead-letter', async () => {
    const known = uniqueName('reg');
    const unknown = uniqueName('unreg');
    await registerDevices(pool, [{ deviceId: known, deviceType: 'meter', siteId: 'site-01', thresholds: {} }]);
    const { run, enriched, deadLetters } = transformBed({ unknownDevices: 'dead-letter' });
    const topic = uniqueName('telemetry');
    const records = [
      streamRecord(topic, '0', 0, unknown, await encodeReading(bed.codec, reading(unknown, 1))),
      streamRecord(topic, '0', 1, known, await encodeReading(bed.codec, reading(known, 1))),
    ];
    await expect(run(kafkaEvent(records))).resolves.toMatchObject({ emitted: 1, deadLettered: 1, deadLettersByReason: { unknown_device: 1 } });
    expect((await decoded<EnrichedReading>(enriched)).map((r) => [r.deviceId, r.siteId, r.thresholds])).toEqual([[known, 'site-01', {}]]);
    const [letter] = await decoded<DeadLetter>(deadLetters);
    expect(letter?.reasonCode).toBe('unknown_device');
    expect(letter?.original).toEqual(records[0]?.value);
    expect(deadLetters.records[0]?.key).toBe(unknown);
  });

  it('looks up a batch of devices with one registry query, and not again while cached', async () => {
    const ids = Array.from({ length: 5 }, () => uniqueName('batch'));
    const devices = new DeviceLookup(pool);
    const { run } = transformBed({ devices });
    const topic = uniqueName('telemetry');
    const records = await Promise.all(ids.flatMap((id, i) => [0, 1].map(async (seq) => streamRecord(topic, '0', i * 2 + seq, id, await encodeReading(bed.codec, reading(id, seq))))));
    await run(kafkaEvent(records));
    expect(devices.queries).toBe(1);
    await run(kafkaEvent(records));
    expect(devices.queries).toBe(1);
  });

  describe('fails the invocation, producing nothing, when a dependency is down', () => {
    async function records(): Promise<StreamRecord[]> {
      const deviceId = uniqueName('down');
      return [streamRecord(uniqueName('telemetry'), '0', 0, deviceId, await encodeReading(bed.codec, reading(deviceId, 1)))];
    }

    it('Redis', async () => {
      const deadRedis = new Redis('redis://127.0.0.1:1', { enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
      deadRedis.on('error', () => undefined);
      const { run, enriched } = transformBed({ window: new DedupeWindow(deadRedis, { keyPrefix: KEY_PREFIX, maxSeqs: 8, ttlMs: 1000 }) });
      await expect(run(kafkaEvent(await records()))).rejects.toThrow();
      expect(enriched.records).toHaveLength(0);
      deadRedis.disconnect();
    });

    it('PostgreSQL', async () => {
      const deadPool = new Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/test', connectionTimeoutMillis: 2000 });
      const { run, enriched } = transformBed({ devices: new DeviceLookup(deadPool) });
      await expect(run(kafkaEvent(await records()))).rejects.toThrow(/ECONNREFUSED/);
      expect(enriched.records).toHaveLength(0);
      await deadPool.end();
    });

    it('the enriched stream, and the window then holds nothing for the reading', async () => {
      const kinesis: StreamClient = openStreamClient(`kinesis://${testServers.kinesisEndpoint.replace(/^https?:\/\//, '')}/x`);
      try {
        const window = new DedupeWindow(redis, { keyPrefix: KEY_PREFIX, maxSeqs: 8, ttlMs: 60_000 });
        const { run } = transformBed({ window, enriched: { client: kinesis, stream: uniqueName('missing') } });
        const input = await records();
        await expect(run(kafkaEvent(input))).rejects.toMatchObject({ code: 'STREAM_NOT_FOUND' });
        expect(await window.emittedClaims([{ deviceId: input[0]?.key ?? '', seq: 1 }])).toEqual([null]);
      } finally {
        await kinesis.close();
      }
    });
  });
});
