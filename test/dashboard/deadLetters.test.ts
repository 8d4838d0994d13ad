/**
 * The dead-letter browser's reading and replay on real Kafka, Redis (schema registry) and
 * Mosquitto: an ingest reject, a processor's dead letter, an on-failure record built by the
 * runtime, and bytes that are none of these, each shown with its reason and replayed where it
 * came from (or refused, saying why).
 */
import { connectAsync } from 'mqtt';
import type { MqttClient } from 'mqtt';
import { DashboardNotFoundError } from '../../dashboard/server/dashboardSources';
import { DeadLetterReplay } from '../../dashboard/server/deadLetterReplay';
import { DeadLetterTail } from '../../dashboard/server/deadLetterTail';
import { buildKafkaTopicFailureMessages } from '../../runtime/failure/kafkaFailureRecord';
import { AvroCodec } from '../../schemas/avroCodec';
import type { DeadLetter } from '../../schemas/records';
import { RedisSchemaStore } from '../../schemas/redisSchemaStore';
import { SchemaRegistry } from '../../schemas/schemaRegistry';
import { SUBJECTS, registerSluiceSchemas } from '../../schemas/sluiceSchemas';
import { openStreamClient } from '../../streams/openStreamClient';
import type { StreamClient, StreamRecord } from '../../streams/streamClient';
import { testServers, uniqueName } from '../support/servers';

const prefix = `${uniqueName('dash-dlq')}-`;
const names = { ingest: `${prefix}telemetry-dlq`, processor: `${prefix}processor-dlq`, failures: `${prefix}pipeline-failures`, telemetry: `${prefix}telemetry`, enriched: `${prefix}enriched` };
const mqttTopic = `${uniqueName('dash')}/dev-7/telemetry`;

let client: StreamClient;
let store: RedisSchemaStore;
let codec: AvroCodec;
let tail: DeadLetterTail;
let replay: DeadLetterReplay;
let subscriber: MqttClient;

async function readAll(stream: string): Promise<StreamRecord[]> {
  const records: StreamRecord[] = [];
  for (const partition of await client.listPartitions(stream)) {
    const reader = await client.openReader(stream, partition.id, { type: 'earliest' });
    for (;;) {
      const { records: batch } = await reader.read({ maxRecords: 100, waitMs: 300 });
      if (batch.length === 0) break;
      records.push(...batch);
    }
    await reader.close();
  }
  return records;
}

function deadLetter(overrides: Partial<DeadLetter>): DeadLetter {
  return { reasonCode: 'bad_json', message: 'Unexpected end of JSON input', source: { kind: 'mqtt', address: mqttTopic }, original: Buffer.from('{"deviceId":"dev-7","seq":3,'), firstSeenAt: 1_700_000_000_000, attempts: 1, headers: null, ...overrides };
}

beforeAll(async () => {
  client = openStreamClient(`kafka://${testServers.kafkaBrokers.join(',')}/${names.telemetry}`);
  for (const name of Object.values(names)) await client.createStream(name, 1);
  store = RedisSchemaStore.connect(testServers.redisUrl);
  const registry = new SchemaRegistry(store);
  await registerSluiceSchemas(registry);
  codec = new AvroCodec(registry);

  await client.produce(names.ingest, [{ key: 'dev-7', value: await codec.encode(SUBJECTS.deadLetter, deadLetter({})) }]);
  const enrichedScope = `kafka:${names.enriched}-0`;
  await client.produce(names.processor, [
    {
      key: 'dev-8',
      value: await codec.encode(SUBJECTS.deadLetter, deadLetter({ reasonCode: 'unknown_schema', message: 'schema id 99 is not registered', source: { kind: 'kafka', address: enrichedScope }, original: Buffer.from([0, 0, 0, 0, 99, 1, 2, 3]), firstSeenAt: 1_700_000_001_000, headers: { processor: 'storage', scope: enrichedScope, position: '41' } })),
    },
    { key: 'dev-9', value: Buffer.from('not avro at all') },
  ]);
  const failed: StreamRecord = { stream: names.telemetry, partition: '0', position: '5', key: 'dev-10', value: Buffer.from('reading bytes'), headers: {}, timestamp: 1_700_000_002_000, arrivalTime: 1_700_000_002_000 };
  const [message] = buildKafkaTopicFailureMessages({
    records: [failed],
    source: { eventSource: 'SelfManagedKafka', bootstrapServers: testServers.kafkaBrokers },
    requestId: 'req-1', functionArn: 'arn:aws:lambda:local:000000000000:function:sluice-transform', condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3, functionError: 'Unhandled', now: 1_700_000_003_000,
  });
  await client.produce(names.failures, [{ key: 'dev-10', value: Buffer.from(JSON.stringify(message?.record)) }]);

  tail = new DeadLetterTail({
    client,
    streams: [{ stream: names.ingest, kind: 'ingest' }, { stream: names.processor, kind: 'processor' }, { stream: names.failures, kind: 'failure' }, { stream: `${prefix}not-created`, kind: 'processor' }],
    decodeAvro: (bytes) => codec.decode(bytes),
  });
  tail.start();
  replay = new DeadLetterReplay({ client, mqttUrl: testServers.mqttUrl, allowedStreams: new Set([names.telemetry, names.enriched]) });
  subscriber = await connectAsync(testServers.mqttUrl, { clientId: uniqueName('dash-sub') });
  await subscriber.subscribeAsync(mqttTopic, { qos: 1 });
});

afterAll(async () => {
  await tail?.close();
  await replay?.close();
  await subscriber?.endAsync();
  for (const name of Object.values(names)) await client?.deleteStream(name).catch(() => undefined);
  await client?.close();
  await store?.close();
});

describe('dead-letter browser on Kafka', () => {
  it('lists every dead letter, newest first, with its reason, source and payload', async () => {
    const page = await tail.page(10);
    expect(page.totals).toEqual({ [names.ingest]: 1, [names.processor]: 2, [names.failures]: 1, [`${prefix}not-created`]: 0 });
    const byStream = (stream: string) => page.entries.filter((entry) => entry.stream === stream);
    expect(byStream(names.ingest)).toEqual([expect.objectContaining({ kind: 'ingest', reason: 'bad_json', message: 'Unexpected end of JSON input', source: `mqtt ${mqttTopic}`, payloadPreview: '{"deviceId":"dev-7","seq":3,', replayRefusal: null, replayTarget: `mqtt ${mqttTopic}`, time: 1_700_000_000_000 })]);
    const [processorEntry, garbage] = byStream(names.processor).sort((a, b) => a.id.localeCompare(b.id));
    expect(processorEntry).toEqual(expect.objectContaining({ reason: 'unknown_schema', source: `storage kafka:${names.enriched}-0 @ 41`, payloadPreview: '0000000063010203', payloadBytes: 8, replayTarget: names.enriched }));
    expect(garbage).toEqual(expect.objectContaining({ reason: 'undecodable', payloadPreview: 'not avro at all', replayTarget: null }));
    expect(garbage?.replayRefusal).toContain('cannot be decoded');
    expect(byStream(names.failures)).toEqual([expect.objectContaining({ kind: 'failure', reason: 'RetryAttemptsExhausted', message: 'batch of 1, invoked 3 time(s)', source: `sluice-transform ← ${names.telemetry} ${names.telemetry}-0 5..5`, replayTarget: names.telemetry })]);
    expect(page.entries.map((entry) => entry.time)).toEqual([...page.entries.map((entry) => entry.time)].sort((a, b) => b - a));
    expect(tail.problems()).toEqual([`${prefix}not-created: does not exist (yet)`]);
  });

  it('publishes an ingest reject again to its MQTT topic', async () => {
    const [entry] = (await tail.page(10)).entries.filter((candidate) => candidate.kind === 'ingest');
    const received = new Promise<Buffer>((resolve) => subscriber.once('message', (_topic, payload) => resolve(payload)));
    const outcome = await replay.replay(await tail.find(entry?.id ?? ''));
    expect(outcome).toEqual({ id: entry?.id, replayedRecords: 1, target: `mqtt ${mqttTopic}` });
    expect((await received).toString()).toBe('{"deviceId":"dev-7","seq":3,');
  });

  it('produces a processor dead letter and the records of a failure record again to their source streams', async () => {
    const entries = (await tail.page(10)).entries;
    const processorEntry = entries.find((entry) => entry.reason === 'unknown_schema');
    const failureEntry = entries.find((entry) => entry.kind === 'failure');
    expect(await replay.replay(await tail.find(processorEntry?.id ?? ''))).toMatchObject({ replayedRecords: 1, target: names.enriched });
    expect(await replay.replay(await tail.find(failureEntry?.id ?? ''))).toMatchObject({ replayedRecords: 1, target: names.telemetry });
    expect((await readAll(names.enriched)).map((record) => [record.key, record.value.toString('hex')])).toEqual([['dev-8', '0000000063010203']]);
    expect((await readAll(names.telemetry)).map((record) => [record.key, record.value.toString()])).toEqual([['dev-10', 'reading bytes']]);
  });

  it('refuses what it cannot replay, and ids that are not dead letters', async () => {
    const garbage = (await tail.page(10)).entries.find((entry) => entry.reason === 'undecodable');
    await expect(replay.replay(await tail.find(garbage?.id ?? ''))).rejects.toThrow('cannot be replayed: cannot be decoded');
    await expect(tail.find(`${names.telemetry}/0/0`)).rejects.toBeInstanceOf(DashboardNotFoundError);
    await expect(tail.find(`${names.ingest}/0/999`)).rejects.toThrow(`no record ${names.ingest}/0/999`);
    await expect(tail.find('../../etc/passwd')).rejects.toBeInstanceOf(DashboardNotFoundError);
  });

  it('refuses to replay into a stream that is not the pipeline\'s', async () => {
    const narrow = new DeadLetterReplay({ client, mqttUrl: undefined, allowedStreams: new Set([names.telemetry]) });
    const entries = (await tail.page(10)).entries;
    await expect(narrow.replay(await tail.find(entries.find((entry) => entry.reason === 'unknown_schema')?.id ?? ''))).rejects.toThrow(`came from "${names.enriched}", which is not a stream of this pipeline`);
    await expect(narrow.replay(await tail.find(entries.find((entry) => entry.kind === 'ingest')?.id ?? ''))).rejects.toThrow('no MQTT broker given');
  });

  it('counts records that arrive later, once each', async () => {
    await client.produce(names.ingest, [{ key: 'dev-7', value: await codec.encode(SUBJECTS.deadLetter, deadLetter({ reasonCode: 'too_large', firstSeenAt: Date.now() })) }]);
    let page = await tail.page(10);
    while (page.totals[names.ingest] !== 2) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      page = await tail.page(10);
    }
    expect(page.entries[0]).toMatchObject({ reason: 'too_large', stream: names.ingest });
    expect(page.entries.filter((entry) => entry.stream === names.ingest).map((entry) => entry.reason).sort()).toEqual(['bad_json', 'too_large']);
  });
});
