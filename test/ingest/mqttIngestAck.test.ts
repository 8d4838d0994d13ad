import { IngestPipeline } from '../../ingest/ingestPipeline';
import { MqttIngest } from '../../ingest/mqttIngest';
import mqtt from 'mqtt';
import { testServers, uniqueName } from '../support/servers';
import { createIngestStreams, decodeDeadLetters, endMqttSession, expectQos1AckAfterDurable, gateProduce, readWholeStream } from './ingestTestSupport';
import type { IngestStreamKind, IngestStreams } from './ingestTestSupport';

const mqttUrl = testServers.mqttUrl;
const MAX_PAYLOAD_BYTES = 1024;

const reading = (deviceId: string, seq: number) => ({ deviceId, seq, eventTime: 1_763_000_000_000 + seq, deviceType: 'smart-meter', metrics: { powerW: 100 + seq } });

describe.each<IngestStreamKind>(['kafka', 'kinesis'])('MQTT ingest on Mosquitto -> %s: QoS 1 acks and dead letters', (kind) => {
  let streams: IngestStreams;
  let ingest: MqttIngest | undefined;
  let prefix: string;
  let clientId: string;

  beforeEach(async () => {
    prefix = uniqueName('ingack');
    clientId = `${prefix}-ingest`;
    streams = await createIngestStreams('ingack', 2, kind);
  });

  afterEach(async () => {
    await ingest?.stop();
    ingest = undefined;
    await endMqttSession(mqttUrl, clientId);
    await streams.cleanup();
  });

  async function startIngest(client = streams.client): Promise<void> {
    const pipeline = new IngestPipeline({
      telemetry: { client, stream: streams.telemetry },
      deadLetter: { client, stream: streams.deadLetter },
      codec: streams.codec,
      maxPayloadBytes: MAX_PAYLOAD_BYTES,
    });
    ingest = await MqttIngest.start({ mqttUrl, pipeline, clientId, sharedGroup: prefix.replace(/[^a-z0-9]/gi, ''), topicFilter: `${prefix}/+/telemetry` });
  }

  it('PUBACKs a QoS 1 reading only once its record is in the stream', async () => {
    const gate = gateProduce(streams.client);
    await startIngest(gate.client);
    const deviceId = `${prefix.replace(/[^a-z0-9]/gi, '')}-d1`;
    const client = ingest!.client;
    await expectQos1AckAfterDurable({
      watchIngestPubacks: (onPuback) => client.on('packetsend', (packet) => packet.cmd === 'puback' && onPuback()),
      mqttUrl,
      protocolVersion: 5,
      topic: `${prefix}/${deviceId}/telemetry`,
      payload: Buffer.from(JSON.stringify(reading(deviceId, 7))),
      gate,
      streams,
      expected: { deviceId, seq: 7 },
    });
  });

  it('dead-letters each bad QoS 1 message with its reason and original bytes before PUBACKing it', async () => {
    await startIngest();
    // ingest's own PUBACKs to the broker (the device's come from the broker)
    let pubacks = 0;
    ingest!.client.on('packetsend', (packet) => {
      if (packet.cmd === 'puback') pubacks += 1;
    });
    const device = await mqtt.connectAsync(mqttUrl, { protocolVersion: 5, reconnectPeriod: 0 });
    const bad = [
      { topic: `${prefix}/d2/telemetry`, payload: Buffer.from('{"deviceId":"d2","seq":1,'), reason: 'bad_json' },
      { topic: `${prefix}/d2/telemetry`, payload: Buffer.from(JSON.stringify({ ...reading('d2', 2), metrics: { powerW: 'high' } })), reason: 'schema_violation' },
      { topic: `${prefix}/d3/telemetry`, payload: Buffer.from(JSON.stringify(reading('d2', 3))), reason: 'topic_mismatch' },
      { topic: `${prefix}/d2/telemetry`, payload: Buffer.from(JSON.stringify({ ...reading('d2', 4), note: 'x'.repeat(MAX_PAYLOAD_BYTES) })), reason: 'too_large' },
    ];
    try {
      for (const [index, message] of bad.entries()) {
        await device.publishAsync(message.topic, message.payload, { qos: 1 });
        while (pubacks <= index) await new Promise((resolve) => setTimeout(resolve, 10));
        // PUBACKed by ingest: its dead letter is durable, so it is already there
        const letters = await decodeDeadLetters(streams.codec, await readWholeStream(streams.client, streams.deadLetter, 1));
        expect(letters.map((letter) => letter.original)).toContainEqual(message.payload);
      }
    } finally {
      await device.endAsync(true);
    }
    const letters = await decodeDeadLetters(streams.codec, await readWholeStream(streams.client, streams.deadLetter));
    expect(letters.map(({ reasonCode, source, original, attempts }) => ({ reasonCode, source, original, attempts }))).toEqual(
      bad.map((message) => ({ reasonCode: message.reason, source: { kind: 'mqtt', address: message.topic }, original: message.payload, attempts: 1 })),
    );
    expect(await readWholeStream(streams.client, streams.telemetry, 1)).toEqual([]);
  });
});
