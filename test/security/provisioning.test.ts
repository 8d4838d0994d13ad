/**
 * `sluice devices provision`: the files it writes, who may read them, what survives a second
 * run. Uses the machine's real mosquitto_passwd and openssl; the broker that enforces these files
 * is in mqttAccess.test.ts.
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fc, test } from '@fast-check/jest';
import { formatProvisionReport, provisionDeviceIds } from '../../cli/commands/devicesProvision';
import { isSluiceError } from '../../core/errors';
import { brokerFileOwner } from '../../infra/mosquitto/brokerFileOwner';
import { renderMosquittoAcl } from '../../security/mosquittoAcl';
import { writeMosquittoPasswordFile } from '../../security/mosquittoPasswordFile';
import { readMqttCredentials } from '../../security/mqttCredentialsFile';
import { checkMqttIdentity } from '../../security/mqttIdentity';
import type { MqttProvisionResult } from '../../security/mqttProvisioning';
import { provisionMqtt } from '../../security/mqttProvisioning';
import { fileMode } from '../../security/privateFiles';
import { readSecretFile } from '../../security/secretSources';
import { renderSecuredMosquittoConfig } from '../../security/securedMosquittoConfig';
import { deviceIdFor } from '../../simulators/fleetDevices';
import { brokerReachableTempDir } from './securedBrokerSupport';

const roots: string[] = [];

function tempOutDir(): string {
  const root = brokerReachableTempDir('provision');
  roots.push(root);
  return path.join(root, 'mqtt');
}

afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

function secretsOf(result: MqttProvisionResult): string[] {
  const devices = [...readMqttCredentials(result.files.credentials).values()];
  return [...devices, readSecretFile(result.files.ingestPassword, 'ingest'), readSecretFile(result.files.alertsPassword, 'alerts')];
}

describe('sluice devices provision', () => {
  it('writes each secret readable by its owner only, and the broker\'s files in a directory of the broker\'s own', async () => {
    const result = await provisionMqtt({ outDir: tempOutDir(), deviceIds: ['dev-0000', 'dev-0001', 'dev-0002'], tls: { port: 18885 }, port: 18884 });
    const { files } = result;
    const brokerDir = path.dirname(files.brokerConfig);
    expect(fileMode(result.outDir)).toBe(0o711); // the broker's user passes through; nobody lists
    expect(fileMode(brokerDir)).toBe(0o700);
    for (const secret of [files.credentials, files.ingestPassword, files.alertsPassword, files.passwordFile, files.aclFile, files.brokerConfig, path.join(brokerDir, 'server.key')]) {
      expect([secret, fileMode(secret)]).toEqual([secret, 0o600]);
    }
    for (const publicFile of [files.caCertificate ?? '', path.join(result.outDir, 'provision.json')]) expect(fileMode(publicFile)).toBe(0o644);
    const owner = brokerFileOwner();
    if (owner !== undefined) {
      // run as root: Mosquitto drops to its own user before reading these
      for (const name of fs.readdirSync(brokerDir)) expect(fs.statSync(path.join(brokerDir, name)).uid).toBe(owner.uid);
    }
    // nothing but the 0600 secret files holds a password in the clear
    const secrets = secretsOf(result);
    expect(secrets).toHaveLength(5);
    expect(new Set(secrets).size).toBe(5);
    for (const name of ['provision.json', 'ca.crt', 'broker/passwd', 'broker/acl', 'broker/mosquitto.conf', 'broker/server.crt']) {
      const text = fs.readFileSync(path.join(result.outDir, name), 'utf8');
      for (const secret of secrets) expect(text.includes(secret)).toBe(false);
    }
    // and the report (text and JSON) names files, never their content
    for (const report of [formatProvisionReport(result), JSON.stringify(result)]) for (const secret of secrets) expect(report.includes(secret)).toBe(false);
    // no leftovers: the plain-text input of mosquitto_passwd and temporary files are gone
    expect(fs.readdirSync(brokerDir).sort()).toEqual(['acl', 'ca.crt', 'mosquitto.conf', 'passwd', 'server.crt', 'server.key']);
    expect(fs.readdirSync(result.outDir).sort()).toEqual(['alerts.password', 'broker', 'ca.crt', 'devices.json', 'ingest.password', 'provision.json']);
  });

  it('hashes every user into the password file with Mosquitto\'s PBKDF2-SHA512 format', async () => {
    const result = await provisionMqtt({ outDir: tempOutDir(), deviceIds: ['a1', 'b2'], ingestUser: 'ingest-7', alertsUser: 'alerter' });
    const lines = fs.readFileSync(result.files.passwordFile, 'utf8').trim().split('\n');
    expect(lines.map((line) => line.slice(0, line.indexOf(':')))).toEqual(['ingest-7', 'alerter', 'a1', 'b2']);
    for (const line of lines) expect(line).toMatch(/^[^:]+:\$7\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]{86}==$/);
    expect(fs.readFileSync(result.files.aclFile, 'utf8')).toContain('user ingest-7\ntopic read devices/+/telemetry\n');
  });

  it('keeps the passwords of devices that stay, adds and removes devices, and rotates everything on request', async () => {
    const outDir = tempOutDir();
    const first = await provisionMqtt({ outDir, deviceIds: ['d1', 'd2', 'd3'], tls: {} });
    const firstPasswords = readMqttCredentials(first.files.credentials);
    const firstCa = fs.readFileSync(first.files.caCertificate ?? '', 'utf8');
    const ingestPassword = readSecretFile(first.files.ingestPassword, 'ingest');

    const second = await provisionMqtt({ outDir, deviceIds: ['d2', 'd3', 'd4'], tls: {} });
    expect(second.devices).toEqual({ added: 1, kept: 2, removed: 1 });
    const secondPasswords = readMqttCredentials(second.files.credentials);
    expect([...secondPasswords.keys()]).toEqual(['d2', 'd3', 'd4']);
    expect(secondPasswords.get('d2')).toBe(firstPasswords.get('d2'));
    expect(secondPasswords.get('d3')).toBe(firstPasswords.get('d3'));
    expect(readSecretFile(second.files.ingestPassword, 'ingest')).toBe(ingestPassword);
    expect(fs.readFileSync(second.files.caCertificate ?? '', 'utf8')).toBe(firstCa); // clients keep trusting it
    expect(fs.readFileSync(second.files.passwordFile, 'utf8')).not.toMatch(/^d1:/m);

    const rotated = await provisionMqtt({ outDir, deviceIds: ['d2', 'd3', 'd4'], tls: {}, rotate: true });
    expect(rotated.rotated).toBe(true);
    const rotatedPasswords = readMqttCredentials(rotated.files.credentials);
    for (const id of ['d2', 'd3', 'd4']) expect(rotatedPasswords.get(id)).not.toBe(secondPasswords.get(id));
    expect(readSecretFile(rotated.files.ingestPassword, 'ingest')).not.toBe(ingestPassword);
    expect(fs.readFileSync(rotated.files.caCertificate ?? '', 'utf8')).not.toBe(firstCa);

    // provisioning without TLS leaves no key behind
    const plain = await provisionMqtt({ outDir, deviceIds: ['d2'] });
    expect(plain.files.caCertificate).toBeUndefined();
    expect(fs.readdirSync(path.join(outDir, 'broker')).sort()).toEqual(['acl', 'mosquitto.conf', 'passwd']);
  });

  it('issues a server certificate for localhost and 127.0.0.1 from a CA whose key is not kept', async () => {
    const result = await provisionMqtt({ outDir: tempOutDir(), deviceIds: ['d1'], tls: { hosts: ['mqtt.example.test'] } });
    const brokerDir = path.dirname(result.files.brokerConfig);
    const ca = new X509Certificate(fs.readFileSync(result.files.caCertificate ?? ''));
    const server = new X509Certificate(fs.readFileSync(path.join(brokerDir, 'server.crt')));
    expect(ca.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.checkIssued(ca)).toBe(true);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkHost('mqtt.example.test')).toBe('mqtt.example.test');
    expect(server.checkHost('other.example.test')).toBeUndefined();
    const everything = fs.readdirSync(result.outDir, { recursive: true }).map(String);
    for (const name of everything) {
      const file = path.join(result.outDir, name);
      if (fs.statSync(file).isFile() && name !== 'broker/server.key') expect(fs.readFileSync(file, 'utf8')).not.toContain('PRIVATE KEY');
    }
  });

  it('refuses duplicate devices, devices named like a service user, and an empty list', async () => {
    const outDir = tempOutDir();
    await expect(provisionMqtt({ outDir, deviceIds: ['d1', 'd1'] })).rejects.toThrow('deviceIds[1]: d1 is listed twice');
    await expect(provisionMqtt({ outDir, deviceIds: ['d1', 'ingest'] })).rejects.toThrow('deviceIds[1]: ingest is the name of a service user');
    await expect(provisionMqtt({ outDir, deviceIds: [] })).rejects.toThrow('deviceIds: provision at least one device');
    expect(fs.existsSync(outDir)).toBe(false); // refused before anything was written
  });

  it('provisions the ids `sluice simulate --devices N` uses', () => {
    expect(provisionDeviceIds({ devices: '12', deviceIdPrefix: 'pump' })).toEqual(Array.from({ length: 12 }, (_, index) => deviceIdFor('pump', index, 12)));
    expect(provisionDeviceIds({ deviceIds: 'a, b,,c', deviceIdPrefix: 'dev' })).toEqual(['a', 'b', 'c']);
    expect(() => provisionDeviceIds({ devices: '2', deviceIds: 'a', deviceIdPrefix: 'dev' })).toThrow('choose one');
    expect(() => provisionDeviceIds({ devices: '0', deviceIdPrefix: 'dev' })).toThrow('--devices: must be an integer 1..1000000');
  });
});

describe('device ids and the ACL', () => {
  // A wildcard or separator in a user name would turn `pattern write devices/%u/#` into
  // someone else's topics; ':' or a newline would forge a password-file line.
  test.prop([fc.string({ maxLength: 20 }), fc.constantFrom('/', '+', '#', ':', ' ', '\n', '\0', '$'), fc.string({ maxLength: 20 })])(
    'refuses any id with a topic separator, wildcard, colon, space or control character',
    (before, bad, after) => {
      expect(() => checkMqttIdentity(`${before}${bad}${after}`, 'id')).toThrow(/^id: must be 1-128 characters/);
    },
  );

  test.prop([fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$/)])('accepts ids of letters, digits, dot, underscore and dash', (id) => {
    expect(checkMqttIdentity(id, 'id')).toBe(id);
  });

  it('gives devices their own topics by pattern and the services exactly their job', () => {
    const acl = renderMosquittoAcl({ topicPrefix: 'site-1/devices', alertsPrefix: 'alerts', ingestUser: 'ingest', alertsUser: 'alerter' });
    const rules = acl.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    expect(rules).toEqual([
      'user ingest',
      'topic read site-1/devices/+/telemetry',
      'user alerter',
      'topic write alerts/#',
      'pattern write site-1/devices/%u/#',
      'pattern read site-1/devices/%u/commands/#',
      'pattern read alerts/%u',
      'pattern read alerts/%u/#',
    ]);
    expect(() => renderMosquittoAcl({ topicPrefix: 'devices/#', alertsPrefix: 'alerts', ingestUser: 'i', alertsUser: 'a' })).toThrow('topicPrefix');
  });

  it('refuses a password that would start another line of the password file', async () => {
    const dir = tempOutDir();
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'passwd');
    const outcome = await writeMosquittoPasswordFile(file, [{ username: 'd1', password: 'x\nd2:known' }]).catch((error: unknown) => error);
    expect(isSluiceError(outcome, 'CONFIG_INVALID')).toBe(true);
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('secures the project\'s broker config: no anonymous clients on any listener, the load limits kept', () => {
    const config = renderSecuredMosquittoConfig({ port: 1885, tls: { port: 8885, caFile: '/x/ca.crt', certFile: '/x/server.crt', keyFile: '/x/server.key' }, passwordFile: '/x/passwd', aclFile: '/x/acl' });
    const lines = config.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    expect(lines.filter((line) => line.startsWith('allow_anonymous'))).toEqual(['allow_anonymous false']);
    expect(lines).toContain('per_listener_settings false'); // one set of auth rules for every listener
    expect(lines.filter((line) => line.startsWith('listener'))).toEqual(['listener 1885 127.0.0.1', 'listener 8885 127.0.0.1']);
    expect(lines).toEqual(expect.arrayContaining(['password_file /x/passwd', 'acl_file /x/acl', 'max_queued_messages 1000000', 'max_inflight_messages 1000', 'keyfile /x/server.key']));
    expect(lines.indexOf('keyfile /x/server.key')).toBeGreaterThan(lines.indexOf('listener 8885 127.0.0.1'));
  });
});
