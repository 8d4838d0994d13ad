/**
 * Aggregate readings/s into Redis: the aggregate processor (Avro decode, plan and pre-aggregate
 * in the handler, ONE exactly-once script call per batch) against a naive handler that decodes
 * each reading and does one awaited HINCRBY round trip per reading. Both on the real Redis, in
 * the same run, alternating. The processor does far more per reading (count, sum, min, max,
 * mean, m2, first/last, a DDSketch per metric, per device AND per site, latest values, dedupe,
 * watermark closing); the naive one counts one window.
 *
 * Two window configurations: tumbling:1m (one window per reading and scope, like the naive
 * counter) and the processor's default (tumbling:10s,tumbling:1m,hopping:1m/10s,session:30s:
 * nine windows per reading and device), each with 200 devices (5 readings per device per batch
 * of 1000) and with 20 (50 per device per batch). SLUICE_BENCH_AGG_WINDOWS and
 * SLUICE_BENCH_AGG_DEVICES pick one; SLUICE_BENCH_AGG_READINGS (default 100000),
 * SLUICE_BENCH_AGG_BATCH (default 1000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { AggregateKeys } from '../../processors/aggregate/aggregateKeys';
import { AggregateProcessor } from '../../processors/aggregate/aggregateProcessor';
import { DEFAULT_WINDOWS, windowSettingsFromEnv } from '../../processors/aggregate/aggregateSettings';
import type { ProcessorRecord } from '../../processors/shared/streamRecords';
import { AvroCodec } from '../../schemas/avroCodec';
import { FileSchemaStore } from '../../schemas/fileSchemaStore';
import type { EnrichedReading } from '../../schemas/records';
import { SchemaRegistry } from '../../schemas/schemaRegistry';
import { SUBJECTS, loadSluiceSchema, registerSluiceSchemas } from '../../schemas/sluiceSchemas';
import { openStreamClient } from '../../streams/openStreamClient';


function numberEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  return Number.isSafeInteger(value) && value > 0 ? value : fallback;
}

async function scanDelete(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

/** Readings of `devices` devices on a tenth as many sites, one per device per second of event time, as stream records. */
async function makeRecords(codec: AvroCodec, count: number, start: number, devices: number): Promise<Array<{ record: ProcessorRecord; reading: EnrichedReading }>> {
  const sites = Math.max(1, Math.round(devices / 10));
  const out: Array<{ record: ProcessorRecord; reading: EnrichedReading }> = [];
  for (let i = 0; i < count; i += 1) {
    const device = i % devices;
    const seq = Math.floor(i / devices);
    const reading: EnrichedReading = {
      deviceId: `bench-dev-${device}`, deviceType: 'thermo', siteId: `bench-site-${device % sites}`, eventTime: start + seq * 1000 + (device % 997), seq,
      metrics: { temperature: 18 + ((i * 37) % 120) / 10, humidity: 35 + ((i * 11) % 300) / 10 }, transformTime: start + seq * 1000 + 5,
    };
    const data = await codec.encode(SUBJECTS.enrichedReading, reading);
    out.push({ reading, record: { scope: 'kafka:bench-0', position: String(i), key: reading.deviceId, data, itemIdentifier: String(i), arrivalTime: reading.eventTime } });
  }
  return out;
}

interface Measured {
  windows: string;
  devices: number;
  readingsPerDevicePerBatch: number;
  aggregateReadingsPerSecond: number;
  naiveReadingsPerSecond: number;
  ratio: number;
  windowsClosedByWatermark: number;
  scriptCallsPerBatch: 1;
}

/**
 * Aggregate and naive runs alternate, round by round, so both meet the same load on this
 * shared machine; each side's rate is its readings over its own summed time.
 */
async function measure(redis: Redis, codec: AvroCodec, outputs: ReturnType<typeof openStreamClient>, windows: string, devices: number, total: number, batchSize: number, naivePerRound: number): Promise<Measured> {
  const settings = windowSettingsFromEnv({ SLUICE_WINDOWS: windows, SLUICE_GRACE_MS: '10000' });
  const prefix = `bench-agg-${process.pid}`;
  const keys = new AggregateKeys(prefix);
  const start = Date.now();
  const items = await makeRecords(codec, total + batchSize, start, devices);
  let clock = start;
  const processor = new AggregateProcessor({ redis, codec, keys, settings, clock: () => clock, targets: { aggregates: { client: outputs, stream: 'unused' } } });
  // warm-up: scripts loaded, codec resolvers built; then a clean slate
  await processor.processScope('warm/kafka:bench-0', items.slice(total).map((item) => item.record));
  await scanDelete(redis, `${prefix}:*`);
  const reader = loadSluiceSchema(SUBJECTS.enrichedReading);
  let aggregateNs = 0n;
  let naiveNs = 0n;
  let naiveReadings = 0;
  const batchesPerRound = 5;
  for (let from = 0; from < total; from += batchSize * batchesPerRound) {
    const began = process.hrtime.bigint();
    for (let at = from; at < Math.min(total, from + batchSize * batchesPerRound); at += batchSize) {
      const batch = items.slice(at, Math.min(total, at + batchSize));
      clock = (batch[0]?.reading.eventTime ?? start) + 1000; // a live stream: the wall clock just ahead of the readings
      await processor.processScope('bench/kafka:bench-0', batch.map((item) => item.record));
    }
    aggregateNs += process.hrtime.bigint() - began;
    // the naive handler: decode, then one awaited HINCRBY round trip per reading
    const naiveBegan = process.hrtime.bigint();
    for (const { record } of items.slice(from, from + naivePerRound)) {
      const reading = (await codec.decode(record.data, reader)) as EnrichedReading;
      await redis.hincrby(`${prefix}:naive:${reading.deviceId}:${Math.floor(reading.eventTime / 60_000)}`, 'count', 1);
      naiveReadings += 1;
    }
    naiveNs += process.hrtime.bigint() - naiveBegan;
  }
  const counters = await redis.hmget(keys.counters(), 'readings', 'closed');
  if (Number(counters[0]) !== total) throw new Error(`aggregate bench (${windows}): ${counters[0]} of ${total} readings counted`);
  await scanDelete(redis, `${prefix}:*`);
  const aggregatePerSecond = total / (Number(aggregateNs) / 1e9);
  const naivePerSecond = naiveReadings / (Number(naiveNs) / 1e9);
  return {
    windows,
    devices,
    readingsPerDevicePerBatch: batchSize / devices,
    aggregateReadingsPerSecond: Math.round(aggregatePerSecond),
    naiveReadingsPerSecond: Math.round(naivePerSecond),
    ratio: Number((aggregatePerSecond / naivePerSecond).toFixed(1)),
    windowsClosedByWatermark: Number(counters[1] ?? 0),
    scriptCallsPerBatch: 1,
  };
}

export const aggregateBench = {
  async run(): Promise<Record<string, unknown>> {
    const total = numberEnv('SLUICE_BENCH_AGG_READINGS', 100_000);
    const batchSize = numberEnv('SLUICE_BENCH_AGG_BATCH', 1000);
    const naivePerRound = numberEnv('SLUICE_BENCH_AGG_NAIVE_PER_ROUND', 500);
    const devices = numberEnv('SLUICE_BENCH_AGG_DEVICES', 200);
    // per-window work is per device and batch, not per reading: the ratio grows with readings per device per batch
    const configs = process.env.SLUICE_BENCH_AGG_WINDOWS
      ? [{ windows: process.env.SLUICE_BENCH_AGG_WINDOWS, devices }]
      : [{ windows: 'tumbling:1m', devices }, { windows: DEFAULT_WINDOWS, devices }, { windows: 'tumbling:1m', devices: Math.max(1, Math.round(devices / 10)) }, { windows: DEFAULT_WINDOWS, devices: Math.max(1, Math.round(devices / 10)) }];
    const redis = new Redis(process.env.SLUICE_REDIS_URL ?? 'redis://127.0.0.1:6379');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-agg-'));
    const registry = new SchemaRegistry(new FileSchemaStore(path.join(dir, 'registry.json')));
    const outputs = openStreamClient(`kafka://${process.env.SLUICE_KAFKA_BROKERS ?? '127.0.0.1:9092'}/unused`);
    try {
      await registerSluiceSchemas(registry);
      const codec = new AvroCodec(registry);
      const results: Measured[] = [];
      for (const config of configs) results.push(await measure(redis, codec, outputs, config.windows, config.devices, total, batchSize, naivePerRound));
      return {
        what: 'readings/s aggregated into Redis (decode, plan, one exactly-once script per batch) vs a naive handler (decode, one awaited HINCRBY per reading)',
        metricsPerReading: 2,
        sitesPerDevice: 0.1,
        batchSize,
        readings: total,
        results,
      };
    } finally {
      redis.disconnect();
      await outputs.close();
      await registry.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
