/**
 * The readings handler's work on one batch, with its connections passed in (the handler file
 * builds them from the environment; tests and the benchmark pass their own). Good records go to
 * PostgreSQL and to the lake side by side; bad ones to the dead-letter stream once the good ones
 * are durable. Any failure to store throws, so the runtime retries the batch: everything here
 * is idempotent, so a retry, a replay or a duplicate delivery changes nothing.
 */
import type { Pool } from 'pg';
import type { AvroCodec } from '../../schemas/avroCodec';
import type { EnrichedReading } from '../../schemas/records';
import type { ProcessorRecord } from '../shared/streamRecords';
import { decodeBatch } from './decodeBatch';
import { sendDeadLetters } from './deadLetters';
import type { LakeWriteResult } from './lake/lakeWriter';
import { LAKE_SCHEMA, writeLakeSegments } from './lake/lakeWriter';
import { insertReadings } from './readingsTable';
import { readingProblem } from './storableValues';

export interface ReadingsTarget {
  /** undefined: no PostgreSQL, the lake only */
  pool: Pool | undefined;
  codec: AvroCodec;
  /** undefined: the lake is off */
  lakeDir: string | undefined;
  deadLetterAddress: string | undefined;
  /** names the processor in dead letters' headers */
  processor: string;
}

export interface ReadingsBatchResult {
  /** readings decoded and stored (new or already there) */
  stored: number;
  /** rows that were new in PostgreSQL */
  inserted: number;
  deadLettered: number;
  lake: LakeWriteResult | undefined;
}

export async function storeReadingBatch(records: readonly ProcessorRecord[], target: ReadingsTarget): Promise<ReadingsBatchResult> {
  const { good, bad } = await decodeBatch<EnrichedReading>(target.codec, records, LAKE_SCHEMA, readingProblem);
  const lakeDir = target.lakeDir;
  // Both stores at once; wait for both before reporting, so a failed batch leaves no write still running.
  const [inserted, lake] = await Promise.allSettled([
    target.pool ? insertReadings(target.pool, good.map((entry) => entry.value)) : Promise.resolve(0),
    lakeDir === undefined ? Promise.resolve(undefined) : writeLakeSegments(lakeDir, good.map(({ record, value }) => ({ scope: record.scope, position: record.position, data: record.data, reading: value }))),
  ]);
  if (inserted.status === 'rejected') throw inserted.reason;
  if (lake.status === 'rejected') throw lake.reason;
  await sendDeadLetters(target.codec, target.deadLetterAddress, target.processor, bad);
  return { stored: good.length, inserted: inserted.value, deadLettered: bad.length, lake: lake.value };
}
