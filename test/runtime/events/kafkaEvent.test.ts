import type { StreamRecord } from '../../../streams/streamClient';
import { buildKafkaEvent } from '../../../runtime/events/kafkaEvent';
import { batchItemIdentifierOf, itemIdentifierKey, itemIdentifierOf } from '../../../runtime/events/itemIdentifier';
import awsMskEvent from '../../fixtures/aws/msk-event.json';
import awsSelfManagedEvent from '../../fixtures/aws/self-managed-kafka-event.json';
import awsKafkaBatchResponse from '../../fixtures/aws/kafka-batch-response.json';

function kafkaRecord(overrides: Partial<StreamRecord>): StreamRecord {
  return { stream: 'mytopic', partition: '0', position: '0', key: 'k', value: Buffer.alloc(0), headers: {}, timestamp: 0, arrivalTime: 0, ...overrides };
}

/** The AWS sample's record as a StreamRecord: the sample's own values decoded. */
const sampleRecord = kafkaRecord({
  position: '15',
  key: 'recordKey',
  value: Buffer.from('{"key":"value"}'),
  headers: { headerKey: Buffer.from('headerValue') },
  timestamp: 1545084650987,
  arrivalTime: 1545084650987,
});
const bootstrapServers = awsMskEvent.bootstrapServers.split(',');

describe('Kafka events', () => {
  it('builds the AWS sample MSK event field by field from the sample record', () => {
    const event = buildKafkaEvent([sampleRecord], { eventSource: 'aws:kafka', eventSourceArn: awsMskEvent.eventSourceArn, bootstrapServers });
    expect(event).toEqual(awsMskEvent);
    expect(JSON.stringify(event)).toBe(JSON.stringify(awsMskEvent));
  });

  it('builds the AWS sample self-managed Kafka event, which has no eventSourceArn', () => {
    const event = buildKafkaEvent([sampleRecord], { eventSource: 'SelfManagedKafka', eventSourceArn: 'ignored', bootstrapServers });
    expect(event).toEqual(awsSelfManagedEvent);
    expect('eventSourceArn' in event).toBe(false);
  });

  it('groups records under <topic>-<partition>, keeping their order', () => {
    const records = [
      kafkaRecord({ stream: 'a', partition: '1', position: '5' }),
      kafkaRecord({ stream: 'a', partition: '0', position: '7' }),
      kafkaRecord({ stream: 'a', partition: '1', position: '6' }),
      kafkaRecord({ stream: 'b.c-d', partition: '1', position: '1' }),
    ];
    const event = buildKafkaEvent(records, { eventSource: 'SelfManagedKafka', bootstrapServers: ['h:1'] });
    expect(Object.keys(event.records)).toEqual(['a-1', 'a-0', 'b.c-d-1']);
    expect(event.records['a-1']?.map((record) => record.offset)).toEqual([5, 6]);
    expect(event.records['b.c-d-1']?.[0]?.partition).toBe(1);
  });

  it('leaves out key for a record without one, like AWS', () => {
    const [record] = buildKafkaEvent([kafkaRecord({ key: '' })], { eventSource: 'aws:kafka', bootstrapServers: ['h:1'] }).records['mytopic-0'] ?? [];
    expect(record).toBeDefined();
    expect('key' in (record ?? {})).toBe(false);
  });

  it('writes header bytes as unsigned numbers and one object per header', () => {
    const [record] = buildKafkaEvent([kafkaRecord({ headers: { a: Buffer.from([0, 200, 255]), b: Buffer.alloc(0) } })], { eventSource: 'aws:kafka', bootstrapServers: ['h:1'] }).records['mytopic-0'] ?? [];
    expect(record?.headers).toEqual([{ a: [0, 200, 255] }, { b: [] }]);
  });

  it('stamps records CREATE_TIME unless the topic appends its own time', () => {
    const source = { eventSource: 'aws:kafka' as const, bootstrapServers: ['h:1'] };
    expect(buildKafkaEvent([sampleRecord], source).records['mytopic-0']?.[0]?.timestampType).toBe('CREATE_TIME');
    expect(buildKafkaEvent([sampleRecord], { ...source, timestampType: 'LOG_APPEND_TIME' }).records['mytopic-0']?.[0]?.timestampType).toBe('LOG_APPEND_TIME');
  });
});

describe('batch item identifiers', () => {
  it('identifies a Kinesis record by its sequence number', () => {
    const record = kafkaRecord({ partition: 'shardId-000000000000', position: '4959' });
    expect(batchItemIdentifierOf(record, 'kinesis')).toBe('4959');
    expect(itemIdentifierOf(record, 'kinesis')).toBe('4959');
    expect(itemIdentifierKey('4959')).toBe('4959');
  });

  it('identifies a Kafka record by its topic-partition and offset, the object AWS reads back', () => {
    const record = kafkaRecord({ stream: 'some.topic', partition: '3', position: '42' });
    expect(batchItemIdentifierOf(record, 'kafka')).toEqual({ partition: 'some.topic-3', offset: 42 });
    const [failure] = awsKafkaBatchResponse.batchItemFailures;
    expect(itemIdentifierKey(failure?.itemIdentifier)).toBe(itemIdentifierOf(record, 'kafka'));
    expect(itemIdentifierKey(batchItemIdentifierOf(record, 'kafka'))).toBe(itemIdentifierOf(record, 'kafka'));
  });

  it('reads numbers and decimal-string offsets like Lambda’s JSON binding, and nothing malformed', () => {
    expect(itemIdentifierKey(123)).toBe('123');
    expect(itemIdentifierKey({ partition: 't-0', offset: '42' })).toBe(itemIdentifierKey({ partition: 't-0', offset: 42 }));
    for (const bad of ['', null, undefined, Number.NaN, {}, { partition: 't-0' }, { offset: 1 }, { partition: '', offset: 1 }, { partition: 't-0', offset: -1 }, { partition: 't-0', offset: 1.5 }, { 'topic-partition': 't-0', offset: 1 }, []]) {
      expect(itemIdentifierKey(bad)).toBeUndefined();
    }
  });
});
