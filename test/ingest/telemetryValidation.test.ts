import fc from 'fast-check';
import { deviceIdFromTopic, validateTelemetry } from '../../ingest/telemetryValidation';
import type { IngestRejectionReason, TelemetryValidationResult } from '../../ingest/telemetryValidation';
import { AVRO_LONG_MAX, AVRO_LONG_MIN } from '../../schemas/avroSchema';
import type { TelemetryReading } from '../../schemas/records';

const INGEST_TIME = 1_763_000_000_000;
const topic = 'devices/dev-1/telemetry';

const base = {
  deviceId: 'dev-1',
  seq: 7,
  eventTime: 1_762_999_999_000,
  deviceType: 'temperature-humidity',
  metrics: { temperature: 21.5, humidity: 40 },
};

function bytes(value: unknown): Buffer {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
}

function check(payload: unknown, onTopic: string | undefined = topic, maxPayloadBytes = 256 * 1024): TelemetryValidationResult {
  return validateTelemetry(onTopic, bytes(payload), INGEST_TIME, { maxPayloadBytes });
}

function reasonOf(result: TelemetryValidationResult): IngestRejectionReason | 'accepted' {
  return result.ok ? 'accepted' : result.rejection.reason;
}

describe('validateTelemetry', () => {
  it('accepts a minimal reading and normalizes optional fields to null with ingestTime set', () => {
    expect(check(base)).toEqual({
      ok: true,
      reading: { ...base, location: null, battery: null, firmware: null, ingestTime: INGEST_TIME },
    });
  });

  it('normalizes an ISO 8601 eventTime with a zone to epoch ms, and ignores unknown fields', () => {
    const result = check({ ...base, eventTime: '2025-11-13T01:46:39.000+01:00', extra: [1, 2], ingestTime: 5 });
    expect(result).toEqual({ ok: true, reading: expect.objectContaining({ eventTime: Date.UTC(2025, 10, 13, 0, 46, 39), ingestTime: INGEST_TIME }) as unknown });
    expect(result.ok && 'extra' in result.reading).toBe(false);
  });

  it('keeps location, battery and firmware', () => {
    const full = { ...base, location: { lat: -33.9, lon: 151.2, alt: 12 }, battery: 87.5, firmware: '1.2.3' };
    expect(check(full)).toEqual({ ok: true, reading: { ...full, ingestTime: INGEST_TIME } });
    expect(check({ ...base, location: { lat: 1, lon: 2 } })).toEqual({ ok: true, reading: expect.objectContaining({ location: { lat: 1, lon: 2, alt: null } }) as unknown });
  });

  const matrix: Array<[string, unknown, IngestRejectionReason]> = [
    ['truncated JSON', JSON.stringify(base).slice(0, 40), 'bad_json'],
    ['empty payload', '', 'bad_json'],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('latin1'), 'bad_json'],
    ['a JSON array', [base], 'schema_violation'],
    ['JSON null', 'null', 'schema_violation'],
    ['deviceId missing', { ...base, deviceId: undefined }, 'schema_violation'],
    ['deviceId a number', { ...base, deviceId: 1 }, 'schema_violation'],
    ['deviceType missing', { ...base, deviceType: undefined }, 'schema_violation'],
    ['deviceType empty', { ...base, deviceType: '' }, 'schema_violation'],
    ['seq negative', { ...base, seq: -1 }, 'schema_violation'],
    ['seq fractional', { ...base, seq: 1.5 }, 'schema_violation'],
    ['seq a string', { ...base, seq: '7' }, 'schema_violation'],
    ['seq beyond 2^53', `{"deviceId":"dev-1","seq":9007199254740993,"eventTime":1,"deviceType":"t","metrics":{}}`, 'schema_violation'],
    ['eventTime missing', { ...base, eventTime: undefined }, 'schema_violation'],
    ['eventTime fractional', { ...base, eventTime: 1.5 }, 'schema_violation'],
    ['eventTime out of Date range', { ...base, eventTime: 9e15 }, 'schema_violation'],
    ['eventTime ISO without zone', { ...base, eventTime: '2025-11-13T01:46:39' }, 'schema_violation'],
    ['eventTime free text', { ...base, eventTime: 'yesterday' }, 'schema_violation'],
    ['metrics missing', { ...base, metrics: undefined }, 'schema_violation'],
    ['metrics a list', { ...base, metrics: [1, 2] }, 'schema_violation'],
    ['a metric as a string', { ...base, metrics: { temperature: '21.5' } }, 'schema_violation'],
    ['a metric null', { ...base, metrics: { temperature: null } }, 'schema_violation'],
    ['a metric overflowing to Infinity', `{"deviceId":"dev-1","seq":1,"eventTime":1,"deviceType":"t","metrics":{"x":1e999}}`, 'schema_violation'],
    ['metric name __proto__', `{"deviceId":"dev-1","seq":1,"eventTime":1,"deviceType":"t","metrics":{"__proto__":1}}`, 'schema_violation'],
    ['battery over 100', { ...base, battery: 100.5 }, 'schema_violation'],
    ['battery negative', { ...base, battery: -1 }, 'schema_violation'],
    ['battery a string', { ...base, battery: '50' }, 'schema_violation'],
    ['lat out of range', { ...base, location: { lat: 91, lon: 0 } }, 'schema_violation'],
    ['lon out of range', { ...base, location: { lat: 0, lon: -180.1 } }, 'schema_violation'],
    ['location a string', { ...base, location: '1,2' }, 'schema_violation'],
    ['alt a string', { ...base, location: { lat: 0, lon: 0, alt: 'high' } }, 'schema_violation'],
    ['firmware a number', { ...base, firmware: 3 }, 'schema_violation'],
    ['deviceId longer than a partition key', { ...base, deviceId: 'd'.repeat(257) }, 'schema_violation'],
    ['another device\'s id', { ...base, deviceId: 'dev-2' }, 'topic_mismatch'],
  ];

  it.each(matrix)('rejects %s', (_name, payload, reason) => {
    const result = check(payload);
    expect(reasonOf(result)).toBe(reason);
    expect(result.ok ? '' : result.rejection.message).not.toBe('');
  });

  it('rejects a payload over the size limit as too_large before parsing it', () => {
    const payload = { ...base, diagnostics: 'x'.repeat(300) };
    expect(reasonOf(check(payload, topic, 200))).toBe('too_large');
    expect(reasonOf(check('not even json', topic, 5))).toBe('too_large');
    const exact = bytes(base);
    expect(reasonOf(check(base, topic, exact.length))).toBe('accepted');
    expect(reasonOf(check(base, topic, exact.length - 1))).toBe('too_large');
  });

  it('rejects topics that do not name the payload\'s device, and skips the check without a topic', () => {
    expect(reasonOf(check(base, 'devices/dev-1/status'))).toBe('topic_mismatch');
    expect(reasonOf(check(base, 'devices/dev-10/telemetry'))).toBe('topic_mismatch');
    expect(reasonOf(check(base, 'other/prefix/dev-1/telemetry'))).toBe('accepted');
    expect(reasonOf(check(base, undefined))).toBe('accepted');
    expect(deviceIdFromTopic('devices/abc/telemetry')).toBe('abc');
    expect(deviceIdFromTopic('devices//telemetry')).toBeUndefined();
    expect(deviceIdFromTopic('telemetry')).toBeUndefined();
  });
});

const metricName = fc.string({ unit: 'binary', minLength: 1, maxLength: 16 }).filter((name) => name !== '__proto__');
const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
const deviceIdArb = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).filter((id) => !id.includes('/'));
const validReading: fc.Arbitrary<TelemetryReading> = fc.record(
  {
    deviceId: deviceIdArb,
    deviceType: fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
    // what the Avro record carries too: longs from -2^52 (eventTime) up to 2^53 - 2 (seq)
    eventTime: fc.integer({ min: AVRO_LONG_MIN, max: 8.64e15 }),
    seq: fc.integer({ min: 0, max: AVRO_LONG_MAX }),
    metrics: fc.dictionary(metricName, finite, { maxKeys: 8 }),
    location: fc.option(fc.record({ lat: fc.double({ min: -90, max: 90, noNaN: true }), lon: fc.double({ min: -180, max: 180, noNaN: true }), alt: fc.option(finite) })),
    battery: fc.option(fc.double({ min: 0, max: 100, noNaN: true })),
    firmware: fc.option(fc.string({ unit: 'binary', minLength: 1, maxLength: 20 })),
  },
  { requiredKeys: ['deviceId', 'deviceType', 'eventTime', 'seq', 'metrics'] },
);

/** JSON has no -0: it reads back as 0, which is the same reading. */
function withoutNegativeZero(reading: TelemetryReading): TelemetryReading {
  return JSON.parse(JSON.stringify(reading)) as TelemetryReading;
}

describe('validateTelemetry properties', () => {
  it('accepts every valid reading and returns it normalized and equal', () => {
    fc.assert(
      fc.property(validReading, (reading) => {
        const result = validateTelemetry(`devices/${reading.deviceId}/telemetry`, bytes(reading), INGEST_TIME);
        const expected = { location: null, battery: null, firmware: null, ...withoutNegativeZero(reading), ingestTime: INGEST_TIME };
        if (expected.location) expected.location = { alt: null, ...expected.location };
        expect(result).toEqual({ ok: true, reading: expected });
      }),
      { numRuns: 500 },
    );
  });

  it('accepts eventTime given as an ISO string as the same epoch ms', () => {
    fc.assert(
      fc.property(validReading, fc.integer({ min: 0, max: 4_102_444_800_000 }), (reading, millis) => {
        const result = validateTelemetry(undefined, bytes({ ...reading, eventTime: new Date(millis).toISOString() }), INGEST_TIME);
        expect(result.ok && result.reading.eventTime).toBe(millis);
      }),
    );
  });

  it('never throws on random bytes or random JSON, and always names a known reason', () => {
    const reasons = new Set(['too_large', 'bad_json', 'schema_violation', 'topic_mismatch', 'accepted']);
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.json().map((text) => new TextEncoder().encode(text))), fc.string(), (payload, anyTopic) => {
        const result = validateTelemetry(anyTopic, payload, INGEST_TIME, { maxPayloadBytes: 200 });
        expect(reasons.has(reasonOf(result))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

/** The topic rule as first written (split on '/'): the index-based deviceIdFromTopic must agree with it. */
function deviceIdBySplit(topic: string): string | undefined {
  const parts = topic.split('/');
  if (parts.length < 2 || parts[parts.length - 1] !== 'telemetry') return undefined;
  const deviceId = parts[parts.length - 2];
  return deviceId === undefined || deviceId === '' ? undefined : deviceId;
}

describe('deviceIdFromTopic', () => {
  it('reads the level before /telemetry, exactly as splitting the topic would, for any topic', () => {
    const level = fc.oneof(fc.constantFrom('', 'telemetry', 'devices', 'dev-1', 'a'), fc.string({ maxLength: 6 }).filter((text) => !text.includes('/')));
    fc.assert(
      fc.property(fc.oneof(fc.array(level, { maxLength: 5 }).map((levels) => levels.join('/')), fc.string({ maxLength: 20 })), (topic) => {
        expect(deviceIdFromTopic(topic)).toBe(deviceIdBySplit(topic));
      }),
      { numRuns: 3000 },
    );
  });
});
