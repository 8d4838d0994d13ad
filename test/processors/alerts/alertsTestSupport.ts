/**
 * Shared by the alerts tests: a schema registry on a temp file with sluice's schemas, rules
 * files, EnrichedReading / Aggregate records encoded with the real codec and wrapped in the
 * events the runtime builds (Kinesis or Kafka), the processor's environment per test, and
 * cleanup of the Redis keys a test used.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ScheduledEvent } from 'aws-lambda';
import Redis from 'ioredis';
import { buildKafkaEvent } from '../../../runtime/events/kafkaEvent';
import { buildKinesisEvent } from '../../../runtime/events/kinesisEvent';
import { AvroCodec } from '../../../schemas/avroCodec';
import { FileSchemaStore } from '../../../schemas/fileSchemaStore';
import type { Aggregate, EnrichedReading } from '../../../schemas/records';
import { SchemaRegistry } from '../../../schemas/schemaRegistry';
import { SUBJECTS, registerSluiceSchemas } from '../../../schemas/sluiceSchemas';
import type { StreamRecord } from '../../../streams/streamClient';
import type { ProcessorEvent } from '../../../processors/shared/streamRecords';
import { AlertKeys } from '../../../processors/alerts/alertKeys';
import { testServers, uniqueName } from '../../support/servers';

export type EventKind = 'kinesis' | 'kafka';

export const BASE_TIME = Date.UTC(2026, 0, 1, 12, 0, 0);

export interface AlertsTestBed {
  dir: string;
  registryFile: string;
  codec: AvroCodec;
  redis: Redis;
  prefix: string;
  keys: AlertKeys;
  writeRules(yaml: string): string;
  /** sets the processor's environment (restored by close) */
  useEnvironment(values: Record<string, string | undefined>): void;
  cleanRedis(): Promise<void>;
  close(): Promise<void>;
}

export async function alertsTestBed(): Promise<AlertsTestBed> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-alerts-'));
  const registryFile = path.join(dir, 'registry.json');
  const registry = new SchemaRegistry(new FileSchemaStore(registryFile));
  await registerSluiceSchemas(registry);
  const codec = new AvroCodec(registry);
  const redis = new Redis(testServers.redisUrl);
  const prefix = uniqueName('alerts-test').replace(/[^A-Za-z0-9-]/g, '-');
  const keys = new AlertKeys(prefix);
  const saved = new Map<string, string | undefined>();
  let rulesCount = 0;
  const bed: AlertsTestBed = {
    dir,
    registryFile,
    codec,
    redis,
    prefix,
    keys,
    writeRules(yaml) {
      rulesCount += 1;
      const file = path.join(dir, `rules-${rulesCount}.yaml`);
      writeFileSync(file, yaml);
      return file;
    },
    useEnvironment(values) {
      for (const [name, value] of Object.entries(values)) {
        if (!saved.has(name)) saved.set(name, process.env[name]);
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    },
    async cleanRedis() {
      const stream = redis.scanStream({ match: `${prefix}:*`, count: 500 });
      for await (const batch of stream) {
        const found = batch as string[];
        if (found.length > 0) await redis.del(...found);
      }
    },
    async close() {
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await bed.cleanRedis();
      redis.disconnect();
      await registry.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return bed;
}

/** The environment for the alerts handlers with every fan-out off unless given. */
export function processorEnvironment(bed: AlertsTestBed, rulesFile: string, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    SLUICE_REDIS_URL: testServers.redisUrl,
    SLUICE_SCHEMA_REGISTRY: bed.registryFile,
    SLUICE_KEY_PREFIX: bed.prefix,
    SLUICE_ALERT_RULES: rulesFile,
    SLUICE_PG_URL: 'none',
    SLUICE_ALERTS_STREAM: undefined,
    SLUICE_MQTT_URL: undefined,
    SLUICE_WEBHOOK_URLS: undefined,
    SLUICE_WEBHOOK_SECRET: undefined,
    SLUICE_PROCESSOR_DLQ: undefined,
    ...extra,
  };
}

export function reading(deviceId: string, seq: number, metrics: Record<string, number>, overrides: Partial<EnrichedReading> = {}): EnrichedReading {
  return {
    deviceId,
    deviceType: 'temperature-humidity',
    siteId: 'site-1',
    eventTime: BASE_TIME + seq * 1000,
    seq,
    metrics,
    location: null,
    battery: null,
    firmware: null,
    ingestTime: null,
    transformTime: BASE_TIME + seq * 1000,
    thresholds: null,
    ...overrides,
  };
}

export function aggregate(scopeId: string, windowIndex: number, metric: string, values: Partial<Aggregate> = {}, sizeMs = 60_000): Aggregate {
  const windowStart = BASE_TIME + windowIndex * sizeMs;
  const mean = values.mean ?? 1;
  return {
    scope: 'device',
    scopeId,
    windowKind: 'tumbling',
    windowStart,
    windowEnd: windowStart + sizeMs,
    metric,
    count: 10,
    sum: mean * 10,
    min: mean,
    max: mean,
    mean,
    m2: 0,
    firstValue: mean,
    firstTime: windowStart,
    lastValue: mean,
    lastTime: windowStart + sizeMs - 1,
    percentiles: null,
    ...values,
  };
}

export interface Delivery {
  /** the stream position (decimal) */
  position: number;
  /** encoded record bytes */
  value: Buffer;
  key: string;
  arrivalTime: number;
}

let positionCounter = 1000;

/** Stream positions that only grow within a test file (each test uses its own scope anyway). */
export function nextPosition(): number {
  positionCounter += 10;
  return positionCounter;
}

export async function encodeReadings(codec: AvroCodec, readings: readonly EnrichedReading[], options: { arrivalTime?: (r: EnrichedReading) => number } = {}): Promise<Delivery[]> {
  const out: Delivery[] = [];
  for (const item of readings) {
    out.push({ position: nextPosition(), value: await codec.encode(SUBJECTS.enrichedReading, item), key: item.deviceId, arrivalTime: options.arrivalTime?.(item) ?? item.eventTime + 50 });
  }
  return out;
}

export async function encodeAggregates(codec: AvroCodec, aggregates: readonly Aggregate[]): Promise<Delivery[]> {
  const out: Delivery[] = [];
  for (const item of aggregates) out.push({ position: nextPosition(), value: await codec.encode(SUBJECTS.aggregate, item), key: item.scopeId, arrivalTime: item.windowEnd + 100 });
  return out;
}

/** A Lambda event as the runtime builds it, from one partition of stream `stream`. */
export function streamEvent(kind: EventKind, stream: string, deliveries: readonly Delivery[], partition = kind === 'kafka' ? '0' : 'shardId-000000000000'): ProcessorEvent {
  const records: StreamRecord[] = deliveries.map((d) => ({
    stream, partition, position: String(d.position), key: d.key, value: d.value, headers: {}, timestamp: d.arrivalTime, arrivalTime: d.arrivalTime,
  }));
  if (kind === 'kinesis') return buildKinesisEvent(records, { streamArn: `arn:aws:kinesis:local:000000000000:stream/${stream}`, region: 'local' });
  return buildKafkaEvent(records, { eventSource: 'SelfManagedKafka', bootstrapServers: testServers.kafkaBrokers });
}

export function scheduledEvent(time: number): ScheduledEvent {
  return {
    version: '0', id: `tick-${time}`, 'detail-type': 'Scheduled Event', source: 'aws.events', account: '000000000000',
    time: new Date(time).toISOString(), region: 'local', resources: ['arn:aws:events:local:000000000000:rule/check-heartbeats'], detail: {},
  };
}
