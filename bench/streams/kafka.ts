/**
 * Kafka: our adapter against raw kafkajs doing the same work, in the same run, on the same broker.
 *   produce  adapter: client.produce(1000 records) in a loop
 *            raw:     producer.send(1000 messages) in a loop; same producer settings
 *                     (idempotent, acks=all, DefaultPartitioner, keyed records)
 *   consume  adapter: one PartitionReader per partition, read({ maxRecords: 10000 }) until all came
 *            raw:     a kafkajs consumer (fresh group, fromBeginning) with eachBatch until all came;
 *                     same 1 MiB per-partition fetch size
 * for 100-byte and 1 KB values on a 4-partition topic. Consume rates count from the moment the
 * readers are open / the raw consumer has joined its group to the last record, so opening and
 * the group join are not in them (both are reported separately as setupMs). Raw and adapter
 * alternate for a few rounds and medians are reported; produce rounds each write a fresh topic,
 * consume rounds all read one topic that raw kafkajs wrote the records to CONSUME_COPIES times.
 * Client CPU per record (this process: our code + kafkajs; the broker is another process) is
 * the steadier measure of what the adapter adds.
 */
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import type { Admin } from 'kafkajs';
import { createKafkaStreamClient } from '../../streams/kafka/kafkaStreamClient';
import type { StreamClient, StreamRecordInput } from '../../streams/streamClient';

const BATCH = 1000;
const ROUNDS = 5;
const PARTITIONS = 4;
const FETCH_BYTES = 1024 * 1024;
const CONSUME_COPIES = 4;
const SIZES = [
  { label: '100B', bytes: 100 },
  { label: '1KB', bytes: 1024 },
];

interface Run {
  perSec: number;
  cpuMicrosPerRecord: number;
  setupMs?: number;
}

function makeRecords(count: number, bytes: number): StreamRecordInput[] {
  return Array.from({ length: count }, (_, index) => {
    const value = Buffer.alloc(bytes, 0x61);
    value.write(String(index));
    return { key: `device-${index % 1000}`, value };
  });
}

/** Starts the clock and the CPU meter; the returned function stops both. */
function startRun(): (count: number) => Run {
  const startedAt = process.hrtime.bigint();
  const cpuAtStart = process.cpuUsage();
  return (count) => {
    const cpu = process.cpuUsage(cpuAtStart);
    return { perSec: Math.round(count / (Number(process.hrtime.bigint() - startedAt) / 1e9)), cpuMicrosPerRecord: Math.round(((cpu.user + cpu.system) / count) * 100) / 100 };
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function ratio(adapter: number, raw: number): number {
  return raw > 0 ? Math.round((adapter / raw) * 1000) / 1000 : 0;
}

async function adapterProduce(client: StreamClient, topic: string, records: StreamRecordInput[]): Promise<Run> {
  const stop = startRun();
  for (let start = 0; start < records.length; start += BATCH) await client.produce(topic, records.slice(start, start + BATCH));
  return stop(records.length);
}

async function rawProduce(kafka: Kafka, topic: string, records: StreamRecordInput[]): Promise<Run> {
  const producer = kafka.producer({ idempotent: true, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 5, initialRetryTime: 100 } });
  await producer.connect();
  try {
    const stop = startRun();
    for (let start = 0; start < records.length; start += BATCH) {
      const messages = records.slice(start, start + BATCH).map((record) => ({ key: record.key, value: record.value }));
      await producer.send({ topic, acks: -1, timeout: 30_000, messages });
    }
    return stop(records.length);
  } finally {
    await producer.disconnect();
  }
}

async function adapterConsume(client: StreamClient, topic: string, total: number): Promise<Run> {
  const partitions = await client.listPartitions(topic);
  const openedAt = Date.now();
  const readers = await Promise.all(partitions.map((partition) => client.openReader(topic, partition.id, { type: 'earliest' })));
  const setupMs = Date.now() - openedAt;
  const stop = startRun();
  let result: Run | undefined;
  let seen = 0;
  let checksum = 0;
  try {
    // one loop per partition; the clock stops when the last record of all arrived
    await Promise.all(
      readers.map(async (reader) => {
        while (seen < total) {
          const { records } = await reader.read({ maxRecords: 10_000, waitMs: 500 });
          for (const record of records) checksum += record.value.length;
          seen += records.length;
          if (seen >= total && !result) result = stop(seen);
        }
      }),
    );
    if (checksum <= 0 || !result) throw new Error('read nothing');
    return { ...result, setupMs };
  } finally {
    await Promise.all(readers.map((reader) => reader.close()));
  }
}

async function rawConsume(kafka: Kafka, admin: Admin, topic: string, total: number): Promise<Run> {
  const groupId = `bench-raw-${process.pid}-${Date.now().toString(36)}`;
  const consumer = kafka.consumer({ groupId, maxBytesPerPartition: FETCH_BYTES, retry: { retries: 5 } });
  const startedAt = Date.now();
  let stop: ((count: number) => Run) | undefined;
  let setupMs = 0;
  // the clock starts once the group is joined: from there on kafkajs fetches, as our readers do once open
  consumer.on(consumer.events.GROUP_JOIN, () => {
    if (stop) return;
    stop = startRun();
    setupMs = Date.now() - startedAt;
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let seen = 0;
    let checksum = 0;
    const done = new Promise<Run>((resolve) => {
      void consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) checksum += message.value?.length ?? 0;
          seen += batch.messages.length;
          if (seen >= total && stop) resolve(stop(seen));
        },
      });
    });
    const run = await done;
    if (checksum <= 0) throw new Error('read nothing');
    return { ...run, setupMs };
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
}

export async function benchKafka(opts: { brokers: string[]; records: number }): Promise<Record<string, unknown>> {
  const client = createKafkaStreamClient({ brokers: opts.brokers, clientId: 'sluice-bench', fetchMaxBytes: FETCH_BYTES });
  const kafka = new Kafka({ brokers: opts.brokers, clientId: 'sluice-bench-raw', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  let topicCounter = 0;
  async function withTopic<T>(use: (topic: string) => Promise<T>): Promise<T> {
    const topic = `bench-${process.pid}-${Date.now().toString(36)}-${++topicCounter}`;
    await client.createStream(topic, PARTITIONS);
    try {
      return await use(topic);
    } finally {
      await client.deleteStream(topic);
    }
  }

  const cases: Record<string, unknown> = {};
  try {
    for (const size of SIZES) {
      const records = makeRecords(opts.records, size.bytes);
      const figures: Record<'adapterProduce' | 'rawProduce' | 'adapterConsume' | 'rawConsume', Run[]> = { adapterProduce: [], rawProduce: [], adapterConsume: [], rawConsume: [] };
      // produce: each round writes the records into a fresh topic, raw and adapter alternating
      const produceVariants = [
        async (): Promise<void> => withTopic(async (topic) => void figures.rawProduce.push(await rawProduce(kafka, topic, records))),
        async (): Promise<void> => withTopic(async (topic) => void figures.adapterProduce.push(await adapterProduce(client, topic, records))),
      ];
      for (let round = 0; round < ROUNDS; round++) {
        console.error(`bench kafka ${size.label}: produce round ${round + 1}/${ROUNDS}`);
        for (let index = 0; index < produceVariants.length; index++) await (produceVariants[(index + round) % produceVariants.length] as () => Promise<void>)();
      }
      // consume: both read the very same topic (written once, by raw kafkajs), alternating; apart
      // from the produce rounds so neither pays for the other's garbage
      await withTopic(async (topic) => {
        // a consume pass takes a fraction of a produce pass: read the records several times over so
        // each measurement lasts long enough to mean something
        for (let copy = 0; copy < CONSUME_COPIES; copy++) await rawProduce(kafka, topic, records);
        const total = records.length * CONSUME_COPIES;
        const consumeVariants = [
          async (): Promise<void> => void figures.rawConsume.push(await rawConsume(kafka, admin, topic, total)),
          async (): Promise<void> => void figures.adapterConsume.push(await adapterConsume(client, topic, total)),
        ];
        for (let round = 0; round < ROUNDS; round++) {
          console.error(`bench kafka ${size.label}: consume round ${round + 1}/${ROUNDS}`);
          for (let index = 0; index < consumeVariants.length; index++) await (consumeVariants[(index + round) % consumeVariants.length] as () => Promise<void>)();
        }
      });
      const rate = (runs: Run[]): number => median(runs.map((run) => run.perSec));
      const cpu = (runs: Run[]): number => median(runs.map((run) => run.cpuMicrosPerRecord));
      const setup = (runs: Run[]): number => median(runs.map((run) => run.setupMs ?? 0));
      cases[size.label] = {
        produce: { adapterPerSec: rate(figures.adapterProduce), rawPerSec: rate(figures.rawProduce), ratio: ratio(rate(figures.adapterProduce), rate(figures.rawProduce)), adapterCpuMicrosPerRecord: cpu(figures.adapterProduce), rawCpuMicrosPerRecord: cpu(figures.rawProduce) },
        consume: {
          adapterPerSec: rate(figures.adapterConsume),
          rawPerSec: rate(figures.rawConsume),
          ratio: ratio(rate(figures.adapterConsume), rate(figures.rawConsume)),
          adapterCpuMicrosPerRecord: cpu(figures.adapterConsume),
          rawCpuMicrosPerRecord: cpu(figures.rawConsume),
          adapterSetupMs: setup(figures.adapterConsume),
          rawSetupMs: setup(figures.rawConsume),
        },
        roundsPerSec: Object.fromEntries(Object.entries(figures).map(([name, runs]) => [name, runs.map((run) => run.perSec)])),
      };
    }
  } finally {
    await admin.disconnect();
    await client.close();
  }
  return { brokers: opts.brokers.join(','), records: opts.records, consumedRecords: opts.records * CONSUME_COPIES, batch: BATCH, partitions: PARTITIONS, fetchBytesPerPartition: FETCH_BYTES, target: 'adapter >= 0.9 x raw', cases };
}
