/**
 * Standard Kafka clients and our adapter agree: Kafka's own console consumer (the Java client,
 * from the same jars as the broker) reads what the adapter wrote, at the offsets the adapter
 * reported, with keys, headers and timestamps; and the Java producer puts a key into the same
 * partition as the adapter does.
 */
import { consoleConsumerClass, consoleProducerClass, runKafkaTool } from '../../../infra/kafka/kafkaTool';
import { defaultKafkaVersion } from '../../../infra/kafka/kafkaJars';
import { KafkaStreamClient } from '../../../streams/kafka/kafkaStreamClient';
import type { StreamRecord, StreamRecordInput } from '../../../streams/streamClient';
import { testServers, uniqueName } from '../../support/servers';
import { readRecords } from './kafkaTestSupport';

const TOOL_TIMEOUT_MS = 90_000;

interface ConsoleLine {
  timestamp: string;
  partition: string;
  offset: string;
  headers: string;
  key: string;
  value: string;
}

/** DefaultMessageFormatter with print.timestamp/partition/offset/headers/key: tab-separated fields. */
function parseConsoleLine(line: string): ConsoleLine {
  const [timestamp = '', partition = '', offset = '', headers = '', key = '', ...value] = line.split('\t');
  return { timestamp, partition: partition.replace('Partition:', ''), offset: offset.replace('Offset:', ''), headers, key, value: value.join('\t') };
}

describe('kafka adapter: interoperability with Kafka’s own Java clients', () => {
  let client: KafkaStreamClient;
  const created: string[] = [];
  const version = defaultKafkaVersion();

  beforeAll(() => {
    client = new KafkaStreamClient({ brokers: testServers.kafkaBrokers, clientId: 'sluice-test-interop' });
  });

  afterAll(async () => {
    for (const name of created) await client.deleteStream(name).catch(() => undefined);
    await client.close();
  });

  async function newStream(partitions: number): Promise<string> {
    const name = uniqueName('kinterop');
    await client.createStream(name, partitions);
    created.push(name);
    return name;
  }

  it('the console consumer reads what the adapter wrote, where the adapter said it wrote it', async () => {
    const name = await newStream(3);
    const input: StreamRecordInput[] = Array.from({ length: 40 }, (_, i) => ({
      key: `device-${i % 6}`,
      value: Buffer.from(`reading ${i}`),
      ...(i % 2 === 0 ? { timestamp: 1_700_000_000_000 + i } : {}),
      ...(i % 4 === 0 ? { headers: { source: Buffer.from('sim'), seq: Buffer.from(String(i)) } } : {}),
    }));
    const produced = await client.produce(name, input);

    const result = await runKafkaTool(
      consoleConsumerClass(version),
      [
        '--bootstrap-server', testServers.kafkaBrokers.join(','),
        '--topic', name,
        '--from-beginning',
        '--max-messages', String(input.length),
        '--timeout-ms', '30000',
        ...['print.timestamp', 'print.partition', 'print.offset', 'print.headers', 'print.key'].flatMap((property) => ['--formatter-property', `${property}=true`]),
      ],
      { timeoutMs: TOOL_TIMEOUT_MS },
    );
    expect(result.stderr).toContain(`Processed a total of ${input.length} messages`);
    const lines = result.stdout.split('\n').filter((line) => line.length > 0).map(parseConsoleLine);
    const byPlace = new Map(lines.map((line) => [`${line.partition}/${line.offset}`, line]));
    expect(byPlace.size).toBe(input.length);
    produced.forEach((place, i) => {
      const line = byPlace.get(`${place.partition}/${place.position}`);
      const record = input[i] as StreamRecordInput;
      expect(line).toMatchObject({ key: record.key, value: record.value.toString() });
      if (record.timestamp !== undefined) expect(line?.timestamp).toBe(`CreateTime:${record.timestamp}`);
      else expect(line?.timestamp).toMatch(/^CreateTime:\d{13}$/);
      expect(line?.headers).toBe(record.headers ? `source:sim,seq:${i}` : 'NO_HEADERS');
    });
  });

  it('the Java producer and the adapter put each key into the same partition', async () => {
    const [javaTopic, ourTopic] = [await newStream(5), await newStream(5)];
    const keys = Array.from({ length: 30 }, (_, i) => `sensor-${i * 7919}`);
    const produced = await client.produce(ourTopic, keys.map((key) => ({ key, value: Buffer.from(key) })));
    const ourPartition = new Map(keys.map((key, i) => [key, produced[i]?.partition]));

    const result = await runKafkaTool(
      consoleProducerClass(version),
      ['--bootstrap-server', testServers.kafkaBrokers.join(','), '--topic', javaTopic, '--reader-property', 'parse.key=true', '--reader-property', 'key.separator=|'],
      { timeoutMs: TOOL_TIMEOUT_MS, stdin: keys.map((key) => `${key}|${key}`).join('\n') + '\n' },
    );
    expect(result.exitCode).toBe(0);

    const read: StreamRecord[] = [];
    for (const partition of ['0', '1', '2', '3', '4']) read.push(...(await readRecords(client, javaTopic, partition, { type: 'earliest' }, keys.length, { idleReads: 2 })));
    expect(read).toHaveLength(keys.length);
    expect(new Set(read.map((record) => record.partition)).size).toBeGreaterThan(1);
    for (const record of read) expect(record.partition).toBe(ourPartition.get(record.key));
  });
});
