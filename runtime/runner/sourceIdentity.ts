/**
 * How a mapping's source looks to a handler on AWS: the ARN or bootstrap servers in events,
 * the function ARN in failure records. Built once per mapping from its stream address.
 */
import type { StreamAddress } from '../../streams/streamAddress';
import type { KafkaEventSource } from '../events/kafkaEvent';
import type { KinesisEventSource } from '../events/kinesisEvent';
import { DEFAULT_REGION, kinesisStreamArn, lambdaFunctionArn } from '../events/arns';

export interface SourceIdentity {
  kind: 'kafka' | 'kinesis';
  stream: string;
  functionArn: string;
  kinesis?: KinesisEventSource;
  kafka?: KafkaEventSource;
}

export function sourceIdentityOf(address: StreamAddress, functionName: string): SourceIdentity {
  if (address.kind === 'kinesis') {
    const region = address.region || DEFAULT_REGION;
    return { kind: 'kinesis', stream: address.stream, functionArn: lambdaFunctionArn(region, functionName), kinesis: { streamArn: kinesisStreamArn(region, address.stream), region } };
  }
  // Locally there is no MSK cluster: events say SelfManagedKafka, as for any Kafka that is not MSK.
  return {
    kind: 'kafka',
    stream: address.stream,
    functionArn: lambdaFunctionArn(DEFAULT_REGION, functionName),
    kafka: { eventSource: 'SelfManagedKafka', bootstrapServers: address.brokers },
  };
}

