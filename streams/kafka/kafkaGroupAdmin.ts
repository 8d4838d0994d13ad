/**
 * Reads and moves a consumer group's committed offsets on one topic: the Kafka side of
 * `sluice checkpoints show|rewind` (the group's commits are a Kafka mapping's checkpoints).
 *
 * Kafka only lets an admin change the offsets of a group without running members (the broker
 * answers UNKNOWN_MEMBER_ID / kafkajs refuses otherwise), so a move checks first and says to
 * stop the workers. A committed offset is the NEXT record the group reads, as Kafka's own
 * kafka-consumer-groups.sh shows it.
 */
import type { Admin } from 'kafkajs';
import { SluiceError } from '../../core/errors';
import type { GroupOffsetTarget, GroupOffsets, GroupPartitionOffset, PartitionId } from '../streamClient';
import { parseKafkaOffset } from './kafkaGroupOffsets';

const COMMITTED = /^(0|[1-9]\d*)$/;

async function groupDescription(admin: Admin, groupId: string): Promise<{ state: string; members: string[] }> {
  const { groups } = await admin.describeGroups([groupId]);
  const group = groups.find((entry) => entry.groupId === groupId);
  return { state: group?.state ?? 'Dead', members: (group?.members ?? []).map((member) => member.memberId) };
}

export async function fetchGroupOffsets(admin: Admin, topic: string, groupId: string): Promise<GroupOffsets> {
  const [description, committed, log] = await Promise.all([
    groupDescription(admin, groupId),
    admin.fetchOffsets({ groupId, topics: [topic] }),
    admin.fetchTopicOffsets(topic),
  ]);
  const committedByPartition = new Map<number, string>();
  for (const entry of committed.find((offsets) => offsets.topic === topic)?.partitions ?? []) {
    // -1: nothing committed for this partition
    if (COMMITTED.test(entry.offset)) committedByPartition.set(entry.partition, entry.offset);
  }
  const partitions: GroupPartitionOffset[] = log
    .sort((a, b) => a.partition - b.partition)
    .map((entry) => {
      const offset = committedByPartition.get(entry.partition) ?? null;
      const from = offset === null ? BigInt(entry.low) : BigInt(offset);
      const lag = BigInt(entry.high) - from;
      return { partition: String(entry.partition), committed: offset, low: entry.low, high: entry.high, lag: Number(lag > 0n ? lag : 0n) };
    });
  return { groupId, ...description, partitions };
}

async function targetOffset(admin: Admin, topic: string, partition: number, target: GroupOffsetTarget, log: { low: bigint; high: bigint }): Promise<bigint> {
  switch (target.type) {
    case 'earliest':
      return log.low;
    case 'latest':
      return log.high;
    case 'at-timestamp': {
      const found = (await admin.fetchTopicOffsetsByTimestamp(topic, Math.floor(target.timestamp))).find((entry) => entry.partition === partition);
      // kafkajs answers -1 / the high watermark when no record is that recent
      const offset = found && COMMITTED.test(found.offset) ? BigInt(found.offset) : log.high;
      return offset > log.high ? log.high : offset;
    }
    case 'at': {
      const offset = parseKafkaOffset(target.position);
      if (offset < log.low || offset > log.high) {
        throw new SluiceError('POSITION_INVALID', `kafka topic "${topic}" partition ${partition}: offset ${offset} is outside the log (${log.low}..${log.high})`);
      }
      return offset;
    }
  }
}

/** Moves the group's committed offsets; OPERATION_INVALID while it has running members. */
export async function setGroupOffsets(admin: Admin, topic: string, groupId: string, offsets: ReadonlyArray<{ partition: PartitionId; target: GroupOffsetTarget }>): Promise<GroupOffsets> {
  const description = await groupDescription(admin, groupId);
  if (description.members.length > 0) {
    throw new SluiceError('OPERATION_INVALID', `consumer group "${groupId}" has ${description.members.length} running member(s) (state ${description.state}): stop the workers (sluice run) of this function first, then rewind; Kafka does not move the offsets of an active group`);
  }
  const log = new Map((await admin.fetchTopicOffsets(topic)).map((entry) => [entry.partition, { low: BigInt(entry.low), high: BigInt(entry.high) }]));
  const seeks: Array<{ partition: number; offset: string }> = [];
  for (const { partition, target } of offsets) {
    const number = /^\d{1,10}$/.test(partition) ? Number(partition) : -1;
    const bounds = log.get(number);
    if (!bounds) throw new SluiceError('PARTITION_NOT_FOUND', `kafka topic "${topic}" has no partition "${partition}" (it has 0..${log.size - 1})`);
    seeks.push({ partition: number, offset: String(await targetOffset(admin, topic, number, target, bounds)) });
  }
  if (seeks.length > 0) await admin.setOffsets({ groupId, topic, partitions: seeks });
  return fetchGroupOffsets(admin, topic, groupId);
}
