/**
 * Helpers for the Kinesis adapter tests: clients on the test kinesalite, SDK middleware that
 * watches (or, for partial failures kinesalite never produces, bends) real requests, and a
 * private in-process kinesalite for tests that need to control its clock.
 */
import type { AddressInfo } from 'node:net';
import type { PutRecordsCommandInput, PutRecordsCommandOutput, PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import kinesalite from 'kinesalite';
import { createKinesisStreamClient } from '../../../streams/kinesis/kinesisStreamClient';
import type { KinesisStreamClient, KinesisStreamClientOptions } from '../../../streams/kinesis/kinesisStreamClient';
import type { StreamRecord } from '../../../streams/streamClient';
import { testServers, uniqueName } from '../../support/servers';

export function kinesisTestClient(options: Partial<KinesisStreamClientOptions> = {}): KinesisStreamClient {
  return createKinesisStreamClient({ endpoint: testServers.kinesisEndpoint, region: 'us-east-1', pollIntervalMs: 20, retry: { initialDelayMs: 10, maxDelayMs: 50 }, ...options });
}

/** Creates uniquely named streams and deletes them all in cleanup(). */
export function streamTracker(client: () => KinesisStreamClient): { create(shards: number, prefix?: string): Promise<string>; cleanup(): Promise<void> } {
  const names: string[] = [];
  return {
    async create(shards, prefix = 'kin') {
      const name = uniqueName(prefix);
      await client().createStream(name, shards);
      names.push(name);
      return name;
    },
    async cleanup() {
      for (const name of names.splice(0)) await client().deleteStream(name).catch(() => undefined);
    },
  };
}

/** Records every input of one SDK command the client sends (after our code, before the wire). */
export function watchCommand<Input>(client: KinesisStreamClient, commandName: string): Input[] {
  const inputs: Input[] = [];
  client.sdkClient.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === commandName) inputs.push(args.input as Input);
      return next(args);
    },
    { step: 'initialize', name: `watch${commandName}` },
  );
  return inputs;
}

export interface InjectedFailure {
  /** per PutRecords call (0 = first), the entry positions that fail and the ErrorCode they get */
  calls: Map<number, { positions: number[]; errorCode: string }>;
}

/**
 * Makes chosen entries of chosen PutRecords calls fail the way AWS reports a partial failure.
 * kinesalite never throttles, so this is the only way to get one from it: the chosen entries
 * are taken out of the real request (so the server does not write them, as AWS would not),
 * and the real response gets a failed entry (ErrorCode, no SequenceNumber) at their places and
 * a matching FailedRecordCount.
 */
export function injectPartialFailures(client: KinesisStreamClient, failure: InjectedFailure): void {
  let call = 0;
  client.sdkClient.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'PutRecordsCommand') return next(args);
      const plan = failure.calls.get(call++);
      if (!plan) return next(args);
      const input = args.input as PutRecordsCommandInput;
      const records = input.Records ?? [];
      const failing = new Set(plan.positions);
      const sent = records.filter((_, position) => !failing.has(position));
      const result = sent.length > 0 ? await next({ ...args, input: { ...input, Records: sent } }) : { output: { FailedRecordCount: 0, Records: [], $metadata: {} }, response: {} };
      const output = result.output as PutRecordsCommandOutput;
      const written = [...(output.Records ?? [])];
      const merged: PutRecordsResultEntry[] = records.map((_, position) =>
        failing.has(position) ? { ErrorCode: plan.errorCode, ErrorMessage: `injected by test: ${plan.errorCode}` } : (written.shift() as PutRecordsResultEntry),
      );
      return { ...result, output: { ...output, FailedRecordCount: (output.FailedRecordCount ?? 0) + failing.size, Records: merged } };
    },
    { step: 'initialize', name: 'injectPartialFailures' },
  );
}

/** Reads a shard from the earliest record until `count` records came or a read came back empty. */
export async function readShard(client: KinesisStreamClient, stream: string, shard: string, count: number): Promise<StreamRecord[]> {
  const reader = await client.openReader(stream, shard, { type: 'earliest' });
  const records: StreamRecord[] = [];
  try {
    while (records.length < count) {
      const result = await reader.read({ maxRecords: 10_000, waitMs: 200 });
      records.push(...result.records);
      if (result.records.length === 0 || result.endOfPartition) break;
    }
  } finally {
    await reader.close();
  }
  return records;
}

/** Every record of the stream, shard by shard (parents first). */
export async function readStream(client: KinesisStreamClient, stream: string, count: number): Promise<StreamRecord[]> {
  const records: StreamRecord[] = [];
  for (const partition of await client.listPartitions(stream)) records.push(...(await readShard(client, stream, partition.id, count - records.length)));
  return records;
}

export interface InProcessKinesalite {
  endpoint: string;
  close(): Promise<void>;
}

/** A private kinesalite in this process (its clock is this test's clock). */
export async function startInProcessKinesalite(): Promise<InProcessKinesalite> {
  const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 1000 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error?: Error) => (error ? reject(error) : resolve()));
      }),
  };
}
