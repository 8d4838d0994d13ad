/**
 * Alert evaluation readings/s: the alerts handler (decode, dedupe, evaluate the default rules,
 * one state read and ONE commit script per batch on the real Redis, outbox drain) against a
 * baseline that only decodes the same events (recordsOf + Avro decode into EnrichedReading), in
 * the same run. Readings come from the simulator's signal models with its anomalies, so rules
 * fire at a realistic rate; fan-out targets are off (PostgreSQL `none`), the point is evaluation.
 *
 * SLUICE_BENCH_ALERTS_READINGS (default 50000), SLUICE_BENCH_ALERTS_BATCH (default 500, the
 * pipeline's batch size), SLUICE_BENCH_ALERTS_DEVICES (default 200).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { AlertKeys } from '../../processors/alerts/alertKeys';
import { closeAlertsConnections } from '../../processors/alerts/alertsContext';
import { handler, listAlerts } from '../../processors/alerts/handler';
import { closeSharedResources } from '../../processors/shared/processorResources';
import { recordsOf } from '../../processors/shared/streamRecords';
import { buildKinesisEvent } from '../../runtime/events/kinesisEvent';
import { AvroCodec } from '../../schemas/avroCodec';
import { FileSchemaStore } from '../../schemas/fileSchemaStore';
import type { EnrichedReading } from '../../schemas/records';
import { SchemaRegistry } from '../../schemas/schemaRegistry';
import { SUBJECTS, loadSluiceSchema, registerSluiceSchemas } from '../../schemas/sluiceSchemas';
import { AnomalyInjector } from '../../simulators/anomalyInjector';
import { ANOMALY_KINDS } from '../../simulators/anomalyInjector';
import { createSeededRandom, hashSeed } from '../../simulators/seededRandom';
import { createSignal } from '../../simulators/signals/createSignal';
import { DEVICE_TYPES } from '../../simulators/signals/signalModel';
import type { StreamRecord } from '../../streams/streamClient';

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

/** Simulated readings, round robin over the devices, one per device per second. */
async function makeRecords(codec: AvroCodec, total: number, devices: number, start: number): Promise<StreamRecord[]> {
  const fleet = Array.from({ length: devices }, (_, index) => {
    const deviceType = DEVICE_TYPES[index % DEVICE_TYPES.length] as (typeof DEVICE_TYPES)[number];
    const signal = createSignal(deviceType, createSeededRandom(hashSeed(7, index, 'signal')));
    const anomalies = new AnomalyInjector(createSeededRandom(hashSeed(7, index, 'anomaly')), { rate: 0.005, kinds: ANOMALY_KINDS }, signal.primaryMetric, signal.anomalyScale);
    return { deviceId: `bench-alerts-${index}`, deviceType, signal, anomalies };
  });
  const records: StreamRecord[] = [];
  for (let i = 0; i < total; i++) {
    const device = fleet[i % devices] as (typeof fleet)[number];
    const seq = Math.floor(i / devices);
    const eventTime = start + seq * 1000;
    const sample = device.signal.next(eventTime);
    device.anomalies.apply(sample.metrics);
    const reading: EnrichedReading = {
      deviceId: device.deviceId, deviceType: device.deviceType, siteId: `bench-site-${i % 10}`, eventTime, seq, metrics: sample.metrics,
      location: sample.location ?? null, battery: sample.battery ?? null, transformTime: eventTime + 5, thresholds: null,
    };
    records.push({ stream: 'bench-enriched', partition: 'shardId-000000000000', position: String(i + 1), key: device.deviceId, value: await codec.encode(SUBJECTS.enrichedReading, reading), headers: {}, timestamp: eventTime + 20, arrivalTime: eventTime + 20 });
  }
  return records;
}

export const alertsBench = {
  async run(): Promise<Record<string, unknown>> {
    const total = numberEnv('SLUICE_BENCH_ALERTS_READINGS', 50_000);
    const batchSize = numberEnv('SLUICE_BENCH_ALERTS_BATCH', 500);
    const devices = numberEnv('SLUICE_BENCH_ALERTS_DEVICES', 200);
    const redisUrl = process.env.SLUICE_REDIS_URL ?? 'redis://127.0.0.1:6379';
    const redis = new Redis(redisUrl);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-alerts-'));
    const registryFile = path.join(dir, 'registry.json');
    const registry = new SchemaRegistry(new FileSchemaStore(registryFile));
    const prefix = `bench-alerts-${process.pid}`;
    const saved = { ...process.env };
    try {
      await registerSluiceSchemas(registry);
      const codec = new AvroCodec(registry);
      const records = await makeRecords(codec, total, devices, Date.UTC(2026, 0, 1));
      const source = { streamArn: 'arn:aws:kinesis:local:000000000000:stream/bench-enriched', region: 'local' };
      const events = [];
      for (let from = 0; from < records.length; from += batchSize) events.push(buildKinesisEvent(records.slice(from, from + batchSize), source));

      // baseline: the same events, decoded only
      const reader = loadSluiceSchema(SUBJECTS.enrichedReading);
      const decodeCodec = new AvroCodec(registry);
      let decoded = 0;
      const decodeBegan = process.hrtime.bigint();
      for (const event of events) {
        for (const record of recordsOf(event)) {
          await decodeCodec.decode(record.data, reader);
          decoded += 1;
        }
      }
      const decodeSeconds = Number(process.hrtime.bigint() - decodeBegan) / 1e9;

      Object.assign(process.env, {
        SLUICE_REDIS_URL: redisUrl, SLUICE_SCHEMA_REGISTRY: registryFile, SLUICE_KEY_PREFIX: prefix, SLUICE_PG_URL: 'none',
      });
      for (const name of ['SLUICE_ALERT_RULES', 'SLUICE_ALERTS_STREAM', 'SLUICE_MQTT_URL', 'SLUICE_WEBHOOK_URLS', 'SLUICE_PROCESSOR_DLQ']) delete process.env[name];
      // warm up (scripts loaded, codec resolvers built, rules parsed) on a scope of its own
      await handler(buildKinesisEvent(records.slice(0, batchSize).map((r) => ({ ...r, stream: 'bench-warmup' })), { ...source, streamArn: `${source.streamArn}-warmup` }));
      await scanDelete(redis, `${prefix}:*`);

      const began = process.hrtime.bigint();
      for (const event of events) await handler(event);
      const seconds = Number(process.hrtime.bigint() - began) / 1e9;
      const alerts = await listAlerts(redis, new AlertKeys(prefix), { limit: 1_000_000 });

      const alertsPerSecond = total / seconds;
      const decodePerSecond = decoded / decodeSeconds;
      return {
        rules: 'processors/alerts/default-rules.yaml',
        devices,
        deviceTypes: DEVICE_TYPES.length,
        batchSize,
        alerts: { readings: total, seconds: Number(seconds.toFixed(3)), readingsPerSecond: Math.round(alertsPerSecond), commitScriptsPerBatch: 1, alertsRaised: alerts.length, stillActive: alerts.filter((a) => a.state !== 'cleared').length },
        decodeOnly: { readings: decoded, seconds: Number(decodeSeconds.toFixed(3)), readingsPerSecond: Math.round(decodePerSecond) },
        ratioVsDecodeOnly: Number((alertsPerSecond / decodePerSecond).toFixed(3)),
      };
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
      await scanDelete(redis, `${prefix}:*`).catch(() => undefined);
      redis.disconnect();
      await closeAlertsConnections();
      await closeSharedResources();
      await registry.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
