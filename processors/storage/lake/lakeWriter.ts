/**
 * What the readings handler writes to the lake: for each scope and each hour of event time in
 * the batch, one segment file of those records in stream order, named from the scope, first
 * and last position and a digest of the records (lakePaths.ts). A retried identical batch finds
 * its files already there and skips them; a retry over a different range (bisect, a rewind, a
 * restart that reads a bigger batch) writes new segments that overlap old ones, and the
 * compactor and the reader keep one copy per (deviceId, seq). See README.md.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { EnrichedReading } from '../../../schemas/records';
import { loadSluiceSchema, SUBJECTS } from '../../../schemas/sluiceSchemas';
import { encodeContainer, ensureDir, isErrno, writeFileAtomically } from './avroContainer';
import { hourPartitionOf, partitionDir, segmentFileName, syncMarkerOf } from './lakePaths';

export const LAKE_SCHEMA = loadSluiceSchema(SUBJECTS.enrichedReading);

export interface LakeRecord {
  scope: string;
  position: string;
  /** the record's bytes on the stream (the segment name's digest covers them) */
  data: Buffer;
  reading: EnrichedReading;
}

export interface LakeWriteResult {
  /** `<partition>/<file>` of each segment written */
  written: string[];
  /** segments an earlier attempt already wrote */
  skipped: string[];
}

function groupByScopeAndHour(records: readonly LakeRecord[]): Map<string, { scope: string; partition: string; records: LakeRecord[] }> {
  const groups = new Map<string, { scope: string; partition: string; records: LakeRecord[] }>();
  for (const record of records) {
    const partition = hourPartitionOf(record.reading.eventTime);
    const id = `${record.scope}\u0000${partition}`;
    const group = groups.get(id);
    if (group) group.records.push(record);
    else groups.set(id, { scope: record.scope, partition, records: [record] });
  }
  return groups;
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.stat(file);
    return true;
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return false;
    throw error;
  }
}

/** Writes the segments of a batch's records (in stream order per scope). */
export async function writeLakeSegments(lakeDir: string, records: readonly LakeRecord[]): Promise<LakeWriteResult> {
  const result: LakeWriteResult = { written: [], skipped: [] };
  for (const { scope, partition, records: group } of groupByScopeAndHour(records).values()) {
    const dir = partitionDir(lakeDir, partition);
    const name = segmentFileName(scope, group);
    if (await exists(path.join(dir, name))) {
      result.skipped.push(`${partition}/${name}`);
      continue;
    }
    await ensureDir(dir);
    const bytes = await encodeContainer(LAKE_SCHEMA, group.map((record) => record.reading), {
      syncMarker: syncMarkerOf(partition, name),
      metadata: { 'sluice.scope': scope, 'sluice.first': group[0]?.position ?? '', 'sluice.last': group[group.length - 1]?.position ?? '' },
    });
    await writeFileAtomically(dir, name, bytes);
    result.written.push(`${partition}/${name}`);
  }
  return result;
}
