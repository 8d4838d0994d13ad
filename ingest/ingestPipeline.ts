/**
 * The ingest function's core, independent of where messages come from (MQTT, HTTP): validate each
 * message (JSON at once; Avro payloads, which need the registry, when their batch is processed),
 * batch with a short linger, encode valid readings as Avro (TelemetryReading) keyed by
 * deviceId, dead-letter the rest as Avro DeadLetter records (reason code, original bytes, topic,
 * time), and call each message's ack only once its record or its dead letter is durable.
 *
 * Order per device: one produce per stream at a time, batches in arrival order, so a device's
 * readings reach its partition in the order they came in (concurrent produce calls could reorder
 * on a retry). Memory is bounded: at most maxInFlightMessages are taken in and not yet acked;
 * callers await whenReady() before taking more (the MQTT side stops reading its socket).
 */
import { SluiceError, errorMessage } from '../core/errors';
import type { Logger } from '../core/logger';
import { silentLogger } from '../core/logger';
import { withRetry } from '../core/retry';
import type { AvroCodec } from '../schemas/avroCodec';
import type { DeadLetter, TelemetryReading } from '../schemas/records';
import { CodecError } from '../schemas/schemaErrors';
import { SUBJECTS } from '../schemas/sluiceSchemas';
import type { StreamClient, StreamRecordInput } from '../streams/streamClient';
import { isAvroPayload, validateAvroTelemetry } from './avroTelemetry';
import type { IngestMetrics } from './ingestMetrics';
import { createIngestMetrics } from './ingestMetrics';
import type { IngestRejection, TelemetryValidationResult } from './telemetryValidation';
import { DEFAULT_MAX_PAYLOAD_BYTES, MAX_DEVICE_ID_LENGTH, deviceIdFromTopic, validateTelemetry } from './telemetryValidation';

export interface IngestMessage {
  /** MQTT topic; undefined for sources without one (no anti-spoofing check then). */
  topic: string | undefined;
  payload: Buffer;
}

/** Called once per message: without an error once durable; with one when it could not be stored (leave it unacked). */
export type IngestAck = (error?: Error) => void;

export interface StreamTarget {
  client: StreamClient;
  stream: string;
}

export interface IngestPipelineOptions {
  telemetry: StreamTarget;
  deadLetter: StreamTarget;
  codec: AvroCodec;
  /** Dead letters' source.kind and the metrics' source label: mqtt, http. */
  sourceKind?: string;
  maxPayloadBytes?: number;
  /** How long the first message of a batch waits for company. Default 5 ms. */
  lingerMs?: number;
  /** A batch is produced at once when it reaches this many messages. Default 500. */
  maxBatchMessages?: number;
  /** Messages taken in and not yet acked; whenReady() waits below it. Default 5000. */
  maxInFlightMessages?: number;
  /** Produce attempts for retriable failures, on top of the stream client's own retries. Default 3. */
  produceRetries?: number;
  metrics?: IngestMetrics;
  logger?: Logger;
  clock?: () => number;
}

/** `avro`: not judged yet (decoding needs the registry, so it waits for its batch). */
type Outcome = { reading: TelemetryReading } | { rejection: IngestRejection } | { avro: true };

const AVRO_PENDING: Outcome = { avro: true };

/**
 * The most of a rejected payload a dead letter keeps: half of the 1 MiB a Kafka (max.message.bytes
 * default) or Kinesis record holds, leaving room for the topic (up to 64 KiB) and the message.
 */
export const MAX_DEAD_LETTER_ORIGINAL_BYTES = 512 * 1024;

interface PendingMessage {
  message: IngestMessage;
  ack: IngestAck;
  receivedAt: number;
  outcome: Outcome;
}

interface Waiter {
  ready: () => boolean;
  resolve: () => void;
}

export class IngestPipeline {
  readonly metrics: IngestMetrics;
  private readonly options: Required<Omit<IngestPipelineOptions, 'metrics' | 'logger' | 'clock'>>;
  private readonly logger: Logger;
  private readonly clock: () => number;
  private queue: PendingMessage[] = [];
  private lingerTimer: NodeJS.Timeout | undefined;
  private flushing = false;
  private inFlight = 0;
  private waiters: Waiter[] = [];
  private readonly validationOptions: { maxPayloadBytes: number };

  constructor(options: IngestPipelineOptions) {
    this.options = {
      telemetry: options.telemetry,
      deadLetter: options.deadLetter,
      codec: options.codec,
      sourceKind: options.sourceKind ?? 'mqtt',
      maxPayloadBytes: options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
      lingerMs: options.lingerMs ?? 5,
      maxBatchMessages: options.maxBatchMessages ?? 500,
      maxInFlightMessages: options.maxInFlightMessages ?? 5000,
      produceRetries: options.produceRetries ?? 3,
    };
    this.validationOptions = { maxPayloadBytes: this.options.maxPayloadBytes };
    this.metrics = options.metrics ?? createIngestMetrics();
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? Date.now;
  }

  /** Messages taken in and not yet acked. */
  get inFlightMessages(): number {
    return this.inFlight;
  }

  hasCapacity(): boolean {
    return this.inFlight < this.options.maxInFlightMessages;
  }

  /** Resolves once another message may be taken in (backpressure). */
  whenReady(): Promise<void> {
    return this.waitUntil(() => this.hasCapacity());
  }

  /** Takes one message in; `ack` is called once it is durable (or failed). Never throws for bad input. Counted in metrics when its batch is produced. */
  submit(message: IngestMessage, ack: IngestAck): void {
    const receivedAt = this.clock();
    const outcome = isAvroPayload(message.payload) ? AVRO_PENDING : outcomeOf(validateTelemetry(message.topic, message.payload, receivedAt, this.validationOptions));
    this.queue.push({ message, ack, receivedAt, outcome });
    this.inFlight += 1;
    if (this.queue.length >= this.options.maxBatchMessages) this.startFlush();
    else this.lingerTimer ??= setTimeout(() => this.startFlush(), this.options.lingerMs);
  }

  /** Produces everything taken in so far and resolves when every message has been acked (graceful stop). */
  async drain(): Promise<void> {
    this.startFlush();
    await this.waitUntil(() => this.inFlight === 0);
  }

  private startFlush(): void {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = true;
    void this.flushLoop();
  }

  /** One batch at a time; what arrived while a batch was producing goes out next without lingering. */
  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.options.maxBatchMessages);
        await this.processBatch(batch);
      }
    } finally {
      this.flushing = false;
    }
  }

  private async processBatch(batch: PendingMessage[]): Promise<void> {
    // Metrics per batch, not per message: labelled prom-client updates cost more than validation.
    this.metrics.messagesReceived.inc({ source: this.options.sourceKind }, batch.length);
    this.metrics.inFlight.set(this.inFlight);
    this.metrics.batchSize.observe(batch.length);
    const accepted: PendingMessage[] = [];
    const readings: StreamRecordInput[] = [];
    const rejected: PendingMessage[] = [];
    const deadLetters: StreamRecordInput[] = [];
    let failure: Error | undefined;
    try {
      for (const pending of batch) {
        if ('avro' in pending.outcome) {
          const { topic, payload } = pending.message;
          pending.outcome = outcomeOf(await validateAvroTelemetry(this.options.codec, topic, payload, pending.receivedAt, this.options.maxPayloadBytes));
        }
        const record = 'reading' in pending.outcome ? await this.readingRecord(pending, pending.outcome.reading) : undefined;
        if (record) {
          accepted.push(pending);
          readings.push(record);
        } else {
          rejected.push(pending);
          deadLetters.push(await this.deadLetterRecord(pending));
        }
      }
      await Promise.all([this.produce(this.options.telemetry, readings), this.produce(this.options.deadLetter, deadLetters)]);
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      this.logger.error({ err: failure, messages: batch.length }, 'ingest batch not stored; its messages stay unacked for redelivery');
    }
    if (!failure) {
      this.metrics.readingsProduced.inc({ source: this.options.sourceKind }, accepted.length);
      for (const pending of rejected) {
        const reason = 'rejection' in pending.outcome ? pending.outcome.rejection.reason : 'schema_violation';
        this.metrics.rejected.inc({ source: this.options.sourceKind, reason });
      }
    }
    for (const pending of batch) this.settle(pending, failure);
    this.metrics.inFlight.set(this.inFlight);
    this.wakeWaiters();
  }

  /** The Avro record of a valid reading; undefined (and the message becomes a dead letter) if the codec refuses it. */
  private async readingRecord(pending: PendingMessage, reading: TelemetryReading): Promise<StreamRecordInput | undefined> {
    try {
      const value = await this.options.codec.encode(SUBJECTS.telemetryReading, reading);
      return { key: reading.deviceId, value, timestamp: pending.receivedAt };
    } catch (error) {
      // A registry that cannot be reached is not the message's fault: fail the batch (redelivery).
      if (!(error instanceof CodecError)) throw error;
      pending.outcome = { rejection: { reason: 'schema_violation', message: errorMessage(error) } };
      return undefined;
    }
  }

  /**
   * The dead letter must always be writable: if it were not, its batch would fail, be redelivered
   * and fail again, forever, and every device behind it would wait. So its message is made
   * well-formed (a message quoting the payload can hold a lone surrogate, which the Avro string
   * refuses), and an original over MAX_DEAD_LETTER_ORIGINAL_BYTES keeps only its start (a payload
   * of a megabyte does not fit in a Kafka or Kinesis record; the message says how much was cut).
   */
  private async deadLetterRecord(pending: PendingMessage): Promise<StreamRecordInput> {
    const rejection = 'rejection' in pending.outcome ? pending.outcome.rejection : { reason: 'schema_violation', message: 'unknown' };
    const topic = pending.message.topic;
    const payload = pending.message.payload;
    const cut = payload.length > MAX_DEAD_LETTER_ORIGINAL_BYTES;
    // String.prototype.toWellFormed is ES2024 (Node 20 has it; our TS lib is ES2022).
    const message = (rejection.message as unknown as { toWellFormed(): string }).toWellFormed();
    const deadLetter: DeadLetter = {
      reasonCode: rejection.reason,
      message: cut ? `${message} (original cut to its first ${MAX_DEAD_LETTER_ORIGINAL_BYTES} of ${payload.length} bytes)` : message,
      source: { kind: this.options.sourceKind, address: topic ?? '' },
      original: cut ? payload.subarray(0, MAX_DEAD_LETTER_ORIGINAL_BYTES) : payload,
      firstSeenAt: pending.receivedAt,
      attempts: 1,
      headers: null,
    };
    const value = await this.options.codec.encode(SUBJECTS.deadLetter, deadLetter);
    // Keyed by the topic's device, so one device's dead letters stay in order too. A topic level
    // longer than a device id can be (it never has a valid reading) is no key: Kinesis refuses
    // partition keys over 256 characters, and the batch would fail on every redelivery.
    const device = topic !== undefined ? deviceIdFromTopic(topic) : undefined;
    const key = device !== undefined && device.length <= MAX_DEVICE_ID_LENGTH ? device : 'unknown';
    return { key, value, timestamp: pending.receivedAt, headers: { 'sluice-reason': Buffer.from(rejection.reason) } };
  }

  private async produce(target: StreamTarget, records: StreamRecordInput[]): Promise<void> {
    if (records.length === 0) return;
    try {
      await withRetry(() => target.client.produce(target.stream, records), {
        retries: this.options.produceRetries,
        isRetriable: (error) => error instanceof SluiceError && error.retriable,
        onRetry: (error, attempt) => this.logger.warn({ err: error, attempt, stream: target.stream }, 'produce failed, retrying'),
      });
    } catch (error) {
      this.metrics.produceFailures.inc({ stream: target.stream });
      throw error;
    }
  }

  private settle(pending: PendingMessage, failure: Error | undefined): void {
    this.inFlight -= 1;
    try {
      pending.ack(failure);
    } catch (error) {
      this.logger.error({ err: error }, 'ingest ack callback threw');
    }
  }

  private waitUntil(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ ready, resolve }));
  }

  private wakeWaiters(): void {
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (waiter.ready()) waiter.resolve();
      else still.push(waiter);
    }
    this.waiters = still;
  }
}

function outcomeOf(result: TelemetryValidationResult): Outcome {
  return result.ok ? { reading: result.reading } : { rejection: result.rejection };
}
