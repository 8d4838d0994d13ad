import { IngestPipeline } from '../../ingest/ingestPipeline';
import { MqttIngest } from '../../ingest/mqttIngest';
import type { TelemetryReading } from '../../schemas/records';
import { createAvroReadingEncoder } from '../../simulators/avroReadingEncoder';
import { FAULT_OUTCOMES } from '../../simulators/faultKinds';
import type { FaultKind } from '../../simulators/faultKinds';
import { startFleet } from '../../simulators/fleet';
import type { Fleet } from '../../simulators/fleet';
import { MqttTestSubscriber } from '../simulators/mqttTestSubscriber';
import { testServers, uniqueName } from '../support/servers';
import { createIngestStreams, decodeDeadLetters, decodeReadings, endMqttSession, readStreamUntil } from './ingestTestSupport';
import type { IngestStreams } from './ingestTestSupport';

const mqttUrl = testServers.mqttUrl;
const MAX_PAYLOAD_BYTES = 4096;

/** Where each fault lands when devices send Avro: a cut-short payload is bad Avro, not bad JSON (the other corruptions are JSON). */
function expectedReason(fault: FaultKind): string | undefined {
  return fault === 'malformed-json' ? 'bad_avro' : FAULT_OUTCOMES[fault].deadLetterReason;
}

describe('simulator with Avro payloads -> Mosquitto -> MQTT ingest -> Kafka', () => {
  let streams: IngestStreams;
  let ingest: MqttIngest | undefined;
  let fleet: Fleet | undefined;
  let subscriber: MqttTestSubscriber | undefined;
  let prefix: string;
  let clientId: string;

  beforeEach(async () => {
    prefix = uniqueName('ingavro');
    clientId = `${prefix}-ingest`;
    streams = await createIngestStreams('ingavro', 2);
  });

  afterEach(async () => {
    await fleet?.stop();
    await ingest?.stop();
    await subscriber?.close();
    await endMqttSession(mqttUrl, clientId);
    await streams.cleanup();
  });

  it('stores every acked Avro reading decoded equal to what the device encoded; bad Avro and the other faults are dead-lettered with their reasons', async () => {
    const pipeline = new IngestPipeline({
      telemetry: { client: streams.client, stream: streams.telemetry },
      deadLetter: { client: streams.client, stream: streams.deadLetter },
      codec: streams.codec,
      maxPayloadBytes: MAX_PAYLOAD_BYTES,
    });
    ingest = await MqttIngest.start({ mqttUrl, pipeline, clientId, sharedGroup: prefix.replace(/[^a-z0-9]/gi, ''), topicFilter: `${prefix}/+/telemetry` });
    subscriber = await MqttTestSubscriber.connect(mqttUrl, prefix);
    const { encode } = await createAvroReadingEncoder(streams.temp.registry); // the same registry ingest decodes with
    fleet = startFleet({
      mqttUrl,
      topicPrefix: prefix,
      deviceIdPrefix: prefix.replace(/[^a-z0-9]/gi, ''),
      devices: 5,
      rate: 500,
      readingsPerDevice: 50,
      qos: 1,
      payload: 'avro',
      encodeReading: encode,
      oversizeBytes: MAX_PAYLOAD_BYTES,
      faults: { duplicate: 0.03, 'malformed-json': 0.06, 'wrong-types': 0.04, 'missing-fields': 0.04, oversized: 0.03, 'wrong-topic': 0.05 },
    });
    const report = await fleet.finished;
    expect(report.failed).toBe(0);
    const accepted = [...fleet.ledger.acceptedReadings()];
    const rejected = fleet.ledger.rejected;
    expect(rejected.filter((message) => message.fault === 'malformed-json').length).toBeGreaterThan(0);

    const records = await readStreamUntil(streams.client, streams.telemetry, (found) => found.length >= accepted.length + report.byFault.duplicate.acked);
    const readings = await decodeReadings(streams.codec, records);
    expect(readings).toHaveLength(accepted.length + report.byFault.duplicate.acked);
    const stored = new Map(readings.map(({ reading }) => [`${reading.deviceId}/${reading.seq}`, reading]));
    for (const { deviceId, seq } of accepted) expect(stored.has(`${deviceId}/${seq}`)).toBe(true);

    // decoded equal: each stored reading is the device's Avro payload, decoded, with ingestTime set by ingest
    expect(await subscriber.waitFor(() => subscriber!.on('/telemetry').length >= report.acked)).toBe(true);
    let compared = 0;
    for (const message of subscriber.on('/telemetry')) {
      if (message.payload[0] !== 0) continue; // the JSON corruptions
      const sent = (await streams.codec.decode(message.payload).catch(() => undefined)) as TelemetryReading | undefined;
      const reading = sent && stored.get(`${sent.deviceId}/${sent.seq}`);
      if (!sent || !reading || !message.topic.endsWith(`/${sent.deviceId}/telemetry`)) continue; // bad Avro, wrong topic
      expect(reading).toEqual({ ...sent, ingestTime: reading.ingestTime });
      expect(reading.ingestTime).toEqual(expect.any(Number));
      compared += 1;
    }
    expect(compared).toBeGreaterThanOrEqual(accepted.length);

    const letters = await decodeDeadLetters(streams.codec, await readStreamUntil(streams.client, streams.deadLetter, (found) => found.length >= rejected.length));
    expect(letters.map((letter) => `${letter.source.address} ${letter.reasonCode}`).sort()).toEqual(rejected.map((message) => `${message.topic} ${expectedReason(message.fault) ?? '?'}`).sort());
    const counted = Object.fromEntries((await pipeline.metrics.rejected.get()).values.map((value) => [value.labels.reason, value.value]));
    expect(counted.bad_avro).toBe(rejected.filter((message) => message.fault === 'malformed-json').length);
  });
});
