/**
 * How one produce() call goes over the wire, decided before anything is sent:
 *
 * - Each record's partition comes from its key with kafkajs' DefaultPartitioner (murmur2, the
 *   Java client's choice for keyed records), computed here rather than inside kafkajs, because
 *   the produce response gives only one base offset per partition: knowing which records went to
 *   which partition, in which order, is what lets us give every record its exact offset
 *   (base offset + its index among that partition's records in that request).
 * - kafkajs puts all of one partition's messages of a send() into one record batch, and the
 *   broker refuses a batch over the topic's max.message.bytes (MESSAGE_TOO_LARGE). So each
 *   partition's records are cut into batches under that limit; round k sends batch k of every
 *   partition in one request, rounds go one after another so each partition keeps its order.
 * - A record that alone exceeds the limit can never be written: RECORD_TOO_LARGE before any
 *   record of the call is sent.
 */
import { murmur2 } from './fastMurmur2';
import type { Message, PartitionMetadata } from 'kafkajs';
import { SluiceError } from '../../core/errors';
import type { StreamRecordInput } from '../streamClient';

/** Record batch v2 header, counted as the broker counts it against max.message.bytes (offset and length included). */
export const RECORD_BATCH_OVERHEAD = 61;
/**
 * More records than this per partition per request cost kafkajs quadratic time: it groups
 * messages per partition by copying the growing array once per message.
 */
export const MAX_RECORDS_PER_BATCH = 4096;

export interface PlannedMessage {
  /** position of the record in the produce() input */
  index: number;
  message: Message;
}

/** One request: per partition, the messages of that partition's batch, in input order. */
export type ProduceRound = Map<number, PlannedMessage[]>;

function varintSize(value: number): number {
  // zigzag-encoded signed varint, as record batch v2 writes lengths
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  let size = 1;
  while (zigzag >= 0x80) {
    zigzag = Math.floor(zigzag / 128);
    size += 1;
  }
  return size;
}

/**
 * An upper bound of the bytes one record takes inside a record batch v2: exact lengths, and the
 * largest encodings for the timestamp delta (varlong, 10) and offset delta (varint, 5).
 */
export function recordSizeUpperBound(key: Buffer, value: Buffer, headers: Array<[string, Buffer]>): number {
  let body = 1 + 10 + 5 + varintSize(key.length) + key.length + varintSize(value.length) + value.length + varintSize(headers.length);
  for (const [name, headerValue] of headers) {
    const nameBytes = Buffer.byteLength(name, 'utf8');
    body += varintSize(nameBytes) + nameBytes + varintSize(headerValue.length) + headerValue.length;
  }
  return varintSize(body) + body;
}

function checkRecord(record: StreamRecordInput, index: number): void {
  if (typeof record !== 'object' || record === null) throw new SluiceError('RECORD_INVALID', `record ${index} is not an object`);
  if (typeof record.key !== 'string') throw new SluiceError('RECORD_INVALID', `record ${index}: key must be a string, got ${typeof record.key}`);
  if (!Buffer.isBuffer(record.value)) throw new SluiceError('RECORD_INVALID', `record ${index}: value must be a Buffer`);
  if (record.timestamp !== undefined && (!Number.isSafeInteger(record.timestamp) || record.timestamp < 0)) {
    throw new SluiceError('RECORD_INVALID', `record ${index}: timestamp must be a non-negative integer (epoch ms), got ${String(record.timestamp)}`);
  }
  if (record.headers !== undefined) {
    for (const [name, value] of Object.entries(record.headers)) {
      if (!Buffer.isBuffer(value)) throw new SluiceError('RECORD_INVALID', `record ${index}: header "${name}" must be a Buffer`);
    }
  }
}

export interface PlanOptions {
  stream: string;
  partitions: PartitionMetadata[];
  /** the topic's max.message.bytes (or a smaller configured cap) */
  maxBatchBytes: number;
}

export function planProduce(records: StreamRecordInput[], options: PlanOptions): ProduceRound[] {
  const budget = options.maxBatchBytes - RECORD_BATCH_OVERHEAD;
  // per partition: its batches, each a list of messages with a running byte count
  const batches = new Map<number, Array<{ messages: PlannedMessage[]; bytes: number }>>();

  records.forEach((record, index) => {
    checkRecord(record, index);
    const key = Buffer.from(record.key, 'utf8');
    const headers = record.headers ? Object.entries(record.headers) : [];
    const size = recordSizeUpperBound(key, record.value, headers);
    if (size > budget) {
      throw new SluiceError(
        'RECORD_TOO_LARGE',
        `kafka produce to "${options.stream}": record ${index} (key "${record.key.slice(0, 64)}") takes ${size + RECORD_BATCH_OVERHEAD} bytes as a record batch; the topic takes at most ${options.maxBatchBytes} (max.message.bytes)`,
      );
    }
    const message: Message = { key, value: record.value };
    if (record.headers) message.headers = record.headers;
    // kafkajs would replace a missing timestamp with its own Date.now() anyway; a string keeps 0 as 0.
    if (record.timestamp !== undefined) message.timestamp = String(record.timestamp);
    // Kafka's default partitioner for keyed records (kafkajs computes murmur2 with Long objects: ~9 % of ingest CPU)
    const partition = (murmur2(key) & 0x7fffffff) % options.partitions.length;
    message.partition = partition;

    const list = batches.get(partition) ?? [];
    if (list.length === 0) batches.set(partition, list);
    let current = list[list.length - 1];
    if (!current || current.bytes + size > budget || current.messages.length >= MAX_RECORDS_PER_BATCH) {
      current = { messages: [], bytes: 0 };
      list.push(current);
    }
    current.messages.push({ index, message });
    current.bytes += size;
  });

  const rounds: ProduceRound[] = [];
  for (const [partition, list] of batches) {
    list.forEach((batch, round) => {
      let entry = rounds[round];
      if (!entry) {
        entry = new Map();
        rounds[round] = entry;
      }
      entry.set(partition, batch.messages);
    });
  }
  return rounds;
}

/** base + delta as a decimal string, exact beyond 2^53. */
export function addToOffset(base: string, delta: number): string {
  const asNumber = Number(base);
  if (Number.isSafeInteger(asNumber) && Number.isSafeInteger(asNumber + delta)) return String(asNumber + delta);
  return (BigInt(base) + BigInt(delta)).toString();
}
