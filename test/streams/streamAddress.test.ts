import { isSluiceError } from '../../core/errors';
import { formatStreamAddress, parseStreamAddress } from '../../streams/streamAddress';

describe('stream addresses', () => {
  it('parses a Kafka address with one or more brokers', () => {
    expect(parseStreamAddress('kafka://127.0.0.1:9092/telemetry')).toEqual({ kind: 'kafka', brokers: ['127.0.0.1:9092'], stream: 'telemetry' });
    expect(parseStreamAddress('kafka://a:1,b:2/t.x_y-z')).toEqual({ kind: 'kafka', brokers: ['a:1', 'b:2'], stream: 't.x_y-z' });
  });

  it('parses a local Kinesis endpoint and the AWS default', () => {
    expect(parseStreamAddress('kinesis://127.0.0.1:4567/telemetry')).toEqual({ kind: 'kinesis', endpoint: 'http://127.0.0.1:4567', region: 'us-east-1', stream: 'telemetry' });
    const aws = parseStreamAddress('kinesis:///telemetry?region=eu-west-1');
    expect(aws).toEqual({ kind: 'kinesis', endpoint: undefined, region: 'eu-west-1', stream: 'telemetry' });
  });

  it('formats what it parses back to the same address', () => {
    for (const address of ['kafka://127.0.0.1:9092/telemetry', 'kafka://a:1,b:2/t', 'kinesis://127.0.0.1:4567/s', 'kinesis:///s', 'kinesis://h:1/s?region=eu-west-1']) {
      expect(formatStreamAddress(parseStreamAddress(address))).toBe(address);
    }
  });

  it.each([
    ['telemetry', 'expected kafka://'],
    ['http://127.0.0.1:9092/t', 'unknown scheme "http://"'],
    ['kafka:///telemetry', 'needs at least one broker'],
    ['kafka://127.0.0.1/telemetry', 'is not host:port'],
    ['kafka://127.0.0.1:99999/telemetry', 'out of range'],
    ['kafka://127.0.0.1:9092/bad topic', 'not a valid Kafka topic name'],
    ['kafka://127.0.0.1:9092/', 'not a valid Kafka topic name'],
    ['kafka://127.0.0.1:9092/t?region=x', 'unknown option "region"'],
    ['kinesis://127.0.0.1:4567/s?shards=2', 'unknown option "shards"'],
  ])('refuses %s with ADDRESS_INVALID naming the problem', (address, problem) => {
    let caught: unknown;
    try {
      parseStreamAddress(address);
    } catch (error) {
      caught = error;
    }
    expect(isSluiceError(caught, 'ADDRESS_INVALID')).toBe(true);
    expect((caught as Error).message).toContain(problem);
  });
});
