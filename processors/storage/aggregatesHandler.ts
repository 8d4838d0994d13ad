/**
 * Storage of closed window aggregates: a plain Lambda handler on the aggregates stream. Each
 * batch goes to PostgreSQL (`aggregates`, natural key (scope, scope_id, window_kind,
 * window_start, window_end, metric), one bulk INSERT ... ON CONFLICT DO NOTHING); records it
 * cannot use are dead-lettered to $SLUICE_PROCESSOR_DLQ. A failure to store throws, so the
 * runtime retries; a retry changes nothing that already happened.
 *
 *   sluice run --handler ./processors/storage/aggregatesHandler.ts#handler --source kafka://127.0.0.1:9092/aggregates
 */
import type { Context } from 'aws-lambda';
import { PG_APPLICATION_NAMES } from '../shared/pgConnections';
import { sharedCodec, sharedPgPool } from '../shared/processorResources';
import type { ProcessorEvent } from '../shared/streamRecords';
import { recordsOf } from '../shared/streamRecords';
import { storeAggregateBatch } from './storeAggregates';
import { ensureStorageSchema } from './storageMigrations';
import { aggregateStorageSettings } from './storageSettings';

export async function handler(event: ProcessorEvent, context?: Context): Promise<{ batchItemFailures: [] }> {
  const settings = aggregateStorageSettings();
  const pool = sharedPgPool(settings.pgUrl, PG_APPLICATION_NAMES.storeAggregates);
  await ensureStorageSchema(pool);
  await storeAggregateBatch(recordsOf(event), {
    pool,
    codec: sharedCodec(settings.registry),
    deadLetterAddress: settings.deadLetterAddress,
    processor: context?.functionName ?? 'sluice-store-aggregates',
  });
  return { batchItemFailures: [] };
}
