/**
 * Kafka consumer-group members on the real broker: assignment, pull reading, commits, and what
 * a rebalance does to a member's partitions. Joins and rebalances take a heartbeat or two, so
 * each test does several things with one group.
 */
import type { Admin } from 'kafkajs';
import { isSluiceError } from '../../../core/errors';
import { silentLogger } from '../../../core/logger';
import { joinKafkaConsumerGroup } from '../../../streams/kafka/kafkaConsumerGroup';
import { KafkaStreamClient } from '../../../streams/kafka/kafkaStreamClient';
import type { ConsumerGroupMember, ConsumerGroupOptions, GroupPartitionAssignment, PartitionReader, ProducedRecord, StreamRecord } from '../../../streams/streamClient';
import { testServers, uniqueName } from '../../support/servers';
import { rawKafka, thrown } from './kafkaTestSupport';

/** What one member was handed and what it gave back, in order. */
interface MemberLog {
  member: ConsumerGroupMember;
  /** every assignment handed out, latest last */
  assignments: GroupPartitionAssignment[];
  revoked: string[];
  latest(partition: string): GroupPartitionAssignment;
}

async function readCount(reader: PartitionReader, count: number): Promise<StreamRecord[]> {
  const records: StreamRecord[] = [];
  let idle = 0;
  while (records.length < count && idle < 40) {
    const result = await reader.read({ maxRecords: 7, waitMs: 250 });
    records.push(...result.records);
    idle = result.records.length === 0 ? idle + 1 : 0;
  }
  return records;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function positionsByPartition(produced: ProducedRecord[]): Map<string, string[]> {
  const byPartition = new Map<string, string[]>();
  for (const record of produced) byPartition.set(record.partition, [...(byPartition.get(record.partition) ?? []), record.position]);
  return byPartition;
}

function positions(records: StreamRecord[]): string[] {
  return records.map((record) => record.position);
}

describe('kafka adapter: consumer groups', () => {
  let client: KafkaStreamClient;
  let admin: Admin;
  const topics: string[] = [];
  const groups: string[] = [];

  beforeAll(async () => {
    client = new KafkaStreamClient({ brokers: testServers.kafkaBrokers, clientId: 'sluice-test-group' });
    admin = rawKafka().admin();
    await admin.connect();
  });

  afterAll(async () => {
    await client.close();
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
    const existing = new Set(await admin.listTopics());
    const left = topics.filter((name) => existing.has(name));
    if (left.length > 0) await admin.deleteTopics({ topics: left });
    await admin.disconnect();
  });

  async function newTopic(partitions: number): Promise<string> {
    const name = uniqueName('kgroup');
    await client.createStream(name, partitions);
    topics.push(name);
    return name;
  }

  function newGroup(): string {
    const groupId = uniqueName('sluice-group');
    groups.push(groupId);
    return groupId;
  }

  async function produce(topic: string, count: number, from = 0): Promise<ProducedRecord[]> {
    return client.produce(topic, Array.from({ length: count }, (_, i) => ({ key: `device-${from + i}`, value: Buffer.from(String(from + i)) })));
  }

  async function join(topic: string, groupId: string, extra: Partial<ConsumerGroupOptions> = {}): Promise<MemberLog> {
    const assignments: GroupPartitionAssignment[] = [];
    const revoked: string[] = [];
    const member = await client.joinConsumerGroup(topic, {
      groupId,
      start: { type: 'earliest' },
      sessionTimeoutMs: 10_000,
      onAssigned: (assignment) => assignments.push(assignment),
      onRevoked: async (partition) => {
        revoked.push(partition);
      },
      ...extra,
    });
    const latest = (partition: string): GroupPartitionAssignment => {
      const found = assignments.filter((assignment) => assignment.partition === partition).pop();
      if (!found) throw new Error(`partition ${partition} was never assigned`);
      return found;
    };
    return { member, assignments, revoked, latest };
  }

  async function committedOffsets(groupId: string, topic: string): Promise<Record<string, string>> {
    const [answer] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Object.fromEntries((answer?.partitions ?? []).map((entry) => [String(entry.partition), entry.offset]));
  }

  it('reads every partition from earliest, commits what it finished, and a restarted member resumes right after it', async () => {
    const topic = await newTopic(3);
    const groupId = newGroup();
    const expected = positionsByPartition(await produce(topic, 30));

    const invalid = await thrown(client.joinConsumerGroup(topic, { groupId, start: { type: 'after', position: '3' }, onAssigned: () => undefined }));
    expect(isSluiceError(invalid, 'CONFIG_INVALID')).toBe(true);

    const first = await join(topic, groupId);
    expect(first.member.assignedPartitions()).toEqual(['0', '1', '2']);
    const read = new Map<string, StreamRecord[]>();
    for (const partition of ['0', '1', '2']) {
      const records = await readCount(first.latest(partition).reader, expected.get(partition)?.length ?? 0);
      expect(positions(records)).toEqual(expected.get(partition) ?? []);
      read.set(partition, records);
    }

    // Commit partition 0 up to its third record and partition 1 completely; partition 2 not at all.
    const p0 = read.get('0') ?? [];
    const p1 = read.get('1') ?? [];
    const p0Done = p0[2];
    const p1Last = p1[p1.length - 1];
    if (!p0Done || !p1Last) throw new Error('the produced records did not spread over partitions 0 and 1');
    await first.latest('0').commit(p0Done.position);
    await first.latest('1').commit(p1Last.position);
    // a checkpoint past what was delivered would skip records
    const beyond = await thrown(first.latest('1').commit(String(BigInt(p1Last.position) + 5n)));
    expect(isSluiceError(beyond, 'POSITION_INVALID')).toBe(true);
    expect(await committedOffsets(groupId, topic)).toEqual({ '0': String(BigInt(p0Done.position) + 1n), '1': String(BigInt(p1Last.position) + 1n), '2': '0' });

    await first.member.stop();
    expect(first.revoked.sort()).toEqual(['0', '1', '2']);
    expect(first.assignments.every((assignment) => assignment.revoked.aborted)).toBe(true);

    const restarted = await join(topic, groupId);
    const again = new Map<string, string[]>();
    for (const partition of ['0', '1', '2']) {
      const reader = restarted.latest(partition).reader;
      const wanted = (expected.get(partition)?.length ?? 0) - (partition === '0' ? 3 : partition === '1' ? p1.length : 0);
      const records = await readCount(reader, wanted);
      // and nothing after what the partition holds
      expect((await reader.read({ waitMs: 300 })).records).toEqual([]);
      again.set(partition, positions(records));
    }
    expect(again.get('0')).toEqual(positions(p0.slice(3)));
    expect(again.get('1')).toEqual([]);
    expect(again.get('2')).toEqual(expected.get('2'));
    await restarted.member.stop();
  });

  it('hands partitions to a joining member (revoking exactly those) and takes them back when it leaves', async () => {
    const topic = await newTopic(4);
    const groupId = newGroup();
    const before = positionsByPartition(await produce(topic, 40));
    const all = ['0', '1', '2', '3'];

    const first = await join(topic, groupId);
    expect(first.member.assignedPartitions()).toEqual(all);
    const firstAssignments = new Map(all.map((partition) => [partition, first.latest(partition)]));
    for (const [partition, assignment] of firstAssignments) {
      const records = await readCount(assignment.reader, before.get(partition)?.length ?? 0);
      expect(positions(records)).toEqual(before.get(partition) ?? []);
      // Only the first record counts as done: after a rebalance kafkajs fetches from here again.
      const firstRecord = records[0];
      if (firstRecord) await assignment.commit(firstRecord.position);
    }

    const second = await join(topic, groupId);
    await waitFor(() => second.member.assignedPartitions().length > 0 && first.member.assignedPartitions().length + second.member.assignedPartitions().length === 4, 'the two members share the partitions');
    const moved = second.member.assignedPartitions();
    const kept = first.member.assignedPartitions();
    expect([...kept, ...moved].sort()).toEqual(all);
    expect(moved.length).toBeGreaterThan(0);
    expect(kept.length).toBeGreaterThan(0);
    // the first member lost exactly what the second one got
    await waitFor(() => first.revoked.length === moved.length, 'onRevoked ran for the moved partitions');
    expect(first.revoked.sort()).toEqual(moved);
    for (const [partition, assignment] of firstAssignments) expect(assignment.revoked.aborted).toBe(moved.includes(partition));

    // A revoked assignment can no longer commit or read.
    const revokedAssignment = firstAssignments.get(moved[0] ?? '') as GroupPartitionAssignment;
    const revokedRecords = before.get(revokedAssignment.partition) ?? [];
    expect(isSluiceError(await thrown(revokedAssignment.commit(revokedRecords[revokedRecords.length - 1] ?? '0')), 'LEASE_LOST')).toBe(true);
    expect(isSluiceError(await thrown(revokedAssignment.reader.read()), 'LEASE_LOST')).toBe(true);

    // Kept partitions go on with the same reader and repeat nothing; moved ones start after the
    // first member's last commit, so the second member reads again what was not committed.
    const after = positionsByPartition(await produce(topic, 40, 40));
    for (const partition of kept) {
      expect(first.assignments.filter((assignment) => assignment.partition === partition)).toHaveLength(1);
      expect(positions(await readCount(first.latest(partition).reader, after.get(partition)?.length ?? 0))).toEqual(after.get(partition) ?? []);
      expect((await first.latest(partition).reader.read({ waitMs: 300 })).records).toEqual([]);
    }
    const secondRead = new Map<string, StreamRecord[]>();
    for (const partition of moved) {
      const wanted = [...(before.get(partition) ?? []).slice(1), ...(after.get(partition) ?? [])];
      const records = await readCount(second.latest(partition).reader, wanted.length);
      expect(positions(records)).toEqual(wanted);
      secondRead.set(partition, records);
      // the second member finishes only the first record it got of each partition
      const firstRecord = records[0];
      if (firstRecord) await second.latest(partition).commit(firstRecord.position);
    }

    await second.member.stop();
    expect(second.revoked.sort()).toEqual(moved);
    await waitFor(() => first.member.assignedPartitions().length === 4, 'the first member has every partition again');
    for (const partition of moved) {
      // a new assignment, reading from the second member's last commit
      const back = first.latest(partition);
      expect(back).not.toBe(firstAssignments.get(partition));
      const expectedBack = positions((secondRead.get(partition) ?? []).slice(1));
      expect(positions(await readCount(back.reader, expectedBack.length))).toEqual(expectedBack);
    }
    await first.member.stop();
  });

  it('pauses a partition whose queue is full, so memory stays bounded, and still delivers every record once, in order', async () => {
    const topic = await newTopic(1);
    const groupId = newGroup();
    const produced: ProducedRecord[] = [];
    // many small produce calls: small record batches, so one Fetch brings only a few records
    for (let call = 0; call < 40; call++) {
      produced.push(...(await client.produce(topic, Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: Buffer.alloc(500, call * 5 + i) })))));
    }
    const kafka = rawKafka('sluice-test-group-bounded');
    const groupAdmin = kafka.admin();
    await groupAdmin.connect();
    const assignments: GroupPartitionAssignment[] = [];
    const member = await joinKafkaConsumerGroup(
      { kafka, admin: async () => groupAdmin, logger: silentLogger, maxBytesPerPartition: 4096, maxQueuedBytesPerPartition: 4096, retries: 2 },
      topic,
      { groupId, start: { type: 'earliest' }, sessionTimeoutMs: 10_000, onAssigned: (assignment) => assignments.push(assignment) },
    );
    try {
      const reader = (assignments[0] as GroupPartitionAssignment).reader;
      // Unpaused, kafkajs would have fetched all 200 records (100 KB) by now.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const queued = await reader.read({ maxRecords: 1000 });
      // the bound (4 KB, about 7 records) plus at most one Fetch (4 KB) or one 5-record batch
      expect(queued.records.length).toBeGreaterThan(0);
      expect(queued.records.length).toBeLessThanOrEqual(16);
      const rest = await readCount(reader, produced.length - queued.records.length);
      expect(positions([...queued.records, ...rest])).toEqual(produced.map((record) => record.position));
      expect((await reader.read({ waitMs: 300 })).records).toEqual([]);
    } finally {
      await member.stop();
      await groupAdmin.disconnect();
    }
  });
});
