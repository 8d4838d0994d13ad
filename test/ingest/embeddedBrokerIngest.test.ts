/**
 * Ingest on the embedded aedes broker (what `sluice up` runs without Mosquitto): MQTT 3.1.1, a
 * plain subscription (aedes has no shared subscriptions for 3.1.1 clients), one instance.
 */
import { startEmbeddedMqttBroker } from '../../infra/embedded/embeddedMqttBroker';
import type { EmbeddedMqttBroker } from '../../infra/embedded/embeddedMqttBroker';
import { IngestPipeline } from '../../ingest/ingestPipeline';
import { MqttIngest } from '../../ingest/mqttIngest';
import { FAULT_OUTCOMES } from '../../simulators/faultKinds';
import { startFleet } from '../../simulators/fleet';
import type { StreamClient } from '../../streams/streamClient';
import { uniqueName } from '../support/servers';
import { createIngestStreams, decodeDeadLetters, decodeReadings, expectQos1AckAfterDurable, gateProduce, readStreamUntil } from './ingestTestSupport';
import type { IngestStreams } from './ingestTestSupport';

const MAX_PAYLOAD_BYTES = 4096;

describe('MQTT ingest on the embedded aedes broker -> Kafka', () => {
  let broker: EmbeddedMqttBroker;
  let streams: IngestStreams;
  let ingest: MqttIngest | undefined;
  let prefix: string;

  beforeEach(async () => {
    broker = await startEmbeddedMqttBroker();
    streams = await createIngestStreams('ingaedes', 2);
    prefix = uniqueName('ingaedes');
  });

  afterEach(async () => {
    await ingest?.stop();
    ingest = undefined;
    await broker.close();
    await streams.cleanup();
  });

  async function startIngest(client: StreamClient = streams.client): Promise<IngestPipeline> {
    const pipeline = new IngestPipeline({
      telemetry: { client, stream: streams.telemetry },
      deadLetter: { client, stream: streams.deadLetter },
      codec: streams.codec,
      maxPayloadBytes: MAX_PAYLOAD_BYTES,
    });
    ingest = await MqttIngest.start({ mqttUrl: broker.url, pipeline, clientId: `${prefix}-ingest`, protocolVersion: 4, sharedGroup: null, topicFilter: `${prefix}/+/telemetry` });
    return pipeline;
  }

  it('subscribes with a plain QoS 1 subscription over MQTT 3.1.1', async () => {
    await startIngest();
    expect(ingest!.subscription).toBe(`${prefix}/+/telemetry`);
    expect(ingest!.client.options.protocolVersion).toBe(4);
  });

  it('PUBACKs a QoS 1 reading to the broker only once its record is in the stream (the broker\'s own ack events)', async () => {
    const gate = gateProduce(streams.client);
    await startIngest(gate.client);
    const deviceId = `${prefix.replace(/[^a-z0-9]/gi, '')}-d1`;
    await expectQos1AckAfterDurable({
      mqttUrl: broker.url,
      protocolVersion: 4,
      topic: `${prefix}/${deviceId}/telemetry`,
      payload: Buffer.from(JSON.stringify({ deviceId, seq: 3, eventTime: 1_763_000_000_000, deviceType: 'gps-tracker', metrics: { speedKmh: 12 } })),
      gate,
      streams,
      watchIngestPubacks: (onPuback) =>
        broker.broker.on('ack', (packet, client) => {
          if (client.id === `${prefix}-ingest` && 'cmd' in packet && packet.cmd === 'publish') onPuback();
        }),
      expected: { deviceId, seq: 3 },
    });
  });

  it('a simulated fleet through aedes: every acked valid reading in the stream in order per device, every fault dead-lettered with its reason', async () => {
    const pipeline = await startIngest();
    const fleet = startFleet({
      mqttUrl: broker.url,
      topicPrefix: prefix,
      deviceIdPrefix: prefix.replace(/[^a-z0-9]/gi, ''),
      devices: 4,
      rate: 800,
      readingsPerDevice: 50,
      qos: 1,
      protocolVersion: 4,
      oversizeBytes: MAX_PAYLOAD_BYTES,
      faults: { duplicate: 0.03, 'malformed-json': 0.05, 'wrong-types': 0.05, 'missing-fields': 0.05, oversized: 0.04, 'wrong-topic': 0.05 },
    });
    const report = await fleet.finished;
    expect(report.failed).toBe(0);
    const accepted = [...fleet.ledger.acceptedReadings()];
    const rejected = fleet.ledger.rejected;
    expect(rejected.length).toBeGreaterThan(0);

    const records = await readStreamUntil(streams.client, streams.telemetry, (found) => found.length >= accepted.length + report.byFault.duplicate.acked);
    const readings = await decodeReadings(streams.codec, records);
    expect(readings).toHaveLength(accepted.length + report.byFault.duplicate.acked);
    const seqsByDevice = new Map<string, number[]>();
    for (const { record, reading } of readings) {
      expect(record.key).toBe(reading.deviceId);
      seqsByDevice.set(reading.deviceId, [...(seqsByDevice.get(reading.deviceId) ?? []), reading.seq]);
    }
    for (const { deviceId, seq } of accepted) expect(seqsByDevice.get(deviceId)).toContain(seq);
    for (const seqs of seqsByDevice.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

    const letters = await decodeDeadLetters(streams.codec, await readStreamUntil(streams.client, streams.deadLetter, (found) => found.length >= rejected.length));
    const landed = letters.map((letter) => `${letter.source.address} ${letter.reasonCode}`).sort();
    const expected = rejected.map((message) => `${message.topic} ${FAULT_OUTCOMES[message.fault].deadLetterReason ?? '?'}`).sort();
    expect(landed).toEqual(expected);
    // every message the fleet published was taken in and acked to the broker by this one instance
    expect(ingest!.stats.acked).toBe(report.acked);
    expect(pipeline.inFlightMessages).toBe(0);
  });
});
