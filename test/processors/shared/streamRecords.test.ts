import { fc, test } from '@fast-check/jest';
import { buildKafkaEvent } from '../../../runtime/events/kafkaEvent';
import { buildKinesisEvent } from '../../../runtime/events/kinesisEvent';
import { batchItemIdentifierOf } from '../../../runtime/events/itemIdentifier';
import type { StreamRecord } from '../../../streams/streamClient';
import { batchItemFailures, recordsByScope, recordsOf } from '../../../processors/shared/streamRecords';

// Events built by the runtime's own builders (the shapes AWS sends), read back by the processors' decoder.
const streamRecord = (kind: 'kafka' | 'kinesis') =>
  fc.record({
    partition: kind === 'kafka' ? fc.integer({ min: 0, max: 3 }).map(String) : fc.constantFrom('shardId-000000000000', 'shardId-000000000001'),
    position: fc.bigInt({ min: 0n, max: 10n ** 40n }).map(String),
    key: fc.string({ minLength: kind === 'kinesis' ? 1 : 0, maxLength: 20 }),
    value: fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
    arrivalTime: fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
  }).map((r): StreamRecord => ({ stream: 'telemetry', partition: r.partition, position: kind === 'kafka' ? String(Number(r.position) % 2 ** 50) : r.position, key: r.key, value: r.value, headers: {}, timestamp: r.arrivalTime, arrivalTime: r.arrivalTime }));

describe('recordsOf', () => {
  test.prop([fc.array(streamRecord('kinesis'), { maxLength: 20 })])('reads back every Kinesis record: scope per shard, sequence number, key, bytes, arrival time', (records) => {
    const event = buildKinesisEvent(records, { streamArn: 'arn:aws:kinesis:local:000000000000:stream/telemetry', region: 'local' });
    const decoded = recordsOf(event);
    expect(decoded).toHaveLength(records.length);
    decoded.forEach((record, index) => {
      const original = records[index]!;
      expect(record.scope).toBe(`kinesis:telemetry/${original.partition}`);
      expect(record.position).toBe(original.position);
      expect(record.key).toBe(original.key);
      expect(record.data.equals(original.value)).toBe(true);
      expect(record.itemIdentifier).toEqual(batchItemIdentifierOf(original, 'kinesis'));
      expect(Math.abs(record.arrivalTime - original.arrivalTime)).toBeLessThanOrEqual(1);
    });
  });

  const withDistinctOffsets = (records: StreamRecord[]): StreamRecord[] => records.map((record, index) => ({ ...record, position: String(index * 7 + (Number(record.position) % 7)) }));

  test.prop([fc.array(streamRecord('kafka'), { maxLength: 20 }).map(withDistinctOffsets)])('reads back every Kafka record with the item identifier AWS expects for partial batch responses', (records) => {
    const event = buildKafkaEvent(records, { eventSource: 'aws:kafka', eventSourceArn: 'arn:aws:kafka:local:000000000000:cluster/local/x', bootstrapServers: ['127.0.0.1:9092'] });
    const decoded = recordsOf(event);
    expect(decoded).toHaveLength(records.length);
    for (const record of decoded) {
      const original = records.find((candidate) => `kafka:telemetry-${candidate.partition}` === record.scope && candidate.position === record.position);
      expect(original).toBeDefined();
      expect(record.key).toBe(original!.key);
      expect(record.data.equals(original!.value)).toBe(true);
      expect(record.itemIdentifier).toEqual(batchItemIdentifierOf(original!, 'kafka'));
    }
    // grouped by scope, each group keeps delivery order
    for (const [scope, group] of recordsByScope(decoded)) {
      expect(group.map((r) => r.position)).toEqual(records.filter((r) => `kafka:telemetry-${r.partition}` === scope).map((r) => r.position));
    }
  });

  it('turns failed records into a partial batch response', () => {
    const [record] = recordsOf(buildKinesisEvent([{ stream: 's', partition: 'shardId-000000000000', position: '42', key: 'k', value: Buffer.from('x'), headers: {}, timestamp: 1, arrivalTime: 1 }], { streamArn: 'arn:aws:kinesis:local:0:stream/s', region: 'local' }));
    expect(batchItemFailures([record!])).toEqual({ batchItemFailures: [{ itemIdentifier: '42' }] });
    expect(batchItemFailures([])).toEqual({ batchItemFailures: [] });
  });
});
