/**
 * A PartitionReader on one Kinesis shard: GetShardIterator once, then GetRecords pages
 * following NextShardIterator.
 *
 * - A closed shard read to its end answers without a NextShardIterator: endOfPartition.
 * - Iterators expire after 5 minutes; an expired one is replaced by a new iterator after the
 *   last record this reader returned (or at the original start if it returned none yet).
 * - GetRecords takes at most 10,000 records per call and 5 calls/s per shard on AWS; an empty
 *   page is followed by a pause of pollIntervalMs, and throttling by full-jitter backoff
 *   (kinesisCall).
 *   An iterator only expires when nobody called read() for 5 minutes; a 'latest' reader that
 *   had returned nothing by then starts again AT_TIMESTAMP of its opening (client clock), so
 *   records that arrived while it idled are not skipped (at worst one from just before the
 *   opening comes back: duplicates over loss, as everywhere in sluice).
 */
import { GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-kinesis';
import type { GetShardIteratorCommandInput, _Record as KinesisRecord } from '@aws-sdk/client-kinesis';
import { SluiceError, isSluiceError } from '../../core/errors';
import { sleep } from '../../core/retry';
import type { PartitionReader, ReadOptions, ReadResult, StartPosition, StreamRecord } from '../streamClient';
import { decodeKinesisData } from './kinesisEnvelope';
import { kinesisCall } from './kinesisSdk';
import { resolveNotFound } from './kinesisShards';
import type { KinesisCallDeps } from './kinesisShards';

export const MAX_RECORDS_PER_GET = 10_000;
const DEFAULT_MAX_RECORDS = 1000;

export interface KinesisReaderDeps extends KinesisCallDeps {
  /** pause after an empty page before asking again (AWS allows 5 GetRecords/s per shard) */
  pollIntervalMs: number;
  /**
   * Start 'at-timestamp' readers at TRIM_HORIZON and skip records that arrived before the
   * timestamp, instead of asking for an AT_TIMESTAMP iterator. For kinesalite (3.3.3), whose
   * GetShardIterator AT_TIMESTAMP never answers when no record arrived at or after the
   * timestamp, and refuses a timestamp in the future.
   */
  emulateAtTimestamp: boolean;
}

function iteratorRequest(stream: string, shard: string, start: StartPosition): GetShardIteratorCommandInput {
  const base = { StreamName: stream, ShardId: shard };
  switch (start.type) {
    case 'earliest':
      return { ...base, ShardIteratorType: 'TRIM_HORIZON' };
    case 'latest':
      return { ...base, ShardIteratorType: 'LATEST' };
    case 'at-timestamp':
      if (!Number.isFinite(start.timestamp)) throw new SluiceError('POSITION_INVALID', `at-timestamp needs a finite epoch-ms timestamp, got ${start.timestamp}`);
      return { ...base, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(start.timestamp) };
    case 'at':
    case 'after':
      if (!/^\d+$/.test(start.position)) throw new SluiceError('POSITION_INVALID', `"${start.position}" is not a Kinesis sequence number (decimal digits)`);
      return { ...base, ShardIteratorType: start.type === 'at' ? 'AT_SEQUENCE_NUMBER' : 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: start.position };
    default:
      throw new SluiceError('POSITION_INVALID', `unknown start position ${JSON.stringify(start)}`);
  }
}

async function getShardIterator(deps: KinesisCallDeps, stream: string, shard: string, start: StartPosition): Promise<string> {
  const request = iteratorRequest(stream, shard, start);
  try {
    const response = await kinesisCall({ operation: 'GetShardIterator', stream, shard }, deps.retry, deps.logger, () => deps.sdk.send(new GetShardIteratorCommand(request)));
    if (response.ShardIterator === undefined) throw new SluiceError('UNKNOWN', `Kinesis GetShardIterator on stream "${stream}" shard "${shard}" returned no iterator`);
    return response.ShardIterator;
  } catch (error) {
    if (isSluiceError(error, 'STREAM_NOT_FOUND')) throw await resolveNotFound(deps, error, stream, shard);
    throw error;
  }
}

export async function openKinesisReader(deps: KinesisReaderDeps, stream: string, shard: string, start: StartPosition, onClose: (reader: PartitionReader) => void = () => undefined): Promise<PartitionReader> {
  const openedAt = Date.now();
  const restart: StartPosition = start.type === 'latest' ? { type: 'at-timestamp', timestamp: openedAt } : start;
  const reader = new KinesisPartitionReader(deps, stream, shard, restart, onClose);
  await reader.startAt(start);
  return reader;
}

function asBuffer(data: Uint8Array | undefined): Buffer {
  if (data === undefined) return Buffer.alloc(0);
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

class KinesisPartitionReader implements PartitionReader {
  private iterator: string | undefined;
  /** the last record this reader went past (returned, or skipped by the at-timestamp emulation) */
  private lastSequenceNumber: string | undefined;
  /** emulated AT_TIMESTAMP: records that arrived before this (epoch ms) are skipped */
  private skipArrivedBefore: number | undefined;
  private ended = false;
  private closed = false;
  private readonly closing = new AbortController();

  constructor(
    private readonly deps: KinesisReaderDeps,
    private readonly stream: string,
    readonly partition: string,
    /** where a replacement iterator starts when no record was returned yet */
    private readonly restart: StartPosition,
    private readonly onClose: (reader: PartitionReader) => void,
  ) {}

  /** Gets the first iterator (and again after an expiry, with the position to continue from). */
  async startAt(start: StartPosition): Promise<string> {
    if (start.type === 'at-timestamp' && this.deps.emulateAtTimestamp) {
      iteratorRequest(this.stream, this.partition, start); // validates the timestamp
      this.iterator = await getShardIterator(this.deps, this.stream, this.partition, { type: 'earliest' });
      this.skipArrivedBefore = start.timestamp;
    } else {
      this.iterator = await getShardIterator(this.deps, this.stream, this.partition, start);
    }
    return this.iterator;
  }

  async read(options: ReadOptions = {}): Promise<ReadResult> {
    if (this.closed) throw new SluiceError('READER_CLOSED', `the reader of Kinesis stream "${this.stream}" shard "${this.partition}" is closed`);
    const maxRecords = options.maxRecords ?? DEFAULT_MAX_RECORDS;
    if (!Number.isInteger(maxRecords) || maxRecords < 1) throw new SluiceError('CONFIG_INVALID', `read: maxRecords must be a positive integer, got ${maxRecords}`);
    const deadline = performance.now() + Math.max(0, options.waitMs ?? 0);
    if (this.ended) return { records: [], endOfPartition: true };

    for (;;) {
      // Throttling and connection errors are retried with backoff inside kinesisCall.
      const page = await this.getRecords(Math.min(maxRecords, MAX_RECORDS_PER_GET));
      const { next, millisBehindLatest } = page;
      const lastRecord = page.records[page.records.length - 1];
      if (lastRecord) this.lastSequenceNumber = lastRecord.position;
      const records = this.skipEarlyArrivals(page.records);
      const skippedSome = records.length < page.records.length;
      this.iterator = next;
      const result: ReadResult = { records, endOfPartition: next === undefined };
      if (millisBehindLatest !== undefined) result.millisBehindLatest = millisBehindLatest;
      if (next === undefined) this.ended = true;
      if (records.length > 0 || next === undefined) return result;
      const remaining = deadline - performance.now();
      if (remaining <= 0) return result;
      // An empty page while behind means a gap in the shard, and a page of skipped records
      // may have more behind it: page on at once. Otherwise wait.
      if (!millisBehindLatest && !skippedSome) await this.pause(Math.min(remaining, this.deps.pollIntervalMs));
      if (this.closed) return { records: [], endOfPartition: false };
    }
  }

  private async getRecords(limit: number): Promise<{ records: StreamRecord[]; next: string | undefined; millisBehindLatest: number | undefined }> {
    for (let refreshed = false; ; refreshed = true) {
      const iterator = this.iterator ?? (await this.freshIterator());
      try {
        const context = { operation: 'GetRecords', stream: this.stream, shard: this.partition };
        const response = await kinesisCall(context, this.deps.retry, this.deps.logger, () => this.deps.sdk.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: limit })));
        return {
          records: (response.Records ?? []).map((record) => this.toStreamRecord(record)),
          // Kinesis omits NextShardIterator (kinesalite too; some SDKs show null) once a closed shard is read to its end.
          next: response.NextShardIterator ?? undefined,
          millisBehindLatest: response.MillisBehindLatest,
        };
      } catch (error) {
        if (isSluiceError(error, 'POSITION_EXPIRED') && !refreshed) {
          this.deps.logger.debug({ stream: this.stream, shard: this.partition, after: this.lastSequenceNumber }, 'shard iterator expired; getting a new one');
          this.iterator = undefined;
          continue;
        }
        if (isSluiceError(error, 'STREAM_NOT_FOUND')) throw await resolveNotFound(this.deps, error, this.stream, this.partition);
        throw error;
      }
    }
  }

  /** A new iterator where this reader stands: after the last record it went past, or where it started. */
  private freshIterator(): Promise<string> {
    if (this.lastSequenceNumber === undefined) return this.startAt(this.restart);
    return this.startAt({ type: 'after', position: this.lastSequenceNumber });
  }

  /** Emulated AT_TIMESTAMP: drops records until the first one that arrived at or after the timestamp. */
  private skipEarlyArrivals(records: StreamRecord[]): StreamRecord[] {
    const threshold = this.skipArrivedBefore;
    if (threshold === undefined) return records;
    const first = records.findIndex((record) => record.arrivalTime >= threshold);
    if (first === -1) return [];
    this.skipArrivedBefore = undefined;
    return records.slice(first);
  }

  private toStreamRecord(record: KinesisRecord): StreamRecord {
    const decoded = decodeKinesisData(asBuffer(record.Data));
    if (decoded.malformed !== undefined) {
      this.deps.logger.warn({ stream: this.stream, shard: this.partition, position: record.SequenceNumber, problem: decoded.malformed }, 'record starts with the sluice envelope magic but is not an envelope; delivering its raw bytes');
    }
    const arrivalTime = record.ApproximateArrivalTimestamp?.getTime() ?? Date.now();
    return {
      stream: this.stream,
      partition: this.partition,
      position: record.SequenceNumber ?? '',
      key: record.PartitionKey ?? '',
      value: decoded.value,
      headers: decoded.headers,
      timestamp: decoded.timestamp ?? arrivalTime,
      arrivalTime,
    };
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, this.closing.signal).catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
    this.closing.abort(new SluiceError('READER_CLOSED', 'reader closed'));
  }
}
