/**
 * The generated password file and ACL, enforced by a real Mosquitto: each device logs in with
 * its own password, publishes only under devices/<its id>/, reads only its own commands and
 * alerts. "Nothing arrives" is checked with a barrier, not a wait: after the forbidden message
 * the same broker routes a permitted marker to the same subscriber, and Mosquitto queues a
 * subscriber's messages in the order it routed them, so once the marker is in, anything routed
 * before it would be too.
 */
import fs from 'node:fs';
import type { MqttClient } from 'mqtt';
import { reloadSecuredMosquitto } from '../../security/securedMosquitto';
import type { SecuredBroker } from './securedBrokerSupport';
import { Inbox, connackOutcome, connectMqtt, startSecuredBroker } from './securedBrokerSupport';

const NOT_AUTHORIZED_V5 = 0x87;
const NOT_AUTHORIZED_V3 = 5;

let broker: SecuredBroker;
const clients: MqttClient[] = [];
let clientCounter = 0;

beforeAll(async () => {
  broker = await startSecuredBroker({ deviceIds: ['dev-a', 'dev-b'], tls: true });
});

afterAll(async () => {
  await broker?.stop();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.endAsync(true).catch(() => undefined)));
});

async function login(user: string, protocolVersion: 4 | 5): Promise<MqttClient> {
  const password = user === 'ingest' ? broker.ingestPassword : user === 'alerts' ? broker.alertsPassword : broker.passwords.get(user);
  clientCounter += 1;
  const client = await connectMqtt(broker.url, { username: user, password, protocolVersion, clientId: `${user}-${protocolVersion}-${clientCounter}` });
  clients.push(client);
  return client;
}

/** The reason code a QoS 1 publish came back with: 0 on success, mqtt.js's error code otherwise. */
async function publishOutcome(client: MqttClient, topic: string, payload: string): Promise<number> {
  try {
    await client.publishAsync(topic, payload, { qos: 1 });
    return 0;
  } catch (error) {
    return Number((error as { code?: unknown }).code);
  }
}

describe('logging in to the secured broker', () => {
  it.each([4, 5] as const)('refuses a client without credentials (MQTT %s)', async (protocolVersion) => {
    expect(await connackOutcome(broker.url, { protocolVersion })).toBe(protocolVersion === 5 ? NOT_AUTHORIZED_V5 : NOT_AUTHORIZED_V3);
  });

  it.each([4, 5] as const)('refuses a device with a wrong password, another device\'s password, or an unknown user (MQTT %s)', async (protocolVersion) => {
    const refused = protocolVersion === 5 ? NOT_AUTHORIZED_V5 : NOT_AUTHORIZED_V3;
    expect(await connackOutcome(broker.url, { protocolVersion, username: 'dev-a', password: 'not-the-password' })).toBe(refused);
    expect(await connackOutcome(broker.url, { protocolVersion, username: 'dev-a', password: broker.passwords.get('dev-b') })).toBe(refused);
    expect(await connackOutcome(broker.url, { protocolVersion, username: 'dev-z', password: broker.passwords.get('dev-a') })).toBe(refused);
    // and the right one gets in, so the refusals above are about the credentials
    expect(await connackOutcome(broker.url, { protocolVersion, username: 'dev-a', password: broker.passwords.get('dev-a') })).toBe('connected');
  });

  it('gives every device and service its own random password', () => {
    const all = [...broker.passwords.values(), broker.ingestPassword, broker.alertsPassword];
    expect(new Set(all).size).toBe(4);
    for (const password of all) expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it('speaks TLS with the provisioned CA, and a client that does not trust that CA refuses the server', async () => {
    const tlsUrl = broker.tlsUrl ?? '';
    const ca = fs.readFileSync(broker.provision.files.caCertificate ?? '');
    const device = await connectMqtt(tlsUrl, { username: 'dev-a', password: broker.passwords.get('dev-a'), ca, protocolVersion: 5 });
    clients.push(device);
    expect(await publishOutcome(device, 'devices/dev-a/telemetry', 'over-tls')).toBe(0);
    // the certificate names 127.0.0.1 too
    expect(await connackOutcome(tlsUrl.replace('localhost', '127.0.0.1'), { username: 'dev-a', password: broker.passwords.get('dev-a'), ca, protocolVersion: 5 })).toBe('connected');
    // same listener, same users: a wrong password is refused over TLS as well
    expect(await connackOutcome(tlsUrl, { username: 'dev-a', password: 'wrong', ca, protocolVersion: 5 })).toBe(NOT_AUTHORIZED_V5);
    // without the CA, Node's own verification refuses the self-made certificate
    expect(await connackOutcome(tlsUrl, { username: 'dev-a', password: broker.passwords.get('dev-a'), protocolVersion: 5 })).toBe('SELF_SIGNED_CERT_IN_CHAIN');
  });
});

describe.each([4, 5] as const)('the ACL (MQTT %s)', (protocolVersion) => {
  const sharedIngest = protocolVersion === 5;

  it('delivers a device\'s telemetry to ingest, and drops what the device publishes as another device', async () => {
    const ingest = await login('ingest', protocolVersion);
    const received = new Inbox(ingest);
    await ingest.subscribeAsync(sharedIngest ? '$share/ingest/devices/+/telemetry' : 'devices/+/telemetry', { qos: 1 });
    const deviceA = await login('dev-a', protocolVersion);

    expect(await publishOutcome(deviceA, 'devices/dev-a/telemetry', 'a-own')).toBe(0);
    // MQTT 5 says no (PUBACK 0x87); 3.1.1 has no way to, so the broker acks and drops it
    expect(await publishOutcome(deviceA, 'devices/dev-b/telemetry', 'a-as-b')).toBe(protocolVersion === 5 ? NOT_AUTHORIZED_V5 : 0);
    expect(await publishOutcome(deviceA, 'devices/dev-a/telemetry', 'a-marker')).toBe(0);

    await received.waitForPayload('a-marker');
    expect(received.messages).toEqual([
      { topic: 'devices/dev-a/telemetry', payload: 'a-own' },
      { topic: 'devices/dev-a/telemetry', payload: 'a-marker' },
    ]);
  });

  it('lets a device read its own alerts and commands and nothing of another device, whatever it subscribes to', async () => {
    const deviceA = await login('dev-a', protocolVersion);
    const deviceB = await login('dev-b', protocolVersion);
    const alerts = await login('alerts', protocolVersion);
    const inboxA = new Inbox(deviceA);
    const inboxB = new Inbox(deviceB);
    await deviceB.subscribeAsync(['alerts/dev-b', 'devices/dev-b/commands/#'], { qos: 1 });
    const filters = ['alerts/dev-a', 'alerts/dev-b', 'alerts/#', 'devices/dev-b/commands/#', 'devices/+/telemetry', '#'];
    const granted = await deviceA.subscribeAsync(filters, { qos: 1 });
    // Mosquitto 2.0's acl_file grants every SUBSCRIBE and checks read rights on each delivery
    // (a SUBACK failure 0x80/0x87 comes only from auth plugins that check subscriptions)
    expect(granted.map((grant) => grant.qos)).toEqual(filters.map(() => 1));

    // B's own traffic, and an alert for B: B gets them, A must not
    expect(await publishOutcome(deviceB, 'devices/dev-b/telemetry', 'b-telemetry')).toBe(0);
    expect(await publishOutcome(deviceB, 'devices/dev-b/commands/reboot', 'b-command')).toBe(0);
    expect(await publishOutcome(alerts, 'alerts/dev-b', 'b-alert')).toBe(0);
    expect(await publishOutcome(alerts, 'alerts/dev-a', 'a-alert')).toBe(0);

    await inboxA.waitForPayload('a-alert');
    await inboxB.waitForPayload('b-alert');
    expect(new Set(inboxA.topics())).toEqual(new Set(['alerts/dev-a']));
    expect(inboxA.messages.every((message) => message.payload === 'a-alert')).toBe(true);
    expect(inboxB.messages.map((message) => message.payload).sort()).toEqual(['b-alert', 'b-command']);
  });

  it('keeps a device from publishing another device\'s alerts or commands, and services to their own job', async () => {
    const deviceA = await login('dev-a', protocolVersion);
    const deviceB = await login('dev-b', protocolVersion);
    const ingest = await login('ingest', protocolVersion);
    const alerts = await login('alerts', protocolVersion);
    const inboxB = new Inbox(deviceB);
    await deviceB.subscribeAsync(['alerts/dev-b', 'devices/dev-b/commands/#'], { qos: 1 });
    const refused = protocolVersion === 5 ? NOT_AUTHORIZED_V5 : 0;

    expect(await publishOutcome(deviceA, 'alerts/dev-b', 'forged-alert')).toBe(refused);
    expect(await publishOutcome(deviceA, 'devices/dev-b/commands/reboot', 'forged-command')).toBe(refused);
    // ingest only reads, the alerts user only writes alerts
    expect(await publishOutcome(ingest, 'alerts/dev-b', 'ingest-alert')).toBe(refused);
    expect(await publishOutcome(alerts, 'devices/dev-b/commands/reboot', 'alerts-command')).toBe(refused);
    expect(await publishOutcome(alerts, 'alerts/dev-b', 'b-marker')).toBe(0);

    await inboxB.waitForPayload('b-marker');
    expect(inboxB.messages).toEqual([{ topic: 'alerts/dev-b', payload: 'b-marker' }]);
  });
});

describe('provisioning again while the broker runs', () => {
  it('admits new devices and shuts out removed ones after a reload, keeping the passwords of the others', async () => {
    const before = new Map(broker.passwords);
    const connectedB = await login('dev-b', 5);
    const bClosed = new Promise<void>((resolve) => connectedB.once('close', () => resolve()));
    const result = await broker.reprovision({ deviceIds: ['dev-a', 'dev-c'] });
    expect(result.devices).toEqual({ added: 1, kept: 1, removed: 1 });
    expect(broker.passwords.get('dev-a')).toBe(before.get('dev-a'));
    expect(reloadSecuredMosquitto({ provisionDir: broker.dir })).toBe(true);

    const devC = { protocolVersion: 5 as const, username: 'dev-c', password: broker.passwords.get('dev-c') };
    // SIGHUP is handled in the broker's next loop turn: wait for it to take the new file
    const deadline = Date.now() + 10_000;
    while ((await connackOutcome(broker.url, devC)) !== 'connected' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await connackOutcome(broker.url, devC)).toBe('connected');
    expect(await connackOutcome(broker.url, { protocolVersion: 5, username: 'dev-b', password: before.get('dev-b') })).toBe(NOT_AUTHORIZED_V5);
    expect(await connackOutcome(broker.url, { protocolVersion: 5, username: 'dev-a', password: before.get('dev-a') })).toBe('connected');
    // Mosquitto re-checks connected clients on reload: the removed device's open connection is cut
    await bClosed;

    // back to the devices the other tests use
    await broker.reprovision({ deviceIds: ['dev-a', 'dev-b'] });
    reloadSecuredMosquitto({ provisionDir: broker.dir });
  });
});
