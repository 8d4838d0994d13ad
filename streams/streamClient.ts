/**
 * The one narrow interface between sluice and a log-structured stream (Kafka or Kinesis).
 * Everything above streams/ (runtime, ingest, processors, cli) talks to this and never
 * imports kafkajs or the AWS SDK. An adapter is done when test/conformance passes for it.
 *
 * Vocabulary: a *stream* is a Kafka topic or a Kinesis stream; a *partition* is a Kafka
 * partition ("0", "1", ...) or a Kinesis shard ("shardId-000000000000"); a *position* is a
 * Kafka offset or a Kinesis sequence number, always as a decimal string (both exceed 2^53).
 */

export type StreamKind = 'kafka' | 'kinesis';
export type PartitionId = string;
export type Position = string;

/** What a producer hands in. `key` decides the partition: records with one key stay in order. */
export interface StreamRecordInput {
  key: string;
  value: Buffer;
  headers?: Record<string, Buffer>;
  /** event/create time in epoch ms; Kafka stores it as CREATE_TIME, Kinesis keeps it in the header envelope */
  timestamp?: number;
}

/** Where a produced record landed. */
export interface ProducedRecord {
  partition: PartitionId;
  position: Position;
}

/** A record read back from a partition. */
export interface StreamRecord {
  stream: string;
  partition: PartitionId;
  position: Position;
  key: string;
  value: Buffer;
  headers: Record<string, Buffer>;
  /** the producer's timestamp (epoch ms) if it gave one, else the arrival time */
  timestamp: number;
  /** when the stream accepted it (epoch ms): Kinesis ApproximateArrivalTimestamp, Kafka LOG_APPEND_TIME or the create time */
  arrivalTime: number;
}

export type StartPosition =
  | { type: 'earliest' } // Kinesis TRIM_HORIZON, Kafka earliest offset
  | { type: 'latest' } // only records produced after the reader opened
  | { type: 'at-timestamp'; timestamp: number } // first record with arrival time >= timestamp (epoch ms)
  | { type: 'at'; position: Position } // this record and the ones after it
  | { type: 'after'; position: Position }; // resume after a checkpoint

export interface PartitionInfo {
  id: PartitionId;
  /** Kinesis parent shards after a split or merge; always empty on Kafka */
  parents: PartitionId[];
  /** a closed Kinesis shard takes no new records; a reader reaches its end */
  closed: boolean;
}

export interface StreamDescription {
  name: string;
  kind: StreamKind;
  /** every partition, open and closed, sorted so that parents come before children */
  partitions: PartitionInfo[];
}

export interface ReadResult {
  records: StreamRecord[];
  /** true once a closed partition has been read to its end: nothing more will ever come */
  endOfPartition: boolean;
  /** how far this reader is behind the partition's newest record in ms, when the stream says (Kinesis MillisBehindLatest) */
  millisBehindLatest?: number;
}

export interface ReadOptions {
  /** at most this many records (default 1000) */
  maxRecords?: number;
  /** wait at most this long for the first record before returning an empty result (default 0: return at once) */
  waitMs?: number;
}

/** Reads one partition in order from a start position. Not safe for concurrent `read` calls. */
export interface PartitionReader {
  readonly partition: PartitionId;
  read(options?: ReadOptions): Promise<ReadResult>;
  close(): Promise<void>;
}

export interface StreamClient {
  readonly kind: StreamKind;
  /** Creates the stream and waits until it takes records. STREAM_EXISTS if it exists. */
  createStream(name: string, partitions: number): Promise<void>;
  /** STREAM_NOT_FOUND if it does not exist. */
  describeStream(name: string): Promise<StreamDescription>;
  listPartitions(name: string): Promise<PartitionInfo[]>;
  deleteStream(name: string): Promise<void>;
  /**
   * Appends records and returns where each landed, in input order. Splits at the stream's
   * limits and retries what a partial failure left behind; resolves only once every record
   * is durable (Kafka acks=all; Kinesis PutRecords success), or rejects.
   */
  produce(name: string, records: StreamRecordInput[]): Promise<ProducedRecord[]>;
  openReader(name: string, partition: PartitionId, start: StartPosition): Promise<PartitionReader>;
  close(): Promise<void>;
}

/**
 * A partition handed to this member of a consumer group (Kafka's own group protocol). The
 * member reads it, and commits to the group only what it finished, like Lambda's MSK poller.
 */
export interface GroupPartitionAssignment {
  partition: PartitionId;
  /** reads from the group's committed offset, or from the group's start position if none */
  reader: PartitionReader;
  /** records up to and including `position` are done: commit the next offset to the group. Rejects with LEASE_LOST (ownership lost, as with Kinesis leases) once revoked. */
  commit(position: Position): Promise<void>;
  /** aborted when the group takes the partition away (rebalance, member leaving) */
  revoked: AbortSignal;
}

export interface ConsumerGroupOptions {
  groupId: string;
  /** where a partition with no committed offset starts */
  start: StartPosition;
  onAssigned(assignment: GroupPartitionAssignment): void;
  /** called after the assignment's `revoked` signal aborted; await to let in-flight work settle before the rebalance completes */
  onRevoked?(partition: PartitionId): Promise<void>;
  sessionTimeoutMs?: number;
}

export interface ConsumerGroupMember {
  readonly memberId: string | undefined;
  assignedPartitions(): PartitionId[];
  /** leaves the group (partitions move to other members at once) */
  stop(): Promise<void>;
}

/** Streams whose server coordinates consumers itself (Kafka). Kinesis has none: sluice uses Redis leases there. */
export interface ConsumerGroupCapable {
  joinConsumerGroup(stream: string, options: ConsumerGroupOptions): Promise<ConsumerGroupMember>;
}

export function supportsConsumerGroups(client: StreamClient): client is StreamClient & ConsumerGroupCapable {
  return typeof (client as Partial<ConsumerGroupCapable>).joinConsumerGroup === 'function';
}

/** One partition of a consumer group's view of a topic (`sluice checkpoints show` on Kafka). */
export interface GroupPartitionOffset {
  partition: PartitionId;
  /** the committed offset: the next record the group reads; null when the group never committed this partition */
  committed: Position | null;
  /** the log's first and next-to-be-written offsets */
  low: Position;
  high: Position;
  /** records between the committed offset (or the log start) and the end of the log */
  lag: number;
}

export interface GroupOffsets {
  groupId: string;
  /** the broker's group state: Stable, Empty, Dead (unknown group), PreparingRebalance, ... */
  state: string;
  /** member ids of the running members (clients) of the group */
  members: string[];
  partitions: GroupPartitionOffset[];
}

/** Where `setGroupOffsets` moves a partition: the group's next read starts exactly there. */
export type GroupOffsetTarget = Extract<StartPosition, { type: 'earliest' | 'latest' | 'at-timestamp' | 'at' }>;

/** Streams whose consumer-group offsets can be read and moved by an admin (Kafka). */
export interface ConsumerGroupAdminCapable {
  groupOffsets(stream: string, groupId: string): Promise<GroupOffsets>;
  /** OPERATION_INVALID while the group has running members: the workers must stop first. */
  setGroupOffsets(stream: string, groupId: string, offsets: ReadonlyArray<{ partition: PartitionId; target: GroupOffsetTarget }>): Promise<GroupOffsets>;
}

export function supportsGroupAdmin(client: StreamClient): client is StreamClient & ConsumerGroupAdminCapable {
  const candidate = client as Partial<ConsumerGroupAdminCapable>;
  return typeof candidate.groupOffsets === 'function' && typeof candidate.setGroupOffsets === 'function';
}
