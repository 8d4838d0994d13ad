/**
 * Stream records to EnrichedReadings. Bad input is data, not a crash: a record that does not
 * decode as an EnrichedReading, or that carries values no window can hold, comes back as a
 * rejection with a machine-readable reason (it becomes a DeadLetter). A registry that cannot be
 * reached is not the record's fault: that error is thrown, so the runtime retries the batch.
 */
import { errorMessage } from '../../core/errors';
import type { AvroSchema } from '../../schemas/avroSchema';
import type { AvroCodec } from '../../schemas/avroCodec';
import type { EnrichedReading } from '../../schemas/records';
import { CodecError } from '../../schemas/schemaErrors';
import { SUBJECTS, loadSluiceSchema } from '../../schemas/sluiceSchemas';
import type { ProcessorRecord } from '../shared/streamRecords';

export type DecodedRecord = { reading: EnrichedReading } | { rejection: { reason: string; message: string } };

let readerSchema: AvroSchema | undefined;

/** One object for the process: the codec caches its resolvers per reader schema object. */
function enrichedReadingSchema(): AvroSchema {
  readerSchema ??= loadSluiceSchema(SUBJECTS.enrichedReading);
  return readerSchema;
}

const MAX_METRIC_NAME = 200;

/** Why a decoded reading cannot be aggregated, or undefined when it can. */
export function readingProblem(reading: EnrichedReading): { reason: string; message: string } | undefined {
  if (reading.deviceId.length === 0) return { reason: 'invalid_reading', message: 'deviceId is empty' };
  if (reading.siteId.length === 0) return { reason: 'invalid_reading', message: `${reading.deviceId}: siteId is empty (the registry's fallback is "unassigned")` };
  if (!Number.isSafeInteger(reading.eventTime) || reading.eventTime < 0) return { reason: 'invalid_reading', message: `${reading.deviceId}: eventTime ${reading.eventTime} is not epoch milliseconds` };
  if (!Number.isSafeInteger(reading.seq)) return { reason: 'invalid_reading', message: `${reading.deviceId}: seq ${reading.seq} is not a safe integer` };
  for (const [metric, value] of Object.entries(reading.metrics)) {
    if (metric.length === 0 || metric.length > MAX_METRIC_NAME) return { reason: 'invalid_metric_name', message: `${reading.deviceId} seq ${reading.seq}: metric name ${JSON.stringify(metric.slice(0, 40))} must be 1..${MAX_METRIC_NAME} characters` };
    if (!Number.isFinite(value)) return { reason: 'non_finite_metric', message: `${reading.deviceId} seq ${reading.seq}: metric ${metric} is ${value}` };
  }
  return undefined;
}

export async function decodeReading(codec: AvroCodec, record: ProcessorRecord): Promise<DecodedRecord> {
  let reading: EnrichedReading;
  try {
    reading = (await codec.decode(record.data, enrichedReadingSchema())) as EnrichedReading;
  } catch (error) {
    if (error instanceof CodecError) return { rejection: { reason: error.reason, message: errorMessage(error) } };
    throw error;
  }
  const problem = readingProblem(reading);
  if (problem) return { rejection: problem };
  // -0 and 0 are one value; keeping them apart would make min/max depend on arrival order
  for (const [metric, value] of Object.entries(reading.metrics)) if (value === 0) reading.metrics[metric] = 0;
  return { reading };
}
