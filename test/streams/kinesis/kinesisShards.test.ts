/**
 * Shards as partitions: parent/child order and closed flags after real splits and merges on
 * kinesalite, and the ordering and hash arithmetic on their own.
 */
import type { Shard } from '@aws-sdk/client-kinesis';
import { isSluiceError } from '../../../core/errors';
import type { ErrorCode } from '../../../core/errors';
import { midpointHashKey, toPartitionInfos } from '../../../streams/kinesis/kinesisShards';
import type { KinesisStreamClient } from '../../../streams/kinesis/kinesisStreamClient';
import type { PartitionInfo } from '../../../streams/streamClient';
import { kinesisTestClient, readShard, streamTracker } from './kinesisTestSupport';

const MAX_HASH = (2n ** 128n - 1n).toString();

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

function expectParentsFirst(partitions: PartitionInfo[]): void {
  const index = new Map(partitions.map((partition, position) => [partition.id, position]));
  for (const partition of partitions) for (const parent of partition.parents) expect(index.get(parent)).toBeLessThan(index.get(partition.id) ?? -1);
}

describe('kinesis shards on kinesalite', () => {
  let client: KinesisStreamClient;
  const streams = streamTracker(() => client);

  beforeEach(() => {
    client = kinesisTestClient();
  });
  afterEach(async () => {
    await streams.cleanup();
    await client.close();
  });

  it('lists children of a split after their parent, and grandchildren after them', async () => {
    const stream = await streams.create(1);
    const [root] = await client.listPartitions(stream);
    await client.splitShard(stream, root?.id ?? '');
    const children = (await client.listPartitions(stream)).filter((partition) => partition.parents.includes(root?.id ?? ''));
    expect(children).toHaveLength(2);
    await client.splitShard(stream, children[1]?.id ?? '');
    const partitions = await client.listPartitions(stream);
    expect(partitions).toHaveLength(5);
    expectParentsFirst(partitions);
    expect(partitions.filter((partition) => partition.closed).map((partition) => partition.id).sort()).toEqual([root?.id, children[1]?.id].sort());
    expect(partitions.filter((partition) => partition.parents.includes(children[1]?.id ?? ''))).toHaveLength(2);
  });

  it('splits at a given hash key: keys hashing below it go to the first child', async () => {
    const stream = await streams.create(1);
    const [root] = await client.listPartitions(stream);
    // one hash key above the lowest: nearly every key goes to the second child
    await client.splitShard(stream, root?.id ?? '', '2');
    const children = (await client.listPartitions(stream)).filter((partition) => partition.parents.length > 0);
    const produced = await client.produce(stream, Array.from({ length: 20 }, (_, index) => ({ key: `key-${index}`, value: Buffer.from('v') })));
    expect(new Set(produced.map((place) => place.partition))).toEqual(new Set([children[1]?.id]));
  });

  it('lists a merged shard after both of its parents, with both as parents', async () => {
    const stream = await streams.create(2);
    const [first, second] = await client.listPartitions(stream);
    await client.produce(stream, [{ key: 'before-merge', value: Buffer.from('v') }]);
    await client.mergeShards(stream, first?.id ?? '', second?.id ?? '');
    const partitions = await client.listPartitions(stream);
    const merged = partitions.find((partition) => partition.parents.length === 2);
    expect(merged?.parents.sort()).toEqual([first?.id, second?.id].sort());
    expect(merged?.closed).toBe(false);
    expect(partitions.filter((partition) => partition.closed)).toHaveLength(2);
    expectParentsFirst(partitions);
    const produced = await client.produce(stream, [{ key: 'after-merge', value: Buffer.from('w') }]);
    expect(produced[0]?.partition).toBe(merged?.id);
    expect((await readShard(client, stream, merged?.id ?? '', 1)).map((record) => record.key)).toEqual(['after-merge']);
  });

  it('gives PARTITION_NOT_FOUND to split a shard the stream does not have, STREAM_NOT_FOUND for a missing stream', async () => {
    const stream = await streams.create(1);
    await expectCode(client.splitShard(stream, 'shardId-000000000042'), 'PARTITION_NOT_FOUND');
    await expectCode(client.splitShard(stream, 'shardId-000000000042', '12345'), 'PARTITION_NOT_FOUND');
    await expectCode(client.splitShard('sluice-no-such-stream', 'shardId-000000000000', '12345'), 'STREAM_NOT_FOUND');
  });

  it('refuses to create a stream with no shards, and to delete one that does not exist', async () => {
    await expectCode(client.createStream('sluice-zero-shards', 0), 'CONFIG_INVALID');
    await expectCode(client.deleteStream('sluice-no-such-stream'), 'STREAM_NOT_FOUND');
  });
});

describe('kinesis shard order and hash keys', () => {
  function shard(id: string, parent?: string, adjacentParent?: string, closed = false): Shard {
    return {
      ShardId: id,
      ParentShardId: parent,
      AdjacentParentShardId: adjacentParent,
      HashKeyRange: { StartingHashKey: '0', EndingHashKey: MAX_HASH },
      SequenceNumberRange: { StartingSequenceNumber: '1', EndingSequenceNumber: closed ? '2' : undefined },
    };
  }

  it('orders parents before children whatever order the shards come in', () => {
    const shards = [shard('shardId-000000000004', 'shardId-000000000002', 'shardId-000000000003'), shard('shardId-000000000003', 'shardId-000000000000', undefined, true), shard('shardId-000000000002', 'shardId-000000000000', undefined, true), shard('shardId-000000000001'), shard('shardId-000000000000', undefined, undefined, true)];
    const partitions = toPartitionInfos(shards);
    expect(partitions.map((partition) => partition.id)).toEqual(['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002', 'shardId-000000000003', 'shardId-000000000004']);
    expectParentsFirst(partitions);
    expect(partitions.map((partition) => partition.closed)).toEqual([true, false, true, true, false]);
    expect(partitions[4]?.parents).toEqual(['shardId-000000000002', 'shardId-000000000003']);
  });

  it('leaves out parents that are no longer listed (trimmed after the retention period)', () => {
    const partitions = toPartitionInfos([shard('shardId-000000000001', 'shardId-000000000000')]);
    expect(partitions).toEqual([{ id: 'shardId-000000000001', parents: [], closed: false }]);
  });

  it('splits a hash range in the middle, and refuses a range too small to split', () => {
    expect(midpointHashKey('0', MAX_HASH)).toBe((2n ** 127n).toString());
    expect(midpointHashKey('10', '13')).toBe('12');
    let caught: unknown;
    try {
      midpointHashKey('10', '12');
    } catch (error) {
      caught = error;
    }
    expect(isSluiceError(caught, 'CONFIG_INVALID')).toBe(true);
  });
});
