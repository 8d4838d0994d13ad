/**
 * Decoding one telemetry stream record into a TelemetryReading, and what a failure means.
 *
 * The record is read through the TelemetryReading schema of this code base as the reader
 * schema, so a writer using an older or newer compatible version is resolved into the shape
 * this code expects, and a record of another type (an Aggregate written to the wrong stream)
 * is refused instead of being half-read.
 *
 * | CodecError reason                                           | dead-letter reasonCode |
 * |-------------------------------------------------------------|------------------------|
 * | empty, bad_magic, truncated, invalid_body, trailing_bytes   | bad_avro               |
 * | unknown_schema (the id is in no registry)                   | unknown_schema         |
 * | incompatible_reader (not a TelemetryReading)                | wrong_schema           |
 *
 * Any other error (the registry cannot be reached) is not the record's fault: it is thrown, so
 * the invocation fails and the runtime retries it.
 */
import type { Type } from 'avsc';
import type { AvroCodec } from '../../schemas/avroCodec';
import { createAvroType } from '../../schemas/avroSchema';
import type { TelemetryReading } from '../../schemas/records';
import { CodecError } from '../../schemas/schemaErrors';
import type { CodecReason } from '../../schemas/schemaErrors';
import { SUBJECTS, loadSluiceSchema } from '../../schemas/sluiceSchemas';

export type TelemetryRejectionReason = 'bad_avro' | 'unknown_schema' | 'wrong_schema';

export type DecodedTelemetry =
  | { ok: true; reading: TelemetryReading }
  | { ok: false; reason: TelemetryRejectionReason; codecReason: CodecReason; message: string };

let readerType: Type | undefined;

/** The reader schema, built once per process (the codec caches resolvers per reader Type). */
export function telemetryReaderType(): Type {
  readerType ??= createAvroType(loadSluiceSchema(SUBJECTS.telemetryReading), SUBJECTS.telemetryReading);
  return readerType;
}

function rejectionReason(reason: CodecReason): TelemetryRejectionReason {
  if (reason === 'unknown_schema') return 'unknown_schema';
  if (reason === 'incompatible_reader') return 'wrong_schema';
  return 'bad_avro';
}

export async function decodeTelemetry(codec: AvroCodec, data: Buffer): Promise<DecodedTelemetry> {
  try {
    return { ok: true, reading: (await codec.decode(data, telemetryReaderType())) as TelemetryReading };
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    return { ok: false, reason: rejectionReason(error.reason), codecReason: error.reason, message: error.message };
  }
}
