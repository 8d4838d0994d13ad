/**
 * Decodes a batch's records into the processor's reader schema and sorts them into what can be
 * stored and what must be dead-lettered. Bad input is data: a CodecError (bad bytes, unknown
 * schema, a record of another type that the reader schema cannot resolve) or a value storage
 * cannot hold becomes a BadRecord with a machine-readable reason. Anything else (the schema
 * registry unreachable) is not the record's fault and is thrown, so the runtime retries.
 */
import type { AvroCodec, ReaderSchema } from '../../schemas/avroCodec';
import { CodecError } from '../../schemas/schemaErrors';
import type { ProcessorRecord } from '../shared/streamRecords';

export interface BadRecord {
  record: ProcessorRecord;
  /** a CodecError reason (bad_magic, unknown_schema, incompatible_reader, ...) or not_storable */
  reasonCode: string;
  message: string;
}

export interface DecodedRecord<T> {
  record: ProcessorRecord;
  value: T;
}

export interface DecodedBatch<T> {
  good: Array<DecodedRecord<T>>;
  bad: BadRecord[];
}

export async function decodeBatch<T>(
  codec: AvroCodec,
  records: readonly ProcessorRecord[],
  readerSchema: ReaderSchema,
  problemOf: (value: T) => string | undefined,
): Promise<DecodedBatch<T>> {
  const good: Array<DecodedRecord<T>> = [];
  const bad: BadRecord[] = [];
  for (const record of records) {
    let value: T;
    try {
      value = (await codec.decode(record.data, readerSchema)) as T;
    } catch (error) {
      if (!(error instanceof CodecError) || error.code !== 'DECODE_FAILED') throw error;
      bad.push({ record, reasonCode: error.reason, message: error.message });
      continue;
    }
    const problem = problemOf(value);
    if (problem) bad.push({ record, reasonCode: 'not_storable', message: problem });
    else good.push({ record, value });
  }
  return { good, bad };
}
