/**
 * Shared by the mapping-runner suites: source addresses, what the scripted handler received,
 * waiting on the real streams, and a test bed that creates streams, starts runners and reads
 * back checkpoints and failure destinations, cleaning everything up afterwards.
 */
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import Redis from 'ioredis';
import type { KinesisStreamEvent } from 'aws-lambda';
import type { KafkaEvent } from '../../../runtime/events/kafkaEvent';
import { resolveMappingConfig } from '../../../runtime/mapping/mappingConfig';
import { leaseGroupName, RedisKeys } from '../../../runtime/redis/keys';
import { MappingRunner } from '../../../runtime/runner/mappingRunner';
import { openStreamClient } from '../../../streams/openStreamClient';
import type { StreamClient, StreamRecord } from '../../../streams/streamClient';
import { drainPartition } from '../../conformance/streamConformance';
import { scriptedRegistry } from '../../fixtures/handlers/scriptedHandler';
import { testServers, uniqueName } from '../../support/servers';

export const handlerSpec = `${path.join(__dirname, '../../fixtures/handlers/scriptedHandler.ts')}#handler`;

export type Kind = 'kinesis' | 'kafka';

export const TEST_KEY_PREFIX = 'sluice-test';

export function sourceAddress(kind: Kind, stream: string): string {
  return kind === 'kafka' ? `kafka://${testServers.kafkaBrokers.join(',')}/${stream}` : `kinesis://${testServers.kinesisEndpoint.replace(/^https?:\/\//, '')}/${stream}`;
}

/** One record of an event as the handler saw it: its decoded data and its batchItemFailures identifier. */
export interface SeenRecord {
  value: string;
  key: string;
  itemIdentifier: unknown;
}

export function eventRecords(kind: Kind, event: unknown): SeenRecord[] {
  if (kind === 'kinesis') {
    return (event as KinesisStreamEvent).Records.map((r) => ({
      value: Buffer.from(r.kinesis.data, 'base64').toString(), key: r.kinesis.partitionKey, itemIdentifier: r.kinesis.sequenceNumber,
    }));
  }
  return Object.entries((event as KafkaEvent).records).flatMap(([partition, records]) => records.map((r) => ({
    value: Buffer.from(r.value, 'base64').toString(), key: Buffer.from(r.key ?? '', 'base64').toString(), itemIdentifier: { partition, offset: r.offset },
  })));
}

/** The data of every record a function received, in delivery order, per invocation. */
export function deliveredValues(kind: Kind, functionName: string): string[][] {
  const calls = scriptedRegistry().calls.get(functionName) ?? [];
  return calls.map(({ event }) => eventRecords(kind, event).map((record) => record.value));
}

export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Streams, runners and connections of one suite, with the readers tests assert on. */
export class RunnerTestBed {
  readonly client: StreamClient;
  readonly redis: Redis;
  private readonly streams: string[] = [];
  private readonly runners: MappingRunner[] = [];

  constructor(readonly kind: Kind) {
    this.client = openStreamClient(sourceAddress(kind, 'x'));
    this.redis = new Redis(testServers.redisUrl);
  }

  async newStream(partitions: number): Promise<string> {
    const name = uniqueName(`rt-${this.kind}`);
    await this.client.createStream(name, partitions);
    this.streams.push(name);
    return name;
  }

  /** A runner of the scripted handler, from TRIM_HORIZON unless the input says otherwise. */
  runner(mappingInput: Record<string, unknown>, extra: { destinationStream?: string } = {}): MappingRunner {
    const mapping = resolveMappingConfig({ StartingPosition: 'TRIM_HORIZON', ...mappingInput, Function: { Handler: handlerSpec, ...(mappingInput.Function as object | undefined) } }, 'test');
    const runner = new MappingRunner({
      mapping, client: this.client, redis: this.redis, keyPrefix: TEST_KEY_PREFIX, leaseDurationMs: 3000,
      destination: extra.destinationStream ? { client: this.client, stream: extra.destinationStream } : undefined,
    });
    this.runners.push(runner);
    return runner;
  }

  async stopRunner(runner: MappingRunner): Promise<void> {
    await runner.stop();
    this.runners.splice(this.runners.indexOf(runner), 1);
  }

  async stopRunners(): Promise<void> {
    for (const runner of this.runners.splice(0)) await runner.stop();
  }

  /** Everything in partition `index` of a stream (a failure destination, say). */
  async readAll(stream: string, index = 0): Promise<StreamRecord[]> {
    const partitions = await this.client.listPartitions(stream);
    return drainPartition(this.client, stream, partitions[index]?.id ?? '');
  }

  /**
   * The checkpoint of a single-partition source as a number to compare positions with: the
   * lease's checkpointed sequence number (Kinesis), or the group's committed offset - 1, the
   * last offset done (Kafka). undefined when nothing was checkpointed.
   */
  async checkpointOf(functionName: string, stream: string): Promise<bigint | undefined> {
    if (this.kind === 'kinesis') {
      const [partition] = await this.client.listPartitions(stream);
      const key = new RedisKeys(TEST_KEY_PREFIX).lease(leaseGroupName(functionName, stream), partition?.id ?? '');
      const checkpoint = await this.redis.hget(key, 'checkpoint');
      return checkpoint && /^\d+$/.test(checkpoint) ? BigInt(checkpoint) : undefined;
    }
    const admin = new Kafka({ clientId: 'runner-test-checkpoints', brokers: testServers.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const [topic] = await admin.fetchOffsets({ groupId: `sluice-${functionName}`, topics: [stream] });
      const offset = topic?.partitions[0]?.offset;
      return offset === undefined || offset === '-1' ? undefined : BigInt(offset) - 1n;
    } finally {
      await admin.disconnect();
    }
  }

  async close(): Promise<void> {
    await this.stopRunners();
    for (const stream of this.streams) await this.client.deleteStream(stream).catch(() => undefined);
    await this.client.close();
    this.redis.disconnect();
  }
}
