/**
 * Shared by the aggregate tests: a temp schema registry and codec, EnrichedReadings encoded as
 * the transform writes them, Lambda events built as the runtime builds them, output streams on
 * the real Kafka, processors on the real Redis under a key prefix of their own, and a reference
 * aggregation computed straight from the distinct readings.
 */
import Redis from 'ioredis';
import { AggregateKeys } from '../../../processors/aggregate/aggregateKeys';
import { closeTo } from '../../../processors/aggregate/aggregateOracle';
import { AggregateProcessor } from '../../../processors/aggregate/aggregateProcessor';
import type { WindowSettings } from '../../../processors/aggregate/aggregateSettings';
import { DEFAULT_QUANTILES } from '../../../processors/aggregate/aggregateSettings';
import { parseWindowSpecs } from '../../../processors/aggregate/windowSpecs';
import type { KafkaLikeEvent } from '../../../processors/shared/streamRecords';
import { AvroCodec } from '../../../schemas/avroCodec';
import type { Aggregate, DeadLetter, EnrichedReading } from '../../../schemas/records';
import { SUBJECTS, registerSluiceSchemas } from '../../../schemas/sluiceSchemas';
import { openStreamClient } from '../../../streams/openStreamClient';
import type { StreamClient } from '../../../streams/streamClient';
import { drainPartition } from '../../conformance/streamConformance';
import { tempRegistry } from '../../schemas/tempRegistry';
import type { TempRegistry } from '../../schemas/tempRegistry';
import { testServers, uniqueName } from '../../support/servers';

export const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);

export function windowSettings(windows: string, overrides: Partial<WindowSettings> = {}): WindowSettings {
  return { specs: parseWindowSpecs(windows), graceMs: 5000, retentionMs: 3_600_000, relativeAccuracy: 0.01, quantiles: DEFAULT_QUANTILES, maxFutureMs: 300_000, ...overrides };
}

export function reading(deviceId: string, seq: number, eventTime: number, metrics: Record<string, number>, siteId = 'site-a'): EnrichedReading {
  return { deviceId, deviceType: 'thermo', siteId, eventTime, seq, metrics, transformTime: eventTime + 5 };
}

export interface KafkaRecordSpec {
  offset: number;
  key: string;
  value: Buffer;
}

/** A self-managed Kafka event of one partition, as the runtime builds it. */
export function kafkaEvent(topic: string, partition: number, records: readonly KafkaRecordSpec[]): KafkaLikeEvent {
  return {
    eventSource: 'SelfManagedKafka',
    records: {
      [`${topic}-${partition}`]: records.map((record) => ({
        topic, partition, offset: record.offset, timestamp: T0, key: Buffer.from(record.key).toString('base64'), value: record.value.toString('base64'),
      })),
    },
  };
}

/** A registry, a codec, three output topics on the real Kafka and a Redis prefix for one suite. */
export class AggregateTestBed {
  readonly redis: Redis;
  readonly client: StreamClient;
  readonly prefix = uniqueName('aggtest').replace(/[^A-Za-z0-9-]/g, '-');
  readonly keys = new AggregateKeys(this.prefix);
  readonly streams = { aggregates: uniqueName('agg-out'), late: uniqueName('agg-late'), dlq: uniqueName('agg-dlq') };
  codec!: AvroCodec;
  private temp!: TempRegistry;

  constructor() {
    this.redis = new Redis(testServers.redisUrl);
    this.client = openStreamClient(`kafka://${testServers.kafkaBrokers.join(',')}/unused`);
  }

  async start(): Promise<void> {
    this.temp = tempRegistry();
    await registerSluiceSchemas(this.temp.registry);
    this.codec = new AvroCodec(this.temp.registry);
    for (const stream of Object.values(this.streams)) await this.client.createStream(stream, 1);
  }

  get registryPath(): string {
    return this.temp.filePath;
  }

  processor(settings: WindowSettings, clock: () => number, prefix = this.prefix): AggregateProcessor {
    return new AggregateProcessor({
      redis: this.redis, codec: this.codec, keys: new AggregateKeys(prefix), settings, clock,
      targets: { aggregates: { client: this.client, stream: this.streams.aggregates }, late: { client: this.client, stream: this.streams.late }, dlq: { client: this.client, stream: this.streams.dlq } },
    });
  }

  async encode(value: EnrichedReading): Promise<Buffer> {
    return this.codec.encode(SUBJECTS.enrichedReading, value);
  }

  async aggregatesProduced(): Promise<Aggregate[]> {
    const records = await drainPartition(this.client, this.streams.aggregates, '0');
    return Promise.all(records.map(async (record) => (await this.codec.decode(record.value)) as Aggregate));
  }

  async deadLettersIn(stream: 'late' | 'dlq'): Promise<DeadLetter[]> {
    const records = await drainPartition(this.client, this.streams[stream], '0');
    return Promise.all(records.map(async (record) => (await this.codec.decode(record.value)) as DeadLetter));
  }

  /** Every key under a prefix with its content, for comparing whole Redis states. */
  async dump(prefix = this.prefix): Promise<Record<string, unknown>> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    const out: Record<string, unknown> = {};
    for (const key of keys.sort()) {
      const type = await this.redis.type(key);
      // buffers as hex: stats are binary, and text would blur different bytes into one replacement character
      if (type === 'hash') out[key] = Object.fromEntries(Object.entries(await this.redis.hgetallBuffer(key)).map(([field, value]) => [field, value.toString('hex')]));
      else if (type === 'zset') out[key] = await this.redis.zrange(key, 0, -1, 'WITHSCORES');
      else if (type === 'set') out[key] = (await this.redis.smembers(key)).sort();
      else out[key] = await this.redis.get(key);
    }
    return out;
  }

  async deletePrefix(prefix = this.prefix): Promise<void> {
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (batch.length > 0) await this.redis.del(...batch);
    } while (cursor !== '0');
  }

  async close(): Promise<void> {
    await this.deletePrefix();
    for (const stream of Object.values(this.streams)) await this.client.deleteStream(stream).catch(() => undefined);
    await this.client.close();
    await this.temp.cleanup();
    this.redis.disconnect();
  }
}

export { aggregatesInRedis, closeTo, naturalKey, referenceAggregates } from '../../../processors/aggregate/aggregateOracle';

/** Exact on everything but sum, mean and m2, which may differ in their last bits with the order of additions. */
export function expectSameAggregates(actual: ReadonlyMap<string, Aggregate>, expected: ReadonlyMap<string, Aggregate>): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [key, want] of expected) {
    const got = actual.get(key) as Aggregate;
    const { sum, mean, m2, ...exact } = got;
    const { sum: wantSum, mean: wantMean, m2: wantM2, ...wantExact } = want;
    expect({ key, ...exact }).toEqual({ key, ...wantExact });
    const magnitude = Math.max(Math.abs(want.min), Math.abs(want.max));
    expect({ key, sum: closeTo(sum, wantSum, magnitude * want.count), mean: closeTo(mean, wantMean, magnitude), m2: closeTo(m2, wantM2, magnitude * magnitude * want.count) }).toEqual({ key, sum: true, mean: true, m2: true });
  }
}

