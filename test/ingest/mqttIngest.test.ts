import { IngestPipeline } from '../../ingest/ingestPipeline';
import { MqttIngest } from '../../ingest/mqttIngest';
import { validateTelemetry } from '../../ingest/telemetryValidation';
import { FAULT_OUTCOMES } from '../../simulators/faultKinds';
import { startFleet } from '../../simulators/fleet';
import type { Fleet } from '../../simulators/fleet';
import { MqttTestSubscriber, identityOf } from '../simulators/mqttTestSubscriber';
import { testServers, uniqueName } from '../support/servers';
import { createIngestStreams, decodeDeadLetters, decodeReadings, endMqttSession, readStreamUntil } from './ingestTestSupport';
import type { IngestStreamKind, IngestStreams } from './ingestTestSupport';

// The project's Mosquitto (limits raised, MQTT 5 shared subscriptions).
const mqttUrl = testServers.mqttUrl;
const MAX_PAYLOAD_BYTES = 4096;

describe.each<IngestStreamKind>(['kafka', 'kinesis'])('simulator -> Mosquitto -> MQTT ingest -> %s', (kind) => {
  let streams: IngestStreams;
  let ingest: MqttIngest | undefined;
  let fleet: Fleet | undefined;
  let subscriber: MqttTestSubscriber | undefined;
  let prefix: string;
  let clientId: string;

  beforeEach(async () => {
    prefix = uniqueName('ingtest');
    clientId = `${prefix}-ingest`;
    streams = await createIngestStreams('ingest', 3, kind);
  });

  afterEach(async () => {
    await fleet?.stop();
    await ingest?.stop();
    await subscriber?.close();
    await endMqttSession(mqttUrl, clientId);
    await streams.cleanup();
  });

  async function startIngest(): Promise<IngestPipeline> {
    const pipeline = new IngestPipeline({
      telemetry: { client: streams.client, stream: streams.telemetry },
      deadLetter: { client: streams.client, stream: streams.deadLetter },
      codec: streams.codec,
      maxPayloadBytes: MAX_PAYLOAD_BYTES,
    });
    ingest = await MqttIngest.start({ mqttUrl, pipeline, clientId, sharedGroup: prefix.replace(/[^a-z0-9]/gi, ''), topicFilter: `${prefix}/+/telemetry` });
    return pipeline;
  }

  it('every acked valid reading arrives decoded equal and in order per device; each malformed message lands in the DLQ with its reason', async () => {
    const pipeline = await startIngest();
    subscriber = await MqttTestSubscriber.connect(mqttUrl, prefix);
    const devices = 6;
    const readingsPerDevice = 60;
    fleet = startFleet({
      mqttUrl,
      topicPrefix: prefix,
      deviceIdPrefix: prefix.replace(/[^a-z0-9]/gi, ''),
      devices,
      rate: 600,
      readingsPerDevice,
      qos: 1,
      oversizeBytes: MAX_PAYLOAD_BYTES,
      faults: { duplicate: 0.03, 'clock-skew': 0.03, 'malformed-json': 0.04, 'wrong-types': 0.04, 'missing-fields': 0.04, oversized: 0.03, 'wrong-topic': 0.04 },
    });
    const report = await fleet.finished;
    expect(report.failed).toBe(0);
    const rejected = fleet.ledger.rejected;
    const accepted = [...fleet.ledger.acceptedReadings()];
    expect(new Set(rejected.map((message) => message.fault)).size).toBe(5);

    // What the broker delivered (a plain subscriber): the source of truth for "decoded equal".
    const telemetryMessages = () => subscriber!.on('/telemetry');
    expect(await subscriber.waitFor(() => telemetryMessages().length >= report.acked)).toBe(true);

    const records = await readStreamUntil(streams.client, streams.telemetry, (found) => found.length >= report.acked - rejected.length);
    const readings = await decodeReadings(streams.codec, records);
    const byDevice = new Map<string, number[]>();
    for (const { record, reading } of readings) {
      expect(record.key).toBe(reading.deviceId);
      byDevice.set(reading.deviceId, [...(byDevice.get(reading.deviceId) ?? []), reading.seq]);
    }
    // nothing acked is missing
    for (const { deviceId, seq } of accepted) expect(byDevice.get(deviceId)).toContain(seq);
    // in order per device (duplicates sit next to each other; no offline fault, so no late replays)
    for (const seqs of byDevice.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(readings).toHaveLength(accepted.length + report.byFault.duplicate.acked);

    // decoded equal to the JSON the device sent, normalized the way validation normalizes it
    const sentByIdentity = new Map<string, Buffer>();
    for (const message of telemetryMessages()) {
      const identity = identityOf(message.payload);
      if (identity) sentByIdentity.set(`${identity.deviceId}/${identity.seq}`, message.payload);
    }
    for (const { reading } of readings) {
      const sent = sentByIdentity.get(`${reading.deviceId}/${reading.seq}`);
      expect(sent).toBeDefined();
      const expected = validateTelemetry(undefined, sent!, reading.ingestTime ?? 0);
      expect(expected).toEqual({ ok: true, reading });
    }

    // every rejected message is in the dead-letter stream with the reason the simulator expects
    const deadLetterRecords = await readStreamUntil(streams.client, streams.deadLetter, (found) => found.length >= rejected.length);
    const deadLetters = await decodeDeadLetters(streams.codec, deadLetterRecords);
    expect(deadLetters).toHaveLength(rejected.length);
    const letterByIdentity = new Map(deadLetters.map((letter) => {
      const identity = identityOf(letter.original);
      return [`${identity?.deviceId}/${identity?.seq}`, letter] as const;
    }));
    for (const message of rejected) {
      const letter = letterByIdentity.get(`${message.deviceId}/${message.seq}`);
      expect({ fault: message.fault, reason: letter?.reasonCode, address: letter?.source.address, kind: letter?.source.kind }).toEqual({
        fault: message.fault,
        reason: FAULT_OUTCOMES[message.fault].deadLetterReason,
        address: message.topic,
        kind: 'mqtt',
      });
    }

    // counters per reason match what was dead-lettered
    const counted = await pipeline.metrics.rejected.get();
    const countedByReason = Object.fromEntries(counted.values.map((value) => [value.labels.reason, value.value]));
    const expectedByReason: Record<string, number> = {};
    for (const letter of deadLetters) expectedByReason[letter.reasonCode] = (expectedByReason[letter.reasonCode] ?? 0) + 1;
    expect(countedByReason).toEqual(expectedByReason);
    expect(ingest!.stats.acked).toBe(report.acked);
  });
});
