/**
 * Storage of enriched readings: a plain Lambda handler on the enriched stream (Kinesis or Kafka
 * event). Each batch goes to PostgreSQL (`readings`, natural key (device_id, seq), one bulk
 * INSERT ... ON CONFLICT DO NOTHING) and to the data lake (Avro segment files under
 * $SLUICE_LAKE_DIR/telemetry/dt=YYYY-MM-DD/hour=HH/); records it cannot use are dead-lettered to
 * $SLUICE_PROCESSOR_DLQ. A failure to store throws: the runtime retries, and a retry changes
 * nothing that already happened. `compactLake` is the scheduled handler that rolls the lake's
 * small segment files into compacted ones (README.md).
 *
 *   sluice run --handler ./processors/storage/readingsHandler.ts#handler --source kafka://127.0.0.1:9092/enriched
 */
import type { Context, ScheduledEvent } from 'aws-lambda';
import { PG_APPLICATION_NAMES } from '../shared/pgConnections';
import { sharedCodec, sharedPgPool } from '../shared/processorResources';
import type { ProcessorEvent } from '../shared/streamRecords';
import { recordsOf } from '../shared/streamRecords';
import type { CompactionReport } from './lake/lakeCompactor';
import { compactLake as compactLakeFiles } from './lake/lakeCompactor';
import { withLakeCompactionLock } from './lake/lakeCompactionLock';
import { storeReadingBatch } from './storeReadings';
import { ensureStorageSchema } from './storageMigrations';
import { storageSettings } from './storageSettings';

export async function handler(event: ProcessorEvent, context?: Context): Promise<{ batchItemFailures: [] }> {
  const settings = storageSettings();
  const pool = settings.pgUrl === undefined ? undefined : sharedPgPool(settings.pgUrl, PG_APPLICATION_NAMES.storeReadings);
  if (pool) await ensureStorageSchema(pool);
  await storeReadingBatch(recordsOf(event), {
    pool,
    codec: sharedCodec(settings.registry),
    lakeDir: settings.lakeDir,
    deadLetterAddress: settings.deadLetterAddress,
    processor: context?.functionName ?? 'sluice-store-readings',
  });
  // All or nothing: a batch either stored everything (or dead-lettered it) or threw.
  return { batchItemFailures: [] };
}

export type LakeCompactionResult = CompactionReport | { skipped: string };

/** Scheduled handler (an EventBridge rate rule on AWS; `sluice up` calls it on an interval). */
export async function compactLake(_event?: ScheduledEvent): Promise<LakeCompactionResult> {
  const settings = storageSettings();
  if (settings.lakeDir === undefined) return { skipped: 'the lake is off (SLUICE_LAKE_DIR=none)' };
  const lakeDir = settings.lakeDir;
  let report: CompactionReport;
  if (settings.pgUrl === undefined) {
    // Without PostgreSQL there is no lock to share: fine for one process (sluice up), not for several compactors.
    report = await compactLakeFiles(lakeDir, settings.compaction);
  } else {
    const locked = await withLakeCompactionLock(sharedPgPool(settings.pgUrl, PG_APPLICATION_NAMES.compactLake), lakeDir, () => compactLakeFiles(lakeDir, settings.compaction));
    if (!locked.acquired) return { skipped: 'another compactor is running on this lake' };
    report = locked.value;
  }
  if (report.failed.length > 0) {
    throw new Error(`lake compaction failed for ${report.failed.length} hour(s): ${report.failed.map((f) => `${f.partition}: ${f.error}`).join('; ')}`);
  }
  return report;
}
