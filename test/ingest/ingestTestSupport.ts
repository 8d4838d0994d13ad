/** Shared set-up for ingest tests: streams on the real Kafka, a temp registry, and readers that decode what landed. */
import mqtt from 'mqtt';
import { AvroCodec } from '../../schemas/avroCodec';
import type { DeadLetter, TelemetryReading } from '../../schemas/records';
import { registerSluiceSchemas } from '../../schemas/sluiceSchemas';
import { openStreamClient } from '../../streams/openStreamClient';
import type { StreamClient, StreamRecord } from '../../streams/streamClient';
import { tempRegistry } from '../schemas/tempRegistry';
import type { TempRegistry } from '../schemas/tempRegistry';
import { testServers, uniqueName } from '../support/servers';

export interface IngestStreams {
  client: StreamClient;
  telemetry: string;
  deadLetter: string;
  temp: TempRegistry;
  codec: AvroCodec;
  kafkaAddress(stream: string): string;
  cleanup(): Promise<void>;
}

export async function createIngestStreams(prefix: string, telemetryPartitions = 3): Promise<IngestStreams> {
  const client = openStreamClient(`kafka://${testServers.kafkaBrokers.join(',')}/unused`);
  const telemetry = uniqueName(`${prefix}-telemetry`);
  const deadLetter = uniqueName(`${prefix}-dlq`);
  await client.createStream(telemetry, telemetryPartitions);
  await client.createStream(deadLetter, 1);
  const temp = tempRegistry();
  await registerSluiceSchemas(temp.registry);
  return {
    client,
    telemetry,
    deadLetter,
    temp,
    codec: new AvroCodec(temp.registry),
    kafkaAddress: (stream) => `kafka://${testServers.kafkaBrokers.join(',')}/${stream}`,
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
