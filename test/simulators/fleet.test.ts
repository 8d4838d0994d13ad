import mqtt from 'mqtt';
import { startFleet } from '../../simulators/fleet';
import type { Fleet } from '../../simulators/fleet';
import type { FleetOptionsInput } from '../../simulators/fleetOptions';
import { testServers, uniqueName } from '../support/servers';
import { generateMessages } from './generateMessages';
import { MqttTestSubscriber, identityOf } from './mqttTestSubscriber';

// The machine's Mosquitto (1883), as the simulator's issue asks: a real broker, real clients.
const mqttUrl = testServers.systemMqttUrl;

describe('device fleet against a real Mosquitto', () => {
  let subscriber: MqttTestSubscriber;
  let fleet: Fleet | undefined;
  let prefix: string;

  beforeEach(async () => {
    prefix = uniqueName('simtest');
    subscriber = await MqttTestSubscriber.connect(mqttUrl, prefix);
    fleet = undefined;
  });

  afterEach(async () => {
    await fleet?.stop();
    await subscriber.close();
  });

  /** Unique topic prefix and device ids (client ids are derived from them) per test. */
  function start(options: Omit<FleetOptionsInput, 'mqttUrl'>): Fleet {
    fleet = startFleet({ mqttUrl, topicPrefix: prefix, deviceIdPrefix: prefix.replace(/[^a-z0-9]/gi, ''), ...options });
    return fleet;
  }

  /** (deviceId, seq) pairs the subscriber got on each device's own telemetry topic, in arrival order. */
  function receivedReadings(): Map<string, number[]> {
    const byDevice = new Map<string, number[]>();
    for (const message of subscriber.on('/telemetry')) {
      const identity = identityOf(message.payload);
      if (identity === undefined || message.topic !== `${prefix}/${identity.deviceId}/telemetry`) continue;
      byDevice.set(identity.deviceId, [...(byDevice.get(identity.deviceId) ?? []), identity.seq]);
    }
    return byDevice;
  }

  it('QoS 1, persistent sessions: every acked reading arrives, in order per device, with online/offline statuses', async () => {
    const running = start({ devices: 10, rate: 500, readingsPerDevice: 40, qos: 1, cleanSession: false, anomalyRate: 0.01 });
    const report = await running.finished;
    expect(report).toMatchObject({ readings: 400, sent: 400, acked: 400, failed: 0, unacked: 0, unsent: 0, ackedReadings: 400 });
    expect(report.latencyMs.count).toBe(400);
    expect(Object.values(report.perDevice).map((device) => device.lastSeq)).toEqual(Array.from({ length: 10 }, () => 39));
    const acked = [...running.ledger.acceptedReadings()];
    expect(acked).toHaveLength(400);

    expect(await subscriber.waitFor(() => subscriber.on('/telemetry').length >= 400)).toBe(true);
    const received = receivedReadings();
    for (const { deviceId, seq } of acked) expect(received.get(deviceId)).toContain(seq);
    for (const seqs of received.values()) expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i));

    // each device announced itself online, and left a retained "offline" at the clean stop
    expect(await subscriber.waitFor(() => subscriber.on('/status').filter((m) => m.payload.toString() === 'offline').length >= 10)).toBe(true);
    for (const device of running.devices) {
      const statuses = subscriber.on(`/${device.deviceId}/status`).map((m) => m.payload.toString());
      expect(statuses).toEqual(['online', 'offline']);
    }
    const clientIds = running.connections.map((c) => c.options.clientId);
    expect(clientIds).toEqual(running.devices.map((d) => `sluice-sim-${d.deviceId}`));
    // Persistent sessions outlive the test in the machine's broker: end them with a clean connect.
    for (const clientId of clientIds) await (await mqtt.connectAsync(mqttUrl, { clientId, clean: true, reconnectPeriod: 0 })).endAsync();
  });

  it('the broker publishes the Last Will "offline" when a device connection is cut abruptly, and the device comes back', async () => {
    const running = start({ devices: 2, rate: 20, qos: 1, reconnectPeriodMs: 200 });
    await running.ready();
    const [victim, bystander] = running.devices;
    const statusOf = (deviceId: string) => subscriber.on(`/${deviceId}/status`).map((m) => m.payload.toString());
    expect(await subscriber.waitFor(() => statusOf(victim!.deviceId).includes('online'))).toBe(true);

    running.dropConnection(victim!.deviceId);
    // "offline" while the fleet is still running: only the broker's Last Will can have sent it
    expect(await subscriber.waitFor(() => statusOf(victim!.deviceId).includes('offline'))).toBe(true);
    expect(await subscriber.waitFor(() => statusOf(victim!.deviceId).join(',') === 'online,offline,online')).toBe(true);
    expect(statusOf(bystander!.deviceId)).toEqual(['online']);

    const report = await running.stop();
    expect(report.disconnects).toBeGreaterThanOrEqual(3); // the cut, then the two clean stops
    expect(report.connects).toBe(3);
  });

  it.each([0, 1] as const)('gateway mode at QoS %i delivers readings for every device over two connections', async (qos) => {
    const devices = 50;
    const running = start({ devices, rate: 2000, readingsPerDevice: 8, qos, gateway: true, gatewayConnections: 2 });
    const report = await running.finished;
    expect(report).toMatchObject({ mode: 'gateway', connections: 2, sent: 400, acked: 400, failed: 0 });
    // 400 messages stay far below Mosquitto's per-client queue limit (1000), so even QoS 0 arrives whole on loopback
    expect(await subscriber.waitFor(() => subscriber.on('/telemetry').length >= 400)).toBe(true);
    const received = receivedReadings();
    expect(received.size).toBe(devices);
    for (const device of running.devices) expect(received.get(device.deviceId)).toEqual(Array.from({ length: 8 }, (_, i) => i));
    // the gateways announce their devices and themselves
    expect(await subscriber.waitFor(() => new Set(subscriber.on('/status').map((m) => m.topic)).size === devices + 2)).toBe(true);
  });

  it('faults: each faulty message lands where its kind says, the same ones the seeded model predicts', async () => {
    const faults = {
      offline: 0.01,
      duplicate: 0.03,
      'clock-skew': 0.03,
      'malformed-json': 0.03,
      'wrong-types': 0.03,
      'missing-fields': 0.03,
      oversized: 0.02,
      'wrong-topic': 0.03,
    };
    const readingsPerDevice = 100;
    const running = start({ devices: 4, rate: 400, readingsPerDevice, qos: 1, seed: 7, faults });
    const report = await running.finished;
    expect(report.failed).toBe(0);
    expect(report.acked).toBe(report.sent);

    // the fleet faulted exactly the readings the pure model does for this seed
    const model = generateMessages({ devices: 4, seed: 7, faults, topicPrefix: prefix, deviceIdPrefix: running.options.deviceIdPrefix }, readingsPerDevice);
    const label = (m: { deviceId: string; seq: number; fault: string | null; topic: string }) => `${m.deviceId}/${m.seq}/${m.fault}/${m.topic}`;
    expect(running.faultLog.map(label).sort()).toEqual(model.messages.filter((m) => m.fault !== null).map(label).sort());
    for (const [kind, counts] of Object.entries(report.byFault)) {
      expect(counts.sent).toBe(running.faultLog.filter((m) => m.fault === kind).length);
      expect(counts.sent).toBeGreaterThan(0);
    }

    expect(await subscriber.waitFor(() => subscriber.on('/telemetry').length >= report.acked)).toBe(true);
    const telemetry = subscriber.on('/telemetry');
    expect(telemetry).toHaveLength(report.acked);
    // every reading acked as valid arrived on its own topic (duplicates twice)
    const received = receivedReadings();
    for (const { deviceId, seq } of running.ledger.acceptedReadings()) expect(received.get(deviceId)).toContain(seq);
    for (const duplicate of running.faultLog.filter((m) => m.fault === 'duplicate')) {
      expect(received.get(duplicate.deviceId)?.filter((seq) => seq === duplicate.seq)).toHaveLength(2);
    }
    // every message acked as one ingest must reject arrived where the simulator sent it, with its identity readable
    for (const rejected of running.ledger.rejected) {
      const match = telemetry.find((m) => m.topic === rejected.topic && identityOf(m.payload)?.deviceId === rejected.deviceId && identityOf(m.payload)?.seq === rejected.seq);
      expect(match).toBeDefined();
      if (rejected.fault === 'wrong-topic') expect(rejected.topic).not.toBe(`${prefix}/${rejected.deviceId}/telemetry`);
      if (rejected.fault === 'oversized') expect(match!.payload.length).toBeGreaterThan(256 * 1024);
    }
    expect(running.ledger.rejected.length).toBe(report.ackedRejects);
  });
});
