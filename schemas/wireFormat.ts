/**
 * The Confluent wire format: magic byte 0, the writer schema id as a 4-byte big-endian unsigned
 * int, then the Avro binary body. Any Confluent-compatible consumer can read what we write, given
 * the same ids.
 */
import { CodecError } from './schemaErrors';

export const MAGIC_BYTE = 0;
export const HEADER_LENGTH = 5;
export const MAX_SCHEMA_ID = 0xffffffff;

export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function writeHeader(target: Buffer, schemaId: number): void {
  target[0] = MAGIC_BYTE;
  target.writeUInt32BE(schemaId, 1);
}

/** The writer schema id of a message; throws CodecError (empty, bad_magic, truncated). */
export function readSchemaId(bytes: Uint8Array): number {
  if (bytes.length === 0) {
    throw new CodecError('decode', 'empty', 'cannot decode an empty message');
  }
  if (bytes[0] !== MAGIC_BYTE) {
    throw new CodecError('decode', 'bad_magic', `expected magic byte 0, got 0x${(bytes[0] ?? 0).toString(16).padStart(2, '0')}`);
  }
  if (bytes.length < HEADER_LENGTH) {
    throw new CodecError('decode', 'truncated', `message of ${bytes.length} bytes ends inside the 5-byte header`);
  }
  return asBuffer(bytes).readUInt32BE(1);
}

export function isValidSchemaId(id: number): boolean {
  return Number.isInteger(id) && id >= 1 && id <= MAX_SCHEMA_ID;
}
