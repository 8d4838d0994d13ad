/**
 * Rolls an hour's small segment files into compacted files ("rolled by size/time"): a stateless
 * handler cannot keep a file open across invocations, so each invocation writes its own small
 * segment and this step, run on a schedule, merges them.
 *
 * An hour is compacted when it has segments and either it ended `closeAfterMs` ago (time) or its
 * segments add up to `rollBytes` (size). Compaction reads every file of the hour (earlier
 * compacted files too), keeps one reading per (deviceId, seq) (the canonical one, as the reader
 * does), sorts by (deviceId, seq) and writes files of up to `rollBytes` (uncompressed Avro),
 * each named from the partition's first and last key, so the output is a function of the set of
 * distinct readings alone: compacting again, or after a replay, gives the same files, byte for
 * byte. Outputs are written (temp, fsync, rename) before any input is deleted, and old compacted
 * files go before segments, so a crash at any point leaves a segment behind that makes the
 * next run redo the merge; meanwhile readers dedupe the overlap.
 *
 * One compactor per lake at a time (lakeCompactionLock.ts): two merging the same hour from
 * different listings could replace a newer output with an older one. Segments that land while
 * a merge runs were not listed, so they are not deleted and wait for the next run.
 *
 * Memory: a merge holds one hour's distinct readings (about their Avro size plus ~200 bytes
 * each). Hours far beyond a laptop's fleet (tens of millions of readings) would need a
 * sort-merge of sorted runs instead.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { EnrichedReading } from '../../../schemas/records';
import type { CompactionSettings } from '../storageSettings';
import { encodeContainer, isErrno, writeFileAtomically } from './avroContainer';
import { compactedFileName, partitionDir, partitionEnd, readingKey, syncMarkerOf } from './lakePaths';
import type { PartitionFiles } from './lakeReader';
import { canonicalReadings, listPartitionFiles, listPartitions, readPartitionFiles } from './lakeReader';
import { LAKE_SCHEMA } from './lakeWriter';

export interface CompactionOptions extends CompactionSettings {
  /** the clock (epoch ms) that decides which hours have closed and which temp files are stale */
  now?: number;
  /** compact every hour that has segments, closed or not, whatever their size */
  force?: boolean;
}

export interface PartitionCompaction {
  partition: string;
  inputs: string[];
  outputs: string[];
  readings: number;
  /** copies dropped because another file held the same (deviceId, seq) */
  duplicatesDropped: number;
}

export interface CompactionReport {
  compacted: PartitionCompaction[];
  /** temp files left by killed writers, removed */
  tempsRemoved: string[];
  /** hours whose merge failed (a file that is not a readable container, say); the others still ran */
  failed: Array<{ partition: string; error: string }>;
}

async function removeStaleTemps(dir: string, temps: readonly string[], olderThan: number): Promise<string[]> {
  const removed: string[] = [];
  for (const name of temps) {
    const file = path.join(dir, name);
    try {
      if ((await fs.stat(file)).mtimeMs >= olderThan) continue;
      await fs.rm(file, { force: true });
      removed.push(name);
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error;
    }
  }
  return removed;
}

async function totalBytes(dir: string, names: readonly string[]): Promise<number> {
  let total = 0;
  for (const name of names) total += (await fs.stat(path.join(dir, name))).size;
  return total;
}

/** Sorted distinct readings cut into runs of at most `rollBytes` encoded bytes (at least one reading each). */
function rolls(entries: ReadonlyArray<{ reading: EnrichedReading; encoded: Buffer }>, rollBytes: number): EnrichedReading[][] {
  const out: EnrichedReading[][] = [];
  let current: EnrichedReading[] = [];
  let bytes = 0;
  for (const { reading, encoded } of entries) {
    if (current.length > 0 && bytes + encoded.length > rollBytes) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(reading);
    bytes += encoded.length;
  }
  if (current.length > 0) out.push(current);
  return out;
}

async function sameBytes(file: string, bytes: Buffer): Promise<boolean> {
  try {
    return (await fs.readFile(file)).equals(bytes);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return false;
    throw error;
  }
}

function shouldCompact(dir: string, partition: string, files: PartitionFiles, options: CompactionOptions, now: number): Promise<boolean> | boolean {
  if (files.segments.length === 0) return false;
  if (options.force) return true;
  const end = partitionEnd(partition);
  if (end !== undefined && end + options.closeAfterMs <= now) return true;
  return totalBytes(dir, files.segments).then((bytes) => bytes >= options.rollBytes);
}

/** Compacts one hour if it is due; undefined when there was nothing to do. Callers hold the compaction lock. */
export async function compactPartition(lakeDir: string, partition: string, options: CompactionOptions, report?: CompactionReport): Promise<PartitionCompaction | undefined> {
  const now = options.now ?? Date.now();
  const dir = partitionDir(lakeDir, partition);
  const files = await listPartitionFiles(lakeDir, partition);
  const removed = await removeStaleTemps(dir, files.temps, now - options.tempMaxAgeMs);
  report?.tempsRemoved.push(...removed.map((name) => `${partition}/${name}`));
  if (!(await shouldCompact(dir, partition, files, options, now))) return undefined;

  const all = await readPartitionFiles(lakeDir, partition, files);
  const distinct = canonicalReadings(all);
  const outputs: string[] = [];
  for (const roll of rolls(distinct, options.rollBytes)) {
    const first = roll[0] as EnrichedReading;
    const last = roll[roll.length - 1] as EnrichedReading;
    const name = compactedFileName(readingKey(first.deviceId, first.seq), readingKey(last.deviceId, last.seq));
    const bytes = await encodeContainer(LAKE_SCHEMA, roll, {
      syncMarker: syncMarkerOf(partition, name),
      metadata: { 'sluice.partition': partition, 'sluice.readings': String(roll.length) },
    });
    // An unchanged roll keeps its file (same name, same bytes): nothing to rewrite.
    if (!(files.compacted.includes(name) && (await sameBytes(path.join(dir, name), bytes)))) await writeFileAtomically(dir, name, bytes);
    outputs.push(name);
  }
  // Old compacted files first, segments last: until the last segment is gone, the next run redoes this merge.
  const kept = new Set(outputs);
  for (const name of [...files.compacted.filter((n) => !kept.has(n)), ...files.segments]) await fs.rm(path.join(dir, name), { force: true });
  const inputs = [...files.compacted, ...files.segments];
  return { partition, inputs, outputs, readings: distinct.length, duplicatesDropped: all.length - distinct.length };
}

/** Compacts every hour of the lake that is due. Callers hold the compaction lock (lakeCompactionLock.ts). */
export async function compactLake(lakeDir: string, options: CompactionOptions): Promise<CompactionReport> {
  const report: CompactionReport = { compacted: [], tempsRemoved: [], failed: [] };
  for (const partition of await listPartitions(lakeDir)) {
    try {
      const done = await compactPartition(lakeDir, partition, options, report);
      if (done) report.compacted.push(done);
    } catch (error) {
      report.failed.push({ partition, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return report;
}
