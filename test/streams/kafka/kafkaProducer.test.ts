import type { Admin } from 'kafkajs';
import { isSluiceError } from '../../../core/errors';
import { kafkaErrorType } from '../../../streams/kafka/kafkaErrors';
import { KafkaStreamClient } from '../../../streams/kafka/kafkaStreamClient';
import type { StreamRecordInput } from '../../../streams/streamClient';
import { testServers, uniqueName } from '../../support/servers';
import { rawKafka, readRecords, thrown } from './kafkaTestSupport';

describe('kafka adapter: produce', () => {
  let client: KafkaStreamClient;
  let admin: Admin;
  const created: string[] = [];

  beforeAll(async () => {
    client = new KafkaStreamClient({ brokers: testServers.kafkaBrokers, clientId: 'sluice-test-produce' });
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

  async function newTopic(partitions: number, configEntries: Array<{ name: string; value: string }> = []): Promise<string> {
    const name = uniqueName('kprod');
    await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions, configEntries }], waitForLeaders: true });
    created.push(name);
    return name;
  }

  it('gives each record its exact offset: base offset plus its index among its partition’s records', async () => {
    const name = await newTopic(3);
    // interleaved keys: the records of one partition are not adjacent in the input
    const input: StreamRecordInput[] = Array.from({ length: 90 }, (_, i) => ({ key: `key-${i % 9}`, value: Buffer.from(`value-${i}`) }));
    await client.produce(name, input.slice(0, 7)); // offsets in some partitions no longer start at 0
    const produced = await client.produce(name, input);
    for (const partition of ['0', '1', '2']) {
      const expected = produced.map((place, index) => ({ ...place, index })).filter((place) => place.partition === partition);
      const read = await readRecords(client, name, partition, { type: 'at', position: expected[0]?.position ?? '0' }, expected.length);
      expect(read.map((record) => [record.position, record.value.toString()])).toEqual(expected.map((place) => [place.position, `value-${place.index}`]));
      // consecutive within a partition
      const offsets = expected.map((place) => Number(place.position));
      expect(offsets).toEqual(offsets.map((_, i) => (offsets[0] as number) + i));
    }
  });

  it('splits at the topic’s own max.message.bytes: a produce the broker would refuse as one batch goes through', async () => {
    const name = await newTopic(1, [{ name: 'max.message.bytes', value: '65536' }]);
    const input: StreamRecordInput[] = Array.from({ length: 300 }, (_, i) => ({ key: 'one-partition', value: Buffer.alloc(500 + ((i * 37) % 2500), i % 256) }));
    // the control: kafkajs alone sends these as one batch, and the broker refuses it
    const rawProducer = rawKafka().producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    await rawProducer.connect();
    const rawError = await thrown(rawProducer.send({ topic: name, acks: -1, messages: input.map((record) => ({ key: record.key, value: record.value, partition: 0 })) }));
    await rawProducer.disconnect();
    expect(kafkaErrorType(rawError)).toBe('MESSAGE_TOO_LARGE');

    const produced = await client.produce(name, input);
    expect(produced.map((place) => place.position)).toEqual(input.map((_, i) => String(i)));
    const read = await readRecords(client, name, '0', { type: 'earliest' }, input.length);
    expect(read).toHaveLength(input.length);
    read.forEach((record, i) => expect(record.value.equals(input[i]?.value ?? Buffer.alloc(0))).toBe(true));
  });

  it('refuses a record larger than the topic takes with RECORD_TOO_LARGE and writes nothing of the call', async () => {
    const name = await newTopic(1, [{ name: 'max.message.bytes', value: '65536' }]);
    const error = await thrown(client.produce(name, [{ key: 'k', value: Buffer.alloc(100) }, { key: 'k', value: Buffer.alloc(70_000) }]));
    expect(isSluiceError(error, 'RECORD_TOO_LARGE')).toBe(true);
    expect((error as Error).message).toContain('65536');
    const offsets = await admin.fetchTopicOffsets(name);
    expect(offsets[0]?.high).toBe('0');
  });

  it('gives RECORD_INVALID when the broker refuses a record’s timestamp', async () => {
    const name = await newTopic(1, [{ name: 'message.timestamp.after.max.ms', value: '60000' }]);
    const error = await thrown(client.produce(name, [{ key: 'k', value: Buffer.from('from the future'), timestamp: Date.now() + 3_600_000 }]));
    expect(isSluiceError(error, 'RECORD_INVALID')).toBe(true);
  });

  it('gives STREAM_NOT_FOUND for a missing topic, also with auto topic creation on the broker, and creates nothing', async () => {
    const missing = uniqueName('kprod-missing');
    const error = await thrown(client.produce(missing, [{ key: 'k', value: Buffer.from('v') }]));
    expect(isSluiceError(error, 'STREAM_NOT_FOUND')).toBe(true);
    expect(await admin.listTopics()).not.toContain(missing);
  });

  it('keeps producing to other topics after a topic it wrote to is deleted, by us or by someone else', async () => {
    const [first, second, third] = [await newTopic(1), await newTopic(1), await newTopic(1)];
    await client.produce(first, [{ key: 'k', value: Buffer.from('1') }]);
    await client.produce(second, [{ key: 'k', value: Buffer.from('2') }]);
    await client.produce(third, [{ key: 'k', value: Buffer.from('3') }]);
    await client.deleteStream(first);
    expect(await client.produce(second, [{ key: 'k', value: Buffer.from('2b') }])).toEqual([{ partition: '0', position: '1' }]);
    // deleted behind the adapter's back: kafkajs' producer metadata is poisoned, the adapter replaces it
    await admin.deleteTopics({ topics: [second] });
    expect(await client.produce(third, [{ key: 'k', value: Buffer.from('3b') }])).toEqual([{ partition: '0', position: '1' }]);
    const error = await thrown(client.produce(second, [{ key: 'k', value: Buffer.from('2c') }]));
    expect(isSluiceError(error, 'STREAM_NOT_FOUND')).toBe(true);
  });

  it('answers concurrent produce calls each with their own positions', async () => {
    const name = await newTopic(2);
    const calls = await Promise.all(Array.from({ length: 8 }, (_, call) => client.produce(name, Array.from({ length: 25 }, (_, i) => ({ key: `c${call}`, value: Buffer.from(`${call}:${i}`) })))));
    const places = calls.flat().map((place) => `${place.partition}/${place.position}`);
    expect(new Set(places).size).toBe(200);
    for (const [call, produced] of calls.entries()) {
      const partition = produced[0]?.partition ?? '';
      const read = await readRecords(client, name, partition, { type: 'at', position: produced[0]?.position ?? '' }, 1);
      expect(read[0]?.value.toString()).toBe(`${call}:0`);
      expect(produced.every((place) => place.partition === partition)).toBe(true);
    }
  });

  it('resolves an empty produce without writing, and still checks the topic', async () => {
    const name = await newTopic(1);
    expect(await client.produce(name, [])).toEqual([]);
    expect(isSluiceError(await thrown(client.produce(uniqueName('kprod-missing'), [])), 'STREAM_NOT_FOUND')).toBe(true);
  });
});
