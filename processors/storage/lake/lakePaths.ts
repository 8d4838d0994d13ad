/**
 * Where things live in the data lake, and how files are named. Every name is a function of
 * what the file holds, so a retry that writes the same thing writes the same name:
 *
 *   <lakeDir>/telemetry/dt=YYYY-MM-DD/hour=HH/        one folder per hour of event time (UTC)
 *     seg-<scope>-<firstPos>-<lastPos>-<digest>.avro   what one invocation wrote for one scope and hour
 *     cmp-<digest of first and last key>.avro           compacted: distinct readings sorted by (deviceId, seq)
 *     .<name>.<pid>-<random>.tmp                        being written; readers ignore dot files
 *
 * A segment's digest covers the records' bytes: the same batch retried gives the same name
 * (and is skipped), while different content at the same positions (a Kafka topic deleted and
 * made again restarts its offsets) gets a new name instead of being mistaken for a retry.
 */
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';

export const LAKE_TABLE = 'telemetry';
export const SEGMENT_PREFIX = 'seg-';
export const COMPACTED_PREFIX = 'cmp-';
export const FILE_SUFFIX = '.avro';

const HOUR_MS = 3_600_000;
const PARTITION_PATTERN = /^dt=(\d{4})-(\d{2})-(\d{2})\/hour=(\d{2})$/;
/** Scopes are short in practice; a long one (Kinesis stream names go to 128 characters) is replaced by its digest, so that with two 56-digit sequence numbers a name stays under 255 bytes. */
const MAX_SCOPE_IN_NAME = 80;

/** `dt=2024-05-01/hour=13`, the hour of `eventTime` in UTC (eventTime within years 0001..9999, see storableValues.ts). */
export function hourPartitionOf(eventTime: number): string {
  const iso = new Date(Math.floor(eventTime / HOUR_MS) * HOUR_MS).toISOString();
  return `dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}`;
}

/** The start of a partition's hour in epoch ms; undefined for a folder that is not one. */
export function partitionStart(partition: string): number | undefined {
  const match = PARTITION_PATTERN.exec(partition);
  if (!match) return undefined;
  const [, year, month, day, hour] = match.map(Number) as [number, number, number, number, number];
  const start = new Date(0);
  start.setUTCFullYear(year, month - 1, day);
  start.setUTCHours(hour, 0, 0, 0);
  const time = start.getTime();
  return hourPartitionOf(time) === partition ? time : undefined;
}

export function partitionEnd(partition: string): number | undefined {
  const start = partitionStart(partition);
  return start === undefined ? undefined : start + HOUR_MS;
}

export function partitionDir(lakeDir: string, partition: string): string {
  return path.join(lakeDir, LAKE_TABLE, ...partition.split('/'));
}

function digest(...parts: Array<string | Buffer>): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    const bytes = typeof part === 'string' ? Buffer.from(part) : part;
    // length-prefixed, so ('ab','c') and ('a','bc') differ
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  }
  return hash.digest('hex');
}

function scopeInName(scope: string): string {
  const encoded = encodeURIComponent(scope);
  return encoded.length <= MAX_SCOPE_IN_NAME ? encoded : `h${digest(scope).slice(0, 24)}`;
}

/** The segment file of the records (in order) that one invocation wrote for one scope and hour. */
export function segmentFileName(scope: string, records: ReadonlyArray<{ position: string; data: Buffer }>): string {
  const first = records[0];
  const last = records[records.length - 1];
  if (!first || !last) throw new Error('a segment holds at least one record');
  const hash = createHash('sha256');
  for (const record of records) hash.update(digest(record.position, record.data));
  return `${SEGMENT_PREFIX}${scopeInName(scope)}-${first.position}-${last.position}-${hash.digest('hex').slice(0, 16)}${FILE_SUFFIX}`;
}

/** A compacted file, named by the first and last reading key it holds. */
export function compactedFileName(firstKey: string, lastKey: string): string {
  return `${COMPACTED_PREFIX}${digest(firstKey, lastKey).slice(0, 32)}${FILE_SUFFIX}`;
}

/** The 16-byte Avro sync marker of a file: derived from its name, so equal content gives equal bytes. */
export function syncMarkerOf(partition: string, fileName: string): Buffer {
  return Buffer.from(digest('sync', partition, fileName).slice(0, 32), 'hex');
}

export function tempFileName(finalName: string): string {
  return `.${finalName}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
}

export function isTempFileName(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}

export function isSegmentFileName(name: string): boolean {
  return name.startsWith(SEGMENT_PREFIX) && name.endsWith(FILE_SUFFIX);
}

export function isCompactedFileName(name: string): boolean {
  return name.startsWith(COMPACTED_PREFIX) && name.endsWith(FILE_SUFFIX);
}

/** A reading's identity as one string (deviceId cannot hold NUL: storableValues.ts). */
export function readingKey(deviceId: string, seq: number): string {
  return `${deviceId}\u0000${seq}`;
}
