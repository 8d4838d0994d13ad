/**
 * `sluice checkpoints show|rewind` on real checkpoints: a MappingRunner processes records on
 * kinesalite (leases in the real Redis) and on the real Kafka broker (consumer-group commits),
 * then the command reads and moves them, and a restarted runner proves a rewind took effect.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import Redis from 'ioredis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { rewindCheckpoints, showCheckpoints } from '../../cli/commands/checkpoints';
import type { CheckpointRow } from '../../runtime/checkpoints/checkpointView';
import type { KafkaEvent } from '../../runtime/events/kafkaEvent';
import { resolveMappingConfig } from '../../runtime/mapping/mappingConfig';
import { MappingRunner } from '../../runtime/runner/mappingRunner';
import { openStreamClient } from '../../streams/openStreamClient';
import type { GroupOffsets, ProducedRecord, StreamClient } from '../../streams/streamClient';
import { scriptedRegistry } from '../fixtures/handlers/scriptedHandler';
import { testServers, uniqueName } from '../support/servers';

const SLUICE = path.resolve(__dirname, '..', '..', 'bin', 'sluice.js');
const handlerSpec = `${path.join(__dirname, '../fixtures/handlers/scriptedHandler.ts')}#handler`;
const KEY_PREFIX = 'sluice-cli-test';

type Kind = 'kinesis' | 'kafka';

function sourceAddress(kind: Kind, stream: string): string {
  return kind === 'kafka' ? `kafka://${testServers.kafkaBrokers.join(',')}/${stream}` : `kinesis://${testServers.kinesisEndpoint.replace(/^https?:\/\//, '')}/${stream}`;
}

function sluice(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SLUICE, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

function deliveredValues(kind: Kind, functionName: string): string[] {
  return (scriptedRegistry().calls.get(functionName) ?? []).flatMap(({ event }) => {
    if (kind === 'kinesis') return (event as KinesisStreamEvent).Records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString());
    return Object.values((event as KafkaEvent).records).flat().map((r) => Buffer.from(r.value, 'base64').toString());
  });
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The last position produced to each partition. */
function lastPositions(produced: ProducedRecord[]): Map<string, string> {
  const last = new Map<string, string>();
  for (const record of produced) {
    const current = last.get(record.partition);
    if (current === undefined || BigInt(record.position) > BigInt(current)) last.set(record.partition, record.position);
  }
  return last;
}

describe.each<Kind>(['kinesis', 'kafka'])('sluice checkpoints on %s', (kind) => {
  let client: StreamClient;
  let redis: Redis;
  const streams: string[] = [];
  const runners: MappingRunner[] = [];
  const common = (stream: string, functionName: string): { source: string; functionName: string; redisUrl: string; redisKeyPrefix: string } => ({
    source: sourceAddress(kind, stream), functionName, redisUrl: testServers.redisUrl, redisKeyPrefix: KEY_PREFIX,
  });

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

  function startRunner(stream: string, functionName: string): MappingRunner {
    const mapping = resolveMappingConfig({ FunctionName: functionName, Source: sourceAddress(kind, stream), StartingPosition: 'TRIM_HORIZON', BatchSize: 10, Function: { Handler: handlerSpec } }, 'test');
    const runner = new MappingRunner({ mapping, client, redis, keyPrefix: KEY_PREFIX, leaseDurationMs: 3000 });
    runners.push(runner);
    return runner;
  }

  /** A 2-partition stream whose 8 records one run of `functionName` processed and checkpointed. */
  async function processedStream(functionName: string): Promise<{ stream: string; produced: ProducedRecord[]; runner: MappingRunner }> {
    const stream = uniqueName(`cp-${kind}`);
    await client.createStream(stream, 2);
    streams.push(stream);
    const produced = await client.produce(stream, Array.from({ length: 8 }, (_, i) => ({ key: `device-${i}`, value: Buffer.from(`r${i}`) })));
    expect(new Set(produced.map((record) => record.partition)).size).toBe(2);
    const runner = startRunner(stream, functionName);
    await runner.start();
    await waitFor(() => deliveredValues(kind, functionName).length >= 8, '8 records delivered');
    return { stream, produced, runner };
  }

  /** partition -> checkpoint as the command shows it (Kinesis: last processed; Kafka: next offset) */
  function checkpointsOf(result: CheckpointRow[] | GroupOffsets): Map<string, string | null> {
    if (Array.isArray(result)) return new Map(result.map((row) => [row.partition, row.checkpoint]));
    return new Map(result.partitions.map((row) => [row.partition, row.committed]));
  }

  function expectedCheckpoints(produced: ProducedRecord[]): Map<string, string> {
    const last = lastPositions(produced);
    // Kafka commits the offset of the next record to read
    return new Map([...last].map(([partition, position]) => [partition, kind === 'kafka' ? String(BigInt(position) + 1n) : position]));
  }

  it('shows the checkpoint of every partition after processing, then rewinds one and the restarted runner re-reads it', async () => {
    const functionName = uniqueName('cp-show');
    const { stream, produced, runner } = await processedStream(functionName);
    const expected = expectedCheckpoints(produced);
    await waitFor(async () => JSON.stringify([...checkpointsOf(await showCheckpoints(common(stream, functionName)))].sort()) === JSON.stringify([...expected].sort()), 'checkpoints at the last records');

    if (kind === 'kafka') {
      // Kafka refuses to move a running group's offsets: the command says to stop the workers
      await expect(rewindCheckpoints({ ...common(stream, functionName), partition: 'all', to: 'TRIM_HORIZON' })).rejects.toThrow(/stop the workers/);
    }
    await runner.stop();

    const [rewound = '', kept = ''] = [...expected.keys()].sort();
    const result = await rewindCheckpoints({ ...common(stream, functionName), partition: rewound, to: 'TRIM_HORIZON' });
    const after = checkpointsOf(await showCheckpoints(common(stream, functionName)));
    if (kind === 'kinesis') {
      expect(checkpointsOf(result)).toEqual(new Map([[rewound, 'TRIM_HORIZON']]));
      expect(after.get(rewound)).toBe('TRIM_HORIZON');
    } else {
      expect(checkpointsOf(result)).toEqual(new Map([[rewound, '0']]));
      expect(after.get(rewound)).toBe('0');
    }
    expect(after.get(kept)).toBe(expected.get(kept));

    // a new run of the same function reads the rewound partition again, and only it
    const deliveredBefore = deliveredValues(kind, functionName).length;
    const rewoundValues = produced.map((record, i) => ({ ...record, value: `r${i}` })).filter((record) => record.partition === rewound).map((record) => record.value);
    await startRunner(stream, functionName).start();
    await waitFor(() => deliveredValues(kind, functionName).length >= deliveredBefore + rewoundValues.length, 'the rewound partition re-delivered');
    await new Promise((resolve) => setTimeout(resolve, 1500)); // anything beyond the rewound partition would arrive now
    expect(deliveredValues(kind, functionName).slice(deliveredBefore).sort()).toEqual([...rewoundValues].sort());
  });

  it('rewinds a partition to a position given to the real CLI, prints JSON, and refuses an unknown partition', async () => {
    const functionName = uniqueName('cp-cli');
    const { stream, produced, runner } = await processedStream(functionName);
    const expected = expectedCheckpoints(produced);
    await waitFor(async () => JSON.stringify([...checkpointsOf(await showCheckpoints(common(stream, functionName)))].sort()) === JSON.stringify([...expected].sort()), 'checkpoints at the last records');
    await runner.stop();
    const flags = ['--source', sourceAddress(kind, stream), '--function-name', functionName, '--redis-url', testServers.redisUrl, '--redis-key-prefix', KEY_PREFIX];

    const shown = await sluice('checkpoints', 'show', ...flags);
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    for (const [partition, checkpoint] of expected) expect(shown.stdout).toMatch(new RegExp(`${partition}\\s+${checkpoint}`));

    // the first record of the first partition: Kinesis resumes after it, Kafka at it
    const [partition = ''] = [...expected.keys()].sort();
    const firstOfPartition = produced.find((record) => record.partition === partition)?.position ?? '';
    const rewound = await sluice('checkpoints', 'rewind', ...flags, '--partition', partition, '--to', firstOfPartition, '--json');
    expect(rewound.stderr).toBe('');
    expect(rewound.code).toBe(0);
    expect(checkpointsOf(JSON.parse(rewound.stdout) as CheckpointRow[] | GroupOffsets)).toEqual(new Map([[partition, firstOfPartition]]));
    const after = checkpointsOf(await showCheckpoints(common(stream, functionName)));
    expect(after.get(partition)).toBe(firstOfPartition);

    const unknownPartition = await sluice('checkpoints', 'rewind', ...flags, '--partition', kind === 'kafka' ? '7' : 'shardId-000000000099', '--to', 'LATEST');
    expect(unknownPartition.code).toBe(1);
    expect(unknownPartition.stderr).toMatch(/PARTITION_NOT_FOUND: .*no (checkpoint for shard|partition) "(shardId-000000000099|7)"/);
    // nothing moved
    expect(checkpointsOf(await showCheckpoints(common(stream, functionName)))).toEqual(after);
  });

  it('names the function and stream when a function has no checkpoints', async () => {
    const stream = uniqueName(`cp-${kind}`);
    await client.createStream(stream, 1);
    streams.push(stream);
    const run = await sluice('checkpoints', 'show', '--source', sourceAddress(kind, stream), '--function-name', 'never-ran', '--redis-key-prefix', KEY_PREFIX);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`no checkpoints for function "never-ran" on ${kind === 'kafka' ? 'Kafka topic' : 'Kinesis stream'} "${stream}"`);
    await expect(rewindCheckpoints({ ...common(stream, 'never-ran'), partition: 'all', to: 'LATEST' })).rejects.toThrow(/no checkpoints for function "never-ran"/);
  });
});
