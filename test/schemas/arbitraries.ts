/**
 * fast-check arbitraries producing valid values of every sluice schema.
 *
 * Choices, and why:
 * - Strings are any Unicode code points (unit 'binary': astral planes included, no lone surrogates;
 *   UTF-8 cannot carry a lone surrogate, so it would come back as U+FFFD - a separate test pins that).
 * - Doubles are every IEEE-754 value, NaN, ±Infinity and -0 included: Avro binary stores the 8 bytes
 *   as they are, and jest's toEqual compares numbers with Object.is (NaN equals NaN, -0 is not 0).
 *   It is only Avro's JSON encoding that cannot carry NaN, and we never use it.
 * - Longs stay within -2^52..2^53-2, what avsc carries exactly (AVRO_LONG_MIN/MAX); the codec refuses
 *   values outside it on encode and decode (tested apart).
 * - Maps may be empty and may have null-prototype objects; the key "__proto__" is excluded because
 *   the codec refuses it on purpose (a JS object drops it on decode; tested apart).
 */
import fc from 'fast-check';
import { AVRO_LONG_MAX, AVRO_LONG_MIN } from '../../schemas/avroSchema';
import type { Aggregate, Alert, DeadLetter, EnrichedReading, GeoLocation, TelemetryReading } from '../../schemas/records';
import { AGGREGATE_SCOPES, ALERT_SEVERITIES, ALERT_STATES, WINDOW_KINDS } from '../../schemas/records';

export const unicodeString = fc.string({ unit: 'binary', maxLength: 24 });
export const avroLong = fc.maxSafeInteger().map((n) => Math.max(AVRO_LONG_MIN, Math.min(AVRO_LONG_MAX, n)));
export const avroInt = fc.integer();
export const anyDouble = fc.double();
/** Epoch ms anywhere in avsc's long range (negative too: before 1970 is a valid timestamp-millis). */
export const epochMillis = avroLong;

const mapKey = unicodeString.filter((key) => key !== '__proto__');
export function avroMap<T>(values: fc.Arbitrary<T>): fc.Arbitrary<Record<string, T>> {
  return fc.dictionary(mapKey, values, { maxKeys: 8 });
}

/** An optional field: left out, undefined, or null (all read back as null) or a value. */
function optional<T>(value: fc.Arbitrary<T>): fc.Arbitrary<T | null | undefined> {
  return fc.oneof(fc.constant(null), fc.constant(undefined), value);
}

export const geoLocation: fc.Arbitrary<GeoLocation> = fc.record(
  { lat: anyDouble, lon: anyDouble, alt: optional(anyDouble) },
  { requiredKeys: ['lat', 'lon'] },
);

export const telemetryReading: fc.Arbitrary<TelemetryReading> = fc.record(
  {
    deviceId: unicodeString,
    deviceType: unicodeString,
    eventTime: epochMillis,
    seq: avroLong,
    metrics: avroMap(anyDouble),
    location: optional(geoLocation),
    battery: optional(anyDouble),
    firmware: optional(unicodeString),
    ingestTime: optional(epochMillis),
  },
  { requiredKeys: ['deviceId', 'deviceType', 'eventTime', 'seq', 'metrics'] },
);

export const enrichedReading: fc.Arbitrary<EnrichedReading> = fc.record(
  {
    deviceId: unicodeString,
    deviceType: unicodeString,
    siteId: unicodeString,
    eventTime: epochMillis,
    seq: avroLong,
    metrics: avroMap(anyDouble),
    location: optional(geoLocation),
    battery: optional(anyDouble),
    firmware: optional(unicodeString),
    ingestTime: optional(epochMillis),
    transformTime: epochMillis,
    thresholds: optional(avroMap(anyDouble)),
  },
  { requiredKeys: ['deviceId', 'deviceType', 'siteId', 'eventTime', 'seq', 'metrics', 'transformTime'] },
);

export const aggregate: fc.Arbitrary<Aggregate> = fc.record(
  {
    scope: fc.constantFrom(...AGGREGATE_SCOPES),
    scopeId: unicodeString,
    windowKind: fc.constantFrom(...WINDOW_KINDS),
    windowStart: epochMillis,
    windowEnd: epochMillis,
    metric: unicodeString,
    count: avroLong,
    sum: anyDouble,
    min: anyDouble,
    max: anyDouble,
    mean: anyDouble,
    m2: anyDouble,
    firstValue: anyDouble,
    firstTime: epochMillis,
    lastValue: anyDouble,
    lastTime: epochMillis,
    percentiles: optional(avroMap(anyDouble)),
  },
  {
    requiredKeys: ['scope', 'scopeId', 'windowKind', 'windowStart', 'windowEnd', 'metric', 'count', 'sum', 'min', 'max', 'mean', 'm2', 'firstValue', 'firstTime', 'lastValue', 'lastTime'],
  },
);

export const alert: fc.Arbitrary<Alert> = fc.record({
  alertId: unicodeString,
  deviceId: unicodeString,
  ruleId: unicodeString,
  severity: fc.constantFrom(...ALERT_SEVERITIES),
  state: fc.constantFrom(...ALERT_STATES),
  value: anyDouble,
  threshold: anyDouble,
  message: unicodeString,
  raisedAt: epochMillis,
  updatedAt: epochMillis,
});

export const deadLetter: fc.Arbitrary<DeadLetter> = fc.record(
  {
    reasonCode: unicodeString,
    message: unicodeString,
    source: fc.record({ kind: unicodeString, address: unicodeString }),
    original: fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
    firstSeenAt: epochMillis,
    attempts: avroInt,
    headers: optional(avroMap(unicodeString)),
  },
  { requiredKeys: ['reasonCode', 'message', 'source', 'original', 'firstSeenAt', 'attempts'] },
);

/** What a value reads back as: optional fields left out or undefined come back as null. */
export function withNullDefaults<T extends object>(value: T, optionalFields: readonly string[]): T {
  const filled: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const field of optionalFields) {
    if (filled[field] === undefined) filled[field] = null;
  }
  return filled as T;
}

export function expectedTelemetryReading(reading: TelemetryReading): TelemetryReading {
  const filled = withNullDefaults(reading, ['location', 'battery', 'firmware', 'ingestTime']);
  return filled.location ? { ...filled, location: withNullDefaults(filled.location, ['alt']) } : filled;
}

export function expectedEnrichedReading(reading: EnrichedReading): EnrichedReading {
  const filled = withNullDefaults(reading, ['location', 'battery', 'firmware', 'ingestTime', 'thresholds']);
  return filled.location ? { ...filled, location: withNullDefaults(filled.location, ['alt']) } : filled;
}
