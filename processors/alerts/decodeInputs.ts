/**
 * Decodes a batch's records into EnrichedReading or Aggregate (through the reader schema, so a
 * record of another type is refused by the codec) and sorts out what rules cannot use: bad
 * bytes become a BadRecord with the codec's reason, a decoded value rules cannot judge (NaN
 * metric, empty device id) one with `invalid_reading` / `invalid_aggregate`. A failure that is
 * not the record's fault (the registry unreachable) is thrown, so the runtime retries.
 */
import type { AvroSchema } from '../../schemas/avroSchema';
import type { AvroCodec } from '../../schemas/avroCodec';
import type { Aggregate, EnrichedReading } from '../../schemas/records';
import { CodecError } from '../../schemas/schemaErrors';
import { SUBJECTS, loadSluiceSchema } from '../../schemas/sluiceSchemas';
import type { ProcessorRecord } from '../shared/streamRecords';
import type { BadRecord } from './deadLetters';

export interface Decoded<T> {
  record: ProcessorRecord;
  value: T;
}

let readingSchema: AvroSchema | undefined;
let aggregateSchema: AvroSchema | undefined;

function finite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

export function readingProblem(reading: EnrichedReading): string | undefined {
  if (reading.deviceId === '') return 'deviceId is empty';
  if (!Number.isSafeInteger(reading.eventTime)) return `eventTime ${reading.eventTime} is not a safe integer`;
  if (!Number.isSafeInteger(reading.seq) || reading.seq < 0) return `seq ${reading.seq} is not a non-negative safe integer`;
  for (const [metric, value] of Object.entries(reading.metrics)) {
    if (!finite(value)) return `metrics.${metric} is ${value}, not a finite number`;
  }
  return undefined;
}

export function aggregateProblem(aggregate: Aggregate): string | undefined {
  if (aggregate.scopeId === '') return 'scopeId is empty';
  if (!(aggregate.windowEnd > aggregate.windowStart)) return `windowEnd ${aggregate.windowEnd} is not after windowStart ${aggregate.windowStart}`;
  for (const field of ['count', 'sum', 'min', 'max', 'mean', 'm2', 'firstValue', 'lastValue'] as const) {
    if (!finite(aggregate[field])) return `${field} is ${aggregate[field]}, not a finite number`;
  }
  return undefined;
}

async function decodeAll<T>(codec: AvroCodec, records: readonly ProcessorRecord[], schema: AvroSchema, problemOf: (value: T) => string | undefined, reason: string): Promise<{ good: Array<Decoded<T>>; bad: BadRecord[] }> {
  const good: Array<Decoded<T>> = [];
  const bad: BadRecord[] = [];
  for (const record of records) {
    let value: T;
    try {
      value = (await codec.decode(record.data, schema)) as T;
    } catch (error) {
      if (!(error instanceof CodecError) || error.code !== 'DECODE_FAILED') throw error;
      bad.push({ record, reasonCode: error.reason, message: error.message });
      continue;
    }
    const problem = problemOf(value);
    if (problem) bad.push({ record, reasonCode: reason, message: problem });
    else good.push({ record, value });
  }
  return { good, bad };
}

export function decodeReadings(codec: AvroCodec, records: readonly ProcessorRecord[]): Promise<{ good: Array<Decoded<EnrichedReading>>; bad: BadRecord[] }> {
  readingSchema ??= loadSluiceSchema(SUBJECTS.enrichedReading);
  return decodeAll(codec, records, readingSchema, readingProblem, 'invalid_reading');
}

export function decodeAggregates(codec: AvroCodec, records: readonly ProcessorRecord[]): Promise<{ good: Array<Decoded<Aggregate>>; bad: BadRecord[] }> {
  aggregateSchema ??= loadSluiceSchema(SUBJECTS.aggregate);
  return decodeAll(codec, records, aggregateSchema, aggregateProblem, 'invalid_aggregate');
}
