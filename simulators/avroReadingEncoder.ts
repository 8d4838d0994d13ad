import type { TelemetryReading } from '../schemas/records';
import { createAvroType } from '../schemas/avroSchema';
import type { SchemaRegistry } from '../schemas/schemaRegistry';
import { SUBJECTS, loadSluiceSchema } from '../schemas/sluiceSchemas';
import { HEADER_LENGTH, writeHeader } from '../schemas/wireFormat';
import type { ReadingEncoder } from './readingPayload';

/**
 * Avro device payloads (`--payload avro`): the TelemetryReading schema is registered once
 * (idempotent: the same schema keeps its id) and every reading is written in the Confluent wire
 * format with that id, so anything holding the same registry can decode it. Encoding is then
 * synchronous, as the fleet's per-reading path needs.
 */
export async function createAvroReadingEncoder(registry: SchemaRegistry): Promise<{ schemaId: number; encode: ReadingEncoder }> {
  const schema = loadSluiceSchema(SUBJECTS.telemetryReading);
  const schemaId = await registry.register(SUBJECTS.telemetryReading, schema);
  const type = createAvroType(schema, SUBJECTS.telemetryReading);
  const encode: ReadingEncoder = (reading: TelemetryReading) => {
    const body = type.toBuffer({
      deviceId: reading.deviceId,
      deviceType: reading.deviceType,
      eventTime: reading.eventTime,
      seq: reading.seq,
      metrics: reading.metrics,
      location: reading.location == null ? null : { lat: reading.location.lat, lon: reading.location.lon, alt: reading.location.alt ?? null },
      battery: reading.battery ?? null,
      firmware: reading.firmware ?? null,
      ingestTime: null,
    });
    const message = Buffer.allocUnsafe(HEADER_LENGTH + body.length);
    writeHeader(message, schemaId);
    body.copy(message, HEADER_LENGTH);
    return message;
  };
  return { schemaId, encode };
}
