/**
 * What ingest must do with a message, written from the documented rules (ingest/README.md, the
 * TelemetryReading schema, the reason table), not from ingest's code: the fuzz tests compare what
 * landed in the streams with these verdicts.
 *
 * The rules, as documented:
 * - too_large: the payload is over the byte limit (checked before anything else).
 * - bad_json: not UTF-8, or not JSON (JSON.parse's grammar; a leading BOM may be ignored, RFC 8259 §8.1).
 * - schema_violation: not an object; deviceId / deviceType missing, empty, over 256 characters or
 *   not a string UTF-8 can carry; seq not an integer >= 0 that an Avro long holds; eventTime not an
 *   integer epoch ms a Date and an Avro long hold, nor an ISO 8601 date-time with a zone naming a
 *   day that exists; metrics not an object of at most 1000 finite numbers with usable names
 *   (non-empty, not "__proto__", UTF-8); location not null/absent nor {lat -90..90, lon -180..180,
 *   alt finite or null}; battery not null/absent nor 0..100; firmware not null/absent nor a short string.
 * - topic_mismatch: the payload's deviceId is not the topic's device level.
 * Unknown fields are ignored, however large or deep (within the byte limit).
 */
import { isUtf8 } from 'node:buffer';
import { AVRO_LONG_MAX, AVRO_LONG_MIN } from '../../schemas/avroSchema';
import type { TelemetryReading } from '../../schemas/records';
import { isWellFormedUtf16 } from './fuzzPayloads';

export type Reason = 'too_large' | 'bad_json' | 'schema_violation' | 'topic_mismatch' | 'bad_avro' | 'unknown_schema';

export interface ExpectedReading {
  deviceId: string;
  deviceType: string;
  eventTime: number;
  seq: number;
  metrics: Record<string, number>;
  location: { lat: number; lon: number; alt: number | null } | null;
  battery: number | null;
  firmware: string | null;
}

export type Verdict = { accepted: ExpectedReading } | { rejected: Reason };

const MAX_SHORT_STRING = 256;
const MAX_METRICS = 1000;
/** A JS Date holds ±8.64e15 ms; an Avro long (as sluice carries it) holds -2^52 .. 2^53 - 2. */
const EVENT_TIME_MIN = Math.max(-8.64e15, AVRO_LONG_MIN);
const EVENT_TIME_MAX = Math.min(8.64e15, AVRO_LONG_MAX);

const violation: Verdict = { rejected: 'schema_violation' };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isShortString(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= MAX_SHORT_STRING && isWellFormedUtf16(value);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** A long has no -0: it is stored, and read back, as 0. */
const asLong = (value: number): number => (value === 0 ? 0 : value);

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

function daysInMonth(year: number, month: number): number {
  return [31, isLeapYear(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
}

const ISO_PARTS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * ISO 8601 calendar date-time with a zone -> epoch ms, or undefined. 24:00 is the end of the day
 * (ISO 8601:2004 4.2.3); fractions past milliseconds are cut off; no leap seconds (a Date has none).
 */
export function isoToMillis(text: string): number | undefined {
  const parts = ISO_PARTS.exec(text);
  if (!parts) return undefined;
  const [year, month, day, hour, minute] = parts.slice(1, 6).map(Number) as [number, number, number, number, number];
  const second = parts[6] === undefined ? 0 : Number(parts[6]);
  const fraction = parts[7] ?? '';
  const millis = Number(fraction.padEnd(3, '0').slice(0, 3));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  const endOfDay = hour === 24 && minute === 0 && second === 0 && /^0*$/.test(fraction);
  if ((hour > 23 && !endOfDay) || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  if (parts[8] !== undefined) {
    const offsetHours = Number(parts[9]);
    const offsetRest = Number(parts[10]);
    if (offsetHours > 23 || offsetRest > 59) return undefined;
    offsetMinutes = (parts[8] === '-' ? -1 : 1) * (offsetHours * 60 + offsetRest);
  }
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // not Date.UTC: it reads years 0..99 as 1900..1999
  date.setUTCHours(hour, minute, second, millis);
  return date.getTime() - offsetMinutes * 60_000;
}

function eventTimeOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= EVENT_TIME_MIN && value <= EVENT_TIME_MAX ? asLong(value) : undefined;
  if (typeof value === 'string') return isoToMillis(value);
  return undefined;
}

function metricsOf(value: unknown): Record<string, number> | undefined {
  if (!isObject(value)) return undefined;
  const names = Object.keys(value);
  if (names.length > MAX_METRICS) return undefined;
  const metrics: Record<string, number> = {};
  for (const name of names) {
    const metric = value[name];
    if (name === '' || name === '__proto__' || !isWellFormedUtf16(name) || !isFiniteNumber(metric)) return undefined;
    metrics[name] = metric;
  }
  return metrics;
}

function locationOf(value: unknown): ExpectedReading['location'] | 'invalid' {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) return 'invalid';
  const { lat, lon } = value;
  const alt = value.alt ?? null;
  if (!isFiniteNumber(lat) || lat < -90 || lat > 90) return 'invalid';
  if (!isFiniteNumber(lon) || lon < -180 || lon > 180) return 'invalid';
  if (alt !== null && !isFiniteNumber(alt)) return 'invalid';
  return { lat, lon, alt };
}

/**
 * A parsed (or Avro-decoded) payload judged by the rules. `topicDevice`: the topic's device level
 * ('' when the level is empty); null when the source has no topic (HTTP).
 */
export function judgeReading(value: unknown, topicDevice: string | null): Verdict {
  if (!isObject(value)) return violation;
  const { deviceId, deviceType, seq } = value;
  if (!isShortString(deviceId) || !isShortString(deviceType)) return violation;
  if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0 || seq > AVRO_LONG_MAX) return violation;
  const eventTime = eventTimeOf(value.eventTime);
  const metrics = metricsOf(value.metrics);
  const location = locationOf(value.location);
  if (eventTime === undefined || metrics === undefined || location === 'invalid') return violation;
  const battery = value.battery ?? null;
  if (battery !== null && (!isFiniteNumber(battery) || battery < 0 || battery > 100)) return violation;
  const firmware = value.firmware ?? null;
  if (firmware !== null && !isShortString(firmware)) return violation;
  if (topicDevice !== null && topicDevice !== deviceId) return { rejected: 'topic_mismatch' };
  return { accepted: { deviceId, deviceType, eventTime, seq: asLong(seq), metrics, location, battery, firmware } };
}

/** JSON bytes -> parsed value, or undefined when they are not UTF-8 JSON. */
export function parseJson(bytes: Buffer): { value: unknown } | undefined {
  if (!isUtf8(bytes)) return undefined;
  let text = bytes.toString('utf8');
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

/**
 * A payload that is not an Avro message of ours (JSON, or bytes that look like neither). Bytes
 * starting with 0 are Avro: judged here only when that is decided by the header alone.
 */
export function judgePayload(bytes: Buffer, topicDevice: string | null, maxPayloadBytes: number, knownSchemaIds: ReadonlySet<number>): Verdict | 'undecided' {
  if (bytes.length > maxPayloadBytes) return { rejected: 'too_large' };
  if (bytes.length > 0 && bytes[0] === 0) {
    if (bytes.length < 5) return { rejected: 'bad_avro' };
    return knownSchemaIds.has(bytes.readUInt32BE(1)) ? 'undecided' : { rejected: 'unknown_schema' };
  }
  const parsed = parseJson(bytes);
  return parsed ? judgeReading(parsed.value, topicDevice) : { rejected: 'bad_json' };
}

/** Bytes JSON.stringify would write for a parsed JSON value, counted without recursion (values may nest 10,000 deep). */
export function jsonByteLength(value: unknown): number {
  let total = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (Array.isArray(next)) {
      total += 2 + Math.max(0, next.length - 1);
      pending.push(...(next as unknown[]));
    } else if (isObject(next)) {
      const keys = Object.keys(next);
      total += 2 + Math.max(0, keys.length - 1);
      for (const key of keys) {
        total += Buffer.byteLength(JSON.stringify(key)) + 1;
        pending.push(next[key]);
      }
    } else {
      total += Buffer.byteLength(JSON.stringify(next));
    }
  }
  return total;
}

export type HttpVerdict =
  | { status: 413 }
  | { status: 400; error: 'bad_json' | 'schema_violation' }
  | { status: 400; error: 'invalid_items'; errors: Array<{ index: number; reason: Reason }> }
  | { status: 202; readings: ExpectedReading[] };

export interface HttpLimits {
  maxBodyBytes: number;
  maxPayloadBytes: number;
  maxItems: number;
}

/** POST /v1/telemetry as documented (ingest/httpIngest.ts): 413 / 400 bad_json / 400 with a reason per item / 202. */
export function judgeHttpBody(body: Buffer, limits: HttpLimits): HttpVerdict {
  if (body.length > limits.maxBodyBytes) return { status: 413 };
  const parsed = parseJson(body);
  if (!parsed) return { status: 400, error: 'bad_json' };
  const items: unknown[] = Array.isArray(parsed.value) ? (parsed.value as unknown[]) : [parsed.value];
  if (items.length === 0) return { status: 400, error: 'schema_violation' };
  if (items.length > limits.maxItems) return { status: 413 };
  const errors: Array<{ index: number; reason: Reason }> = [];
  const readings: ExpectedReading[] = [];
  items.forEach((item, index) => {
    // Each reading is measured as its own JSON, as MQTT measures a payload.
    const verdict: Verdict = jsonByteLength(item) > limits.maxPayloadBytes ? { rejected: 'too_large' } : judgeReading(item, null);
    if ('rejected' in verdict) errors.push({ index, reason: verdict.rejected });
    else readings.push(verdict.accepted);
  });
  return errors.length > 0 ? { status: 400, error: 'invalid_items', errors } : { status: 202, readings };
}

/**
 * One string per reading, equal for equal readings. Numbers are compared as JSON writes them:
 * JSON has no -0, so a metric of -0 may come back as 0 (Avro keeps the sign; JSON.stringify drops it).
 */
export function readingKey(reading: ExpectedReading): string {
  const metrics = Object.keys(reading.metrics)
    .sort()
    .map((name) => [name, String(reading.metrics[name])]);
  const location = reading.location && [String(reading.location.lat), String(reading.location.lon), reading.location.alt === null ? null : String(reading.location.alt)];
  return JSON.stringify([reading.deviceId, reading.deviceType, reading.eventTime, reading.seq, metrics, location, reading.battery === null ? null : String(reading.battery), reading.firmware]);
}

/** A stored (decoded) reading in the oracle's shape, ingestTime left out (ingest sets it). */
export function storedReading(stored: TelemetryReading): ExpectedReading {
  const { deviceId, deviceType, eventTime, seq, metrics, location, battery, firmware } = stored;
  return { deviceId, deviceType, eventTime, seq, metrics, location: location ? { lat: location.lat, lon: location.lon, alt: location.alt ?? null } : null, battery: battery ?? null, firmware: firmware ?? null };
}

/** Keys expected but not found, and found but not expected, each with its label (a multiset difference). */
export function multisetDifference(expected: Array<{ key: string; label: string }>, found: Array<{ key: string; label: string }>): { missing: string[]; unexpected: string[] } {
  const open = new Map<string, string[]>();
  for (const { key, label } of expected) open.set(key, [...(open.get(key) ?? []), label]);
  const unexpected: string[] = [];
  for (const { key, label } of found) {
    const labels = open.get(key);
    if (labels && labels.length > 0) labels.shift();
    else unexpected.push(label);
  }
  const missing = [...open.values()].flat();
  return { missing, unexpected };
}
