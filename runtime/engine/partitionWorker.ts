/**
 * Runs one partition (Kafka partition or Kinesis shard) the way Lambda's event source mapping
 * runs a shard: read in order, drop what FilterCriteria rejects (checkpointed past, never
 * sent), batch by BatchSize / MaximumBatchingWindowInSeconds / the 6 MB payload cap, invoke,
 * and checkpoint only what is done. With ParallelizationFactor > 1 the shard has several
 * lanes, one batch in flight per lane, records of one partition key always in the same lane.
 */
import type { PartitionReader, Position, StreamRecord } from '../../streams/streamClient';
import type { BatchPolicy, BatchVerdict, FailedBatch } from './batchProcessor';
import { processBatch } from './batchProcessor';
import { CompletionTracker } from './completionTracker';
import { laneOf } from './laneOf';
import { isSluiceError } from '../../core/errors';
import { backoffDelay } from '../../core/retry';

/** records that arrived just before a window's end may still be in flight to us */
const WINDOW_CLOSE_GRACE_MS = 100;
const READ_RETRY = { initialDelayMs: 100, maxDelayMs: 5000, factor: 2 };

/** AWS caps an invocation payload at 6 MB (ESM.md); estimated per record as its share of the event JSON. */
export const MAX_INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024;
const EVENT_OVERHEAD_BYTES = 512;

/** Bytes a record adds to an event: base64 of key and value plus the JSON envelope around it. */
export function recordPayloadBytes(record: StreamRecord): number {
  return Math.ceil(record.value.length / 3) * 4 + Math.ceil(Buffer.byteLength(record.key) / 3) * 4 + EVENT_OVERHEAD_BYTES;
}

export interface PartitionWorkerObserver {
  recordsRead?(count: number, iteratorAgeMs: number | undefined): void;
  batchDone?(lane: number, size: number, durationMs: number, result: { invocations: number; retries: number; dispatchedFailures: number }): void;
  checkpointed?(position: Position): void;
}

export interface PartitionWorkerOptions {
  reader: PartitionReader;
  parallelization: number;
  batchSize: number;
  batchingWindowMs: number;
  maxPayloadBytes?: number;
  /** FilterCriteria; records it rejects are checkpointed past and never sent */
  accepts(record: StreamRecord): boolean;
  policy: BatchPolicy;
  invoke(records: StreamRecord[], lane: number): Promise<BatchVerdict>;
  dispatchFailure(failure: FailedBatch): Promise<void>;
  /** persist the checkpoint; throws when ownership was lost (the worker then stops) */
  checkpoint(position: Position): Promise<void>;
  /** the partition was closed and read to its end, everything done (Kinesis SHARD_END) */
  endOfPartition?(): Promise<void>;
  /** empty reads wait this long before the next poll (realistic mode ~1000, fast mode 0) */
  pollIntervalMs: number;
  /** a read waits at most this long for records (long poll) */
  readWaitMs: number;
  /** records read ahead and not yet done, at most (bounded memory) */
  maxBufferedRecords?: number;
  /**
   * Tumbling windows (Kinesis TumblingWindowInSeconds): windows on arrival time, aligned to
   * multiples of `sizeMs`. A batch never spans two windows; when processing moves past a
   * window, or wall-clock time passes its end, `closeWindow` runs the final invocation (and
   * keeps retrying it: like Lambda, a failing final invoke blocks the shard). Needs one lane.
   */
  window?: { sizeMs: number; closeWindow(windowStart: number, signal: AbortSignal): Promise<void> };
  observer?: PartitionWorkerObserver;
  now?: () => number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export type PartitionWorkerExit = 'ended' | 'stopped';

/** A promise that settles the next time `notify` is called: how the reader and lanes wake each other. */
class Wakeup {
  private waiters: Array<() => void> = [];
  wait(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(resolve, Math.max(0, timeoutMs));
      this.waiters.push(() => {
        if (timer) clearTimeout(timer);
        resolve();
      });
    });
  }
  notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

interface Lane {
  index: number;
  buffer: StreamRecord[];
  bufferBytes: number;
  firstBufferedAt: number;
}

export class PartitionWorker {
  private readonly tracker = new CompletionTracker();
  private readonly changed = new Wakeup();
  private readonly lanes: Lane[];
  private readonly abort = new AbortController();
  private readonly now: () => number;
  private stopping = false;
  private readerDone = false;
  private endReached = false;
  private buffered = 0;
  private lastCheckpoint: Position | undefined;
  private checkpointChain: Promise<void> = Promise.resolve();
  /** start of the tumbling window whose records were sent and whose final invoke is still due */
  private openWindow: number | undefined;
  /** the last read found nothing new: the reader is caught up with the partition */
  private caughtUp = false;

  constructor(private readonly options: PartitionWorkerOptions) {
    this.now = options.now ?? Date.now;
    if (options.window && options.parallelization > 1) throw new Error('tumbling windows need ParallelizationFactor 1');
    this.lanes = Array.from({ length: Math.max(1, options.parallelization) }, (_, index) => ({ index, buffer: [], bufferBytes: 0, firstBufferedAt: 0 }));
  }

  /** Runs until the partition ends, `stop()` drains it, or an error (lost ownership) ends it. */
  async run(): Promise<PartitionWorkerExit> {
    const tasks = [this.readLoop(), ...this.lanes.map((lane) => this.laneLoop(lane))];
    try {
      await Promise.all(tasks);
    } catch (error) {
      this.abort.abort(error);
      this.stopping = true;
      this.changed.notify();
      await Promise.allSettled(tasks);
      throw error;
    }
    await this.checkpointChain.catch(() => undefined);
    if (this.abort.signal.aborted) throw this.abort.signal.reason;
    if (this.endReached && this.tracker.pending === 0 && !this.stopping) {
      await this.options.endOfPartition?.();
      return 'ended';
    }
    return 'stopped';
  }

  /** Drain: stop reading, let in-flight batches finish and checkpoint, start nothing new. */
  stop(): void {
    this.stopping = true;
    this.changed.notify();
  }

  /** Stop at once without another checkpoint: ownership moved elsewhere. */
  abandon(reason: Error): void {
    this.stopping = true;
    this.abort.abort(reason);
    this.changed.notify();
  }

  private get maxBuffered(): number {
    return this.options.maxBufferedRecords ?? Math.max(1000, this.options.batchSize * this.lanes.length * 2);
  }

  private async readLoop(): Promise<void> {
    const { reader, observer } = this.options;
    let readFailures = 0;
    try {
      while (!this.stopping) {
        if (this.buffered >= this.maxBuffered) {
          await this.changed.wait(1000);
          continue;
        }
        let result;
        try {
          result = await reader.read({ maxRecords: Math.min(10_000, this.maxBuffered - this.buffered), waitMs: this.options.readWaitMs });
          readFailures = 0;
        } catch (error) {
          // A passing network or throttling error must not end the shard; anything else does.
          if (!isSluiceError(error) || !error.retriable) throw error;
          await this.options.sleep(backoffDelay(readFailures++, READ_RETRY), this.abort.signal).catch(() => undefined);
          continue;
        }
        if (this.stopping && this.abort.signal.aborted) return;
        const last = result.records[result.records.length - 1];
        observer?.recordsRead?.(result.records.length, result.millisBehindLatest ?? (last ? Math.max(0, this.now() - last.arrivalTime) : undefined));
        let filteredAny = false;
        for (const record of result.records) {
          this.tracker.enter(record.position);
          if (!this.options.accepts(record)) {
            this.tracker.complete(record.position);
            filteredAny = true;
            continue;
          }
          const lane = this.lanes[laneOf(record.key, this.lanes.length)] as Lane;
          if (lane.buffer.length === 0) lane.firstBufferedAt = this.now();
          lane.buffer.push(record);
          lane.bufferBytes += recordPayloadBytes(record);
          this.buffered += 1;
        }
        this.caughtUp = result.records.length === 0;
        if (filteredAny) this.scheduleCheckpoint();
        if (result.records.length > 0) this.changed.notify();
        if (result.endOfPartition) {
          this.endReached = true;
          break;
        }
        if (result.records.length === 0 && this.options.pollIntervalMs > 0) await this.options.sleep(this.options.pollIntervalMs, this.abort.signal).catch(() => undefined);
      }
    } finally {
      this.readerDone = true;
      this.changed.notify();
    }
  }

  /** Whether the lane should send a batch now: full, 6 MB reached, window over, or no more input coming. */
  private laneReady(lane: Lane): boolean {
    if (lane.buffer.length === 0) return false;
    if (lane.buffer.length >= this.options.batchSize) return true;
    if (lane.bufferBytes >= (this.options.maxPayloadBytes ?? MAX_INVOKE_PAYLOAD_BYTES)) return true;
    if (this.readerDone) return true;
    return this.now() >= lane.firstBufferedAt + this.options.batchingWindowMs;
  }

  private takeBatch(lane: Lane): StreamRecord[] {
    const limit = this.options.maxPayloadBytes ?? MAX_INVOKE_PAYLOAD_BYTES;
    let bytes = 0;
    let count = 0;
    const firstWindow = lane.buffer[0] ? this.windowOf(lane.buffer[0]) : undefined;
    for (const record of lane.buffer) {
      const size = recordPayloadBytes(record);
      if (count >= this.options.batchSize || (count > 0 && bytes + size > limit)) break;
      if (firstWindow !== undefined && this.windowOf(record) !== firstWindow) break;
      bytes += size;
      count += 1;
    }
    const batch = lane.buffer.splice(0, count);
    lane.bufferBytes -= bytes;
    lane.firstBufferedAt = this.now();
    return batch;
  }

  private windowOf(record: StreamRecord): number | undefined {
    const size = this.options.window?.sizeMs;
    return size ? Math.floor(record.arrivalTime / size) * size : undefined;
  }

  private async closeOpenWindow(): Promise<void> {
    const window = this.options.window;
    if (!window || this.openWindow === undefined) return;
    const start = this.openWindow;
    await window.closeWindow(start, this.abort.signal);
    this.openWindow = undefined;
  }

  private async laneLoop(lane: Lane): Promise<void> {
    while (!this.stopping) {
      const window = this.options.window;
      if (window && this.openWindow !== undefined) {
        const next = lane.buffer[0];
        const nextWindow = next ? this.windowOf(next) : undefined;
        // Closing on wall-clock time only once caught up: while a backlog is replayed, the
        // window's remaining records are still to come, however late the clock says it is.
        const windowOver = this.caughtUp && this.now() >= this.openWindow + window.sizeMs + WINDOW_CLOSE_GRACE_MS;
        // The next record belongs to a later window, the window's time is up, or no more input.
        if ((nextWindow !== undefined && nextWindow !== this.openWindow) || (next === undefined && (windowOver || (this.readerDone && this.endReached)))) {
          await this.closeOpenWindow();
          continue;
        }
      }
      if (!this.laneReady(lane)) {
        if (this.readerDone && lane.buffer.length === 0) return;
        let wait = lane.buffer.length > 0 ? lane.firstBufferedAt + this.options.batchingWindowMs - this.now() : undefined;
        if (window && this.openWindow !== undefined) {
          const untilWindowEnd = Math.max(this.openWindow + window.sizeMs + WINDOW_CLOSE_GRACE_MS - this.now(), this.options.readWaitMs, 50);
          wait = wait === undefined ? untilWindowEnd : Math.min(wait, untilWindowEnd);
        }
        await this.changed.wait(wait);
        continue;
      }
      const batch = this.takeBatch(lane);
      const first = batch[0];
      if (window && first) this.openWindow = this.windowOf(first);
      await this.runBatch(lane, batch);
    }
  }

  private async runBatch(lane: Lane, batch: StreamRecord[]): Promise<void> {
    const started = this.now();
    let completedUpTo = 0; // records of `batch` already reported done
    const result = await processBatch(batch, this.options.policy, {
      invoke: (records) => this.options.invoke(records, lane.index),
      dispatchFailure: (failure) => this.options.dispatchFailure(failure),
      progress: (lastDone) => {
        const index = batch.indexOf(lastDone, completedUpTo);
        const through = index >= 0 ? index : batch.findIndex((record) => record.position === lastDone.position);
        for (let i = completedUpTo; i <= through; i++) this.tracker.complete((batch[i] as StreamRecord).position);
        completedUpTo = Math.max(completedUpTo, through + 1);
        // The checkpoint is written in the background, in order, while the next batch runs:
        // it only ever covers finished records, and waiting for its round trip would idle the
        // shard (Lambda's poller does not wait for its checkpoint either). A refused checkpoint
        // still stops the worker (scheduleCheckpoint abandons it).
        this.scheduleCheckpoint();
      },
      now: this.now,
      sleep: this.options.sleep,
    }, this.abort.signal);
    this.buffered -= batch.length;
    this.options.observer?.batchDone?.(lane.index, batch.length, this.now() - started, result);
    this.changed.notify();
  }

  /** Checkpoints run one after another, each to the furthest position with everything before it done. */
  private scheduleCheckpoint(): void {
    this.checkpointChain = this.checkpointChain.then(async () => {
      const position = this.tracker.checkpointable();
      if (position === undefined || position === this.lastCheckpoint || this.abort.signal.aborted) return;
      await this.options.checkpoint(position);
      this.lastCheckpoint = position;
      this.options.observer?.checkpointed?.(position);
    });
    // A failed checkpoint (ownership lost) must stop the worker: surface it through the lanes.
    this.checkpointChain.catch((error: unknown) => this.abandon(error instanceof Error ? error : new Error(String(error))));
  }
}
