/**
 * The mapping runner end to end on the real streams: Kinesis (kinesalite, leases in the real
 * Redis) and Kafka (the real broker, consumer groups). Each scenario runs on both sources.
 */
import Redis from 'ioredis';
import type { KafkaEvent } from '../../../runtime/events/kafkaEvent';
import type { KinesisStreamEvent } from 'aws-lambda';
import { resolveMappingConfig } from '../../../runtime/mapping/mappingConfig';
import { MappingRunner } from '../../../runtime/runner/mappingRunner';
import { openStreamClient } from '../../../streams/openStreamClient';
import type { StreamClient, StreamRecord } from '../../../streams/streamClient';
import { drainPartition } from '../../conformance/streamConformance';
import { scriptedRegistry } from '../../fixtures/handlers/scriptedHandler';
import { testServers, uniqueName } from '../../support/servers';
import type { Kind } from './runnerTestSupport';
import { deliveredValues, handlerSpec, sourceAddress, waitFor } from './runnerTestSupport';

const kinds: Kind[] = ['kinesis', 'kafka'];

describe.each(kinds)('mapping runner on %s', (kind) => {
  let client: StreamClient;
  let redis: Redis;
  const streams: string[] = [];
  const runners: MappingRunner[] = [];

  beforeAll(() => {
    client = openStreamClient(sourceAddress(kind, 'x'));
    redis = new Redis(testServers.redisUrl);
  });

  afterEach(async () => {
    for (const runner of runners.splice(0)) await runner.stop();
  });

  afterAll(async () => {
    for (const stream of streams) await client.deleteStream(stream).catch(() => undefined);
    await client.close();
    redis.disconnect();
  });

  async function newStream(partitions: number): Promise<string> {
    const name = uniqueName(`rt-${kind}`);
    await client.createStream(name, partitions);
    streams.push(name);
    return name;
  }

  function startRunner(mappingInput: Record<string, unknown>, extra: { destinationStream?: string } = {}): MappingRunner {
    const mapping = resolveMappingConfig({ StartingPosition: 'TRIM_HORIZON', ...mappingInput, Function: { Handler: handlerSpec, ...(mappingInput.Function as object | undefined) } }, 'test');
    const runner = new MappingRunner({
      mapping, client, redis, keyPrefix: 'sluice-test', leaseDurationMs: 3000,
      destination: extra.destinationStream ? { client, stream: extra.destinationStream } : undefined,
    });
    runners.push(runner);
    return runner;
  }

  it('delivers every record once, in order per partition, in AWS-shaped events', async () => {
    const stream = await newStream(2);
    const functionName = uniqueName('deliver');
    const values = Array.from({ length: 60 }, (_, i) => `r${i}`);
    await client.produce(stream, values.map((value, i) => ({ key: `device-${i % 5}`, value: Buffer.from(value) })));
    await startRunner({ FunctionName: functionName, Source: sourceAddress(kind, stream), BatchSize: 7 }).start();
    await waitFor(() => deliveredValues(kind, functionName).flat().length >= 60, '60 records delivered');
    const delivered = deliveredValues(kind, functionName);
    expect(delivered.flat().sort()).toEqual([...values].sort());
    for (const batch of delivered) expect(batch.length).toBeLessThanOrEqual(7);
    // per device, the order of production is kept
    const perDevice = new Map<string, number[]>();
    for (const value of delivered.flat()) {
      const i = Number(value.slice(1));
      const list = perDevice.get(`device-${i % 5}`) ?? [];
      list.push(i);
      perDevice.set(`device-${i % 5}`, list);
    }
    for (const list of perDevice.values()) expect(list).toEqual([...list].sort((a, b) => a - b));
    const first = scriptedRegistry().calls.get(functionName)?.[0]?.event as Record<string, unknown>;
    if (kind === 'kinesis') {
      const record = (first as unknown as KinesisStreamEvent).Records[0];
      expect(record?.eventSource).toBe('aws:kinesis');
      expect(record?.eventID).toMatch(/^shardId-\d{12}:\d+$/);
      expect(record?.eventSourceARN).toBe(`arn:aws:kinesis:us-east-1:000000000000:stream/${stream}`);
    } else {
      expect(first.eventSource).toBe('SelfManagedKafka');
      expect(Object.keys((first as unknown as KafkaEvent).records)[0]).toMatch(new RegExp(`^${stream}-\\d$`));
    }
  });

  it('resumes after its checkpoint when restarted: nothing re-delivered, nothing skipped', async () => {
    const stream = await newStream(1);
    const functionName = uniqueName('resume');
    await client.produce(stream, Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: Buffer.from(`a${i}`) })));
    const first = startRunner({ FunctionName: functionName, Source: sourceAddress(kind, stream), BatchSize: 4 });
    await first.start();
    await waitFor(() => deliveredValues(kind, functionName).flat().length >= 10, 'first 10');
    await first.stop();
    runners.splice(runners.indexOf(first), 1);
    await client.produce(stream, Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: Buffer.from(`b${i}`) })));
    await startRunner({ FunctionName: functionName, Source: sourceAddress(kind, stream), BatchSize: 4 }).start();
    await waitFor(() => deliveredValues(kind, functionName).flat().length >= 15, 'next 5');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const all = deliveredValues(kind, functionName).flat();
    expect(all).toEqual([...Array.from({ length: 10 }, (_, i) => `a${i}`), ...Array.from({ length: 5 }, (_, i) => `b${i}`)]);
  });

  it('reports item failures like AWS: earlier records delivered once, the failed record retried alone, then sent to the destination', async () => {
    const stream = await newStream(1);
    const dlq = await newStream(1);
    const functionName = uniqueName('partial');
    const failing = 'r5';
    scriptedRegistry().scripts.set(functionName, (event) => {
      const failures: Array<{ itemIdentifier: unknown }> = [];
      if (kind === 'kinesis') {
        for (const record of (event as KinesisStreamEvent).Records) {
          if (Buffer.from(record.kinesis.data, 'base64').toString() === failing) failures.push({ itemIdentifier: record.kinesis.sequenceNumber });
        }
      } else {
        for (const [partition, records] of Object.entries((event as KafkaEvent).records)) {
          for (const record of records) if (Buffer.from(record.value, 'base64').toString() === failing) failures.push({ itemIdentifier: { partition, offset: record.offset } });
        }
      }
      return { batchItemFailures: failures };
    });
    await client.produce(stream, Array.from({ length: 6 }, (_, i) => ({ key: 'k', value: Buffer.from(`r${i}`) })));
    await startRunner({
      FunctionName: functionName, Source: sourceAddress(kind, stream), BatchSize: 3, MaximumRetryAttempts: 3,
      FunctionResponseTypes: ['ReportBatchItemFailures'], DestinationConfig: { OnFailure: { Destination: sourceAddress(kind, dlq) } },
    }, { destinationStream: dlq }).start();
    let failureRecords: StreamRecord[] = [];
    await waitFor(async () => {
      const [partition] = await client.listPartitions(dlq);
      failureRecords = await drainPartition(client, dlq, partition?.id ?? '');
      return failureRecords.length > 0;
    }, 'a failure record');
    const delivered = deliveredValues(kind, functionName);
    expect(delivered).toEqual([['r0', 'r1', 'r2'], ['r3', 'r4', 'r5'], ['r5'], ['r5'], ['r5']]);
    expect(failureRecords).toHaveLength(1);
    const failure = JSON.parse(failureRecords[0]?.value.toString() ?? '{}') as Record<string, Record<string, unknown>>;
    expect(failure.requestContext?.condition).toBe('RetryAttemptsExhausted');
    expect(failure.requestContext?.approximateInvokeCount).toBe(4);
    expect(failure.responseContext?.functionError).toBeNull();
    if (kind === 'kinesis') {
      expect(failure.KinesisBatchInfo?.batchSize).toBe(1);
      expect(failure.KinesisBatchInfo?.startSequenceNumber).toBe(failure.KinesisBatchInfo?.endSequenceNumber);
    }
  });
});
