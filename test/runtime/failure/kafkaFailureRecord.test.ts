import type { StreamRecord } from '../../../streams/streamClient';
import { buildKafkaEvent } from '../../../runtime/events/kafkaEvent';
import { eventPayloadBytes } from '../../../runtime/events/payloadSize';
import { buildKafkaFailureRecord, buildKafkaTopicFailureMessages } from '../../../runtime/failure/kafkaFailureRecord';
import awsFailureRecord from '../../fixtures/aws/kafka-failure-record.json';
import awsTopicRecord from '../../fixtures/aws/kafka-topic-failure-record.json';

function topicRecord(overrides: Partial<StreamRecord>): StreamRecord {
  return { stream: 'Topic', partition: '0', position: '1', key: 'k', value: Buffer.from('v'), headers: {}, timestamp: 0, arrivalTime: 0, ...overrides };
}

/** 250 records per partition of "Topic" whose first and last carry the AWS sample's offsets and times. */
function sampleBatch(): StreamRecord[] {
  const info = awsFailureRecord.KafkaBatchInfo.recordsInfo['Topic-0'];
  const first = Date.parse(info.firstRecordTimestamp);
  const last = Date.parse(info.lastRecordTimestamp);
  return ['0', '1'].flatMap((partition) =>
    Array.from({ length: 250 }, (_, index) => {
      const edge = index === 0 ? info.firstRecordOffset : index === 249 ? info.lastRecordOffset : `${BigInt(info.firstRecordOffset) + BigInt(index)}`;
      return topicRecord({ partition, position: edge, timestamp: index === 249 ? last : first + index });
    }),
  );
}

const sampleSource = { eventSource: 'aws:kafka' as const, eventSourceArn: awsFailureRecord.KafkaBatchInfo.eventSourceArn, bootstrapServers: ['...'] };
const sampleInput = {
  requestId: awsFailureRecord.requestContext.requestId,
  functionArn: awsFailureRecord.requestContext.functionArn,
  condition: 'RetryAttemptsExhausted' as const,
  approximateInvokeCount: 1,
  functionError: 'Unhandled' as const,
  now: Date.parse(awsFailureRecord.timestamp),
  source: sampleSource,
};

describe('Kafka failure records (SQS/SNS/S3 shape)', () => {
  it('builds the AWS sample record field by field, with payloadSize measured from the real event', () => {
    const records = sampleBatch();
    const record = buildKafkaFailureRecord({ ...sampleInput, records });
    // the sample's payloadSize belongs to AWS's own batch; ours is the size of the event we would send
    expect(record.KafkaBatchInfo.payloadSize).toBe(eventPayloadBytes(buildKafkaEvent(records, sampleSource)));
    expect({ ...record, KafkaBatchInfo: { ...record.KafkaBatchInfo, payloadSize: awsFailureRecord.KafkaBatchInfo.payloadSize } }).toEqual(awsFailureRecord);
    expect(Object.keys(record)).toEqual(Object.keys(awsFailureRecord));
  });

  it('sets responseContext to null for MaximumPayloadSizeExceeded and leaves it out for RecordAgeExceeded', () => {
    const records = sampleBatch().slice(0, 2);
    expect(buildKafkaFailureRecord({ ...sampleInput, condition: 'MaximumPayloadSizeExceeded', records }).responseContext).toBeNull();
    expect('responseContext' in buildKafkaFailureRecord({ ...sampleInput, condition: 'RecordAgeExceeded', records })).toBe(false);
  });

  it('has no eventSourceArn for self-managed Kafka', () => {
    const record = buildKafkaFailureRecord({ ...sampleInput, source: { eventSource: 'SelfManagedKafka', bootstrapServers: ['h:1', 'h:2'] }, records: [topicRecord({})] });
    expect('eventSourceArn' in record.KafkaBatchInfo).toBe(false);
    expect(record.KafkaBatchInfo.bootstrapServers).toBe('h:1,h:2');
  });

  it('carries the whole event as payload when asked to include records', () => {
    const records = [topicRecord({ position: '5' }), topicRecord({ position: '6' })];
    const record = buildKafkaFailureRecord({ ...sampleInput, records, includeRecords: true });
    expect(record.payload).toEqual(buildKafkaEvent(records, sampleSource));
  });
});

describe('Kafka failure messages for a Kafka topic destination', () => {
  const [sample] = awsTopicRecord.payload.records['my-topic-0'];
  const sampleRecord = topicRecord({
    stream: 'my-topic',
    partition: '0',
    position: String(sample?.offset),
    key: 'test-key',
    value: Buffer.from('test-value'),
    timestamp: sample?.timestamp,
  });
  const input = {
    requestId: awsTopicRecord.requestContext.requestId,
    functionArn: awsTopicRecord.requestContext.functionArn,
    condition: 'RetryAttemptsExhausted' as const,
    approximateInvokeCount: 3,
    functionError: 'Unhandled' as const,
    now: Date.parse(awsTopicRecord.timestamp),
    source: { eventSource: 'aws:kafka' as const, eventSourceArn: awsTopicRecord.KafkaBatchInfo.eventSourceArn, bootstrapServers: [awsTopicRecord.KafkaBatchInfo.bootstrapServers] },
  };

  it('builds the AWS sample message from the sample record, keyed like the original record', () => {
    const [message, ...rest] = buildKafkaTopicFailureMessages({ ...input, records: [sampleRecord] });
    expect(rest).toHaveLength(0);
    expect(message?.key).toBe('test-key');
    const expected = {
      ...awsTopicRecord,
      // AWS's sample says "RetriesExhausted" here and "RetryAttemptsExhausted" everywhere else
      requestContext: { ...awsTopicRecord.requestContext, condition: 'RetryAttemptsExhausted' },
      KafkaBatchInfo: {
        ...awsTopicRecord.KafkaBatchInfo,
        payloadSize: eventPayloadBytes(message?.record.payload),
        // the sample's recordInfo.offset does not match its own payload record (offset 100); ours does
        recordInfo: { offset: '100', timestamp: new Date(sample?.timestamp ?? 0).toISOString() },
      },
    };
    expect(message?.record).toEqual(expected);
  });

  it('writes one message per failed record, each with only its own record as payload', () => {
    const records = [topicRecord({ position: '1', key: 'a' }), topicRecord({ position: '2', key: '' })];
    const messages = buildKafkaTopicFailureMessages({ ...input, records });
    expect(messages.map((message) => message.key)).toEqual(['a', undefined]);
    expect(messages.map((message) => message.record.KafkaBatchInfo.batchSize)).toEqual([1, 1]);
    expect(messages[1]?.record.payload.records['Topic-0']?.map((record) => record.offset)).toEqual([2]);
    expect(messages[1]?.record.KafkaBatchInfo.recordInfo.offset).toBe('2');
  });
});
