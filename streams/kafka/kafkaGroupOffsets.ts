/**
 * Where a consumer-group assignment starts, and the validated settings of a group member.
 *
 * A partition starts at the group's committed offset. With none (a new group, or a partition
 * the group never committed), it starts at the member's start position: earliest, latest (the
 * high watermark when the partition is first assigned) or at-timestamp, like Lambda's
 * StartingPosition for a new mapping. A committed offset that retention removed from the log
 * starts at the log start instead (the records are gone), one beyond the end at the end.
 */
import type { Admin } from 'kafkajs';
import { ConfigError, SluiceError } from '../../core/errors';
import type { ConsumerGroupOptions, Position, StartPosition } from '../streamClient';

const OFFSET = /^(0|[1-9]\d{0,18})$/;
const MAX_OFFSET = 2n ** 63n - 1n;

export type GroupStartPosition = Extract<StartPosition, { type: 'earliest' | 'latest' | 'at-timestamp' }>;

export interface GroupMemberSettings {
  groupId: string;
  start: GroupStartPosition;
  sessionTimeoutMs: number;
  /** how often kafkajs heartbeats: a rebalance is noticed within about this long */
  heartbeatIntervalMs: number;
  /** how long the group waits for every member to rejoin during a rebalance */
  rebalanceTimeoutMs: number;
  /** longest Fetch long poll: also how long a resumed partition may wait for its next Fetch */
  maxWaitTimeMs: number;
}

export interface PartitionStart {
  offset: bigint;
  /** the group had committed this offset; otherwise it came from the start position */
  committed: boolean;
}

/** A Kafka offset as a bigint; POSITION_INVALID for anything else. */
export function parseKafkaOffset(position: Position): bigint {
  if (typeof position !== 'string' || !OFFSET.test(position) || BigInt(position) > MAX_OFFSET) {
    throw new SluiceError('POSITION_INVALID', `"${String(position)}" is not a Kafka offset (a decimal integer 0..2^63-1)`);
  }
  return BigInt(position);
}

function groupStart(start: StartPosition | undefined): GroupStartPosition {
  if (start?.type === 'earliest' || start?.type === 'latest') return start;
  if (start?.type === 'at-timestamp') {
    if (!Number.isFinite(start.timestamp) || start.timestamp < 0) throw new ConfigError('consumerGroup.start.timestamp', `must be a non-negative epoch-ms timestamp, got ${String(start.timestamp)}`);
    return start;
  }
  // One position means nothing across a group's partitions; the group's own commits are the "after".
  throw new ConfigError('consumerGroup.start', `must be earliest, latest or at-timestamp, got ${JSON.stringify(start)}`);
}

export function resolveGroupMemberSettings(options: ConsumerGroupOptions): GroupMemberSettings {
  if (typeof options.groupId !== 'string' || !/^[\x21-\x7e]{1,249}$/.test(options.groupId)) {
    throw new ConfigError('consumerGroup.groupId', `must be 1..249 printable ASCII characters without spaces, got ${JSON.stringify(options.groupId)}`);
  }
  if (typeof options.onAssigned !== 'function') throw new ConfigError('consumerGroup.onAssigned', 'must be a function');
  if (options.onRevoked !== undefined && typeof options.onRevoked !== 'function') throw new ConfigError('consumerGroup.onRevoked', 'must be a function when given');
  const sessionTimeoutMs = options.sessionTimeoutMs ?? 30_000;
  // The broker has its own bounds (group.min/max.session.timeout.ms, 6 s..30 min by default).
  if (!Number.isInteger(sessionTimeoutMs) || sessionTimeoutMs < 1000 || sessionTimeoutMs > 3_600_000) {
    throw new ConfigError('consumerGroup.sessionTimeoutMs', `must be an integer 1000..3600000, got ${String(sessionTimeoutMs)}`);
  }
  // A tenth of the session (the Java client's 3 s of 45 s is similar), so a rebalance is noticed fast.
  const heartbeatIntervalMs = Math.min(3000, Math.max(100, Math.floor(sessionTimeoutMs / 10)));
  return {
    groupId: options.groupId,
    start: groupStart(options.start),
    sessionTimeoutMs,
    heartbeatIntervalMs,
    rebalanceTimeoutMs: Math.max(60_000, sessionTimeoutMs),
    // kafkajs heartbeats between Fetches: a Fetch must not wait longer than a heartbeat interval.
    maxWaitTimeMs: Math.min(500, heartbeatIntervalMs),
  };
}

/** Start offsets of the given partitions: the group's commits, else the start position; clamped to the log. */
export async function groupStartOffsets(admin: Admin, groupId: string, topic: string, partitions: number[], start: GroupStartPosition): Promise<Map<number, PartitionStart>> {
  const [groupOffsets, logOffsets] = await Promise.all([admin.fetchOffsets({ groupId, topics: [topic] }), admin.fetchTopicOffsets(topic)]);
  const committedByPartition = new Map<number, bigint>();
  for (const entry of groupOffsets.find((offsets) => offsets.topic === topic)?.partitions ?? []) {
    // -1: nothing committed for this partition
    if (OFFSET.test(entry.offset)) committedByPartition.set(entry.partition, BigInt(entry.offset));
  }
  const logByPartition = new Map(logOffsets.map((entry) => [entry.partition, { low: BigInt(entry.low), high: BigInt(entry.high) }]));
  const needStartPosition = partitions.some((partition) => !committedByPartition.has(partition));
  const byTimestamp =
    needStartPosition && start.type === 'at-timestamp'
      ? new Map((await admin.fetchTopicOffsetsByTimestamp(topic, Math.floor(start.timestamp))).map((entry) => [entry.partition, BigInt(entry.offset)]))
      : undefined;

  const starts = new Map<number, PartitionStart>();
  for (const partition of partitions) {
    const log = logByPartition.get(partition);
    if (!log) throw new SluiceError('STREAM_NOT_READY', `kafka topic "${topic}" partition ${partition}: no answer to ListOffsets`);
    const committed = committedByPartition.get(partition);
    let offset: bigint;
    if (committed !== undefined) offset = committed;
    else if (start.type === 'earliest') offset = log.low;
    else if (start.type === 'latest') offset = log.high;
    else offset = byTimestamp?.get(partition) ?? log.high; // kafkajs answers the high watermark when no record is that recent
    if (offset < log.low) offset = log.low;
    if (offset > log.high) offset = log.high;
    starts.set(partition, { offset, committed: committed !== undefined });
  }
  return starts;
}
