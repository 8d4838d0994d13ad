/**
 * Reads the lake back. Files may overlap (segments written by retries over different ranges, a
 * compaction interrupted between writing its output and deleting its inputs), so a reader keeps
 * one reading per (deviceId, seq): the one whose Avro encoding sorts first, a choice that does
 * not depend on which files exist or in which order they are read. The compactor makes the same
 * choice, so reading before or after compaction gives the same readings.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Type } from 'avsc';
import { createAvroType } from '../../../schemas/avroSchema';
import type { EnrichedReading } from '../../../schemas/records';
import { decodeContainer, isErrno } from './avroContainer';
import { LAKE_TABLE, isCompactedFileName, isSegmentFileName, isTempFileName, partitionDir, partitionStart, readingKey } from './lakePaths';
import { LAKE_SCHEMA } from './lakeWriter';

let lakeType: Type | undefined;

/** The avsc Type of lake records (EnrichedReading), for canonical encodings. */
export function lakeRecordType(): Type {
  lakeType ??= createAvroType(LAKE_SCHEMA, 'lake schema');
  return lakeType;
}

export interface PartitionFiles {
  segments: string[];
  compacted: string[];
  temps: string[];
}

async function readDirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return [];
    throw error;
  }
}

/** The hour partitions (`dt=YYYY-MM-DD/hour=HH`) that exist, oldest first. */
export async function listPartitions(lakeDir: string): Promise<string[]> {
  const root = path.join(lakeDir, LAKE_TABLE);
  const partitions: string[] = [];
  for (const day of (await readDirOrEmpty(root)).sort()) {
    if (!day.startsWith('dt=')) continue;
    for (const hour of (await readDirOrEmpty(path.join(root, day))).sort()) {
      const partition = `${day}/${hour}`;
      if (partitionStart(partition) !== undefined) partitions.push(partition);
    }
  }
  return partitions;
}

export async function listPartitionFiles(lakeDir: string, partition: string): Promise<PartitionFiles> {
  const names = (await readDirOrEmpty(partitionDir(lakeDir, partition))).sort();
  return { segments: names.filter(isSegmentFileName), compacted: names.filter(isCompactedFileName), temps: names.filter(isTempFileName) };
}

export async function readLakeFile(lakeDir: string, partition: string, name: string): Promise<EnrichedReading[]> {
  const file = path.join(partitionDir(lakeDir, partition), name);
  return (await decodeContainer(await fs.readFile(file), file)) as EnrichedReading[];
}

export function compareReadings(a: EnrichedReading, b: EnrichedReading): number {
  if (a.deviceId !== b.deviceId) return a.deviceId < b.deviceId ? -1 : 1;
  return a.seq - b.seq;
}

/** One reading per (deviceId, seq), the canonical one, sorted by (deviceId, seq), with its Avro encoding. */
export function canonicalReadings(readings: Iterable<EnrichedReading>): Array<{ reading: EnrichedReading; encoded: Buffer }> {
  const type = lakeRecordType();
  const byKey = new Map<string, { reading: EnrichedReading; encoded: Buffer }>();
  for (const reading of readings) {
    const key = readingKey(reading.deviceId, reading.seq);
    const encoded = type.toBuffer(reading);
    const kept = byKey.get(key);
    if (!kept || Buffer.compare(encoded, kept.encoded) < 0) byKey.set(key, { reading, encoded });
  }
  return [...byKey.values()].sort((a, b) => compareReadings(a.reading, b.reading));
}

/** Every reading of every file (segments and compacted) of a partition, duplicates included. */
export async function readPartitionFiles(lakeDir: string, partition: string, files: PartitionFiles): Promise<EnrichedReading[]> {
  const readings: EnrichedReading[] = [];
  for (const name of [...files.compacted, ...files.segments]) append(readings, await readLakeFile(lakeDir, partition, name));
  return readings;
}

/**
 * The distinct readings of one hour. A compaction may delete a file between our listing and
 * our reading it; then the compacted output already holds its readings, and we list again.
 */
export async function readPartition(lakeDir: string, partition: string): Promise<EnrichedReading[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      const files = await listPartitionFiles(lakeDir, partition);
      return canonicalReadings(await readPartitionFiles(lakeDir, partition, files)).map((entry) => entry.reading);
    } catch (error) {
      if (!isErrno(error, 'ENOENT') || attempt >= 5) throw error;
    }
  }
}

/** The distinct readings of the whole lake, by hour then (deviceId, seq). */
export async function readLake(lakeDir: string): Promise<EnrichedReading[]> {
  const readings: EnrichedReading[] = [];
  for (const partition of await listPartitions(lakeDir)) append(readings, await readPartition(lakeDir, partition));
  return readings;
}

/** push(...items) passes every item as an argument: an hour's compacted file (~360k readings) overflows the stack. */
function append<T>(target: T[], items: readonly T[]): void {
  for (const item of items) target.push(item);
}
