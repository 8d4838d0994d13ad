/**
 * The ingest function's judgement on one message: size limit, JSON parse, TelemetryReading schema
 * (types, ranges, required fields), anti-spoofing (the payload's deviceId must be the device whose
 * topic it arrived on), normalization (eventTime as epoch ms, optional fields as null, ingestTime set).
 * Avro payloads (avroTelemetry.ts) are decoded first and then judged by the same readingFromJson.
 *
 * Pure and total: any bytes give either a reading or a rejection with a reason code; nothing throws.
 * Bad input is data (a dead letter), never a crash.
 */
import { AVRO_LONG_MAX, AVRO_LONG_MIN } from '../schemas/avroSchema';
import type { GeoLocation, TelemetryReading } from '../schemas/records';

/**
 * Reason codes, as simulators/faultKinds.ts FAULT_OUTCOMES expects them in the dead-letter stream;
 * bad_avro and unknown_schema are for Avro payloads (avroTelemetry.ts).
 */
export const INGEST_REJECTION_REASONS = ['too_large', 'bad_json', 'schema_violation', 'topic_mismatch', 'bad_avro', 'unknown_schema'] as const;
export type IngestRejectionReason = (typeof INGEST_REJECTION_REASONS)[number];

export interface IngestRejection {
  reason: IngestRejectionReason;
  message: string;
}

export type TelemetryValidationResult = { ok: true; reading: TelemetryReading } | { ok: false; rejection: IngestRejection };

export interface TelemetryValidationOptions {
  /** Payloads larger than this are rejected as too_large before parsing. Default 256 KiB. */
  maxPayloadBytes: number;
}

export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024;
/** Kinesis partition keys are at most 256 characters, and deviceId is the key. */
export const MAX_DEVICE_ID_LENGTH = 256;
const MAX_SHORT_STRING_LENGTH = 256;
const MAX_METRICS = 1000;
/** The largest epoch ms a JS Date holds (±100,000,000 days); anything beyond is not a time. */
const MAX_EPOCH_MS = 8.64e15;
/**
 * The earliest epoch ms the TelemetryReading record can carry (an Avro long below -2^52 is refused
 * by the codec, schemas/avroSchema.ts). Checked here, not left to the encoder: over HTTP a reading
 * that passes validation is answered 202, so it must also be storable.
 */
const MIN_EPOCH_MS = Math.max(-MAX_EPOCH_MS, AVRO_LONG_MIN);
/** ISO 8601 date-time with an explicit zone: without one, Date.parse would guess local time. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

const TELEMETRY_SUFFIX = '/telemetry';

/** `.../{deviceId}/telemetry` -> deviceId; undefined when the topic does not have that shape. */
export function deviceIdFromTopic(topic: string): string | undefined {
  // Runs for every message: two index scans instead of splitting the topic into an array.
  if (!topic.endsWith(TELEMETRY_SUFFIX)) return undefined;
  const end = topic.length - TELEMETRY_SUFFIX.length;
  const start = topic.lastIndexOf('/', end - 1) + 1;
  return end > start ? topic.slice(start, end) : undefined;
}

/** Anti-spoofing: a device publishes only on its own topic. undefined when the reading may pass. */
export function topicMismatch(topic: string | undefined, reading: TelemetryReading): IngestRejection | undefined {
  if (topic === undefined || deviceIdFromTopic(topic) === reading.deviceId) return undefined;
  return { reason: 'topic_mismatch', message: `payload deviceId "${reading.deviceId}" does not match topic "${topic}"` };
}

export function tooLarge(payload: Uint8Array, maxPayloadBytes: number): IngestRejection | undefined {
  if (payload.length <= maxPayloadBytes) return undefined;
  return { reason: 'too_large', message: `payload is ${payload.length} bytes, over the limit of ${maxPayloadBytes}` };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Validates one message. `topic` undefined skips the anti-spoofing check (HTTP: the caller checks identity). */
export function validateTelemetry(
  topic: string | undefined,
  payload: Uint8Array,
  ingestTime: number,
  options: TelemetryValidationOptions = { maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES },
): TelemetryValidationResult {
  const oversized = tooLarge(payload, options.maxPayloadBytes);
  if (oversized) return { ok: false, rejection: oversized };
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(payload));
  } catch (error) {
    return reject('bad_json', `payload is not valid UTF-8 JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const checked = readingFromJson(parsed, ingestTime);
  if (typeof checked === 'string') return reject('schema_violation', checked);
  const spoofed = topicMismatch(topic, checked);
  if (spoofed) return { ok: false, rejection: spoofed };
  return { ok: true, reading: checked };
}

function reject(reason: IngestRejectionReason, message: string): TelemetryValidationResult {
  return { ok: false, rejection: { reason, message } };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  return `${typeof value} ${String(value)}`;
}

/**
 * A normalized reading, or a message naming the first problem (field path first). The reading
 * keeps `json.metrics` itself (no copy, see normalizeMetrics): pass a value this call may own,
 * as a fresh JSON.parse or Avro decode is.
 */
export function readingFromJson(json: unknown, ingestTime: number): TelemetryReading | string {
  if (!isPlainObject(json)) return `payload must be a JSON object, got ${describe(json)}`;

  const deviceId = shortString(json.deviceId, 'deviceId', MAX_DEVICE_ID_LENGTH);
  if (typeof deviceId !== 'object') return deviceId;
  const deviceType = shortString(json.deviceType, 'deviceType', MAX_SHORT_STRING_LENGTH);
  if (typeof deviceType !== 'object') return deviceType;

  const seq = json.seq;
  // At most AVRO_LONG_MAX (2^53 - 2), what the record's long carries (see MIN_EPOCH_MS for why here).
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0 || seq > AVRO_LONG_MAX) return `seq: must be an integer in 0..${AVRO_LONG_MAX}, got ${describe(seq)}`;

  const eventTime = normalizeEventTime(json.eventTime);
  if (typeof eventTime === 'string') return eventTime;

  const metrics = normalizeMetrics(json.metrics);
  if (typeof metrics === 'string') return metrics;

  const location = normalizeLocation(json.location);
  if (typeof location === 'string') return location;

  const battery = json.battery ?? null;
  if (battery !== null && (typeof battery !== 'number' || !Number.isFinite(battery) || battery < 0 || battery > 100)) {
    return `battery: must be a number in 0..100 or null, got ${describe(battery)}`;
  }
  let firmware: string | null = null;
  if (json.firmware !== undefined && json.firmware !== null) {
    const checked = shortString(json.firmware, 'firmware', MAX_SHORT_STRING_LENGTH);
    if (typeof checked !== 'object') return checked;
    firmware = checked.value;
  }
  // Unknown fields are ignored (newer firmware may send more); ingestTime is ours to set.
  return { deviceId: deviceId.value, deviceType: deviceType.value, eventTime, seq, metrics, location, battery, firmware, ingestTime };
}

/**
 * A string with a lone UTF-16 surrogate (only a JSON \u escape makes one) is not text: UTF-8, and
 * so the Avro record, cannot carry it, and the codec refuses it. Refused here as a wrong type, so
 * HTTP answers 400 for it instead of 202 and then dead-lettering the reading.
 */
function isWellFormed(text: string): boolean {
  // String.prototype.isWellFormed is ES2024 (Node 20 has it; our TS lib is ES2022).
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** Boxed so a valid string is told apart from an error message. */
function shortString(value: unknown, path: string, maxLength: number): { value: string } | string {
  if (typeof value !== 'string' || value.length === 0) return `${path}: required, must be a non-empty string, got ${value === undefined ? 'nothing' : describe(value)}`;
  if (value.length > maxLength) return `${path}: must be at most ${maxLength} characters, got ${value.length}`;
  if (!isWellFormed(value)) return `${path}: holds a lone UTF-16 surrogate, which is not text, got ${describe(value)}`;
  return { value };
}

function normalizeEventTime(value: unknown): number | string {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < MIN_EPOCH_MS || value > MAX_EPOCH_MS) return `eventTime: epoch ms must be an integer in ${MIN_EPOCH_MS}..${MAX_EPOCH_MS}, got ${describe(value)}`;
    return value;
  }
  if (typeof value === 'string') {
    const millis = ISO_DATE_TIME.test(value) && dayExists(value) ? Date.parse(value) : Number.NaN;
    if (!Number.isFinite(millis)) return `eventTime: must be epoch ms or an ISO 8601 date-time with a zone, got ${describe(value)}`;
    return millis;
  }
  return `eventTime: required, epoch ms or ISO 8601 string, got ${value === undefined ? 'nothing' : describe(value)}`;
}

/**
 * Date.parse reads a day the month does not have as a day of the next month (2023-02-29 is
 * March 1, 2025-04-31 is May 1): a device clock that wrote it is wrong, and storing another
 * time would hide that. `value` matched ISO_DATE_TIME, so it starts with YYYY-MM-DD.
 */
function dayExists(value: string): boolean {
  const year = Number(value.slice(0, 4));
  const month = Number(value.slice(5, 7));
  const day = Number(value.slice(8, 10));
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // not Date.UTC: it reads years 0..99 as 1900..1999
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function normalizeMetrics(value: unknown): Record<string, number> | string {
  if (!isPlainObject(value)) return `metrics: required, must be an object of metric name to number, got ${value === undefined ? 'nothing' : describe(value)}`;
  const names = Object.keys(value);
  if (names.length > MAX_METRICS) return `metrics: at most ${MAX_METRICS} metrics, got ${names.length}`;
  for (const name of names) {
    // A JS object would drop "__proto__" on decode, so the codec refuses it; refuse it here first.
    if (name === '' || name === '__proto__' || !isWellFormed(name)) return `metrics: invalid metric name ${JSON.stringify(name)}`;
    const metric = value[name];
    if (typeof metric !== 'number' || !Number.isFinite(metric)) return `metrics.${name}: must be a finite number, got ${describe(metric)}`;
  }
  // The checked object itself, not a copy: it comes fresh from JSON.parse or the Avro decoder, holds
  // only own data properties (JSON.parse defines even "__proto__" as one, refused above), and no one
  // else keeps it. Copying it cost more than checking it.
  return value as Record<string, number>;
}

function normalizeLocation(value: unknown): GeoLocation | null | string {
  if (value === undefined || value === null) return null;
  if (!isPlainObject(value)) return `location: must be an object {lat, lon, alt?} or null, got ${describe(value)}`;
  const { lat, lon } = value;
  const alt = value.alt ?? null;
  if (typeof lat !== 'number' || !Number.isFinite(lat) || lat < -90 || lat > 90) return `location.lat: must be a number in -90..90, got ${describe(lat)}`;
  if (typeof lon !== 'number' || !Number.isFinite(lon) || lon < -180 || lon > 180) return `location.lon: must be a number in -180..180, got ${describe(lon)}`;
  if (alt !== null && (typeof alt !== 'number' || !Number.isFinite(alt))) return `location.alt: must be a finite number or null, got ${describe(alt)}`;
  return { lat, lon, alt };
}
