/**
 * Shared by the aggregate tests: a temp schema registry and codec, EnrichedReadings encoded as
 * the transform writes them, Lambda events built as the runtime builds them, output streams on
 * the real Kafka, processors on the real Redis under a key prefix of their own, and a reference
 * aggregation computed straight from the distinct readings.
 */
import Redis from 'ioredis';
import { AggregateKeys } from '../../../processors/aggregate/aggregateKeys';
import { AggregateProcessor } from '../../../processors/aggregate/aggregateProcessor';
import type { WindowSettings } from '../../../processors/aggregate/aggregateSettings';
import { DEFAULT_QUANTILES } from '../../../processors/aggregate/aggregateSettings';
import type { MetricStats } from '../../../processors/aggregate/metricStats';
import { mergeStats, statsOfValue } from '../../../processors/aggregate/metricStats';
import { bucketOf } from '../../../processors/aggregate/percentileSketch';
import { parseWindowSpecs, windowsContaining } from '../../../processors/aggregate/windowSpecs';
import { aggregatesOf, parseWindow } from '../../../processors/aggregate/windowView';
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

/** The natural key of an Aggregate: what storage is idempotent on. */
export function naturalKey(a: Aggregate): string {
  return `${a.scope}|${a.scopeId}|${a.windowKind}|${a.windowStart}|${a.windowEnd}|${a.metric}`;
}

/**
 * The aggregates of the DISTINCT readings computed directly, without Redis, batches or
 * watermarks: every window of every spec (sessions split where the gap between consecutive
 * event times reaches the gap), stats folded in event-time order, sketches from all values.
 */
export function referenceAggregates(readings: readonly EnrichedReading[], settings: WindowSettings): Map<string, Aggregate> {
  const distinct = new Map<string, EnrichedReading>();
  for (const r of readings) if (!distinct.has(`${r.deviceId}\u0000${r.seq}`)) distinct.set(`${r.deviceId}\u0000${r.seq}`, r);
  const sorted = [...distinct.values()].sort((a, b) => a.eventTime - b.eventTime || a.seq - b.seq);
  const windows = new Map<string, { scope: 'device' | 'site'; scopeId: string; kind: Aggregate['windowKind']; start: number; end: number; readings: EnrichedReading[] }>();
  const add = (scope: 'device' | 'site', scopeId: string, kind: Aggregate['windowKind'], start: number, end: number, r: EnrichedReading): void => {
    const id = `${scope}|${scopeId}|${kind}|${start}|${end}`;
    const window = windows.get(id) ?? { scope, scopeId, kind, start, end, readings: [] };
    window.readings.push(r);
    windows.set(id, window);
  };
  for (const spec of settings.specs) {
    if (spec.kind === 'session') {
      const byDevice = new Map<string, EnrichedReading[]>();
      for (const r of sorted) byDevice.set(r.deviceId, [...(byDevice.get(r.deviceId) ?? []), r]);
      for (const [deviceId, list] of byDevice) {
        let session: EnrichedReading[] = [];
        const flush = (): void => {
          const first = session[0];
          const last = session[session.length - 1];
          if (first && last) for (const r of session) add('device', deviceId, 'session', first.eventTime, last.eventTime + spec.gapMs, r);
          session = [];
        };
        for (const r of list) {
          const previous = session[session.length - 1];
          if (previous && r.eventTime - previous.eventTime >= spec.gapMs) flush();
          session.push(r);
        }
        flush();
      }
      continue;
    }
    for (const r of sorted) {
      for (const bounds of windowsContaining(spec, r.eventTime)) {
        add('device', r.deviceId, spec.kind, bounds.start, bounds.end, r);
        add('site', r.siteId, spec.kind, bounds.start, bounds.end, r);
      }
    }
  }
  const out = new Map<string, Aggregate>();
  for (const window of windows.values()) {
    const metrics = new Map<string, { stats: MetricStats; buckets: Map<string, number> }>();
    for (const r of window.readings) {
      for (const [metric, value] of Object.entries(r.metrics)) {
        const stats = statsOfValue(value, r.eventTime, r.seq);
        const bucket = bucketOf(value, settings.relativeAccuracy);
        const known = metrics.get(metric);
        if (!known) metrics.set(metric, { stats, buckets: new Map([[bucket, 1]]) });
        else {
          known.stats = mergeStats(known.stats, stats);
          known.buckets.set(bucket, (known.buckets.get(bucket) ?? 0) + 1);
        }
      }
    }
    const view = { key: '', scope: window.scope, scopeId: window.scopeId, kind: window.kind, spec: '', start: window.start, end: window.end, closeAt: 0, status: 'closed' as const, closedAt: 0, relativeAccuracy: settings.relativeAccuracy, metrics };
    for (const aggregate of aggregatesOf(view, settings.quantiles)) out.set(naturalKey(aggregate), aggregate);
  }
  return out;
}

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

/** Every window under a key prefix as Aggregate records, by natural key. */
export async function aggregatesInRedis(redis: Redis, keys: AggregateKeys, quantiles: readonly number[], status?: 'open' | 'closed'): Promise<Map<string, Aggregate>> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${keys.runtime.prefix}:agg:w:*`, 'COUNT', 1000);
    cursor = next;
    found.push(...batch);
  } while (cursor !== '0');
  const out = new Map<string, Aggregate>();
  for (const key of found) {
    const window = parseWindow(key, await redis.hgetallBuffer(key));
    if (!window || (status !== undefined && window.status !== status)) continue;
    for (const aggregate of aggregatesOf(window, quantiles)) out.set(naturalKey(aggregate), aggregate);
  }
  return out;
}

/** |a - b| within a relative 1e-9 of the magnitudes involved: floating-point sums differ in their last bits with the order of additions. */
export function closeTo(actual: number, expected: number, scale = 1): boolean {
  return Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected), Math.abs(scale));
}
