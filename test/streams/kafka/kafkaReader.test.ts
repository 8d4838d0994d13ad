import type { Admin } from 'kafkajs';
import { isSluiceError } from '../../../core/errors';
import { KafkaStreamClient } from '../../../streams/kafka/kafkaStreamClient';
import type { StreamRecordInput } from '../../../streams/streamClient';
import { testServers, uniqueName } from '../../support/servers';
import { rawKafka, readRecords, thrown } from './kafkaTestSupport';

function numbered(count: number, from = 0, extra: Partial<StreamRecordInput> = {}): StreamRecordInput[] {
  return Array.from({ length: count }, (_, i) => ({ key: 'k', value: Buffer.from(String(from + i)), ...extra }));
}

function values(records: Array<{ value: Buffer }>): string[] {
  return records.map((record) => record.value.toString());
}

describe('kafka adapter: partition reader', () => {
  let client: KafkaStreamClient;
  let admin: Admin;
  const created: string[] = [];

  beforeAll(async () => {
    client = new KafkaStreamClient({ brokers: testServers.kafkaBrokers, clientId: 'sluice-test-reader' });
    admin = rawKafka().admin();
    await admin.connect();
  });

  afterAll(async () => {
    const existing = new Set(await admin.listTopics());
    const left = created.filter((name) => existing.has(name));
    if (left.length > 0) await admin.deleteTopics({ topics: left });
    await admin.disconnect();
    await client.close();
  });

  async function newTopic(partitions = 1, configEntries: Array<{ name: string; value: string }> = []): Promise<string> {
    const name = uniqueName('kread');
    await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions, configEntries }], waitForLeaders: true });
    created.push(name);
    return name;
  }

  it('starts at earliest, at a position, after a position, and at latest', async () => {
    const name = await newTopic();
    await client.produce(name, numbered(10));
    expect(values(await readRecords(client, name, '0', { type: 'earliest' }, 10))).toEqual(numbered(10).map((r) => r.value.toString()));
    expect(values(await readRecords(client, name, '0', { type: 'at', position: '4' }, 6))).toEqual(['4', '5', '6', '7', '8', '9']);
    expect(values(await readRecords(client, name, '0', { type: 'after', position: '4' }, 5))).toEqual(['5', '6', '7', '8', '9']);
    // after the last record: nothing yet, then the next one
    const reader = await client.openReader(name, '0', { type: 'after', position: '9' });
    const latest = await client.openReader(name, '0', { type: 'latest' });
    try {
      expect((await reader.read({ waitMs: 200 })).records).toEqual([]);
      await client.produce(name, numbered(1, 10));
      expect(values((await reader.read({ waitMs: 10_000 })).records)).toEqual(['10']);
      expect(values((await latest.read({ waitMs: 10_000 })).records)).toEqual(['10']);
    } finally {
      await reader.close();
      await latest.close();
    }
  });

  it('starts at-timestamp at the first record whose timestamp is at or after it (Kafka’s time index)', async () => {
    const name = await newTopic();
    await client.produce(name, [1000, 2000, 3000, 4000].map((timestamp) => ({ key: 'k', value: Buffer.from(String(timestamp)), timestamp })));
    expect(values(await readRecords(client, name, '0', { type: 'at-timestamp', timestamp: 2000 }, 3))).toEqual(['2000', '3000', '4000']);
    expect(values(await readRecords(client, name, '0', { type: 'at-timestamp', timestamp: 2500 }, 2))).toEqual(['3000', '4000']);
    // later than every record: where the next record will land
    const reader = await client.openReader(name, '0', { type: 'at-timestamp', timestamp: 5000 });
    try {
      expect((await reader.read({ waitMs: 200 })).records).toEqual([]);
      await client.produce(name, [{ key: 'k', value: Buffer.from('6000'), timestamp: 6000 }]);
      expect(values((await reader.read({ waitMs: 10_000 })).records)).toEqual(['6000']);
    } finally {
      await reader.close();
    }
  });

  it('returns at most maxRecords and hands out the rest of a fetch in later reads, in order', async () => {
    const name = await newTopic();
    await client.produce(name, numbered(25));
    const reader = await client.openReader(name, '0', { type: 'earliest' });
    try {
      const sizes: number[] = [];
      const seen: string[] = [];
      while (seen.length < 25) {
        const { records } = await reader.read({ maxRecords: 7, waitMs: 1000 });
        sizes.push(records.length);
        seen.push(...values(records));
      }
      expect(sizes.every((size) => size <= 7)).toBe(true);
      expect(seen).toEqual(numbered(25).map((r) => r.value.toString()));
      expect((await reader.read({ waitMs: 0 })).records).toEqual([]);
    } finally {
      await reader.close();
    }
  });

  it('holds at most one fetch of fetchMaxBytes per reader (bounded memory)', async () => {
    const small = new KafkaStreamClient({ brokers: testServers.kafkaBrokers, fetchMaxBytes: 4096 });
    const name = await newTopic();
    // one produce per record: 40 batches of ~1 KB each
    for (let i = 0; i < 40; i++) await small.produce(name, [{ key: 'k', value: Buffer.alloc(1000, i) }]);
    const reader = await small.openReader(name, '0', { type: 'earliest' });
    try {
      const sizes: number[] = [];
      let total = 0;
      while (total < 40) {
        const { records } = await reader.read({ maxRecords: 1000, waitMs: 1000 });
        sizes.push(records.length);
        records.forEach((record, i) => expect(record.value[0]).toBe(total + i));
        total += records.length;
      }
      expect(Math.max(...sizes)).toBeLessThanOrEqual(4);
    } finally {
      await reader.close();
      await small.close();
    }
  });

  it('delivers committed transactions, skips aborted ones and transaction markers, in order', async () => {
    const name = await newTopic();
    const kafka = rawKafka('sluice-test-txn');
    const producer = kafka.producer({ transactionalId: uniqueName('txn'), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const committed = await producer.transaction();
      await committed.send({ topic: name, messages: [{ key: 'k', value: 'c1' }, { key: 'k', value: 'c2' }] });
      await committed.commit();
      const aborted = await producer.transaction();
      await aborted.send({ topic: name, messages: [{ key: 'k', value: 'a1' }] });
      await aborted.abort();
    } finally {
      await producer.disconnect();
    }
    await client.produce(name, [{ key: 'k', value: Buffer.from('plain') }]);
    const read = await readRecords(client, name, '0', { type: 'earliest' }, 3);
    expect(values(read)).toEqual(['c1', 'c2', 'plain']);
    // the commit and abort markers take offsets 2 and 4, the aborted record 3
    expect(read.map((record) => record.position)).toEqual(['0', '1', '5']);
  });

  it('carries keys, headers (last value of a repeated header) and create times from other producers', async () => {
    const name = await newTopic();
    const producer = rawKafka().producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({ topic: name, messages: [{ key: null, value: null, headers: { twice: ['first', 'second'], bin: Buffer.from([0, 255]) }, timestamp: '1234' }] });
    await producer.disconnect();
    const [record] = await readRecords(client, name, '0', { type: 'earliest' }, 1);
    expect(record).toMatchObject({ stream: name, partition: '0', position: '0', key: '', timestamp: 1234, arrivalTime: 1234 });
    expect(record?.value.length).toBe(0);
    expect(record?.headers.twice?.toString()).toBe('second');
    expect(record?.headers.bin?.equals(Buffer.from([0, 255]))).toBe(true);
  });

  it('on a LogAppendTime topic gives the broker’s append time as both timestamp and arrival time', async () => {
    const name = await newTopic(1, [{ name: 'message.timestamp.type', value: 'LogAppendTime' }]);
    const before = Date.now();
    await client.produce(name, [{ key: 'k', value: Buffer.from('v'), timestamp: 1000 }]);
    const after = Date.now();
    const [record] = await readRecords(client, name, '0', { type: 'earliest' }, 1);
    expect(record?.arrivalTime).toBeGreaterThanOrEqual(before - 1000);
    expect(record?.arrivalTime).toBeLessThanOrEqual(after + 1000);
    expect(record?.timestamp).toBe(record?.arrivalTime);
  });

  it('refuses unknown partitions, malformed and out-of-range positions with typed errors', async () => {
    const name = await newTopic(2);
    await client.produce(name, numbered(3));
    for (const partition of ['2', '01', '-1', 'x', '']) {
      expect(isSluiceError(await thrown(client.openReader(name, partition, { type: 'earliest' })), 'PARTITION_NOT_FOUND')).toBe(true);
    }
    expect(isSluiceError(await thrown(client.openReader(uniqueName('kread-missing'), '0', { type: 'earliest' })), 'STREAM_NOT_FOUND')).toBe(true);
    const partition = (await client.produce(name, numbered(1)))[0]?.partition ?? '';
    for (const position of ['abc', '-1', '1.5', '99999999999999999999']) {
      expect(isSluiceError(await thrown(client.openReader(name, partition, { type: 'at', position })), 'POSITION_INVALID')).toBe(true);
    }
    expect(isSluiceError(await thrown(client.openReader(name, partition, { type: 'at', position: '1000' })), 'POSITION_INVALID')).toBe(true);
    expect(isSluiceError(await thrown(client.openReader(name, partition, { type: 'at-timestamp', timestamp: Number.NaN })), 'POSITION_INVALID')).toBe(true);
  });

  it('says POSITION_EXPIRED for positions the log no longer has, at open and while reading', async () => {
    const name = await newTopic();
    await client.produce(name, numbered(10));
    const reader = await client.openReader(name, '0', { type: 'earliest' });
    try {
      await admin.fetchTopicOffsets(name); // kafkajs' deleteTopicRecords needs the topic's metadata loaded first
      await admin.deleteTopicRecords({ topic: name, partitions: [{ partition: 0, offset: '6' }] });
      expect(isSluiceError(await thrown(reader.read({ waitMs: 1000 })), 'POSITION_EXPIRED')).toBe(true);
    } finally {
      await reader.close();
    }
    expect(isSluiceError(await thrown(client.openReader(name, '0', { type: 'after', position: '3' })), 'POSITION_EXPIRED')).toBe(true);
    expect(values(await readRecords(client, name, '0', { type: 'earliest' }, 4))).toEqual(['6', '7', '8', '9']);
  });

  it('ends a waiting read with no records when closed, and refuses reads after close', async () => {
    const name = await newTopic();
    const reader = await client.openReader(name, '0', { type: 'latest' });
    const waiting = reader.read({ waitMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await reader.close();
    expect(await waiting).toEqual({ records: [], endOfPartition: false });
    expect(isSluiceError(await thrown(reader.read()), 'READER_CLOSED')).toBe(true);
    await reader.close(); // twice is fine
  });

  it('refuses bad read options with CONFIG_INVALID', async () => {
    const name = await newTopic();
    const reader = await client.openReader(name, '0', { type: 'earliest' });
    try {
      expect(isSluiceError(await thrown(reader.read({ maxRecords: 0 })), 'CONFIG_INVALID')).toBe(true);
      expect(isSluiceError(await thrown(reader.read({ waitMs: -1 })), 'CONFIG_INVALID')).toBe(true);
    } finally {
      await reader.close();
    }
  });
});
