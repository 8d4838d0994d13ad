/**
 * The judgement on one `POST /v1/telemetry` request body, with the same answers as the local
 * HTTP gateway (ingest/httpIngest.ts), so a device client sees the same contract on a laptop and
 * behind API Gateway:
 *
 * - a JSON array of readings (or one reading), each checked by validateTelemetry;
 * - 400 `bad_json` for a body that is not JSON, 400 `schema_violation` for an empty list;
 * - 413 `too_large` for a body over maxBodyBytes or more than maxItems readings;
 * - 400 `invalid_items` with {index, reason, message} per bad item: all or nothing, so nothing of
 *   the request is stored and the client resends without duplicating the good readings.
 *
 * Pure: it says what to answer or which payloads to store; storing them is the caller's job.
 */
import type { ItemError } from '../httpIngest';
import { DEFAULT_MAX_PAYLOAD_BYTES, validateTelemetry } from '../telemetryValidation';

export interface TelemetryRequestLimits {
  /** Whole request body. Default 1 MiB, as the local gateway. */
  maxBodyBytes: number;
  /** Per reading. Default 256 KiB, as MQTT ingest. */
  maxPayloadBytes: number;
  /** Readings per request. Default 1000. */
  maxItems: number;
}

export const DEFAULT_TELEMETRY_REQUEST_LIMITS: TelemetryRequestLimits = {
  maxBodyBytes: 1024 * 1024,
  maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES,
  maxItems: 1000,
};

export type TelemetryRequestRefusal =
  | { error: 'bad_json' | 'schema_violation' | 'too_large'; message: string }
  | { error: 'invalid_items'; errors: ItemError[] };

export type TelemetryRequestOutcome =
  | { kind: 'store'; payloads: Buffer[] }
  | { kind: 'refuse'; status: 400 | 413; body: TelemetryRequestRefusal };

function refuse(status: 400 | 413, body: TelemetryRequestRefusal): TelemetryRequestOutcome {
  return { kind: 'refuse', status, body };
}

export function judgeTelemetryRequest(body: Buffer, ingestTime: number, limits: TelemetryRequestLimits = DEFAULT_TELEMETRY_REQUEST_LIMITS): TelemetryRequestOutcome {
  if (body.length > limits.maxBodyBytes) return refuse(413, { error: 'too_large', message: `request body over ${limits.maxBodyBytes} bytes` });
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    return refuse(400, { error: 'bad_json', message: error instanceof Error ? error.message : String(error) });
  }
  const items: unknown[] = Array.isArray(parsed) ? parsed : [parsed];
  if (items.length === 0) return refuse(400, { error: 'schema_violation', message: 'expected at least one reading' });
  if (items.length > limits.maxItems) return refuse(413, { error: 'too_large', message: `at most ${limits.maxItems} readings per request, got ${items.length}` });

  // Each reading is judged on its own bytes, exactly as one MQTT message would be.
  const payloads = items.map((item) => Buffer.from(JSON.stringify(item) ?? 'null'));
  const errors: ItemError[] = [];
  payloads.forEach((payload, index) => {
    const result = validateTelemetry(undefined, payload, ingestTime, { maxPayloadBytes: limits.maxPayloadBytes });
    if (!result.ok) errors.push({ index, ...result.rejection });
  });
  if (errors.length > 0) return refuse(400, { error: 'invalid_items', errors });
  return { kind: 'store', payloads };
}
