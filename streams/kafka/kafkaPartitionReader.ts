/**
 * A PartitionReader on one Kafka partition: Fetch requests from an offset this reader keeps
 * itself (no consumer group, nothing committed; see kafkajsInternals.ts for why).
 *
 * - read() answers from what the last Fetch brought first; only an empty buffer sends a Fetch,
 *   so a reader holds at most one Fetch (fetchMaxBytes) of records: bounded memory.
 * - `waitMs` becomes the Fetch's max wait (in steps of at most fetchMaxWaitMs): the broker holds
 *   the request until a record arrives (long poll), so an idle reader is not a busy loop.
 * - The next offset moves past every batch the Fetch returned whole, including what is not
 *   delivered: control records, aborted transactions, offsets removed by compaction.
 */
import { SluiceError, isSluiceError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { withRetry } from '../../core/retry';
import type { PartitionReader, ReadOptions, ReadResult, StreamRecord } from '../streamClient';
import { isKafkaErrorType, toSluiceError } from './kafkaErrors';
import { READ_COMMITTED, filterFetchedPartition } from './kafkajsInternals';
import type { FetchedMessage, FetchedPartition, KafkajsCluster } from './kafkajsInternals';
import { partitionOffsets } from './kafkaStartPosition';

const DEFAULT_MAX_RECORDS = 1000;
const EMPTY = Buffer.alloc(0);

export interface KafkaReaderDeps {
  cluster: KafkajsCluster;
  logger: Logger;
  retries: number;
  fetchMaxBytes: number;
  /** longest single Fetch wait; longer read waits take several Fetches, and close() waits for the one in flight */
  maxFetchWaitMs: number;
  /** asked when the broker says the topic or partition is unknown */
  streamExists: (stream: string) => Promise<boolean>;
  /** called once, when the reader closes */
  onClose: () => void;
}

export function toStreamRecord(stream: string, partition: string, message: FetchedMessage): StreamRecord {
  const headers: Record<string, Buffer> = {};
  const fetchedHeaders = message.headers;
  // for..in: this runs once per record, and most records have no headers at all
  for (const name in fetchedHeaders) {
    const value = fetchedHeaders[name];
    if (value === undefined) continue;
    // A header sent twice arrives as an array: keep the last, like Java's Headers.lastHeader().
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    headers[name] = last ?? EMPTY;
  }
  // kafkajs gives the create time for CREATE_TIME batches and the broker's append time for
  // LOG_APPEND_TIME ones (the producer's time is then gone from the log): either way it is
  // both when the record happened, as far as Kafka knows, and when Kafka took it.
  const timestamp = Number(message.timestamp);
  return {
    stream,
    partition,
    position: message.offset,
    key: message.key ? message.key.toString('utf8') : '',
    value: message.value ?? EMPTY,
    headers,
    timestamp,
    arrivalTime: timestamp,
  };
}

/** The offset after the last whole batch the Fetch returned (messages below fetchOffset included). */
export function offsetAfterBatches(messages: FetchedMessage[], fetchOffset: bigint): bigint {
  let next = fetchOffset;
  let previousContext: FetchedMessage['batchContext'];
  for (const message of messages) {
    const context = message.batchContext;
    // kafkajs shares one context object among the records of a batch: one end per batch
    if (context !== undefined && context === previousContext) continue;
    previousContext = context;
    const end = context ? BigInt(context.firstOffset) + BigInt(context.lastOffsetDelta) + 1n : BigInt(message.offset) + 1n;
    if (end > next) next = end;
  }
  return next;
}

export class KafkaPartitionReader implements PartitionReader {
  readonly partition: string;
  private nextOffset: bigint;
  private buffer: StreamRecord[] = [];
  private bufferIndex = 0;
  private closed = false;
  private readonly closing = new AbortController();

  constructor(
    private readonly deps: KafkaReaderDeps,
    private readonly stream: string,
    private readonly partitionNumber: number,
    startOffset: bigint,
  ) {
    this.partition = String(partitionNumber);
    this.nextOffset = startOffset;
  }

  async read(options: ReadOptions = {}): Promise<ReadResult> {
    if (this.closed) throw new SluiceError('READER_CLOSED', `the reader of Kafka topic "${this.stream}" partition ${this.partition} is closed`);
    const maxRecords = options.maxRecords ?? DEFAULT_MAX_RECORDS;
    if (!Number.isInteger(maxRecords) || maxRecords < 1) throw new SluiceError('CONFIG_INVALID', `read: maxRecords must be a positive integer, got ${String(maxRecords)}`);
    const waitMs = options.waitMs ?? 0;
    if (!Number.isFinite(waitMs) || waitMs < 0) throw new SluiceError('CONFIG_INVALID', `read: waitMs must be a non-negative number, got ${String(waitMs)}`);
    const deadline = Date.now() + waitMs;

    for (;;) {
      if (this.bufferIndex < this.buffer.length) return { records: this.take(maxRecords), endOfPartition: false };
      const remaining = Math.max(0, deadline - Date.now());
      try {
        await this.fetch(Math.min(remaining, this.deps.maxFetchWaitMs));
      } catch (error) {
        // close() during a Fetch tears down its connection: that is a shutdown, not a failure.
        if (this.closed) return { records: [], endOfPartition: false };
        throw error;
      }
      if (this.closed) return { records: [], endOfPartition: false };
      if (this.bufferIndex >= this.buffer.length && Date.now() >= deadline) return { records: [], endOfPartition: false };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.buffer = [];
    this.closing.abort(new SluiceError('READER_CLOSED', 'reader closed'));
    try {
      await this.deps.cluster.disconnect();
    } catch (error) {
      this.deps.logger.debug({ err: error, stream: this.stream, partition: this.partition }, 'kafka reader disconnect failed');
    } finally {
      this.deps.onClose();
    }
  }

  private take(maxRecords: number): StreamRecord[] {
    const end = Math.min(this.buffer.length, this.bufferIndex + maxRecords);
    const records = this.bufferIndex === 0 && end === this.buffer.length ? this.buffer : this.buffer.slice(this.bufferIndex, end);
    this.bufferIndex = end;
    if (end === this.buffer.length) {
      this.buffer = [];
      this.bufferIndex = 0;
    }
    return records;
  }

  private async fetch(waitMs: number): Promise<void> {
    const partitionData = await withRetry(() => this.fetchOnce(waitMs), {
      retries: this.deps.retries,
      initialDelayMs: 100,
      maxDelayMs: 2000,
      signal: this.closing.signal,
      onRetry: (error, attempt, delayMs) => {
        this.deps.logger.debug({ err: error, stream: this.stream, partition: this.partition, attempt, delayMs }, 'kafka fetch failed; retrying');
        // Most transient fetch failures (leader moved, broker gone) mean stale metadata.
        this.deps.cluster.refreshMetadata().catch(() => undefined);
      },
    });
    if (!partitionData) return;
    const fetchOffset = this.nextOffset;
    this.nextOffset = offsetAfterBatches(partitionData.messages, fetchOffset);
    const delivered = filterFetchedPartition(this.stream, fetchOffset.toString(), partitionData);
    // a plain loop: this runs once per record, at hundreds of thousands of records a second
    const records = new Array<StreamRecord>(delivered.length);
    for (let index = 0; index < delivered.length; index++) records[index] = toStreamRecord(this.stream, this.partition, delivered[index] as FetchedMessage);
    this.buffer = records;
    this.bufferIndex = 0;
  }

  private async fetchOnce(waitMs: number): Promise<FetchedPartition | undefined> {
    const { cluster } = this.deps;
    try {
      const leaders = cluster.findLeaderForPartitions(this.stream, [this.partitionNumber]);
      const nodeId = Object.keys(leaders)[0];
      if (nodeId === undefined) {
        await cluster.refreshMetadata();
        throw new SluiceError('STREAM_NOT_READY', `kafka topic "${this.stream}" partition ${this.partition} has no known leader`);
      }
      const broker = await cluster.findBroker({ nodeId });
      const response = await broker.fetch({
        isolationLevel: READ_COMMITTED,
        maxWaitTime: Math.round(waitMs),
        minBytes: 1,
        maxBytes: this.deps.fetchMaxBytes,
        topics: [{ topic: this.stream, partitions: [{ partition: this.partitionNumber, fetchOffset: this.nextOffset.toString(), maxBytes: this.deps.fetchMaxBytes }] }],
      });
      const topic = response.responses.find((entry) => entry.topicName === this.stream);
      return topic?.partitions.find((entry) => entry.partition === this.partitionNumber);
    } catch (error) {
      throw await this.classify(error);
    }
  }

  private async classify(error: unknown): Promise<SluiceError> {
    const context = { operation: 'read', stream: this.stream, partition: this.partition };
    if (isSluiceError(error)) return error;
    if (isKafkaErrorType(error, 'OFFSET_OUT_OF_RANGE')) {
      // Below the log start: retention or deleteRecords removed what this reader was about to read.
      const { low } = await partitionOffsets(this.deps.cluster, this.stream, this.partitionNumber).catch(() => ({ low: undefined }));
      if (low !== undefined && this.nextOffset < low) {
        return new SluiceError('POSITION_EXPIRED', `kafka read "${this.stream}" partition ${this.partition}: offset ${this.nextOffset} was removed from the log (it now starts at ${low})`, { cause: error });
      }
      return new SluiceError('POSITION_INVALID', `kafka read "${this.stream}" partition ${this.partition}: offset ${this.nextOffset} is beyond the end of the log`, { cause: error });
    }
    if (isKafkaErrorType(error, 'UNKNOWN_TOPIC_OR_PARTITION', 'UNKNOWN_TOPIC_ID')) {
      const exists = await this.deps.streamExists(this.stream).catch(() => true);
      return exists
        ? new SluiceError('STREAM_NOT_READY', `kafka read "${this.stream}" partition ${this.partition}: the broker does not host it (yet)`, { cause: error })
        : new SluiceError('STREAM_NOT_FOUND', `kafka read "${this.stream}": topic does not exist`, { cause: error });
    }
    return toSluiceError(error, context);
  }
}
