/**
 * How headers and the producer timestamp travel through Kinesis.
 *
 * A Kinesis record has only a partition key and a data blob: no headers, no producer
 * timestamp (only the stream's ApproximateArrivalTimestamp). sluice carries them inside the
 * data blob, and only when there is something to carry:
 *
 * - A record with no headers and no timestamp is sent as its raw value, byte for byte, so an
 *   AWS-native consumer (a Lambda function, the KCL, the console) sees exactly the bytes the
 *   producer gave: an Avro record in the Confluent wire format stays one.
 * - Otherwise the blob is an envelope:
 *
 *     offset  size  field
 *     0       4     magic  C1 73 6C 63   (0xC1 can never start UTF-8 text or JSON, and is not
 *                                         the Confluent wire format's 0x00 magic byte)
 *     4       1     version  01
 *     5       4     meta length M (uint32 big endian)
 *     9       M     meta:  flags (1 byte; bit 0 = timestamp present)
 *                          [timestamp: float64 big endian, epoch ms; only with bit 0]
 *                          header count (uint16 BE), then per header:
 *                            name length (uint16 BE), name (UTF-8),
 *                            value length (uint32 BE), value bytes
 *     9+M     rest  the value
 *
 *   The meta section is length-prefixed so a later version can append fields to it and an
 *   older reader still finds the value.
 * - Unambiguous: a raw value that happens to start with the magic is always wrapped (in an
 *   envelope with no headers and no timestamp), so a blob that starts with the magic is always
 *   an envelope written by sluice, and any other blob is a raw value.
 * - A blob that starts with the magic but is not a well-formed version-1 envelope (written by
 *   someone else, truncated, or by a newer sluice) is delivered as its raw bytes, with no
 *   headers; decodeKinesisData says so through `malformed`, and the reader logs it. A reader
 *   never fails on a record's bytes: that would block the shard forever.
 *
 * The timestamp is a float64 so any JavaScript number the producer gives round-trips exactly.
 */
import { SluiceError } from '../../core/errors';

export const ENVELOPE_MAGIC = Buffer.from([0xc1, 0x73, 0x6c, 0x63]);
export const ENVELOPE_VERSION = 1;
const FLAG_TIMESTAMP = 0x01;
const PREFIX_BYTES = ENVELOPE_MAGIC.length + 1 + 4;
const MAX_HEADER_COUNT = 0xffff;
const MAX_HEADER_NAME_BYTES = 0xffff;

export interface DecodedKinesisData {
  value: Buffer;
  headers: Record<string, Buffer>;
  timestamp: number | undefined;
  /** set when the blob starts with the magic but could not be read as an envelope */
  malformed?: string;
}

function startsWithMagic(data: Uint8Array): boolean {
  return data.length >= ENVELOPE_MAGIC.length && data[0] === 0xc1 && data[1] === 0x73 && data[2] === 0x6c && data[3] === 0x63;
}

/** The blob to put in Kinesis for a value with these headers and timestamp. */
export function encodeKinesisData(value: Buffer, headers: Record<string, Buffer> | undefined, timestamp: number | undefined): Buffer {
  const headerNames = headers ? Object.keys(headers) : [];
  if (headerNames.length === 0 && timestamp === undefined && !startsWithMagic(value)) return value;
  if (headerNames.length > MAX_HEADER_COUNT) throw new SluiceError('RECORD_INVALID', `a record can carry at most ${MAX_HEADER_COUNT} headers through Kinesis, got ${headerNames.length}`);

  const names = headerNames.map((name) => {
    const bytes = Buffer.from(name, 'utf8');
    // a lone surrogate would come back as U+FFFD: refuse rather than change the name
    if (bytes.toString('utf8') !== name) throw new SluiceError('RECORD_INVALID', `header name ${JSON.stringify(name)} is not well-formed Unicode`);
    return bytes;
  });
  let metaLength = 1 + (timestamp === undefined ? 0 : 8) + 2;
  names.forEach((name, index) => {
    if (name.length > MAX_HEADER_NAME_BYTES) throw new SluiceError('RECORD_INVALID', `header name of ${name.length} bytes is longer than ${MAX_HEADER_NAME_BYTES}`);
    metaLength += 2 + name.length + 4 + (headers?.[headerNames[index] as string]?.length ?? 0);
  });

  const blob = Buffer.allocUnsafe(PREFIX_BYTES + metaLength + value.length);
  let offset = ENVELOPE_MAGIC.copy(blob, 0);
  offset = blob.writeUInt8(ENVELOPE_VERSION, offset);
  offset = blob.writeUInt32BE(metaLength, offset);
  offset = blob.writeUInt8(timestamp === undefined ? 0 : FLAG_TIMESTAMP, offset);
  if (timestamp !== undefined) offset = blob.writeDoubleBE(timestamp, offset);
  offset = blob.writeUInt16BE(names.length, offset);
  names.forEach((name, index) => {
    const headerValue = headers?.[headerNames[index] as string] ?? Buffer.alloc(0);
    offset = blob.writeUInt16BE(name.length, offset);
    offset += name.copy(blob, offset);
    offset = blob.writeUInt32BE(headerValue.length, offset);
    offset += headerValue.copy(blob, offset);
  });
  value.copy(blob, offset);
  return blob;
}

function raw(data: Buffer, malformed?: string): DecodedKinesisData {
  return malformed === undefined ? { value: data, headers: {}, timestamp: undefined } : { value: data, headers: {}, timestamp: undefined, malformed };
}

/** Sets a header without letting a name like "__proto__" reach the object's prototype. */
function setHeader(headers: Record<string, Buffer>, name: string, value: Buffer): void {
  Object.defineProperty(headers, name, { value, enumerable: true, writable: true, configurable: true });
}

/** Reads a blob from Kinesis back into value, headers and the producer's timestamp. */
export function decodeKinesisData(data: Buffer): DecodedKinesisData {
  if (!startsWithMagic(data)) return raw(data);
  if (data.length < PREFIX_BYTES) return raw(data, 'envelope shorter than its fixed prefix');
  const version = data.readUInt8(4);
  if (version !== ENVELOPE_VERSION) return raw(data, `unknown envelope version ${version}`);
  const metaLength = data.readUInt32BE(5);
  const metaEnd = PREFIX_BYTES + metaLength;
  if (metaLength < 3 || metaEnd > data.length) return raw(data, `envelope meta length ${metaLength} does not fit in ${data.length} bytes`);

  let offset = PREFIX_BYTES;
  const flags = data.readUInt8(offset);
  offset += 1;
  let timestamp: number | undefined;
  if (flags & FLAG_TIMESTAMP) {
    if (offset + 8 + 2 > metaEnd) return raw(data, 'envelope timestamp runs past the meta section');
    timestamp = data.readDoubleBE(offset);
    offset += 8;
  }
  const headerCount = data.readUInt16BE(offset);
  offset += 2;
  const headers: Record<string, Buffer> = {};
  for (let index = 0; index < headerCount; index++) {
    if (offset + 2 > metaEnd) return raw(data, `envelope header ${index} runs past the meta section`);
    const nameLength = data.readUInt16BE(offset);
    offset += 2;
    if (offset + nameLength + 4 > metaEnd) return raw(data, `envelope header ${index} runs past the meta section`);
    const name = data.toString('utf8', offset, offset + nameLength);
    offset += nameLength;
    const valueLength = data.readUInt32BE(offset);
    offset += 4;
    if (offset + valueLength > metaEnd) return raw(data, `envelope header "${name}" runs past the meta section`);
    setHeader(headers, name, data.subarray(offset, offset + valueLength));
    offset += valueLength;
  }
  // Bytes left in the meta section belong to fields a later minor revision appended: skip them.
  return { value: data.subarray(metaEnd), headers, timestamp };
}
