/**
 * Topic operations on the kafkajs admin client: create, describe, delete, and the per-topic facts
 * the producer needs (partitions and the broker's batch size limit), cached briefly.
 *
 * Only admin calls that never add a "target topic" to the admin's kafkajs cluster are used here
 * (createTopics, deleteTopics, fetchTopicMetadata, describeConfigs): kafkajs refreshes metadata
 * for all target topics at once and fails every later call once one of them is deleted.
 */
import { ConfigResourceTypes } from 'kafkajs';
import type { Admin, PartitionMetadata } from 'kafkajs';
import { ConfigError, SluiceError, isSluiceError } from '../../core/errors';
import { sleep, withRetry } from '../../core/retry';
import type { PartitionInfo, StreamDescription } from '../streamClient';
import { isKafkaErrorType, toSluiceError } from './kafkaErrors';

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;
/** Kafka's default max.message.bytes, used when the broker does not report the topic's own */
const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;
const MAX_PARTITIONS = 10_000;

export interface TopicFacts {
  /** sorted by partition id; ids are 0..n-1 */
  partitions: PartitionMetadata[];
  /** the largest record batch one partition takes (topic config max.message.bytes) */
  maxMessageBytes: number;
}

export interface KafkaTopicsOptions {
  admin: () => Promise<Admin>;
  requestTimeoutMs: number;
  metadataCacheMs: number;
}

export function checkTopicName(name: string): void {
  if (typeof name !== 'string' || !TOPIC_NAME.test(name) || name === '.' || name === '..') {
    throw new SluiceError('ADDRESS_INVALID', `"${String(name)}" is not a valid Kafka topic name (letters, digits, . _ -; 1..249 chars)`);
  }
}

export function partitionInfos(partitions: PartitionMetadata[]): PartitionInfo[] {
  return partitions.map((partition) => ({ id: String(partition.partitionId), parents: [], closed: false }));
}

export class KafkaTopics {
  private readonly facts = new Map<string, { facts: TopicFacts; expiresAt: number }>();

  constructor(private readonly options: KafkaTopicsOptions) {}

  async createStream(name: string, partitions: number): Promise<void> {
    checkTopicName(name);
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
      throw new ConfigError('partitions', `must be an integer 1..${MAX_PARTITIONS}, got ${String(partitions)}`);
    }
    const admin = await this.options.admin();
    let created: boolean;
    try {
      // waitForLeaders: resolves once every partition has a leader, i.e. the topic takes records.
      created = await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions }], waitForLeaders: true, timeout: this.options.requestTimeoutMs });
    } catch (error) {
      // A broker that has just started can accept the topic and then answer kafkajs' leader wait
      // with "does not host this topic-partition" until its metadata catches up: wait for it here.
      if (!isKafkaErrorType(error, 'UNKNOWN_TOPIC_OR_PARTITION') && !isKafkaErrorType(error, 'LEADER_NOT_AVAILABLE')) throw toSluiceError(error, { operation: 'createStream', stream: name });
      const deadline = Date.now() + this.options.requestTimeoutMs;
      this.facts.delete(name);
      while (!(await this.exists(name).catch(() => false))) {
        if (Date.now() > deadline) throw toSluiceError(error, { operation: 'createStream', stream: name });
        await sleep(100);
      }
      created = true;
    }
    this.facts.delete(name);
    // kafkajs answers false (rather than throwing) when the broker says TOPIC_ALREADY_EXISTS.
    if (!created) throw new SluiceError('STREAM_EXISTS', `kafka topic "${name}" already exists`);
  }

  /** Fresh partition metadata; STREAM_NOT_FOUND if the topic does not exist. */
  async partitionMetadata(name: string, operation: string): Promise<PartitionMetadata[]> {
    checkTopicName(name);
    const admin = await this.options.admin();
    try {
      const { topics } = await this.fetchTopicMetadata(admin, name, operation);
      const topic = topics.find((entry) => entry.name === name);
      if (!topic || topic.partitions.length === 0) throw new SluiceError('STREAM_NOT_FOUND', `kafka ${operation} "${name}": topic does not exist`);
      return [...topic.partitions].sort((a, b) => a.partitionId - b.partitionId);
    } catch (error) {
      throw toSluiceError(error, { operation, stream: name });
    }
  }

  /**
   * admin.fetchTopicMetadata, except for one kafkajs flaw: when its cached cluster metadata
   * still lists the topic (just deleted, the broker catching up), kafkajs swallows the broker's
   * UNKNOWN_TOPIC_OR_PARTITION and fails with a TypeError on a null answer. The list of all
   * topics carries no per-topic error, so it decides then.
   */
  private async fetchTopicMetadata(admin: Admin, name: string, operation: string): Promise<{ topics: Array<{ name: string; partitions: PartitionMetadata[] }> }> {
    return withRetry(() => this.fetchTopicMetadataOnce(admin, name, operation), { retries: 3, initialDelayMs: 50, isRetriable: (error) => isSluiceError(error, 'STREAM_NOT_READY') });
  }

  private async fetchTopicMetadataOnce(admin: Admin, name: string, operation: string): Promise<{ topics: Array<{ name: string; partitions: PartitionMetadata[] }> }> {
    try {
      return await admin.fetchTopicMetadata({ topics: [name] });
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      let all: string[];
      try {
        all = await admin.listTopics();
      } catch {
        throw new SluiceError('CONNECTION_FAILED', `kafka ${operation} "${name}": no broker answered the metadata request`, { cause: error });
      }
      if (!all.includes(name)) throw new SluiceError('STREAM_NOT_FOUND', `kafka ${operation} "${name}": topic does not exist`, { cause: error });
      throw new SluiceError('STREAM_NOT_READY', `kafka ${operation} "${name}": the broker did not answer for the topic`, { cause: error });
    }
  }

  async describeStream(name: string): Promise<StreamDescription> {
    const partitions = await this.partitionMetadata(name, 'describeStream');
    return { name, kind: 'kafka', partitions: partitionInfos(partitions) };
  }

  async exists(name: string): Promise<boolean> {
    try {
      await this.partitionMetadata(name, 'describeStream');
      return true;
    } catch (error) {
      if (isSluiceError(error, 'STREAM_NOT_FOUND')) return false;
      throw error;
    }
  }

  async deleteStream(name: string): Promise<void> {
    await this.partitionMetadata(name, 'deleteStream');
    const admin = await this.options.admin();
    try {
      await admin.deleteTopics({ topics: [name], timeout: this.options.requestTimeoutMs });
    } catch (error) {
      if (!isKafkaErrorType(error, 'UNKNOWN_TOPIC_OR_PARTITION')) throw toSluiceError(error, { operation: 'deleteStream', stream: name });
    } finally {
      this.facts.delete(name);
    }
    // The controller has accepted the deletion; wait until the broker's metadata stops listing
    // the topic, so a describe right after this resolves says STREAM_NOT_FOUND.
    const deadline = Date.now() + this.options.requestTimeoutMs;
    while ((await this.exists(name)) && Date.now() < deadline) await sleep(50);
  }

  /** Partitions and size limit for produce, cached for metadataCacheMs. */
  async topicFacts(name: string): Promise<TopicFacts> {
    const cached = this.facts.get(name);
    if (cached && cached.expiresAt > Date.now()) return cached.facts;
    const partitions = await this.partitionMetadata(name, 'produce to');
    const facts: TopicFacts = { partitions, maxMessageBytes: await this.maxMessageBytes(name) };
    this.facts.set(name, { facts, expiresAt: Date.now() + this.options.metadataCacheMs });
    return facts;
  }

  forget(name: string): void {
    this.facts.delete(name);
  }

  private async maxMessageBytes(name: string): Promise<number> {
    const admin = await this.options.admin();
    try {
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name, configNames: ['max.message.bytes'] }],
      });
      const value = resources[0]?.configEntries.find((entry) => entry.configName === 'max.message.bytes')?.configValue;
      const bytes = Number(value);
      return Number.isInteger(bytes) && bytes > 0 ? bytes : DEFAULT_MAX_MESSAGE_BYTES;
    } catch (error) {
      throw toSluiceError(error, { operation: 'produce to', stream: name });
    }
  }
}
