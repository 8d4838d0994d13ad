import { test as fcTest } from '@fast-check/jest';
import fc from 'fast-check';
import Redis from 'ioredis';
import { isAvroPayload, validateAvroTelemetry } from '../../ingest/avroTelemetry';
import { DEFAULT_MAX_PAYLOAD_BYTES, validateTelemetry } from '../../ingest/telemetryValidation';
import { AvroCodec } from '../../schemas/avroCodec';
import { AVRO_LONG_MAX } from '../../schemas/avroSchema';
import type { TelemetryReading } from '../../schemas/records';
import { RedisSchemaStore } from '../../schemas/redisSchemaStore';
import { SchemaRegistry } from '../../schemas/schemaRegistry';
import { SUBJECTS, registerSluiceSchemas } from '../../schemas/sluiceSchemas';
import { createAvroReadingEncoder } from '../../simulators/avroReadingEncoder';
import { encodeReadingJson } from '../../simulators/readingPayload';
import type { ReadingEncoder } from '../../simulators/readingPayload';
import { tempRegistry, wireHeader } from '../schemas/tempRegistry';
import type { TempRegistry } from '../schemas/tempRegistry';
import { findFreePort } from '../infra/infraTestSupport';

const INGEST_TIME = 1_763_000_000_000;
const topicOf = (deviceId: string) => `devices/${deviceId}/telemetry`;

/** Readings a device may send (ingest's own rules: validation accepts exactly these). */
/** JSON has no -0 (it prints 0) and Avro keeps it: readings of either form carry 0. */
const noMinusZero = (value: number) => (value === 0 ? 0 : value);
const finite = fc.double({ noNaN: true, noDefaultInfinity: true }).map(noMinusZero);
const validReading: fc.Arbitrary<TelemetryReading> = fc.record({
  deviceId: fc.string({ minLength: 1, maxLength: 40 }).filter((id) => !id.includes('/')),
  deviceType: fc.string({ minLength: 1, maxLength: 30 }),
  eventTime: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  // the devices' Avro encoder is avsc's: longs up to AVRO_LONG_MAX (schemas/avroSchema.ts)
  seq: fc.integer({ min: 0, max: AVRO_LONG_MAX }),
  metrics: fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).filter((name) => name !== '__proto__'), finite, { maxKeys: 6 }),
  location: fc.option(fc.record({ lat: fc.double({ min: -90, max: 90, noNaN: true }).map(noMinusZero), lon: fc.double({ min: -180, max: 180, noNaN: true }).map(noMinusZero), alt: fc.option(finite) })),
  battery: fc.option(fc.double({ min: 0, max: 100, noNaN: true }).map(noMinusZero)),
  firmware: fc.option(fc.string({ minLength: 1, maxLength: 20 })),
  ingestTime: fc.constant(null),
});

describe('Avro device payloads (Confluent wire format, decoded with the registry)', () => {
  let temp: TempRegistry;
  let codec: AvroCodec;
  let encodeAvro: ReadingEncoder;
  let ids: Record<string, number>;

  beforeAll(async () => {
    temp = tempRegistry();
    ids = await registerSluiceSchemas(temp.registry);
    codec = new AvroCodec(temp.registry);
    encodeAvro = (await createAvroReadingEncoder(temp.registry)).encode;
  });

  afterAll(async () => {
    await temp.cleanup();
  });

  const judge = (payload: Buffer, topic: string | undefined, maxPayloadBytes = DEFAULT_MAX_PAYLOAD_BYTES) => validateAvroTelemetry(codec, topic, payload, INGEST_TIME, maxPayloadBytes);
  const reasonOf = async (payload: Buffer, topic?: string) => {
    const result = await judge(payload, topic);
    return result.ok ? 'accepted' : result.rejection.reason;
  };

  it('tells Avro from JSON by the magic byte', () => {
    expect(isAvroPayload(Buffer.from([0, 0, 0, 0, 1, 2]))).toBe(true);
    expect(isAvroPayload(Buffer.from('{"deviceId":"a"}'))).toBe(false);
    expect(isAvroPayload(Buffer.alloc(0))).toBe(false);
  });

  fcTest.prop([validReading, fc.boolean()], { numRuns: 150 })('judges the Avro and the JSON form of any reading alike: the same normalized reading', async (reading, onItsTopic) => {
    const topic = onItsTopic ? topicOf(reading.deviceId) : undefined;
    const fromJson = validateTelemetry(topic, encodeReadingJson(reading), INGEST_TIME);
    const fromAvro = await judge(encodeAvro(reading), topic);
    expect(fromJson.ok).toBe(true);
    expect(fromAvro).toEqual(fromJson);
  });

  fcTest.prop([validReading, fc.nat()], { numRuns: 100 })('refuses any Avro payload cut short as bad_avro', async (reading, cut) => {
    const full = encodeAvro(reading);
    const truncated = full.subarray(0, 5 + (cut % (full.length - 5))); // header kept, body cut
    expect(await reasonOf(truncated, topicOf(reading.deviceId))).toBe('bad_avro');
  });

  it('refuses a header that ends early, and bytes after the record, as bad_avro', async () => {
    const reading: TelemetryReading = { deviceId: 'd1', deviceType: 't', eventTime: 1, seq: 1, metrics: { a: 1 }, location: null, battery: null, firmware: null, ingestTime: null };
    expect(await reasonOf(Buffer.from([0, 0, 0]), topicOf('d1'))).toBe('bad_avro');
    expect(await reasonOf(Buffer.concat([encodeAvro(reading), Buffer.from([1, 2, 3])]), topicOf('d1'))).toBe('bad_avro');
  });

  it('refuses a schema id the registry does not know as unknown_schema', async () => {
    expect(await reasonOf(Buffer.concat([wireHeader(987_654), Buffer.from([2, 0x61])]), topicOf('d1'))).toBe('unknown_schema');
  });

  it('refuses a record written with another registered schema (not a TelemetryReading) as schema_violation', async () => {
    const deadLetter = await codec.encode(SUBJECTS.deadLetter, {
      reasonCode: 'x', message: 'y', source: { kind: 'mqtt', address: 'a' }, original: Buffer.from('z'), firstSeenAt: 1, attempts: 1, headers: null,
    });
    expect(deadLetter.readUInt32BE(1)).toBe(ids[SUBJECTS.deadLetter]);
    const result = await judge(deadLetter, topicOf('d1'));
    expect(result).toMatchObject({ ok: false, rejection: { reason: 'schema_violation' } });
  });

  it('applies the same rules as JSON after decoding: finite metrics, ranges, anti-spoofing, size', async () => {
    const base: TelemetryReading = { deviceId: 'd1', deviceType: 't', eventTime: 1, seq: 1, metrics: { a: 1 }, location: null, battery: null, firmware: null, ingestTime: null };
    expect(await reasonOf(encodeAvro(base), topicOf('d1'))).toBe('accepted');
    expect(await reasonOf(encodeAvro({ ...base, metrics: { a: Number.NaN } }), topicOf('d1'))).toBe('schema_violation');
    expect(await reasonOf(encodeAvro({ ...base, battery: 150 }), topicOf('d1'))).toBe('schema_violation');
    expect(await reasonOf(encodeAvro({ ...base, location: { lat: 91, lon: 0, alt: null } }), topicOf('d1'))).toBe('schema_violation');
    expect(await reasonOf(encodeAvro({ ...base, seq: -1 }), topicOf('d1'))).toBe('schema_violation');
    expect(await reasonOf(encodeAvro(base), topicOf('d2'))).toBe('topic_mismatch');
    const payload = encodeAvro(base);
    expect(await judge(payload, topicOf('d1'), payload.length - 1)).toMatchObject({ ok: false, rejection: { reason: 'too_large' } });
  });

  it('sets ingestTime itself, whatever the device wrote there', async () => {
    const base: TelemetryReading = { deviceId: 'd1', deviceType: 't', eventTime: 1, seq: 1, metrics: {}, location: null, battery: null, firmware: null, ingestTime: null };
    const fromDevice = await codec.encode(SUBJECTS.telemetryReading, { ...base, ingestTime: 42 });
    expect(await judge(fromDevice, topicOf('d1'))).toEqual({ ok: true, reading: { ...base, ingestTime: INGEST_TIME } });
  });

  it('rejects (does not dead-letter) when the registry cannot be reached: the message is not at fault', async () => {
    // A real client to a port nothing listens on, one attempt (no reconnect loop left behind).
    const redis = new Redis(`redis://127.0.0.1:${await findFreePort()}`, { maxRetriesPerRequest: 0, retryStrategy: () => null, disconnectTimeout: 100 });
    redis.on('error', () => undefined);
    const unreachable = new SchemaRegistry(new RedisSchemaStore(redis, { ownsClient: true }));
    try {
      const base: TelemetryReading = { deviceId: 'd1', deviceType: 't', eventTime: 1, seq: 1, metrics: {}, location: null, battery: null, firmware: null, ingestTime: null };
      await expect(validateAvroTelemetry(new AvroCodec(unreachable), topicOf('d1'), encodeAvro(base), INGEST_TIME, DEFAULT_MAX_PAYLOAD_BYTES)).rejects.toMatchObject({ retriable: true });
    } finally {
      await unreachable.close().catch(() => undefined);
    }
  });
});
