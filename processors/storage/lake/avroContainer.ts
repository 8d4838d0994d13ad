/**
 * Avro object container files (the Avro spec's file format, which Spark, Trino, DuckDB and
 * avro-tools read) through avsc's BlockEncoder/BlockDecoder, built whole in memory: a lake file
 * is one batch or one compacted roll, and building it first lets us write it once, fsync it
 * and rename it into place (a reader never sees half a file under a final name).
 *
 * Bytes are a function of (schema, records, sync marker): we pass the sync marker (avsc draws a
 * random one otherwise) and fixed metadata, so the same records under the same name give the
 * same file, byte for byte; blocks are deflate-compressed.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { streams } from 'avsc';
import type { schema as avscSchema } from 'avsc';
import type { AvroSchema } from '../../../schemas/avroSchema';
import { tempFileName } from './lakePaths';

export interface ContainerOptions {
  syncMarker: Buffer;
  /** extra header metadata (avro.schema and avro.codec are set by avsc) */
  metadata?: Record<string, string>;
}

const CODEC = 'deflate';

export function encodeContainer(schema: AvroSchema, records: readonly unknown[], options: ContainerOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const metadata: Record<string, Buffer> = {};
    for (const [key, value] of Object.entries(options.metadata ?? {})) metadata[key] = Buffer.from(value);
    // The schema JSON itself, not an avsc Type: the header then carries it whole (doc, logicalType), as other readers want it.
    // `metadata` is a BlockEncoder option avsc's typings leave out.
    const encoderOptions = { codec: CODEC, syncMarker: options.syncMarker, metadata };
    const encoder = new streams.BlockEncoder(schema as avscSchema.AvroSchema, encoderOptions);
    const chunks: Buffer[] = [];
    encoder.on('data', (chunk: Buffer) => chunks.push(chunk));
    encoder.on('end', () => resolve(Buffer.concat(chunks)));
    encoder.on('error', reject);
    for (const record of records) encoder.write(record);
    encoder.end();
  });
}

/** Every record of a container file; rejects (naming `what`) on anything that is not a well-formed one. */
export function decodeContainer(bytes: Buffer, what: string): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const decoder = new streams.BlockDecoder();
    const records: unknown[] = [];
    decoder.on('data', (record: unknown) => records.push(record));
    decoder.on('end', () => resolve(records));
    decoder.on('error', (error: unknown) => reject(new Error(`${what}: not a readable Avro container file: ${error instanceof Error ? error.message : String(error)}`, { cause: error })));
    decoder.end(bytes);
  });
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes `dir` (and its parents); the parents of what it created are fsynced so the new folders survive a crash too. */
export async function ensureDir(dir: string): Promise<void> {
  const firstCreated = await fs.mkdir(dir, { recursive: true });
  if (firstCreated === undefined) return;
  for (let current = dir; current.length >= firstCreated.length; current = path.dirname(current)) await fsyncDir(path.dirname(current));
}

/** Writes `bytes` under a temp name, fsyncs it, renames it to `name` and fsyncs the folder. */
export async function writeFileAtomically(dir: string, name: string, bytes: Buffer): Promise<void> {
  const temp = path.join(dir, tempFileName(name));
  const handle = await fs.open(temp, 'wx');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(temp, path.join(dir, name));
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  await fsyncDir(dir);
}

/** Duck-typed: under jest's vm contexts Node's errors are not `instanceof Error` of the test realm. */
export function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code;
}
