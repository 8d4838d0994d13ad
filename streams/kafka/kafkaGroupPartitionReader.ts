/**
 * The PartitionReader of one consumer-group assignment: a pull interface over kafkajs' push
 * consumer. kafkajs' eachBatch hands fetched batches to `offer()`; the runtime takes them with
 * `read()`. Memory stays bounded: once the queue holds `maxQueuedBytes`, the partition is paused
 * in kafkajs (no more Fetches for it) and resumed when read() has drained half of it. So a queue
 * holds at most the bound plus one Fetch (kafkajs' maxBytesPerPartition).
 *
 * Order and no duplicates within one assignment: records below `nextOffset` are dropped. kafkajs
 * re-fetches from the group's committed offset after every rebalance (it rebuilds its offset
 * state on each join), so a partition kept across a rebalance would otherwise deliver again
 * what this queue already took.
 */
import { SluiceError } from '../../core/errors';
import type { PartitionReader, ReadOptions, ReadResult, StreamRecord } from '../streamClient';
import { toStreamRecord } from './kafkaPartitionReader';
import type { FetchedMessage } from './kafkajsInternals';

const DEFAULT_MAX_RECORDS = 1000;
/** what a queued record costs beyond its bytes (the object, its Buffers, the headers map) */
const RECORD_OVERHEAD_BYTES = 100;

/** How the reader switches kafkajs fetching for its partition off and on. */
export interface PartitionFlow {
  pause(): void;
  resume(): void;
}

function recordBytes(record: StreamRecord): number {
  let bytes = record.value.length + record.key.length + RECORD_OVERHEAD_BYTES;
  for (const [name, value] of Object.entries(record.headers)) bytes += name.length + value.length;
  return bytes;
}

export class KafkaGroupPartitionReader implements PartitionReader {
  readonly partition: string;
  private queue: StreamRecord[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private paused = false;
  /** the offset the next accepted record must have at least */
  private expectedOffset: bigint;
  /** the offset after the last record read() handed out: commits may not pass it */
  private handedOutUpTo: bigint;
  /** no more records for this assignment: the partition was revoked or the member is stopping */
  private ended = false;
  private closed = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly stream: string,
    partitionNumber: number,
    readonly startOffset: bigint,
    private readonly maxQueuedBytes: number,
    private readonly flow: PartitionFlow,
  ) {
    this.partition = String(partitionNumber);
    this.expectedOffset = startOffset;
    this.handedOutUpTo = startOffset;
  }

  /** Where kafkajs must fetch next for this queue to continue without a gap or a repeat. */
  get nextOffset(): bigint {
    return this.expectedOffset;
  }

  get deliveredUpTo(): bigint {
    return this.handedOutUpTo;
  }

  /** Whether the queue asked kafkajs to stop fetching (re-applied after a rebalance). */
  get isPaused(): boolean {
    return this.paused;
  }

  /**
   * Takes a fetched batch in offset order. `lastOffset` is kafkajs' batch.lastOffset(): it
   * counts records the batch does not deliver (a trailing transaction marker), so the next
   * expected offset moves past them.
   */
  offer(messages: readonly FetchedMessage[], lastOffset: string): void {
    if (this.ended || this.closed) return;
    for (const message of messages) {
      const offset = BigInt(message.offset);
      if (offset < this.expectedOffset) continue;
      const record = toStreamRecord(this.stream, this.partition, message);
      this.queue.push(record);
      this.queuedBytes += recordBytes(record);
      this.expectedOffset = offset + 1n;
    }
    const afterBatch = BigInt(lastOffset) + 1n;
    if (afterBatch > this.expectedOffset) this.expectedOffset = afterBatch;
    if (!this.paused && this.queuedBytes >= this.maxQueuedBytes) {
      this.paused = true;
      this.flow.pause();
    }
    this.notify();
  }

  async read(options: ReadOptions = {}): Promise<ReadResult> {
    if (this.ended) throw new SluiceError('LEASE_LOST', `Kafka topic "${this.stream}" partition ${this.partition} is no longer assigned to this consumer group member`);
    if (this.closed) throw new SluiceError('READER_CLOSED', `the group reader of Kafka topic "${this.stream}" partition ${this.partition} is closed`);
    const maxRecords = options.maxRecords ?? DEFAULT_MAX_RECORDS;
    if (!Number.isInteger(maxRecords) || maxRecords < 1) throw new SluiceError('CONFIG_INVALID', `read: maxRecords must be a positive integer, got ${String(maxRecords)}`);
    const waitMs = options.waitMs ?? 0;
    if (!Number.isFinite(waitMs) || waitMs < 0) throw new SluiceError('CONFIG_INVALID', `read: waitMs must be a non-negative number, got ${String(waitMs)}`);
    if (this.queueHead >= this.queue.length && waitMs > 0) await this.waitForRecords(waitMs);
    // Revoked while waiting: whatever is queued now belongs to the partition's next owner.
    if (this.ended || this.closed) return { records: [], endOfPartition: false };
    return { records: this.take(maxRecords), endOfPartition: false };
  }

  /**
   * The assignment is over (revoked, or the member is stopping): a waiting read() returns
   * empty at once, later reads reject with LEASE_LOST, fetched batches are ignored.
   */
  end(): void {
    this.ended = true;
    this.discard();
  }

  /** Frees the queue. Reads after it reject (READER_CLOSED, or LEASE_LOST once the assignment ended). */
  async close(): Promise<void> {
    this.closed = true;
    this.discard();
  }

  private discard(): void {
    this.queue = [];
    this.queueHead = 0;
    this.queuedBytes = 0;
    this.notify();
  }

  private take(maxRecords: number): StreamRecord[] {
    const end = Math.min(this.queue.length, this.queueHead + maxRecords);
    const records = this.queue.slice(this.queueHead, end);
    this.queueHead = end;
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (this.queueHead > 4096 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    for (const record of records) this.queuedBytes -= recordBytes(record);
    const last = records[records.length - 1];
    if (last) this.handedOutUpTo = BigInt(last.position) + 1n;
    // Resume at half the bound, not at empty: what is left covers the time the next Fetch takes.
    if (this.paused && this.queuedBytes <= this.maxQueuedBytes / 2) {
      this.paused = false;
      this.flow.resume();
    }
    return records;
  }

  private waitForRecords(waitMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      this.wake = done;
    });
  }

  private notify(): void {
    this.wake?.();
  }
}
