import { fc, test as propertyTest } from '@fast-check/jest';
import { Partitioners } from 'kafkajs';
import type { PartitionMetadata } from 'kafkajs';
import { isSluiceError } from '../../../core/errors';
import type { StreamRecordInput } from '../../../streams/streamClient';
import { MAX_RECORDS_PER_BATCH, RECORD_BATCH_OVERHEAD, addToOffset, planProduce, recordSizeUpperBound } from '../../../streams/kafka/producePlan';

function partitions(count: number): PartitionMetadata[] {
  return Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));
}

function sizeOf(record: StreamRecordInput): number {
  return recordSizeUpperBound(Buffer.from(record.key), record.value, Object.entries(record.headers ?? {}));
}

function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

const recordArbitrary = fc.record({
  key: fc.constantFrom('device-1', 'device-2', 'device-3', 'sensor-α', '', 'k'.repeat(200)),
  value: fc.integer({ min: 0, max: 3000 }).map((length) => Buffer.alloc(length, 7)),
  headers: fc.option(fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes))), { nil: undefined }),
  timestamp: fc.option(fc.integer({ min: 0, max: 2 ** 42 }), { nil: undefined }),
});

describe('produce plan (partitioning and splitting before sending)', () => {
  propertyTest.prop([fc.array(recordArbitrary, { maxLength: 300 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 4096, max: 40_000 })])(
    'sends every record once, keeps input order per partition, and keeps each batch under the limit',
    (records, partitionCount, maxBatchBytes) => {
      const rounds = planProduce(records, { stream: 't', partitions: partitions(partitionCount), maxBatchBytes });
      const seen = new Map<number, number[]>();
      const partitionOfKey = new Map<string, number>();
      for (const round of rounds) {
        for (const [partition, planned] of round) {
          expect(planned.length).toBeGreaterThan(0);
          expect(planned.length).toBeLessThanOrEqual(MAX_RECORDS_PER_BATCH);
          const bytes = planned.reduce((sum, { index }) => sum + sizeOf(records[index] as StreamRecordInput), RECORD_BATCH_OVERHEAD);
          expect(bytes).toBeLessThanOrEqual(maxBatchBytes);
          for (const { index, message } of planned) {
            expect(message.partition).toBe(partition);
            const record = records[index] as StreamRecordInput;
            expect(partitionOfKey.get(record.key) ?? partition).toBe(partition);
            partitionOfKey.set(record.key, partition);
            seen.set(partition, [...(seen.get(partition) ?? []), index]);
          }
        }
      }
      const all = [...seen.values()].flat();
      expect(all.sort((a, b) => a - b)).toEqual(records.map((_, index) => index));
      for (const indices of seen.values()) expect(indices).toEqual([...indices].sort((a, b) => a - b));
    },
  );

  it('chooses the partition kafkajs DefaultPartitioner (murmur2, as the Java client) chooses for the key', () => {
    const metadata = partitions(7);
    const partitioner = Partitioners.DefaultPartitioner();
    const records = Array.from({ length: 200 }, (_, i) => ({ key: `device-${i}`, value: Buffer.from('v') }));
    const [round] = planProduce(records, { stream: 't', partitions: metadata, maxBatchBytes: 1_000_000 });
    for (const [partition, planned] of round ?? new Map()) {
      for (const { index } of planned) {
        expect(partitioner({ topic: 't', partitionMetadata: metadata, message: { key: Buffer.from(`device-${index}`), value: null } })).toBe(partition);
      }
    }
  });

  it('splits one partition into several rounds when its records pass the limit', () => {
    const records = Array.from({ length: 10 }, () => ({ key: 'same', value: Buffer.alloc(1000) }));
    const rounds = planProduce(records, { stream: 't', partitions: partitions(3), maxBatchBytes: 3500 });
    expect(rounds.length).toBe(4); // 3 + 3 + 3 + 1 records of ~1 KB under 3.5 KB
    expect(rounds.map((round) => [...round.values()][0]?.map(({ index }) => index))).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
  });

  it('caps a batch at MAX_RECORDS_PER_BATCH records', () => {
    const records = Array.from({ length: MAX_RECORDS_PER_BATCH + 5 }, () => ({ key: 'same', value: Buffer.alloc(1) }));
    const rounds = planProduce(records, { stream: 't', partitions: partitions(1), maxBatchBytes: 100_000_000 });
    expect(rounds.map((round) => round.get(0)?.length)).toEqual([MAX_RECORDS_PER_BATCH, 5]);
  });

  it('refuses a record that alone passes the limit with RECORD_TOO_LARGE', () => {
    const fits = { key: 'k', value: Buffer.alloc(2000) };
    const limit = sizeOf(fits) + RECORD_BATCH_OVERHEAD;
    expect(planProduce([fits], { stream: 't', partitions: partitions(1), maxBatchBytes: limit })).toHaveLength(1);
    const error = thrownBy(() => planProduce([fits, { key: 'k', value: Buffer.alloc(2001) }], { stream: 't', partitions: partitions(1), maxBatchBytes: limit }));
    expect(isSluiceError(error, 'RECORD_TOO_LARGE')).toBe(true);
    expect((error as Error).message).toContain('record 1');
  });

  it('refuses malformed records with RECORD_INVALID', () => {
    const bad: unknown[] = [
      { key: 'k', value: 'not a buffer' },
      { key: 7, value: Buffer.alloc(1) },
      { key: 'k', value: Buffer.alloc(1), timestamp: -1 },
      { key: 'k', value: Buffer.alloc(1), timestamp: 1.5 },
      { key: 'k', value: Buffer.alloc(1), headers: { h: 'text' } },
      null,
    ];
    for (const record of bad) {
      const error = thrownBy(() => planProduce([record as StreamRecordInput], { stream: 't', partitions: partitions(1), maxBatchBytes: 100_000 }));
      expect(isSluiceError(error, 'RECORD_INVALID')).toBe(true);
    }
  });

  it('keeps a timestamp of 0 as 0 (kafkajs would replace a falsy one with now)', () => {
    const [round] = planProduce([{ key: 'k', value: Buffer.alloc(1), timestamp: 0 }], { stream: 't', partitions: partitions(1), maxBatchBytes: 100_000 });
    expect(round?.get(0)?.[0]?.message.timestamp).toBe('0');
  });

  it('adds to offsets exactly beyond 2^53', () => {
    expect(addToOffset('41', 1)).toBe('42');
    expect(addToOffset('9007199254740991', 1)).toBe('9007199254740992');
    expect(addToOffset('9223372036854775000', 7)).toBe('9223372036854775007');
  });
});
