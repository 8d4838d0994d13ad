import { isSluiceError } from '../../../core/errors';
import type { StreamRecord } from '../../../streams/streamClient';
import { buildKinesisEvent } from '../../../runtime/events/kinesisEvent';
import { buildKinesisFailureRecord } from '../../../runtime/failure/kinesisFailureRecord';
import awsFailureRecord from '../../fixtures/aws/kinesis-failure-record.json';

function shardRecord(position: string, arrivalTime: number): StreamRecord {
  return { stream: 'mystream', partition: 'shardId-000000000001', position, key: 'pk', value: Buffer.from(`{"n":"${position}"}`), headers: {}, timestamp: arrivalTime, arrivalTime };
}

/** 500 records whose first and last are the AWS sample's. */
function sampleBatch(): StreamRecord[] {
  const info = awsFailureRecord.KinesisBatchInfo;
  const records = Array.from({ length: 500 }, (_, index) => shardRecord(`4960118965842235937883629852182763847532018901230970${4722 + index}`, Date.parse(info.approximateArrivalOfFirstRecord) + index));
  records[0] = shardRecord(info.startSequenceNumber, Date.parse(info.approximateArrivalOfFirstRecord));
  records[499] = shardRecord(info.endSequenceNumber, Date.parse(info.approximateArrivalOfLastRecord));
  return records;
}

const sampleInput = {
  requestId: awsFailureRecord.requestContext.requestId,
  functionArn: awsFailureRecord.requestContext.functionArn,
  condition: 'RetryAttemptsExhausted' as const,
  approximateInvokeCount: 1,
  functionError: 'Unhandled' as const,
  shardId: awsFailureRecord.KinesisBatchInfo.shardId,
  streamArn: awsFailureRecord.KinesisBatchInfo.streamArn,
  now: Date.parse(awsFailureRecord.timestamp),
};

describe('Kinesis failure records', () => {
  it('builds the AWS sample failure record field by field from the sample values', () => {
    const record = buildKinesisFailureRecord({ ...sampleInput, records: sampleBatch() });
    expect(record).toEqual(awsFailureRecord);
    expect(JSON.stringify(record)).toBe(JSON.stringify(awsFailureRecord));
  });

  it('has no responseContext at all for RecordAgeExceeded', () => {
    const record = buildKinesisFailureRecord({ ...sampleInput, condition: 'RecordAgeExceeded', records: sampleBatch().slice(0, 3) });
    expect('responseContext' in record).toBe(false);
    expect(record.requestContext.condition).toBe('RecordAgeExceeded');
    expect(record.KinesisBatchInfo.batchSize).toBe(3);
  });

  it('has no responseContext for a record too big to invoke with', () => {
    expect('responseContext' in buildKinesisFailureRecord({ ...sampleInput, condition: 'MaximumPayloadSizeExceeded', records: sampleBatch().slice(0, 1) })).toBe(false);
  });

  it('reports functionError null after a partial batch response', () => {
    const record = buildKinesisFailureRecord({ ...sampleInput, functionError: null, records: sampleBatch().slice(0, 1) });
    expect(record.responseContext).toEqual({ statusCode: 200, executedVersion: '$LATEST', functionError: null });
  });

  it('describes one retried record alone like the recorded AWS run (invoke count 4, batch size 1, start = end)', () => {
    const failed = shardRecord('49650000000000000000000000000000000000000000000000000005', Date.parse('2025-01-02T03:04:05.006Z'));
    const record = buildKinesisFailureRecord({ ...sampleInput, approximateInvokeCount: 4, functionError: null, records: [failed], now: Date.parse('2025-01-02T03:05:00Z') });
    expect(record.requestContext.approximateInvokeCount).toBe(4);
    expect(record.KinesisBatchInfo).toMatchObject({ batchSize: 1, startSequenceNumber: failed.position, endSequenceNumber: failed.position, approximateArrivalOfFirstRecord: '2025-01-02T03:04:05.006Z' });
    expect(record.timestamp).toBe('2025-01-02T03:05:00.000Z');
  });

  it('carries the full event records in payload when asked to include them', () => {
    const records = sampleBatch().slice(0, 2);
    const record = buildKinesisFailureRecord({ ...sampleInput, records, includeRecords: true, invokeIdentityArn: 'arn:aws:iam::123456789012:role/r' });
    expect(record.payload).toEqual({ Records: buildKinesisEvent(records, { streamArn: sampleInput.streamArn, region: 'us-east-2', invokeIdentityArn: 'arn:aws:iam::123456789012:role/r' }).Records });
    expect(Object.keys(record).pop()).toBe('payload');
    expect('payload' in buildKinesisFailureRecord({ ...sampleInput, records })).toBe(false);
  });

  it('refuses to describe an empty batch', () => {
    let thrown: unknown;
    try {
      buildKinesisFailureRecord({ ...sampleInput, records: [] });
    } catch (error) {
      thrown = error;
    }
    expect(isSluiceError(thrown, 'OPERATION_INVALID')).toBe(true);
  });
});
