/**
 * The aggregates handler's work on one batch, with its connections passed in: decode, store
 * the good ones in one bulk insert, dead-letter the bad ones once the good ones are durable.
 */
import type { Pool } from 'pg';
import type { AvroCodec } from '../../schemas/avroCodec';
import type { Aggregate } from '../../schemas/records';
import { loadSluiceSchema, SUBJECTS } from '../../schemas/sluiceSchemas';
import type { ProcessorRecord } from '../shared/streamRecords';
import { insertAggregates } from './aggregatesTable';
import { decodeBatch } from './decodeBatch';
import { sendDeadLetters } from './deadLetters';
import { aggregateProblem } from './storableValues';

const AGGREGATE_SCHEMA = loadSluiceSchema(SUBJECTS.aggregate);

export interface AggregatesTarget {
  pool: Pool;
  codec: AvroCodec;
  deadLetterAddress: string | undefined;
  processor: string;
}

export interface AggregatesBatchResult {
  stored: number;
  inserted: number;
  deadLettered: number;
}

export async function storeAggregateBatch(records: readonly ProcessorRecord[], target: AggregatesTarget): Promise<AggregatesBatchResult> {
  const { good, bad } = await decodeBatch<Aggregate>(target.codec, records, AGGREGATE_SCHEMA, aggregateProblem);
  const inserted = await insertAggregates(target.pool, good.map((entry) => entry.value));
  await sendDeadLetters(target.codec, target.deadLetterAddress, target.processor, bad);
  return { stored: good.length, inserted, deadLettered: bad.length };
}
