import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AvroCodec } from '../../schemas/avroCodec';
import { FileSchemaStore } from '../../schemas/fileSchemaStore';
import type { TelemetryReading } from '../../schemas/records';
import { SchemaRegistry } from '../../schemas/schemaRegistry';
import { readSchemaId } from '../../schemas/wireFormat';
import { createAvroReadingEncoder } from '../../simulators/avroReadingEncoder';
import { startFleet } from '../../simulators/fleet';
import { testServers, uniqueName } from '../support/servers';
import { generateMessages } from './generateMessages';
import { MqttTestSubscriber } from './mqttTestSubscriber';

describe('Avro device payloads', () => {
  let directory: string;
  let registry: SchemaRegistry;

  beforeEach(() => {
    directory = mkdtempSync(path.join(os.tmpdir(), 'sluice-sim-avro-'));
    registry = new SchemaRegistry(new FileSchemaStore(path.join(directory, 'registry.json')));
  });

  afterEach(async () => {
    await registry.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('decode, with the registry, to exactly the readings the JSON payloads carry', async () => {
    const { encode, schemaId } = await createAvroReadingEncoder(registry);
    const json = generateMessages({ devices: 8, seed: 3 }, 30).messages;
    const avro = generateMessages({ devices: 8, seed: 3, payload: 'avro', encodeReading: encode }, 30).messages;
    const codec = new AvroCodec(registry);
    expect(avro).toHaveLength(json.length);
    for (const [i, message] of avro.entries()) {
      expect(readSchemaId(message.payload)).toBe(schemaId);
      const decoded = (await codec.decode(message.payload)) as TelemetryReading;
      const expected = JSON.parse(json[i]!.payload.toString()) as TelemetryReading;
      expect(decoded).toEqual({
        ...expected,
        location: expected.location ? { alt: null, ...expected.location } : null,
        battery: expected.battery ?? null,
        ingestTime: null,
      });
    }
  });

  it('malformed Avro is truncated and does not decode', async () => {
    const { encode } = await createAvroReadingEncoder(registry);
    const { messages } = generateMessages({ devices: 4, payload: 'avro', encodeReading: encode, faults: { 'malformed-json': 0.2 } }, 50);
    const codec = new AvroCodec(registry);
    const malformed = messages.filter((m) => m.fault === 'malformed-json');
    expect(malformed.length).toBeGreaterThan(10);
    for (const message of malformed) await expect(codec.decode(message.payload)).rejects.toThrow();
  });

  it('a fleet publishes Avro readings a subscriber can decode', async () => {
    const prefix = uniqueName('simavro');
    const subscriber = await MqttTestSubscriber.connect(testServers.systemMqttUrl, prefix);
    try {
      const { encode } = await createAvroReadingEncoder(registry);
      const fleet = startFleet({
        mqttUrl: testServers.systemMqttUrl,
        topicPrefix: prefix,
        deviceIdPrefix: prefix.replace(/[^a-z0-9]/gi, ''),
        devices: 4,
        rate: 200,
        readingsPerDevice: 10,
        payload: 'avro',
        encodeReading: encode,
      });
      const report = await fleet.finished;
      expect(report).toMatchObject({ payload: 'avro', acked: 40 });
      expect(await subscriber.waitFor(() => subscriber.on('/telemetry').length >= 40)).toBe(true);
      const codec = new AvroCodec(registry);
      const decoded = await Promise.all(subscriber.on('/telemetry').map(async (m) => ({ topic: m.topic, reading: (await codec.decode(m.payload)) as TelemetryReading })));
      for (const { topic, reading } of decoded) expect(topic).toBe(`${prefix}/${reading.deviceId}/telemetry`);
      expect(decoded.map(({ reading }) => `${reading.deviceId}/${reading.seq}`).sort()).toEqual(
        [...fleet.ledger.acceptedReadings()].map(({ deviceId, seq }) => `${deviceId}/${seq}`).sort(),
      );
    } finally {
      await subscriber.close();
    }
  });

  it('refuses payload avro without an encoder', () => {
    expect(() => startFleet({ mqttUrl: testServers.systemMqttUrl, payload: 'avro' })).toThrow('fleet.payload: avro needs an encoder');
  });
});
