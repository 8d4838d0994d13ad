/**
 * produce() on one shared kafkajs producer (acks=all, idempotent unless configured otherwise).
 *
 * kafkajs keeps every topic a producer ever sent to in its metadata requests; once one of them
 * is deleted, every later send fails with UNKNOWN_TOPIC_OR_PARTITION, whatever its topic. So
 * the producer is replaced ("retired") when this client deletes a topic it wrote to, and when a
 * send fails that way although its own topic exists (someone else deleted another one).
 */
import { Partitioners } from 'kafkajs';
import type { Kafka, Message, Producer, RecordMetadata } from 'kafkajs';
import { SluiceError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import type { ProducedRecord, StreamRecordInput } from '../streamClient';
import { isKafkaErrorType, toSluiceError } from './kafkaErrors';
import type { KafkaTopics } from './kafkaTopics';
import { checkTopicName } from './kafkaTopics';
import { addToOffset, planProduce } from './producePlan';
import type { ProduceRound } from './producePlan';

export interface KafkaProducerDeps {
  kafka: Kafka;
  topics: KafkaTopics;
  idempotent: boolean;
  produceRetries: number;
  requestTimeoutMs: number;
  maxBatchBytes: number | undefined;
  logger: Logger;
}

interface ProducerHandle {
  producer: Producer;
  ready: Promise<void>;
  /** topics this producer has sent to: the ones whose deletion poisons it */
  topics: Set<string>;
  inFlight: number;
  retired: boolean;
  disconnected: boolean;
}

export function clientClosedError(): SluiceError {
  return new SluiceError('READER_CLOSED', 'the Kafka stream client is closed');
}

function messagesOf(round: ProduceRound): Message[] {
  const messages: Message[] = [];
  for (const planned of round.values()) for (const { message } of planned) messages.push(message);
  return messages;
}

export class KafkaRecordProducer {
  private current: ProducerHandle | undefined;
  private readonly disconnecting = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly deps: KafkaProducerDeps) {}

  async produce(stream: string, records: StreamRecordInput[]): Promise<ProducedRecord[]> {
    if (this.closed) throw clientClosedError();
    checkTopicName(stream);
    if (!Array.isArray(records)) throw new SluiceError('RECORD_INVALID', `kafka produce to "${stream}": records must be an array`);
    const facts = await this.deps.topics.topicFacts(stream);
    if (records.length === 0) return [];
    const maxBatchBytes = Math.min(facts.maxMessageBytes, this.deps.maxBatchBytes ?? Number.MAX_SAFE_INTEGER);
    const rounds = planProduce(records, { stream, partitions: facts.partitions, maxBatchBytes });
    const positions = new Array<ProducedRecord>(records.length);
    // One round after another: round k+1 holds later records of the same partitions.
    for (const round of rounds) await this.sendRound(stream, round, positions);
    return positions;
  }

  /** Replaces the producer if it wrote to `stream`, which was just deleted. */
  streamDeleted(stream: string): void {
    this.deps.topics.forget(stream);
    if (this.current?.topics.has(stream)) this.retire(this.current);
  }

  async close(): Promise<void> {
    this.closed = true;
    const handle = this.current;
    this.current = undefined;
    if (handle) {
      handle.retired = true;
      this.disconnect(handle);
    }
    await Promise.all([...this.disconnecting]);
  }

  private async sendRound(stream: string, round: ProduceRound, positions: ProducedRecord[]): Promise<void> {
    let pending = round;
    for (let attempt = 0; ; attempt++) {
      const handle = await this.acquire();
      let metadata: RecordMetadata[];
      try {
        handle.topics.add(stream);
        metadata = await handle.producer.send({ topic: stream, acks: -1, timeout: this.deps.requestTimeoutMs, messages: messagesOf(pending) });
      } catch (error) {
        if (isKafkaErrorType(error, 'UNKNOWN_TOPIC_OR_PARTITION')) {
          // Either our topic is gone, or another topic this producer wrote to was deleted and
          // poisons its metadata requests. Both ways this producer is done for.
          this.retire(handle);
          this.deps.topics.forget(stream);
          if (!(await this.deps.topics.exists(stream))) throw new SluiceError('STREAM_NOT_FOUND', `kafka produce to "${stream}": topic does not exist`, { cause: error });
          // kafkajs failed while refreshing metadata, before sending: nothing of this round was written.
          if (attempt === 0) continue;
        }
        if (isKafkaErrorType(error, 'MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE')) this.deps.topics.forget(stream);
        throw toSluiceError(error, { operation: 'produce to', stream });
      } finally {
        this.release(handle);
      }
      const unsent = this.assignPositions(stream, pending, metadata, positions);
      if (unsent.size === 0) return;
      // kafkajs silently leaves out partitions its (older) metadata does not know yet, e.g. just
      // added ones. A fresh producer knows them; send only what is missing.
      if (attempt > 0) throw new SluiceError('PRODUCE_FAILED', `kafka produce to "${stream}": no acknowledgement for partitions ${[...unsent.keys()].join(', ')}`);
      this.deps.logger.debug({ stream, partitions: [...unsent.keys()] }, 'producer metadata missed partitions; retrying them on a fresh producer');
      this.retire(handle);
      pending = unsent;
    }
  }

  /** Fills in positions from the per-partition base offsets; returns the partitions without an answer. */
  private assignPositions(stream: string, round: ProduceRound, metadata: RecordMetadata[], positions: ProducedRecord[]): ProduceRound {
    const unsent: ProduceRound = new Map();
    for (const [partition, planned] of round) {
      const answer = metadata.find((entry) => entry.partition === partition && entry.topicName === stream);
      if (!answer) {
        unsent.set(partition, planned);
        continue;
      }
      const base = answer.baseOffset;
      if (answer.errorCode !== 0 || base === undefined || !/^\d+$/.test(base)) {
        throw new SluiceError('PRODUCE_FAILED', `kafka produce to "${stream}" partition ${partition}: unexpected answer (error code ${answer.errorCode}, base offset ${String(base)})`);
      }
      const partitionId = String(partition);
      // The broker appends the batch as one unit: record i of the batch has offset base + i.
      const baseNumber = Number(base);
      const exactAsNumber = Number.isSafeInteger(baseNumber + planned.length);
      planned.forEach(({ index }, i) => {
        positions[index] = { partition: partitionId, position: exactAsNumber ? String(baseNumber + i) : addToOffset(base, i) };
      });
    }
    return unsent;
  }

  private async acquire(): Promise<ProducerHandle> {
    if (this.closed) throw clientClosedError();
    let handle = this.current;
    if (!handle || handle.retired) {
      handle = this.createHandle();
      this.current = handle;
    }
    handle.inFlight += 1;
    try {
      await handle.ready;
    } catch (error) {
      this.retire(handle);
      this.release(handle);
      throw toSluiceError(error, { operation: 'connect producer' });
    }
    return handle;
  }

  private createHandle(): ProducerHandle {
    const producer = this.deps.kafka.producer({
      idempotent: this.deps.idempotent,
      allowAutoTopicCreation: false,
      // Partitions are chosen in producePlan with the same partitioner; naming it here also
      // keeps kafkajs from warning about its v2 partitioner change.
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: this.deps.produceRetries, initialRetryTime: 100 },
    });
    return { producer, ready: producer.connect(), topics: new Set(), inFlight: 0, retired: false, disconnected: false };
  }

  private release(handle: ProducerHandle): void {
    handle.inFlight -= 1;
    if (handle.retired && handle.inFlight === 0) this.disconnect(handle);
  }

  private retire(handle: ProducerHandle): void {
    if (this.current === handle) this.current = undefined;
    if (handle.retired) return;
    handle.retired = true;
    if (handle.inFlight === 0) this.disconnect(handle);
  }

  private disconnect(handle: ProducerHandle): void {
    if (handle.disconnected) return;
    handle.disconnected = true;
    const done = handle.producer
      .disconnect()
      .catch((error: unknown) => this.deps.logger.debug({ err: error }, 'kafka producer disconnect failed'))
      .finally(() => this.disconnecting.delete(done));
    this.disconnecting.add(done);
  }
}
