/**
 * Devices may publish Avro instead of JSON (the simulator's `--payload avro`): the Confluent wire
 * format, magic byte 0 then the writer schema id, written with a schema from the same registry.
 * Ingest tells the two apart by the first byte (JSON never starts with byte 0), decodes Avro into
 * the TelemetryReading schema (schema resolution: a device on an older compatible version still
 * decodes), and then judges the result exactly like JSON (readingFromJson: ranges, finite numbers,
 * metric names; anti-spoofing; ingestTime is ours to set, whatever the device wrote).
 *
 * Reasons: unknown_schema (the id is not in the registry), bad_avro (truncated, a body that does
 * not decode, bytes left over), schema_violation (the writer schema is not a TelemetryReading, or
 * the decoded values break its rules). A registry that cannot be reached is not the message's
 * fault: that error propagates, the batch fails and its messages stay unacked for redelivery.
 */
import type { AvroCodec } from '../schemas/avroCodec';
import type { AvroSchema } from '../schemas/avroSchema';
import { CodecError } from '../schemas/schemaErrors';
import { SUBJECTS, loadSluiceSchema } from '../schemas/sluiceSchemas';
import { MAGIC_BYTE } from '../schemas/wireFormat';
import type { IngestRejection, TelemetryValidationResult } from './telemetryValidation';
import { readingFromJson, tooLarge, topicMismatch } from './telemetryValidation';

/** One object for the process: the codec caches its reader type and resolvers by this identity. */
let readerSchema: AvroSchema | undefined;

function telemetryReaderSchema(): AvroSchema {
  readerSchema ??= loadSluiceSchema(SUBJECTS.telemetryReading);
  return readerSchema;
}

export function isAvroPayload(payload: Uint8Array): boolean {
  return payload.length > 0 && payload[0] === MAGIC_BYTE;
}

function rejectionFor(error: CodecError): IngestRejection {
  switch (error.reason) {
    case 'unknown_schema':
      return { reason: 'unknown_schema', message: error.message };
    case 'incompatible_reader':
      return { reason: 'schema_violation', message: `not a TelemetryReading: ${error.message}` };
    default:
      return { reason: 'bad_avro', message: `${error.reason}: ${error.message}` };
  }
}

/** Decodes and judges one Avro payload; rejects (throws) only when the registry cannot be asked. */
export async function validateAvroTelemetry(
  codec: AvroCodec,
  topic: string | undefined,
  payload: Uint8Array,
  ingestTime: number,
  maxPayloadBytes: number,
): Promise<TelemetryValidationResult> {
  const oversized = tooLarge(payload, maxPayloadBytes);
  if (oversized) return { ok: false, rejection: oversized };
  let decoded: unknown;
  try {
    decoded = await codec.decode(payload, telemetryReaderSchema());
  } catch (error) {
    if (error instanceof CodecError) return { ok: false, rejection: rejectionFor(error) };
    throw error;
  }
  const checked = readingFromJson(decoded, ingestTime);
  if (typeof checked === 'string') return { ok: false, rejection: { reason: 'schema_violation', message: checked } };
  const spoofed = topicMismatch(topic, checked);
  if (spoofed) return { ok: false, rejection: spoofed };
  return { ok: true, reading: checked };
}
