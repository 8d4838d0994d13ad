import { SluiceError } from '../core/errors';

/**
 * One URI scheme for every stream address in sluice (CLI flags, config files, failure destinations):
 *   kafka://127.0.0.1:9092/telemetry            one or more brokers: kafka://h1:9092,h2:9092/telemetry
 *   kinesis://127.0.0.1:4567/telemetry          a local endpoint (kinesalite), plain HTTP/1.1
 *   kinesis:///telemetry                        AWS itself: default endpoint, region and credentials
 *   kinesis://127.0.0.1:4567/telemetry?region=eu-west-1
 */
export interface KafkaAddress {
  kind: 'kafka';
  brokers: string[];
  stream: string;
}

export interface KinesisAddress {
  kind: 'kinesis';
  /** http://host:port for a local endpoint; undefined means the AWS default endpoint */
  endpoint: string | undefined;
  region: string;
  stream: string;
}

export type StreamAddress = KafkaAddress | KinesisAddress;

const KAFKA_TOPIC = /^[A-Za-z0-9._-]{1,249}$/;
const KINESIS_STREAM = /^[A-Za-z0-9._-]{1,128}$/;
const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

function invalid(address: string, problem: string): SluiceError {
  return new SluiceError('ADDRESS_INVALID', `invalid stream address "${address}": ${problem}`);
}

function checkHostPort(address: string, hostPort: string): string {
  const match = HOST_PORT.exec(hostPort);
  if (!match) throw invalid(address, `"${hostPort}" is not host:port`);
  const port = Number(match[2]);
  if (port < 1 || port > 65535) throw invalid(address, `port ${port} is out of range 1..65535`);
  return hostPort;
}

export function parseStreamAddress(address: string): StreamAddress {
  const scheme = /^([a-z]+):\/\/([^/?#]*)\/([^?#]*)(?:\?([^#]*))?$/.exec(address.trim());
  if (!scheme) throw invalid(address, 'expected kafka://host:port/name or kinesis://host:port/name (kinesis:///name for AWS)');
  const [, kind = '', authority = '', name = '', query = ''] = scheme;
  const params = new URLSearchParams(query);
  if (kind === 'kafka') {
    if (!authority) throw invalid(address, 'kafka:// needs at least one broker host:port');
    if (!KAFKA_TOPIC.test(name)) throw invalid(address, `"${name}" is not a valid Kafka topic name (letters, digits, . _ -; 1..249 chars)`);
    const brokers = authority.split(',').map((hostPort) => checkHostPort(address, hostPort));
    for (const key of params.keys()) throw invalid(address, `unknown option "${key}" for kafka://`);
    return { kind: 'kafka', brokers, stream: name };
  }
  if (kind === 'kinesis') {
    if (!KINESIS_STREAM.test(name)) throw invalid(address, `"${name}" is not a valid Kinesis stream name (letters, digits, . _ -; 1..128 chars)`);
    for (const key of params.keys()) if (key !== 'region') throw invalid(address, `unknown option "${key}" for kinesis:// (only region)`);
    const endpoint = authority ? `http://${checkHostPort(address, authority)}` : undefined;
    const region = params.get('region') ?? (endpoint ? 'us-east-1' : (process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1'));
    return { kind: 'kinesis', endpoint, region, stream: name };
  }
  throw invalid(address, `unknown scheme "${kind}://" (expected kafka:// or kinesis://)`);
}

export function formatStreamAddress(address: StreamAddress): string {
  if (address.kind === 'kafka') return `kafka://${address.brokers.join(',')}/${address.stream}`;
  const authority = address.endpoint ? address.endpoint.replace(/^https?:\/\//, '') : '';
  const region = address.endpoint && address.region !== 'us-east-1' ? `?region=${address.region}` : '';
  return `kinesis://${authority}/${address.stream}${region}`;
}

