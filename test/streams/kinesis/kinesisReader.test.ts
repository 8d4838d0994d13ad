/**
 * Kinesis readers on kinesalite: every iterator type, paging past GetRecords' 10,000-record
 * cap, waiting for records, the end of a closed shard, and what AWS-native producers and
 * consumers see of our records.
 */
import { GetRecordsCommand, GetShardIteratorCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { GetRecordsCommandInput, GetShardIteratorCommandInput } from '@aws-sdk/client-kinesis';
import { isSluiceError } from '../../../core/errors';
import type { ErrorCode } from '../../../core/errors';
import type { KinesisStreamClient } from '../../../streams/kinesis/kinesisStreamClient';
import type { PartitionReader, StartPosition, StreamRecord } from '../../../streams/streamClient';
import { kinesisTestClient, streamTracker, watchCommand } from './kinesisTestSupport';

function values(list: StreamRecord[]): string[] {
  return list.map((record) => record.value.toString());
}

async function drain(reader: PartitionReader, atLeast: number): Promise<StreamRecord[]> {
  const records: StreamRecord[] = [];
  for (let reads = 0; records.length < atLeast && reads < 50; reads++) records.push(...(await reader.read({ maxRecords: 10_000, waitMs: 200 })).records);
  return records;
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  if (!isSluiceError(caught)) throw new Error(`expected SluiceError ${code}, got ${String(caught)}`);
  expect(caught.code).toBe(code);
}

describe('kinesis reader', () => {
  let client: KinesisStreamClient;
  const streams = streamTracker(() => client);
  const readers: PartitionReader[] = [];

  beforeEach(() => {
    client = kinesisTestClient();
  });
  afterEach(async () => {
    for (const reader of readers.splice(0)) await reader.close();
    await streams.cleanup();
    await client.close();
  });

  async function open(stream: string, shard: string, start: StartPosition, target = client): Promise<PartitionReader> {
    const reader = await target.openReader(stream, shard, start);
    readers.push(reader);
    return reader;
  }

  async function produceValues(stream: string, list: string[]): Promise<{ shard: string; positions: string[] }> {
    const produced = await client.produce(stream, list.map((value) => ({ key: 'k', value: Buffer.from(value) })));
    return { shard: produced[0]?.partition ?? '', positions: produced.map((place) => place.position) };
  }

  it('asks Kinesis for the iterator type of each start position', async () => {
    const stream = await streams.create(1);
    const { shard, positions } = await produceValues(stream, ['a', 'b', 'c']);
    const iterators = watchCommand<GetShardIteratorCommandInput>(client, 'GetShardIteratorCommand');
    await open(stream, shard, { type: 'earliest' });
    await open(stream, shard, { type: 'latest' });
    await open(stream, shard, { type: 'at', position: positions[1] ?? '' });
    await open(stream, shard, { type: 'after', position: positions[1] ?? '' });
    expect(iterators.map((input) => [input.ShardIteratorType, input.StartingSequenceNumber])).toEqual([
      ['TRIM_HORIZON', undefined],
      ['LATEST', undefined],
      ['AT_SEQUENCE_NUMBER', positions[1]],
      ['AFTER_SEQUENCE_NUMBER', positions[1]],
    ]);
  });

  it('reads from each start position what Kinesis holds there', async () => {
    const stream = await streams.create(1);
    const { shard, positions } = await produceValues(stream, ['a', 'b', 'c', 'd']);
    const latest = await open(stream, shard, { type: 'latest' });
    expect(values(await drain(await open(stream, shard, { type: 'earliest' }), 4))).toEqual(['a', 'b', 'c', 'd']);
    expect(values(await drain(await open(stream, shard, { type: 'at', position: positions[2] ?? '' }), 2))).toEqual(['c', 'd']);
    expect(values(await drain(await open(stream, shard, { type: 'after', position: positions[2] ?? '' }), 1))).toEqual(['d']);
    expect((await latest.read({ waitMs: 100 })).records).toEqual([]);
    await produceValues(stream, ['e']);
    expect(values(await drain(latest, 1))).toEqual(['e']);
  });

  it.each([
    ['emulated (TRIM_HORIZON and skip, the default on a local endpoint)', true],
    ['native (an AT_TIMESTAMP iterator)', false],
  ])('starts at-timestamp at the first record that arrived at or after the timestamp: %s', async (_label, emulateAtTimestamp) => {
    const atClient = kinesisTestClient({ emulateAtTimestamp });
    const iterators = watchCommand<GetShardIteratorCommandInput>(atClient, 'GetShardIteratorCommand');
    try {
      const stream = await streams.create(1);
      const { shard } = await produceValues(stream, ['old-1', 'old-2']);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const boundary = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 50));
      await produceValues(stream, ['new-1', 'new-2']);
      const reader = await open(stream, shard, { type: 'at-timestamp', timestamp: boundary }, atClient);
      const read = await drain(reader, 2);
      expect(values(read)).toEqual(['new-1', 'new-2']);
      expect(iterators.map((input) => input.ShardIteratorType)).toEqual([emulateAtTimestamp ? 'TRIM_HORIZON' : 'AT_TIMESTAMP']);
    } finally {
      await atClient.close();
    }
  });

  it('emulated at-timestamp with a timestamp later than every record waits for the records that come', async () => {
    const stream = await streams.create(1);
    const { shard } = await produceValues(stream, ['old']);
    const reader = await open(stream, shard, { type: 'at-timestamp', timestamp: Date.now() + 200 });
    expect((await reader.read({ waitMs: 50 })).records).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 250));
    await produceValues(stream, ['new']);
    expect(values(await drain(reader, 1))).toEqual(['new']);
  });

  it('returns at most maxRecords, and pages past the 10,000 records one GetRecords call may return', async () => {
    const stream = await streams.create(1);
    const total = 10_400;
    const produced = await client.produce(stream, Array.from({ length: total }, (_, index) => ({ key: 'k', value: Buffer.from(String(index)) })));
    const shard = produced[0]?.partition ?? '';
    const gets = watchCommand<GetRecordsCommandInput>(client, 'GetRecordsCommand');
    const small = await open(stream, shard, { type: 'earliest' });
    expect(values((await small.read({ maxRecords: 7 })).records)).toEqual(['0', '1', '2', '3', '4', '5', '6']);
    expect(values((await small.read({ maxRecords: 3 })).records)).toEqual(['7', '8', '9']);
    const big = await open(stream, shard, { type: 'earliest' });
    const first = await big.read({ maxRecords: 50_000 });
    expect(first.records).toHaveLength(10_000);
    const second = await big.read({ maxRecords: 50_000 });
    expect(second.records).toHaveLength(total - 10_000);
    expect(values([...first.records, ...second.records])).toEqual(Array.from({ length: total }, (_, index) => String(index)));
    expect(gets.map((input) => input.Limit)).toEqual([7, 3, 10_000, 10_000]);
  });

  it('returns an empty result at once with waitMs 0, and the records produced while a read waits', async () => {
    const stream = await streams.create(1);
    const { shard } = await produceValues(stream, ['first']);
    const reader = await open(stream, shard, { type: 'after', position: (await client.produce(stream, [{ key: 'k', value: Buffer.from('second') }]))[0]?.position ?? '' });
    const empty = await reader.read({ waitMs: 0 });
    expect(empty.records).toEqual([]);
    expect(empty.endOfPartition).toBe(false);
    expect(typeof empty.millisBehindLatest).toBe('number');
    const waiting = reader.read({ waitMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await client.produce(stream, [{ key: 'k', value: Buffer.from('third') }]);
    expect(values((await waiting).records)).toEqual(['third']);
  });

  it('reports the end of a closed shard once it is read to its end, and keeps reporting it', async () => {
    const stream = await streams.create(1);
    const { shard } = await produceValues(stream, ['a', 'b']);
    await client.splitShard(stream, shard);
    const reader = await open(stream, shard, { type: 'earliest' });
    const seen: StreamRecord[] = [];
    let ended = false;
    for (let reads = 0; !ended && reads < 20; reads++) {
      const result = await reader.read({ waitMs: 100 });
      seen.push(...result.records);
      ended = result.endOfPartition;
    }
    expect(ended).toBe(true);
    expect(values(seen)).toEqual(['a', 'b']);
    expect(await reader.read({ waitMs: 100 })).toEqual({ records: [], endOfPartition: true });
  });

  it('refuses a position that is not a sequence number, or one of another shard, with POSITION_INVALID', async () => {
    const stream = await streams.create(2);
    const produced = await client.produce(stream, Array.from({ length: 20 }, (_, index) => ({ key: `key-${index}`, value: Buffer.from('v') })));
    const shards = [...new Set(produced.map((place) => place.partition))];
    expect(shards).toHaveLength(2);
    const fromOtherShard = produced.find((place) => place.partition === shards[1])?.position ?? '';
    await expectCode(client.openReader(stream, shards[0] ?? '', { type: 'after', position: 'not-a-number' }), 'POSITION_INVALID');
    await expectCode(client.openReader(stream, shards[0] ?? '', { type: 'at', position: fromOtherShard }), 'POSITION_INVALID');
  });

  it('gives STREAM_NOT_FOUND, not PARTITION_NOT_FOUND, for a shard of a stream that does not exist', async () => {
    await expectCode(client.openReader('sluice-no-such-stream', 'shardId-000000000000', { type: 'earliest' }), 'STREAM_NOT_FOUND');
  });

  it('refuses to read after close with READER_CLOSED, and a close cuts a waiting read short', async () => {
    const stream = await streams.create(1);
    const { shard } = await produceValues(stream, ['a']);
    const reader = await open(stream, shard, { type: 'latest' });
    const waiting = reader.read({ waitMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await reader.close();
    expect((await waiting).records).toEqual([]);
    await expectCode(reader.read(), 'READER_CLOSED');
  });

  it('shows AWS-native consumers the raw bytes of records without headers, and reads raw records from AWS-native producers', async () => {
    const stream = await streams.create(1);
    const raw = Buffer.from([0x00, 0x00, 0x00, 0x00, 0x07, 0x02, 0x41]); // e.g. Confluent-framed Avro
    const produced = await client.produce(stream, [{ key: 'ours', value: raw }]);
    const shard = produced[0]?.partition ?? '';
    const sdk = client.sdkClient;
    await sdk.send(new PutRecordsCommand({ StreamName: stream, Records: [{ PartitionKey: 'theirs', Data: Buffer.from('plain bytes from elsewhere') }] }));
    const iterator = await sdk.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shard, ShardIteratorType: 'TRIM_HORIZON' }));
    const native = await sdk.send(new GetRecordsCommand({ ShardIterator: iterator.ShardIterator ?? '' }));
    expect(Buffer.from(native.Records?.[0]?.Data ?? []).equals(raw)).toBe(true);
    const read = await drain(await open(stream, shard, { type: 'earliest' }), 2);
    expect(read.map((record) => [record.key, record.value.toString('hex'), record.headers])).toEqual([
      ['ours', raw.toString('hex'), {}],
      ['theirs', Buffer.from('plain bytes from elsewhere').toString('hex'), {}],
    ]);
    for (const record of read) expect(record.timestamp).toBe(record.arrivalTime);
  });
});
