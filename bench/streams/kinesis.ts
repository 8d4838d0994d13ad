/**
 * Kinesis: our adapter against raw AWS SDK calls doing the same work, in the same run, on the
 * same kinesalite.
 *   produce  adapter: client.produce(500 records) in a loop
 *            raw:     PutRecordsCommand(500 entries) in a loop
 *   consume  adapter: reader.read({ maxRecords: 10000 }) until all records came
 *            raw:     GetShardIterator(TRIM_HORIZON) + GetRecords(Limit 10000) following NextShardIterator
 * for 100-byte and 1 KB values, one shard, records without headers (sent raw by the adapter).
 * The adapter with headers + a timestamp (the envelope) is measured too, against the same raw
 * baseline. Raw and adapter runs alternate for a few rounds; medians are reported. Records/s
 * mostly measure kinesalite (a separate process on a shared machine: ±20 % between rounds);
 * client CPU per record is the steadier measure of what the adapter adds.
 */
import type { AddressInfo } from 'node:net';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import kinesalite from 'kinesalite';
import { createKinesisStreamClient } from '../../streams/kinesis/kinesisStreamClient';
import type { KinesisStreamClient } from '../../streams/kinesis/kinesisStreamClient';
import type { StreamRecordInput } from '../../streams/streamClient';

const BATCH = 500;
const ROUNDS = 3;
const SIZES = [
  { label: '100B', bytes: 100 },
  { label: '1KB', bytes: 1024 },
];

interface RunningServer {
  endpoint: string;
  close(): Promise<void>;
}

async function startKinesalite(): Promise<RunningServer> {
  const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 1000 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function makeRecords(count: number, bytes: number, withEnvelope: boolean): StreamRecordInput[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, index) => {
    const value = Buffer.alloc(bytes, 0x61);
    value.write(String(index));
    const record: StreamRecordInput = { key: `device-${index % 1000}`, value };
    if (withEnvelope) {
      record.headers = { 'content-type': Buffer.from('avro/binary') };
      record.timestamp = now + index;
    }
    return record;
  });
}

interface Run {
  perSec: number;
  /** client-side CPU (this process: our code + the SDK) per record; kinesalite's CPU is not in it when it runs in another process */
  cpuMicrosPerRecord: number;
}

function startRun(): () => (count: number) => Run {
  const startedAt = process.hrtime.bigint();
  const cpuAtStart = process.cpuUsage();
  return () => (count) => {
    const cpu = process.cpuUsage(cpuAtStart);
    return { perSec: Math.round(count / (Number(process.hrtime.bigint() - startedAt) / 1e9)), cpuMicrosPerRecord: Math.round(((cpu.user + cpu.system) / count) * 100) / 100 };
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function adapterProduce(client: KinesisStreamClient, stream: string, records: StreamRecordInput[]): Promise<Run> {
  const run = startRun();
  for (let start = 0; start < records.length; start += BATCH) await client.produce(stream, records.slice(start, start + BATCH));
  return run()(records.length);
}

async function rawProduce(sdk: KinesisClient, stream: string, records: StreamRecordInput[]): Promise<Run> {
  const run = startRun();
  for (let start = 0; start < records.length; start += BATCH) {
    const entries = records.slice(start, start + BATCH).map((record) => ({ PartitionKey: record.key, Data: record.value }));
    await sdk.send(new PutRecordsCommand({ StreamName: stream, Records: entries }));
  }
  return run()(records.length);
}

async function adapterConsume(client: KinesisStreamClient, stream: string, count: number): Promise<Run> {
  const [shard] = await client.listPartitions(stream);
  const run = startRun();
  const reader = await client.openReader(stream, shard?.id ?? '', { type: 'earliest' });
  let seen = 0;
  let checksum = 0;
  while (seen < count) {
    const { records } = await reader.read({ maxRecords: 10_000 });
    seen += records.length;
    for (const record of records) checksum += record.value.length;
  }
  await reader.close();
  if (checksum <= 0) throw new Error('read nothing');
  return run()(seen);
}

async function rawConsume(sdk: KinesisClient, stream: string, count: number, shard: string): Promise<Run> {
  const run = startRun();
  let iterator = (await sdk.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shard, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
  let seen = 0;
  let checksum = 0;
  while (seen < count && iterator) {
    const page = await sdk.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
    for (const record of page.Records ?? []) checksum += record.Data?.length ?? 0;
    seen += page.Records?.length ?? 0;
    iterator = page.NextShardIterator;
  }
  if (checksum <= 0) throw new Error('read nothing');
  return run()(seen);
}

function ratio(adapter: number, raw: number): number {
  return Math.round((adapter / raw) * 1000) / 1000;
}

export async function benchKinesis(opts: { endpoint?: string; records: number }): Promise<Record<string, unknown>> {
  const ownServer = opts.endpoint ? undefined : await startKinesalite();
  const endpoint = opts.endpoint ?? ownServer?.endpoint ?? '';
  const client = createKinesisStreamClient({ endpoint, region: 'us-east-1' });
  const sdk = new KinesisClient({ endpoint, region: 'us-east-1', requestHandler: new NodeHttpHandler(), credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  let streamCounter = 0;
  async function withStream<T>(use: (stream: string) => Promise<T>): Promise<T> {
    const stream = `bench-${process.pid}-${Date.now().toString(36)}-${++streamCounter}`;
    await client.createStream(stream, 1);
    try {
      return await use(stream);
    } finally {
      await client.deleteStream(stream);
    }
  }

  const cases: Record<string, unknown> = {};
  try {
    for (const size of SIZES) {
      const plain = makeRecords(opts.records, size.bytes, false);
      const enveloped = makeRecords(opts.records, size.bytes, true);
      const figures: Record<'adapterProduce' | 'rawProduce' | 'envelopeProduce' | 'adapterConsume' | 'rawConsume' | 'envelopeConsume', Run[]> = {
        adapterProduce: [],
        rawProduce: [],
        envelopeProduce: [],
        adapterConsume: [],
        rawConsume: [],
        envelopeConsume: [],
      };
      const variants = [
        async () =>
          withStream(async (stream) => {
            figures.rawProduce.push(await rawProduce(sdk, stream, plain));
            const [shard] = await client.listPartitions(stream);
            figures.rawConsume.push(await rawConsume(sdk, stream, plain.length, shard?.id ?? ''));
          }),
        async () =>
          withStream(async (stream) => {
            figures.adapterProduce.push(await adapterProduce(client, stream, plain));
            figures.adapterConsume.push(await adapterConsume(client, stream, plain.length));
          }),
        async () =>
          withStream(async (stream) => {
            figures.envelopeProduce.push(await adapterProduce(client, stream, enveloped));
            figures.envelopeConsume.push(await adapterConsume(client, stream, enveloped.length));
          }),
      ];
      for (let round = 0; round < ROUNDS; round++) {
        console.error(`bench kinesis ${size.label}: round ${round + 1}/${ROUNDS}`);
        // rotate who goes first: kinesalite slows down while it is still dropping a deleted stream
        for (let index = 0; index < variants.length; index++) await (variants[(index + round) % variants.length] as () => Promise<void>)();
      }
      const rate = (runs: Run[]): number => median(runs.map((run) => run.perSec));
      const cpu = (runs: Run[]): number => median(runs.map((run) => run.cpuMicrosPerRecord));
      cases[size.label] = {
        produce: { adapterPerSec: rate(figures.adapterProduce), rawPerSec: rate(figures.rawProduce), ratio: ratio(rate(figures.adapterProduce), rate(figures.rawProduce)), adapterCpuMicrosPerRecord: cpu(figures.adapterProduce), rawCpuMicrosPerRecord: cpu(figures.rawProduce) },
        consume: { adapterPerSec: rate(figures.adapterConsume), rawPerSec: rate(figures.rawConsume), ratio: ratio(rate(figures.adapterConsume), rate(figures.rawConsume)), adapterCpuMicrosPerRecord: cpu(figures.adapterConsume), rawCpuMicrosPerRecord: cpu(figures.rawConsume) },
        withHeadersAndTimestamp: {
          producePerSec: rate(figures.envelopeProduce),
          produceRatioToRaw: ratio(rate(figures.envelopeProduce), rate(figures.rawProduce)),
          produceCpuMicrosPerRecord: cpu(figures.envelopeProduce),
          consumePerSec: rate(figures.envelopeConsume),
          consumeRatioToRaw: ratio(rate(figures.envelopeConsume), rate(figures.rawConsume)),
          consumeCpuMicrosPerRecord: cpu(figures.envelopeConsume),
        },
        roundsPerSec: Object.fromEntries(Object.entries(figures).map(([name, runs]) => [name, runs.map((run) => run.perSec)])),
      };
    }
  } finally {
    await client.close();
    sdk.destroy();
    await ownServer?.close();
  }
  return { endpoint: ownServer ? `in-process kinesalite (${endpoint})` : endpoint, records: opts.records, batch: BATCH, shards: 1, target: 'adapter >= 0.9 x raw', cases };
}
