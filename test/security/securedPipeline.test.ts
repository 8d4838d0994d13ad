/**
 * The simulators and ingest on the secured broker: each simulated device logs in with its own
 * provisioned password (over TLS), ingest with its own user, and what reaches Kafka is exactly
 * what the devices were allowed to publish.
 */
import fs from 'node:fs';
import { isSluiceError } from '../../core/errors';
import { IngestPipeline } from '../../ingest/ingestPipeline';
import { MqttIngest } from '../../ingest/mqttIngest';
import { startFleet } from '../../simulators/fleet';
import type { Fleet } from '../../simulators/fleet';
import { deviceIdFor } from '../../simulators/fleetDevices';
import { createIngestStreams, decodeDeadLetters, decodeReadings, readStreamUntil, readWholeStream } from '../ingest/ingestTestSupport';
import type { IngestStreams } from '../ingest/ingestTestSupport';
import type { SecuredBroker } from './securedBrokerSupport';
import { startSecuredBroker } from './securedBrokerSupport';

const DEVICES = 4;
const deviceIds = Array.from({ length: DEVICES }, (_, index) => deviceIdFor('dev', index, DEVICES));

let broker: SecuredBroker;
let streams: IngestStreams;
let ingest: MqttIngest | undefined;
let fleet: Fleet | undefined;

beforeAll(async () => {
  broker = await startSecuredBroker({ deviceIds, tls: true });
  streams = await createIngestStreams('secured');
});

afterEach(async () => {
  await fleet?.stop();
  fleet = undefined;
  await ingest?.stop();
  ingest = undefined;
});

afterAll(async () => {
  await streams?.cleanup();
  await broker?.stop();
});

function startIngest(password: string): Promise<MqttIngest> {
  const pipeline = new IngestPipeline({
    telemetry: { client: streams.client, stream: streams.telemetry },
    deadLetter: { client: streams.client, stream: streams.deadLetter },
    codec: streams.codec,
  });
  return MqttIngest.start({ mqttUrl: broker.url, username: 'ingest', password, pipeline, clientId: 'secured-ingest', reconnectPeriodMs: 0 });
}

describe('simulated devices -> secured Mosquitto (TLS) -> ingest -> Kafka', () => {
  it('every reading a device may publish reaches the stream; its readings forged as another device are refused by the broker', async () => {
    ingest = await startIngest(broker.ingestPassword);
    fleet = startFleet({
      mqttUrl: broker.tlsUrl ?? '',
      tlsCa: fs.readFileSync(broker.provision.files.caCertificate ?? ''),
      credentials: broker.passwords,
      protocolVersion: 5,
      devices: DEVICES,
      rate: 400,
      readingsPerDevice: 30,
      qos: 1,
      seed: 11,
      // the simulator's impostor fault: a reading published on the next device's topic
      faults: { 'wrong-topic': 0.2 },
    });
    const report = await fleet.finished;
    expect(report.connects).toBe(DEVICES);
    const forged = report.byFault['wrong-topic'].sent;
    expect(forged).toBeGreaterThan(0);
    // MQTT 5: the broker says no to each (PUBACK 0x87); nothing else failed
    expect(report.byFault['wrong-topic'].acked).toBe(0);
    expect(report.failures).toEqual({ 'Publish error: Not authorized': forged });
    expect(report.failed).toBe(forged);

    const expected = [...fleet.ledger.acceptedReadings()].map(({ deviceId, seq }) => `${deviceId}#${seq}`).sort();
    expect(expected).toHaveLength(report.ackedReadings);
    const records = await readStreamUntil(streams.client, streams.telemetry, (found) => found.length >= expected.length);
    // at least once: a redelivery after a reconnect may repeat a reading, never add a foreign one
    const stored = [...new Set((await decodeReadings(streams.codec, records)).map(({ reading }) => `${reading.deviceId}#${reading.seq}`))].sort();
    expect(stored).toEqual(expected);
    // the forged readings never reached ingest, so there is nothing to dead-letter either
    expect(await decodeDeadLetters(streams.codec, await readWholeStream(streams.client, streams.deadLetter))).toEqual([]);
  });

  it('a fleet with a device the credentials do not cover is refused before it connects', () => {
    const partial = new Map([...broker.passwords].slice(0, DEVICES - 1));
    let refusal: unknown;
    try {
      fleet = startFleet({ mqttUrl: broker.url, credentials: partial, devices: DEVICES, rate: 10, readingsPerDevice: 1 });
    } catch (error) {
      refusal = error;
    }
    expect(isSluiceError(refusal, 'CONFIG_INVALID')).toBe(true);
    expect((refusal as Error).message).toBe(`fleet.credentials: no password for ${deviceIds[DEVICES - 1]}; provision it (sluice devices provision) or run fewer devices`);
  });

  it('ingest with a wrong password does not start, and says why', async () => {
    const outcome = await startIngest('not-the-ingest-password').catch((error: unknown) => error);
    expect(isSluiceError(outcome, 'CONNECTION_FAILED')).toBe(true);
    expect((outcome as Error).message).toMatch(/cannot subscribe to \$share\/ingest\/devices\/\+\/telemetry on mqtt:\/\/127\.0\.0\.1:\d+: Connection refused: Not authorized$/);
  });
});
