import type { StreamRecord } from '../../../streams/streamClient';
import { buildKinesisEvent, buildTumblingWindowEvent, tumblingWindowOf, windowTimestamp } from '../../../runtime/events/kinesisEvent';
import { LOCAL_ACCOUNT_ID, LOCAL_EXECUTION_ROLE_ARN, kinesisStreamArn, lambdaFunctionArn, mskClusterArn, regionOfArn } from '../../../runtime/events/arns';
import { MAX_INVOCATION_PAYLOAD_BYTES, eventPayloadBytes } from '../../../runtime/events/payloadSize';
import awsKinesisEvent from '../../fixtures/aws/kinesis-event.json';
import awsWindowEvent from '../../fixtures/aws/kinesis-tumbling-window-event.json';

function kinesisRecord(overrides: Partial<StreamRecord>): StreamRecord {
  return { stream: 'lambda-stream', partition: 'shardId-000000000006', position: '1', key: '1', value: Buffer.alloc(0), headers: {}, timestamp: 0, arrivalTime: 0, ...overrides };
}

/** The AWS sample's records as StreamRecords: the sample's own values as input. */
const sampleRecords = [
  kinesisRecord({ position: '49590338271490256608559692538361571095921575989136588898', value: Buffer.from('Hello, this is a test.'), arrivalTime: 1545084650987 }),
  kinesisRecord({ position: '49590338271490256608559692540925702759324208523137515618', value: Buffer.from('This is only a test.'), arrivalTime: 1545084711166 }),
];
const sampleSource = { streamArn: 'arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream', region: 'us-east-2', invokeIdentityArn: 'arn:aws:iam::123456789012:role/lambda-role' };

describe('Kinesis events', () => {
  it('builds the AWS sample Kinesis event field by field from the sample records', () => {
    const event = buildKinesisEvent(sampleRecords, sampleSource);
    expect(event).toEqual(awsKinesisEvent);
    // same keys in the same order, and the same number text (seconds with a fraction)
    expect(JSON.stringify(event)).toBe(JSON.stringify(awsKinesisEvent));
  });

  it('writes approximateArrivalTimestamp in epoch seconds with milliseconds as the fraction', () => {
    const [record] = buildKinesisEvent([kinesisRecord({ arrivalTime: 1700000000123 })], sampleSource).Records;
    expect(record?.kinesis.approximateArrivalTimestamp).toBe(1700000000.123);
  });

  it('base64-encodes binary data exactly', () => {
    const bytes = Buffer.from([0, 255, 128, 10, 13]);
    const [record] = buildKinesisEvent([kinesisRecord({ value: bytes })], sampleSource).Records;
    expect(Buffer.from(record?.kinesis.data ?? '', 'base64')).toEqual(bytes);
  });

  it('names the shard and sequence number in eventID and uses the local role when none is given', () => {
    const [record] = buildKinesisEvent([kinesisRecord({ partition: 'shardId-000000000002', position: '42' })], { streamArn: kinesisStreamArn('eu-west-1', 's'), region: 'eu-west-1' }).Records;
    expect(record?.eventID).toBe('shardId-000000000002:42');
    expect(record?.invokeIdentityArn).toBe(LOCAL_EXECUTION_ROLE_ARN);
    expect(record?.eventSourceARN).toBe('arn:aws:kinesis:eu-west-1:000000000000:stream/s');
  });

  it('builds the AWS sample tumbling-window event, with the window the record falls in', () => {
    const [sample] = awsWindowEvent.Records;
    const record = kinesisRecord({ position: sample?.kinesis.sequenceNumber, value: Buffer.from('Hello, this is a test.'), arrivalTime: 1607497475000 });
    const window = tumblingWindowOf(record.arrivalTime, 120);
    const event = buildTumblingWindowEvent([record], { streamArn: awsWindowEvent.eventSourceARN, region: 'us-east-1', invokeIdentityArn: sample?.invokeIdentityArn }, {
      window,
      state: { '1': 282, '2': 715 },
      shardId: 'shardId-000000000006',
      isFinalInvokeForWindow: false,
      isWindowTerminatedEarly: false,
    });
    expect(event).toEqual(awsWindowEvent);
    expect(Object.keys(event)).toEqual(Object.keys(awsWindowEvent));
  });

  it('starts a window with empty state and keeps milliseconds in bounds only when there are some', () => {
    const event = buildTumblingWindowEvent([], { streamArn: 'arn', region: 'us-east-1' }, { window: { start: 0, end: 60000 }, shardId: 's', isFinalInvokeForWindow: true, isWindowTerminatedEarly: false });
    expect(event.state).toEqual({});
    expect(event.window).toEqual({ start: '1970-01-01T00:00:00Z', end: '1970-01-01T00:01:00Z' });
    expect(windowTimestamp(1500)).toBe('1970-01-01T00:00:01.500Z');
  });

  it('puts every arrival time in the epoch-aligned window that contains it', () => {
    expect(tumblingWindowOf(59_999, 60)).toEqual({ start: 0, end: 60_000 });
    expect(tumblingWindowOf(60_000, 60)).toEqual({ start: 60_000, end: 120_000 });
  });
});

describe('local ARNs', () => {
  it('uses the fixed local account id everywhere', () => {
    expect(LOCAL_ACCOUNT_ID).toBe('000000000000');
    expect(kinesisStreamArn('us-east-1', 'telemetry')).toBe('arn:aws:kinesis:us-east-1:000000000000:stream/telemetry');
    expect(lambdaFunctionArn('us-east-1', 'agg')).toBe('arn:aws:lambda:us-east-1:000000000000:function:agg');
    expect(regionOfArn('arn:aws:kinesis:eu-central-1:000000000000:stream/x')).toBe('eu-central-1');
  });

  it('gives a cluster the same MSK-shaped ARN on every run', () => {
    const arn = mskClusterArn('us-east-1', '127.0.0.1:9092');
    expect(arn).toMatch(/^arn:aws:kafka:us-east-1:000000000000:cluster\/127-0-0-1-9092\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-1$/);
    expect(mskClusterArn('us-east-1', '127.0.0.1:9092')).toBe(arn);
    expect(mskClusterArn('us-east-1', '127.0.0.1:9093')).not.toBe(arn);
  });
});

describe('event payload size', () => {
  it('measures an event as the UTF-8 bytes of its JSON', () => {
    const event = buildKinesisEvent(sampleRecords, sampleSource);
    expect(eventPayloadBytes(event)).toBe(Buffer.byteLength(JSON.stringify(event)));
    expect(eventPayloadBytes({ text: 'é' })).toBe('{"text":"é"}'.length + 1);
  });

  it('caps invocations at 6 MB like Lambda', () => {
    expect(MAX_INVOCATION_PAYLOAD_BYTES).toBe(6_291_456);
    const big = kinesisRecord({ value: Buffer.alloc(4_800_000) }); // base64 grows it by 4/3
    expect(eventPayloadBytes(buildKinesisEvent([big], sampleSource))).toBeGreaterThan(MAX_INVOCATION_PAYLOAD_BYTES);
  });
});
