/**
 * TypeScript shapes of the records in schemas/avro/*.avsc. Hand-written; test/schemas/records.test.ts
 * keeps them in sync with the .avsc files (fully populated samples typed with `satisfies Required<...>`
 * must have exactly the Avro field names and survive an encode/decode round trip).
 *
 * Optional Avro fields (unions with null, default null) are `?: T | null`: a writer may leave them
 * out (the default applies), a decoded record always carries `null`.
 */

/**
 * Epoch milliseconds. The .avsc files mark these longs `timestamp-millis` so other Avro readers see
 * timestamps; we give avsc no logical-type implementation, so they stay plain numbers here (cheap,
 * JSON-friendly, and what Redis scores and Kinesis timestamps want).
 */
export type EpochMillis = number;

export interface GeoLocation {
  lat: number;
  lon: number;
  alt?: number | null;
}

export interface TelemetryReading {
  deviceId: string;
  deviceType: string;
  eventTime: EpochMillis;
  /** The device's own sequence number (Avro long: a safe integer). */
  seq: number;
  metrics: Record<string, number>;
  location?: GeoLocation | null;
  battery?: number | null;
  firmware?: string | null;
  /** Set by ingest. */
  ingestTime?: EpochMillis | null;
}

/** A reading after transform (schemas/avro/EnrichedReading.avsc). */
export interface EnrichedReading {
  deviceId: string;
  deviceType: string;
  /** from the device registry; 'unassigned' when the registry does not know the device */
  siteId: string;
  eventTime: EpochMillis;
  seq: number;
  /** normalized metrics plus derived ones */
  metrics: Record<string, number>;
  location?: GeoLocation | null;
  battery?: number | null;
  firmware?: string | null;
  ingestTime?: EpochMillis | null;
  transformTime: EpochMillis;
  /** per-device alert thresholds from the registry */
  thresholds?: Record<string, number> | null;
}

export const AGGREGATE_SCOPES = ['device', 'site'] as const;
export type AggregateScope = (typeof AGGREGATE_SCOPES)[number];

export const WINDOW_KINDS = ['tumbling', 'hopping', 'session'] as const;
export type WindowKind = (typeof WINDOW_KINDS)[number];

export interface Aggregate {
  scope: AggregateScope;
  /** deviceId when scope is 'device', siteId when scope is 'site'. */
  scopeId: string;
  windowKind: WindowKind;
  windowStart: EpochMillis;
  windowEnd: EpochMillis;
  metric: string;
  count: number;
  sum: number;
  min: number;
  max: number;
  mean: number;
  /** Sum of squared deviations from the mean (Welford); variance = m2 / count. */
  m2: number;
  firstValue: number;
  firstTime: EpochMillis;
  lastValue: number;
  lastTime: EpochMillis;
  percentiles?: Record<string, number> | null;
}

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export const ALERT_STATES = ['open', 'acknowledged', 'cleared'] as const;
export type AlertState = (typeof ALERT_STATES)[number];

export interface Alert {
  alertId: string;
  deviceId: string;
  ruleId: string;
  severity: AlertSeverity;
  state: AlertState;
  value: number;
  threshold: number;
  message: string;
  raisedAt: EpochMillis;
  updatedAt: EpochMillis;
}

export interface DeadLetterSource {
  /** mqtt, kafka, kinesis, ... (a string, not an enum, so new sources don't break old readers). */
  kind: string;
  /** Topic or stream address the input came from. */
  address: string;
}

export interface DeadLetter {
  /** Machine-readable, e.g. a CodecError reason such as 'bad_magic'. */
  reasonCode: string;
  message: string;
  source: DeadLetterSource;
  /** The input exactly as received. avsc reads and writes Avro bytes as Buffer. */
  original: Buffer;
  firstSeenAt: EpochMillis;
  /** Avro int. */
  attempts: number;
  headers?: Record<string, string> | null;
}
