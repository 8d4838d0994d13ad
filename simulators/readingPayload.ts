import type { TelemetryReading } from '../schemas/records';

/**
 * The JSON a device sends. deviceId, seq and eventTime come first on purpose: a payload cut
 * short (the malformed-json fault) still shows, in its raw bytes, which reading it was.
 */
export function readingToJsonObject(reading: TelemetryReading): Record<string, unknown> {
  const payload: Record<string, unknown> = {
    deviceId: reading.deviceId,
    seq: reading.seq,
    eventTime: reading.eventTime,
    deviceType: reading.deviceType,
    metrics: reading.metrics,
  };
  if (reading.location != null) payload.location = reading.location;
  if (reading.battery != null) payload.battery = reading.battery;
  if (reading.firmware != null) payload.firmware = reading.firmware;
  return payload;
}

export function encodeReadingJson(reading: TelemetryReading): Buffer {
  return Buffer.from(JSON.stringify(readingToJsonObject(reading)));
}

export const PAYLOAD_FORMATS = ['json', 'avro'] as const;
export type PayloadFormat = (typeof PAYLOAD_FORMATS)[number];

/** Turns a reading into the bytes a device publishes (JSON by default; see avroReadingEncoder). */
export type ReadingEncoder = (reading: TelemetryReading) => Buffer;
