/**
 * The one place sluice reaches inside kafkajs, and why.
 *
 * A PartitionReader pulls one partition from a position we choose: what the Java client calls
 * assign() + seek() + poll(). kafkajs 2.2.4 has no manual assignment: its only consumer joins a
 * consumer group and pushes batches to a callback. Faking assignment with a throwaway group
 * costs a JoinGroup/SyncGroup per reader (3 s each on brokers with the default
 * group.initial.rebalance.delay.ms), heartbeats, leftover groups on the broker, and a rejoin
 * would reset the position to the group's (never committed) offset.
 *
 * kafkajs' consumer itself is built from two lower pieces: a Cluster (connections, metadata,
 * leader lookup, API version negotiation, ListOffsets) and Broker.fetch (the Fetch request,
 * decoding, decompression, partial trailing batches), plus Batch (drops control records,
 * aborted transactions and records below the fetch offset). We use exactly those and leave out
 * the group protocol, so every byte on the wire is still kafkajs' own code.
 *
 * kafkajs 2.2.4 is its final release and package.json pins it exactly, so these internals do
 * not move under us; test/streams/kafka/kafkajsInternals.test.ts fails loudly if they ever do.
 */
import type { Logger as KafkajsLogger, PartitionMetadata, RetryOptions } from 'kafkajs';

/** A record as kafkajs' Fetch decoder returns it (record batch v2). */
export interface FetchedMessage {
  offset: string;
  /** epoch ms as a decimal string; for LOG_APPEND_TIME batches the broker's append time */
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  /** a header key sent more than once arrives as an array */
  headers: Record<string, Buffer | Buffer[] | undefined>;
  isControlRecord: boolean;
  batchContext?: {
    firstOffset: string;
    lastOffsetDelta: number;
    /** 0 CREATE_TIME, 1 LOG_APPEND_TIME */
    timestampType: number;
  };
}

export interface FetchedPartition {
  partition: number;
  errorCode: number;
  highWatermark: string;
  lastStableOffset: string;
  abortedTransactions: Array<{ producerId: string; firstOffset: string }>;
  messages: FetchedMessage[];
}

export interface FetchResponse {
  responses: Array<{ topicName: string; partitions: FetchedPartition[] }>;
}

export interface FetchRequest {
  isolationLevel: number;
  /** how long the broker may hold the request when it has less than minBytes */
  maxWaitTime: number;
  minBytes: number;
  maxBytes: number;
  topics: Array<{ topic: string; partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }> }>;
}

export interface KafkajsBroker {
  fetch(request: FetchRequest): Promise<FetchResponse>;
}

export interface ListOffsetsQuery {
  topic: string;
  partitions: Array<{ partition: number }>;
  fromBeginning?: boolean;
  fromTimestamp?: number;
}

export interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findTopicPartitionMetadata(topic: string): PartitionMetadata[];
  /** `{ [leaderNodeId]: [partition, ...] }` */
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(query: { nodeId: string }): Promise<KafkajsBroker>;
  /** ListOffsets: earliest (fromBeginning), latest, or the first offset at/after fromTimestamp (-1 if none) */
  fetchTopicsOffset(queries: ListOffsetsQuery[]): Promise<Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>;
}

/** kafkajs' Batch: the fetched records without control records, aborted ones, or ones below the fetch offset. */
export interface KafkajsBatch {
  messages: FetchedMessage[];
}

interface ClusterOptions {
  logger: KafkajsLogger;
  socketFactory: unknown;
  brokers: string[];
  clientId: string;
  connectionTimeout: number;
  requestTimeout: number;
  enforceRequestTimeout: boolean;
  metadataMaxAge: number;
  retry: RetryOptions;
  allowAutoTopicCreation: boolean;
  maxInFlightRequests: number | null;
  isolationLevel: number;
  instrumentationEmitter: null;
  offsets: Map<string, unknown>;
}

type ClusterConstructor = new (options: ClusterOptions) => KafkajsCluster;
type BatchConstructor = new (topic: string, fetchedOffset: string, partitionData: FetchedPartition) => KafkajsBatch;

/* eslint-disable @typescript-eslint/no-require-imports -- kafkajs ships no types or exports for these modules; see the header */
const Cluster = require('kafkajs/src/cluster') as ClusterConstructor;
const Batch = require('kafkajs/src/consumer/batch') as BatchConstructor;
const createSocketFactory = require('kafkajs/src/network/socketFactory') as () => unknown;
const ISOLATION_LEVEL = require('kafkajs/src/protocol/isolationLevel') as { READ_UNCOMMITTED: number; READ_COMMITTED: number };
/* eslint-enable @typescript-eslint/no-require-imports */

/** Only committed records, like the Java consumer's isolation.level=read_committed. */
export const READ_COMMITTED: number = ISOLATION_LEVEL.READ_COMMITTED;

export interface FetchClusterOptions {
  brokers: string[];
  clientId: string;
  /** `kafka.logger()` of a public kafkajs client, so the cluster logs where the rest does */
  logger: KafkajsLogger;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  retry: RetryOptions;
}

/**
 * A Cluster of its own for one reader: kafkajs sends every Fetch of a Cluster over one
 * connection per broker, and the broker answers one request per connection at a time, so two
 * readers long-polling on a shared connection would wait for each other.
 */
export function createFetchCluster(options: FetchClusterOptions): KafkajsCluster {
  return new Cluster({
    logger: options.logger,
    socketFactory: createSocketFactory(),
    brokers: options.brokers,
    clientId: options.clientId,
    connectionTimeout: options.connectionTimeoutMs,
    requestTimeout: options.requestTimeoutMs,
    enforceRequestTimeout: true,
    metadataMaxAge: 300_000,
    retry: options.retry,
    // A metadata request for a missing topic must not create it (brokers default to auto.create.topics.enable=true).
    allowAutoTopicCreation: false,
    maxInFlightRequests: null,
    isolationLevel: READ_COMMITTED,
    instrumentationEmitter: null,
    offsets: new Map(),
  });
}

/**
 * The records of a Fetch a reader delivers: not control records, not aborted transactions, not
 * the records of the first batch below the fetch offset (a Fetch starts at a batch boundary).
 * Without aborted transactions in the answer this is a plain scan; with them, kafkajs' Batch
 * (its consumer's own filter) matches records to the aborted producers.
 */
export function filterFetchedPartition(topic: string, fetchOffset: string, partitionData: FetchedPartition): FetchedMessage[] {
  if (partitionData.abortedTransactions.length > 0) return new Batch(topic, fetchOffset, partitionData).messages;
  const { messages } = partitionData;
  const from = BigInt(fetchOffset);
  // Offsets grow along the answer: only a leading run can be below the fetch offset.
  let first = 0;
  while (first < messages.length && BigInt((messages[first] as FetchedMessage).offset) < from) first += 1;
  const delivered: FetchedMessage[] = [];
  for (let index = first; index < messages.length; index++) {
    const message = messages[index] as FetchedMessage;
    if (!message.isControlRecord) delivered.push(message);
  }
  return delivered;
}
