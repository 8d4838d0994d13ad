/**
 * The Kafka adapter of the stream interface, on kafkajs 2.2.4.
 *
 * It owns its connections: one admin and one producer (shared, connected on first use) and one
 * small kafkajs cluster per open reader. close() closes the readers, then the rest; nothing
 * keeps the process alive afterwards.
 */
import { Kafka } from 'kafkajs';
import type { Admin } from 'kafkajs';
import { SluiceError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import type { ConsumerGroupAdminCapable, ConsumerGroupCapable, ConsumerGroupMember, ConsumerGroupOptions, GroupOffsetTarget, GroupOffsets, PartitionId, PartitionInfo, PartitionReader, ProducedRecord, StartPosition, StreamClient, StreamDescription, StreamRecordInput } from '../streamClient';
import { joinKafkaConsumerGroup } from './kafkaConsumerGroup';
import { toSluiceError } from './kafkaErrors';
import { fetchGroupOffsets, setGroupOffsets } from './kafkaGroupAdmin';
import { kafkajsLogCreator, kafkajsLogLevel } from './kafkaLogger';
import { resolveKafkaOptions } from './kafkaOptions';
import type { KafkaStreamClientOptions, ResolvedKafkaOptions } from './kafkaOptions';
import { KafkaPartitionReader } from './kafkaPartitionReader';
import { KafkaRecordProducer, clientClosedError } from './kafkaProducer';
import { resolveStartOffset } from './kafkaStartPosition';
import { KafkaTopics, checkTopicName } from './kafkaTopics';
import { createFetchCluster } from './kafkajsInternals';

export type { KafkaStreamClientOptions } from './kafkaOptions';

const PARTITION_ID = /^(0|[1-9]\d{0,9})$/;

export class KafkaStreamClient implements StreamClient, ConsumerGroupCapable, ConsumerGroupAdminCapable {
  readonly kind = 'kafka' as const;
  private readonly options: ResolvedKafkaOptions;
  private readonly logger: Logger;
  private readonly kafka: Kafka;
  private readonly topics: KafkaTopics;
  private readonly producer: KafkaRecordProducer;
  private readonly readers = new Set<KafkaPartitionReader>();
  private readonly groupMembers = new Set<ConsumerGroupMember>();
  private adminConnection: Promise<Admin> | undefined;
  private closed = false;

  constructor(options: KafkaStreamClientOptions) {
    this.options = resolveKafkaOptions(options);
    this.logger = this.options.logger.child({ component: 'kafka' });
    this.kafka = new Kafka({
      brokers: this.options.brokers,
      clientId: this.options.clientId,
      connectionTimeout: this.options.connectionTimeoutMs,
      requestTimeout: this.options.requestTimeoutMs,
      // connecting and metadata; the producer brings its own count (produceRetries)
      retry: { retries: this.options.retries, initialRetryTime: 100 },
      logLevel: kafkajsLogLevel(this.options.logger),
      logCreator: kafkajsLogCreator(this.options.logger),
    });
    this.topics = new KafkaTopics({ admin: () => this.admin(), requestTimeoutMs: this.options.requestTimeoutMs, metadataCacheMs: this.options.metadataCacheMs });
    this.producer = new KafkaRecordProducer({
      kafka: this.kafka,
      topics: this.topics,
      idempotent: this.options.idempotent,
      produceRetries: this.options.produceRetries,
      requestTimeoutMs: this.options.requestTimeoutMs,
      maxBatchBytes: this.options.maxBatchBytes,
      logger: this.logger,
    });
  }

  async createStream(name: string, partitions: number): Promise<void> {
    this.checkOpen();
    await this.topics.createStream(name, partitions);
  }

  async describeStream(name: string): Promise<StreamDescription> {
    this.checkOpen();
    return this.topics.describeStream(name);
  }

  async listPartitions(name: string): Promise<PartitionInfo[]> {
    return (await this.describeStream(name)).partitions;
  }

  async deleteStream(name: string): Promise<void> {
    this.checkOpen();
    await this.topics.deleteStream(name);
    this.producer.streamDeleted(name);
  }

  async produce(name: string, records: StreamRecordInput[]): Promise<ProducedRecord[]> {
    this.checkOpen();
    return this.producer.produce(name, records);
  }

  async openReader(name: string, partition: PartitionId, start: StartPosition): Promise<PartitionReader> {
    this.checkOpen();
    checkTopicName(name);
    const cluster = createFetchCluster({
      brokers: this.options.brokers,
      clientId: this.options.clientId,
      logger: this.kafka.logger(),
      connectionTimeoutMs: this.options.connectionTimeoutMs,
      requestTimeoutMs: this.options.requestTimeoutMs,
      retry: { retries: this.options.retries, initialRetryTime: 100 },
    });
    try {
      await cluster.connect();
      await cluster.addTargetTopic(name);
      const known = cluster.findTopicPartitionMetadata(name).map((entry) => entry.partitionId);
      if (known.length === 0) throw new SluiceError('STREAM_NOT_FOUND', `kafka openReader "${name}": topic does not exist`);
      const partitionNumber = PARTITION_ID.test(partition) ? Number(partition) : -1;
      if (!known.includes(partitionNumber)) {
        throw new SluiceError('PARTITION_NOT_FOUND', `kafka topic "${name}" has no partition "${partition}" (it has 0..${known.length - 1})`);
      }
      const startOffset = await resolveStartOffset(cluster, name, partitionNumber, start);
      const reader: KafkaPartitionReader = new KafkaPartitionReader(
        {
          cluster,
          logger: this.logger,
          retries: this.options.retries,
          fetchMaxBytes: this.options.fetchMaxBytes,
          maxFetchWaitMs: this.options.fetchMaxWaitMs,
          streamExists: (stream) => this.topics.exists(stream),
          onClose: () => this.readers.delete(reader),
        },
        name,
        partitionNumber,
        startOffset,
      );
      this.readers.add(reader);
      // close() may have run while this reader was opening
      if (this.closed) {
        await reader.close();
        throw clientClosedError();
      }
      return reader;
    } catch (error) {
      await cluster.disconnect().catch(() => undefined);
      throw toSluiceError(error, { operation: 'openReader', stream: name, partition });
    }
  }

  /** A member of Kafka consumer group `options.groupId` on the topic (kafkaConsumerGroup.ts); close() stops it. */
  async joinConsumerGroup(stream: string, options: ConsumerGroupOptions): Promise<ConsumerGroupMember> {
    this.checkOpen();
    checkTopicName(stream);
    // STREAM_NOT_FOUND now, rather than after kafkajs' metadata retries
    await this.topics.describeStream(stream);
    // A member gets its own admin: kafkajs' admin starts tracking every topic it looks up
    // offsets for, and once such a topic is deleted every later call of that admin fails
    // (UNKNOWN_TOPIC_OR_PARTITION), which would break the shared admin's createStream/deleteStream.
    let memberAdmin: Promise<Admin> | undefined;
    const admin = (): Promise<Admin> => {
      memberAdmin ??= (async () => {
        const created = this.kafka.admin();
        await created.connect();
        return created;
      })();
      return memberAdmin;
    };
    const deps = { kafka: this.kafka, admin, logger: this.logger, maxBytesPerPartition: this.options.fetchMaxBytes, retries: this.options.retries };
    const member = await joinKafkaConsumerGroup({
      ...deps,
      onStopped: () => {
        this.groupMembers.delete(member);
        void memberAdmin?.then((created) => created.disconnect()).catch(() => undefined);
      },
    }, stream, options);
    this.groupMembers.add(member);
    if (this.closed) {
      await member.stop();
      throw clientClosedError();
    }
    return member;
  }

  /** The group's committed offsets on the topic, with the log bounds and lag (kafkaGroupAdmin.ts). */
  async groupOffsets(stream: string, groupId: string): Promise<GroupOffsets> {
    return this.withOwnAdmin(stream, 'groupOffsets', (admin) => fetchGroupOffsets(admin, stream, groupId));
  }

  /** Moves the group's committed offsets; OPERATION_INVALID while the group has running members. */
  async setGroupOffsets(stream: string, groupId: string, offsets: ReadonlyArray<{ partition: PartitionId; target: GroupOffsetTarget }>): Promise<GroupOffsets> {
    return this.withOwnAdmin(stream, 'setGroupOffsets', (admin) => setGroupOffsets(admin, stream, groupId, offsets));
  }

  /** A short-lived admin: one that looked up a topic's offsets fails once that topic is deleted (see joinConsumerGroup). */
  private async withOwnAdmin<T>(stream: string, operation: string, use: (admin: Admin) => Promise<T>): Promise<T> {
    this.checkOpen();
    checkTopicName(stream);
    await this.topics.describeStream(stream);
    const admin = this.kafka.admin({ retry: { retries: this.options.retries, initialRetryTime: 100 } });
    try {
      await admin.connect();
      return await use(admin);
    } catch (error) {
      throw toSluiceError(error, { operation, stream });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.groupMembers].map((member) => member.stop()));
    await Promise.all([...this.readers].map((reader) => reader.close()));
    await this.producer.close();
    const admin = this.adminConnection;
    this.adminConnection = undefined;
    if (admin) await admin.then((connected) => connected.disconnect()).catch(() => undefined);
  }

  private checkOpen(): void {
    if (this.closed) throw clientClosedError();
  }

  /** The admin client, connected on first use; a failed connect is retried by the next call. */
  private admin(): Promise<Admin> {
    if (this.closed) return Promise.reject(clientClosedError());
    if (!this.adminConnection) {
      const admin = this.kafka.admin({ retry: { retries: this.options.retries, initialRetryTime: 100 } });
      const connection = admin.connect().then(
        () => admin,
        async (error: unknown) => {
          if (this.adminConnection === connection) this.adminConnection = undefined;
          await admin.disconnect().catch(() => undefined);
          throw toSluiceError(error, { operation: 'connect admin' });
        },
      );
      this.adminConnection = connection;
    }
    return this.adminConnection;
  }
}

export function createKafkaStreamClient(options: KafkaStreamClientOptions): StreamClient {
  return new KafkaStreamClient(options);
}
