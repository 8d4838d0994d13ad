/**
 * `sluice dlq show|replay` on real failure records: a MappingRunner whose handler always fails
 * (MaximumRetryAttempts 0) sends its batches to an on-failure destination on kinesalite / the
 * real Kafka broker; the command lists them and replays the included records to a fresh stream.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import Redis from 'ioredis';
import { replayFailures, showFailures } from '../../cli/commands/dlq';
import type { FailureRecordSummary, ReplayReport } from '../../cli/commands/dlq';
import { resolveMappingConfig } from '../../runtime/mapping/mappingConfig';
import { MappingRunner } from '../../runtime/runner/mappingRunner';
import { openStreamClient } from '../../streams/openStreamClient';
import type { StreamClient, StreamRecord, StreamRecordInput } from '../../streams/streamClient';
import { drainPartition } from '../conformance/streamConformance';
import { testServers, uniqueName } from '../support/servers';

const SLUICE = path.resolve(__dirname, '..', '..', 'bin', 'sluice.js');
const handlerSpec = `${path.join(__dirname, '../fixtures/handlers/alwaysFails.ts')}#handler`;

type Kind = 'kinesis' | 'kafka';

function address(kind: Kind, stream: string): string {
  return kind === 'kafka' ? `kafka://${testServers.kafkaBrokers.join(',')}/${stream}` : `kinesis://${testServers.kinesisEndpoint.replace(/^https?:\/\//, '')}/${stream}`;
}

function sluice(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SLUICE, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** key, value and headers as comparable text */
function described(record: Pick<StreamRecord, 'key' | 'value'> & { headers?: Record<string, Buffer> }): string {
  const headers = Object.entries(record.headers ?? {}).map(([name, value]) => `${name}=${value.toString('hex')}`).sort().join(',');
  return `${record.key}|${record.value.toString('hex')}|${headers}`;
}

describe.each<Kind>(['kinesis', 'kafka'])('sluice dlq on %s', (kind) => {
  let client: StreamClient;
  /** for a Kinesis destination of a Kafka mapping (failure records shaped per batch, payload only with IncludeRecords) */
  let kinesis: StreamClient;
  let redis: Redis;
  const kinesisStreams: string[] = [];
  const streams: string[] = [];
  const runners: MappingRunner[] = [];

  beforeAll(() => {
    client = openStreamClient(address(kind, 'x'));
    kinesis = openStreamClient(address('kinesis', 'x'));
    redis = new Redis(testServers.redisUrl);
  });

  afterEach(async () => {
    for (const runner of runners.splice(0)) await runner.stop();
  });

  afterAll(async () => {
    for (const stream of streams) await client.deleteStream(stream).catch(() => undefined);
    for (const stream of kinesisStreams) await kinesis.deleteStream(stream).catch(() => undefined);
    await client.close();
    await kinesis.close();
    redis.disconnect();
  });

  async function newStream(prefix: string, partitions: number): Promise<string> {
    const name = uniqueName(`${prefix}-${kind}`);
    await client.createStream(name, partitions);
    streams.push(name);
    return name;
  }

  /** Runs an always-failing function on `originals` until `dlq` holds a failure for each of them. */
  async function failInto(originals: StreamRecordInput[], includeRecords: boolean, dlqKind: Kind = kind): Promise<{ source: string; dlq: string }> {
    const source = await newStream('dlq-src', 2);
    const dlqClient = dlqKind === kind ? client : kinesis;
    const dlq = uniqueName(`dlq-${dlqKind}`);
    await dlqClient.createStream(dlq, 1);
    (dlqKind === kind ? streams : kinesisStreams).push(dlq);
    await client.produce(source, originals);
    const mapping = resolveMappingConfig({
      FunctionName: uniqueName('fails'), Source: address(kind, source), StartingPosition: 'TRIM_HORIZON', BatchSize: 3, MaximumRetryAttempts: 0,
      DestinationConfig: { OnFailure: { Destination: address(dlqKind, dlq), IncludeRecords: includeRecords } }, Function: { Handler: handlerSpec },
    }, 'test');
    const runner = new MappingRunner({ mapping, client, redis, keyPrefix: 'sluice-cli-test', leaseDurationMs: 3000, destination: { client: dlqClient, stream: dlq } });
    runners.push(runner);
    await runner.start();
    await waitFor(async () => {
      const summaries = await showFailures({ destination: address(dlqKind, dlq) });
      return summaries.reduce((sum, summary) => sum + summary.batchSize, 0) >= originals.length;
    }, 'a failure record for every record');
    await runner.stop();
    return { source, dlq };
  }

  const originals: StreamRecordInput[] = Array.from({ length: 7 }, (_, i) => ({
    key: `device-${i % 3}`,
    value: Buffer.from(JSON.stringify({ reading: i, note: 'ü' })),
    // Kinesis has no record headers in its events (sluice keeps them out of the data)
    ...(kind === 'kafka' ? { headers: { trace: Buffer.from([0, 1, 254, i]) } } : {}),
  }));

  // a Kafka topic destination gets one message per record (AWS's shape); a Kinesis one a record per batch
  const destinationKinds: Kind[] = kind === 'kafka' ? ['kafka', 'kinesis'] : ['kinesis'];

  it.each(destinationKinds)('lists the failure records and replays the included records, equal to the originals (destination on %s)', async (dlqKind) => {
    const { source, dlq } = await failInto(originals, true, dlqKind);

    const summaries: FailureRecordSummary[] = await showFailures({ destination: address(dlqKind, dlq) });
    expect(summaries.reduce((sum, summary) => sum + summary.batchSize, 0)).toBe(originals.length);
    for (const summary of summaries) {
      expect(summary).toMatchObject({ condition: 'RetryAttemptsExhausted', invokeCount: 1, recordsIncluded: true });
      if (kind === 'kinesis') expect(summary.sourcePartition).toMatch(/^shardId-\d{12}$/);
      else expect(summary.sourcePartition).toMatch(new RegExp(`^${source}-[01]$`));
    }

    if (kind === 'kafka' && dlqKind === 'kafka') expect(summaries).toHaveLength(originals.length);
    const shown = await sluice('dlq', 'show', '--destination', address(dlqKind, dlq));
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    expect(shown.stdout.split('\n')[0]).toMatch(/^dlq partition\s+dlq position\s+condition\s+source partition/);
    expect(shown.stdout.match(/RetryAttemptsExhausted/g)).toHaveLength(summaries.length);

    const target = await newStream('dlq-replay', 1);
    const dryRun: ReplayReport = await replayFailures({ destination: address(dlqKind, dlq), to: address(kind, target), dryRun: true });
    expect(dryRun).toMatchObject({ failureRecords: summaries.length, replayedRecords: originals.length, dryRun: true });
    const [targetPartition] = await client.listPartitions(target);
    expect(await drainPartition(client, target, targetPartition?.id ?? '')).toEqual([]);

    const replay = await sluice('dlq', 'replay', '--destination', address(dlqKind, dlq), '--to', address(kind, target));
    expect(replay.stderr).toBe('');
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain(`replayed ${originals.length} records from ${summaries.length} failure records`);
    const replayed = await drainPartition(client, target, targetPartition?.id ?? '');
    expect(replayed.map(described).sort()).toEqual(originals.map(described).sort());
    // per key, the original order
    for (const key of ['device-0', 'device-1', 'device-2']) {
      expect(replayed.filter((record) => record.key === key).map((record) => record.value.toString())).toEqual(originals.filter((record) => record.key === key).map((record) => record.value.toString()));
    }
  });

  it('refuses to replay failure records that carry no records, and says to use --include-records', async () => {
    // a Kafka topic destination always carries the record (AWS): only a Kinesis destination may not
    const { dlq } = await failInto(originals, false, 'kinesis');
    const summaries = await showFailures({ destination: address('kinesis', dlq) });
    expect(summaries.length).toBeGreaterThan(0);
    expect(summaries.every((summary) => !summary.recordsIncluded)).toBe(true);
    const target = await newStream('dlq-replay', 1);
    const replay = await sluice('dlq', 'replay', '--destination', address('kinesis', dlq), '--to', address(kind, target));
    expect(replay.code).toBe(1);
    expect(replay.stderr).toContain(`${summaries.length} of ${summaries.length} failure records in "${dlq}" carry no records`);
    expect(replay.stderr).toContain('--include-records');
    const [targetPartition] = await client.listPartitions(target);
    expect(await drainPartition(client, target, targetPartition?.id ?? '')).toEqual([]);
  });
});
