import { fc, test } from '@fast-check/jest';
import { Partitioners } from 'kafkajs';
import type { PartitionMetadata } from 'kafkajs';
import { murmur2 } from '../../../streams/kafka/fastMurmur2';

// The partition of a keyed record must not change: the same key has to land where kafkajs (and
// Java's default partitioner) put it, or a device's readings would change partition mid-stream.
const metadata = (count: number): PartitionMetadata[] =>
  Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0, offlineReplicas: [] }));

test.prop([fc.oneof(fc.string({ maxLength: 40 }).map((text) => Buffer.from(text, 'utf8')), fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes))), fc.integer({ min: 1, max: 64 })], { numRuns: 2000 })(
  'puts every key in the partition kafkajs DefaultPartitioner picks',
  (key, partitions) => {
    const kafkajs = Partitioners.DefaultPartitioner()({ topic: 't', partitionMetadata: metadata(partitions), message: { key, value: null } });
    expect((murmur2(key) & 0x7fffffff) % partitions).toBe(kafkajs);
  },
);
