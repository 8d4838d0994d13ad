/** Shared set-up for ingest tests: streams on the real Kafka or kinesalite, a temp registry, and readers that decode what landed. */
import mqtt from 'mqtt';
import { AvroCodec } from '../../schemas/avroCodec';
import type { DeadLetter, TelemetryReading } from '../../schemas/records';
import { registerSluiceSchemas } from '../../schemas/sluiceSchemas';
import { openStreamClient } from '../../streams/openStreamClient';
import type { StreamClient, StreamRecord } from '../../streams/streamClient';
import { tempRegistry } from '../schemas/tempRegistry';
import type { TempRegistry } from '../schemas/tempRegistry';
import { testServers, uniqueName } from '../support/servers';

export type IngestStreamKind = 'kafka' | 'kinesis';

export interface IngestStreams {
  kind: IngestStreamKind;
  client: StreamClient;
  telemetry: string;
  deadLetter: string;
  temp: TempRegistry;
  codec: AvroCodec;
  /** `kafka://...` or `kinesis://...` of a stream on the test servers, as `sluice ingest` takes it. */
  address(stream: string): string;
  /** A stream on the test Kafka, whatever `kind` is (kept for callers written before Kinesis). */
  kafkaAddress(stream: string): string;
  cleanup(): Promise<void>;
}

/** The test servers' base address of each kind (test/support/servers.ts). */
export function streamBase(kind: IngestStreamKind): string {
  return kind === 'kafka' ? `kafka://${testServers.kafkaBrokers.join(',')}` : `kinesis://${new URL(testServers.kinesisEndpoint).host}`;
}

export async function createIngestStreams(prefix: string, telemetryPartitions = 3, kind: IngestStreamKind = 'kafka'): Promise<IngestStreams> {
  const client = openStreamClient(`${streamBase(kind)}/unused`);
  const telemetry = uniqueName(`${prefix}-telemetry`);
  const deadLetter = uniqueName(`${prefix}-dlq`);
  await client.createStream(telemetry, telemetryPartitions);
  await client.createStream(deadLetter, 1);
  const temp = tempRegistry();
  await registerSluiceSchemas(temp.registry);
  return {
    kind,
    client,
    telemetry,
    deadLetter,
    temp,
    codec: new AvroCodec(temp.registry),
    address: (stream) => `${streamBase(kind)}/${stream}`,
    kafkaAddress: (stream) => `${streamBase('kafka')}/${stream}`,
    async cleanup() {
      await client.deleteStream(telemetry).catch(() => undefined);
      await client.deleteStream(deadLetter).catch(() => undefined);
      await client.close();
      await temp.cleanup();
    },
  };
}

/** Every record of every partition, read until `idleReads` reads in a row bring nothing. */
export async function readWholeStream(client: StreamClient, stream: string, idleReads = 2): Promise<StreamRecord[]> {
  const records: StreamRecord[] = [];
  for (const partition of await client.listPartitions(stream)) {
    const reader = await client.openReader(stream, partition.id, { type: 'earliest' });
    try {
      for (let idle = 0; idle < idleReads; ) {
        const result = await reader.read({ maxRecords: 1000, waitMs: 300 });
        records.push(...result.records);
        idle = result.records.length === 0 ? idle + 1 : 0;
      }
    } finally {
      await reader.close();
    }
  }
  return records;
}

/** Reads the stream again until `done(records)` holds or the timeout passes; returns the last read. */
export async function readStreamUntil(client: StreamClient, stream: string, done: (records: StreamRecord[]) => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<StreamRecord[]> {
  const deadline = Date.now() + timeoutMs;
  let records = await readWholeStream(client, stream);
  while (!(await done(records)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    records = await readWholeStream(client, stream);
  }
  return records;
}

export async function decodeReadings(codec: AvroCodec, records: StreamRecord[]): Promise<Array<{ record: StreamRecord; reading: TelemetryReading }>> {
  const decoded = [];
  for (const record of records) decoded.push({ record, reading: (await codec.decode(record.value)) as TelemetryReading });
  return decoded;
}

export async function decodeDeadLetters(codec: AvroCodec, records: StreamRecord[]): Promise<DeadLetter[]> {
  const decoded: DeadLetter[] = [];
  for (const record of records) decoded.push((await codec.decode(record.value)) as DeadLetter);
  return decoded;
}

/** Ends a persistent MQTT session the broker keeps after a test (a clean-start connect with no expiry). */
export async function endMqttSession(url: string, clientId: string): Promise<void> {
  const client = await mqtt.connectAsync(url, { clientId, clean: true, protocolVersion: 5, reconnectPeriod: 0 });
  await client.endAsync();
}

/**
 * The real stream client with its produce calls held at a gate until open() (then passed through
 * unchanged): a test can look at the world while a record is on its way to the stream and not yet
 * durable, e.g. that ingest has not PUBACKed its MQTT message yet.
 */
export interface ProduceGate {
  client: StreamClient;
  /** Resolves with the stream name once a produce call has reached the gate. */
  firstProduce: Promise<string>;
  /** produce calls that have resolved (their records are durable). */
  readonly durableProduces: number;
  open(): void;
}

export function gateProduce(real: StreamClient): ProduceGate {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  let reached: (stream: string) => void = () => undefined;
  const firstProduce = new Promise<string>((resolve) => {
    reached = resolve;
  });
  const client = Object.create(real) as StreamClient;
  const gate = { client, firstProduce, durableProduces: 0, open };
  client.produce = async (stream, records) => {
    reached(stream);
    await opened;
    const produced = await real.produce(stream, records);
    gate.durableProduces += 1;
    return produced;
  };
  return gate;
}

/**
 * The ack-after-durable check on a real MQTT path. MQTT acks hop by hop: the device's PUBACK comes
 * from the broker; what must wait for durability is ingest's PUBACK to the broker, which
 * `watchIngestPubacks` reports (the ingest client's own 'packetsend' events, or the broker's 'ack'
 * events). A device publishes one QoS 1 reading; while its record is held at the gate, ingest
 * sends no PUBACK and the stream does not hold the record; once the gate opens, ingest's PUBACK
 * goes out only after the produce call resolved, and the stream then holds the record.
 */
export async function expectQos1AckAfterDurable(options: {
  mqttUrl: string;
  protocolVersion: 4 | 5;
  topic: string;
  payload: Buffer;
  gate: ProduceGate;
  streams: IngestStreams;
  /** Calls onPuback for every PUBACK ingest sends to the broker. */
  watchIngestPubacks(onPuback: () => void): void;
  /** What the telemetry stream must hold once acked (decoded). */
  expected: { deviceId: string; seq: number };
}): Promise<void> {
  const durableAtPuback: number[] = [];
  let pubackSent: () => void = () => undefined;
  const firstPuback = new Promise<void>((resolve) => {
    pubackSent = resolve;
  });
  options.watchIngestPubacks(() => {
    durableAtPuback.push(options.gate.durableProduces);
    pubackSent();
  });
  const device = await mqtt.connectAsync(options.mqttUrl, { protocolVersion: options.protocolVersion, reconnectPeriod: 0, clientId: `${options.expected.deviceId}-device` });
  try {
    await device.publishAsync(options.topic, options.payload, { qos: 1 }); // the broker has it
    expect(await options.gate.firstProduce).toBe(options.streams.telemetry);
    // Time for a premature PUBACK to go out, if ingest sent one before durability.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(durableAtPuback).toEqual([]);
    expect(await readWholeStream(options.streams.client, options.streams.telemetry, 1)).toEqual([]);
    options.gate.open();
    await firstPuback;
    expect(durableAtPuback).toEqual([1]);
    const readings = await decodeReadings(options.streams.codec, await readWholeStream(options.streams.client, options.streams.telemetry, 1));
    expect(readings.map(({ record, reading }) => ({ key: record.key, deviceId: reading.deviceId, seq: reading.seq }))).toEqual([
      { key: options.expected.deviceId, ...options.expected },
    ]);
  } finally {
    options.gate.open(); // never leave a produce (and the pipeline's drain) hanging
    await device.endAsync(true);
  }
}
