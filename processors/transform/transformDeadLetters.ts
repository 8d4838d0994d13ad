/**
 * Dead letters of the transform: a stream record it cannot turn into an enriched reading,
 * kept whole (original bytes) with a machine-readable reason, in $SLUICE_PROCESSOR_DLQ.
 *
 * | reasonCode      | when                                                                       |
 * |-----------------|----------------------------------------------------------------------------|
 * | bad_avro        | not Avro in the Confluent wire format (header `sluice-codec-reason` says how) |
 * | unknown_schema  | the schema id is in no registry                                            |
 * | wrong_schema    | Avro, but not a TelemetryReading                                           |
 * | invalid_reading | a TelemetryReading with a value no reading may have (readingValidation.ts) |
 * | unknown_device  | the registry does not know the device and SLUICE_UNKNOWN_DEVICES=dead-letter |
 *
 * Built from the stream record alone (firstSeenAt is its arrival time), so a redelivered record
 * gives the same dead letter again.
 */
import type { DeadLetter } from '../../schemas/records';
import type { ProcessorRecord } from '../shared/streamRecords';

export const TRANSFORM_DEAD_LETTER_REASONS = ['bad_avro', 'unknown_schema', 'wrong_schema', 'invalid_reading', 'unknown_device'] as const;
export type TransformDeadLetterReason = (typeof TRANSFORM_DEAD_LETTER_REASONS)[number];

export interface TransformDeadLetter {
  /** partition key / Kafka key of the dead-letter record: the device when known, so its dead letters stay in order */
  key: string;
  reason: TransformDeadLetterReason;
  deadLetter: DeadLetter;
}

export function transformDeadLetter(
  record: ProcessorRecord,
  reason: TransformDeadLetterReason,
  message: string,
  details: { deviceId?: string; codecReason?: string } = {},
): TransformDeadLetter {
  const headers: Record<string, string> = { processor: 'transform', position: record.position };
  if (details.codecReason !== undefined) headers['sluice-codec-reason'] = details.codecReason;
  return {
    // Kinesis refuses an empty partition key.
    key: details.deviceId ?? (record.key === '' ? 'unknown' : record.key),
    reason,
    deadLetter: {
      reasonCode: reason,
      message,
      source: { kind: record.scope.slice(0, record.scope.indexOf(':')), address: record.scope.slice(record.scope.indexOf(':') + 1) },
      original: record.data,
      firstSeenAt: record.arrivalTime,
      attempts: 1,
      headers,
    },
  };
}
