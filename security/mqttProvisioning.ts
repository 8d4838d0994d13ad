/**
 * `sluice devices provision` as a function: per-device MQTT credentials and everything a
 * secured Mosquitto needs to enforce them.
 *
 *   <outDir>/                         0711: the broker's user may pass through, nobody may list
 *     provision.json                  what was provisioned (ports, users, counts); no secrets
 *     devices.json                    0600 device id → password (simulate --credentials)
 *     <ingestUser>.password           0600 the ingest function's password (ingest --mqtt-password-file)
 *     <alertsUser>.password           0600 the alerts processor's password
 *     ca.crt                          with TLS: the CA clients trust (--mqtt-ca-file)
 *     broker/                         0700, the broker's user: mosquitto.conf, passwd (hashed), acl,
 *                                     and with TLS server.crt, server.key (0600), ca.crt
 *
 * Provisioning again keeps the passwords of devices and users that stay (so running devices keep
 * working), adds new ones, and drops devices no longer listed (revoked at the broker's next
 * start or SIGHUP). `rotate` gives everyone new passwords and a new CA.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors';
import { brokerFileOwner, giveTo } from '../infra/mosquitto/brokerFileOwner';
import { generatePassword } from './generatedPassword';
import { renderMosquittoAcl } from './mosquittoAcl';
import { writeMosquittoPasswordFile } from './mosquittoPasswordFile';
import { readMqttCredentials, writeMqttCredentials } from './mqttCredentialsFile';
import { checkMqttIdentity, checkTopicPrefix } from './mqttIdentity';
import { ensureDirectory, PRIVATE_FILE_MODE, PUBLIC_FILE_MODE, writeFileAtomically } from './privateFiles';
import { readSecretFile } from './secretSources';
import { renderSecuredMosquittoConfig } from './securedMosquittoConfig';
import { createTlsMaterial } from './tlsCertificates';

export const DEFAULT_SECURE_MQTT_PORT = 1885;
export const DEFAULT_SECURE_MQTTS_PORT = 8885;
export const PROVISION_MANIFEST_FORMAT = 'sluice.mqtt-provision/1';

export interface MqttProvisionOptions {
  outDir: string;
  deviceIds: readonly string[];
  topicPrefix?: string;
  alertsPrefix?: string;
  ingestUser?: string;
  alertsUser?: string;
  /** the secured broker's plain listener (127.0.0.1) */
  port?: number;
  /** a TLS listener too, with a new private CA */
  tls?: { port?: number; hosts?: readonly string[] };
  /** new passwords for everyone (and a new CA) instead of keeping existing ones */
  rotate?: boolean;
}

/** provision.json: what `devices broker up` and the report need; never a secret. */
export interface ProvisionManifest {
  format: typeof PROVISION_MANIFEST_FORMAT;
  provisionedAt: string;
  port: number;
  tlsPort: number | null;
  topicPrefix: string;
  alertsPrefix: string;
  users: { ingest: string; alerts: string };
  devices: number;
}

export interface MqttProvisionResult {
  manifest: ProvisionManifest;
  outDir: string;
  files: {
    brokerConfig: string;
    passwordFile: string;
    aclFile: string;
    credentials: string;
    ingestPassword: string;
    alertsPassword: string;
    caCertificate: string | undefined;
  };
  mqttUrl: string;
  mqttsUrl: string | undefined;
  devices: { added: number; kept: number; removed: number };
  /** every password (and the CA) was made anew, as asked */
  rotated: boolean;
}

export const MANIFEST_FILE = 'provision.json';
export const BROKER_DIR = 'broker';

/** The broker config a provisioning wrote, and its manifest; a ConfigError when `outDir` holds none. */
export function readProvisionManifest(outDir: string): { manifest: ProvisionManifest; brokerConfig: string } {
  const file = path.join(outDir, MANIFEST_FILE);
  let manifest: ProvisionManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as ProvisionManifest;
  } catch {
    throw new ConfigError('--dir', `${file} is missing or unreadable: run \`sluice devices provision --out ${outDir}\` first`);
  }
  if (manifest.format !== PROVISION_MANIFEST_FORMAT) throw new ConfigError('--dir', `${file} is not a ${PROVISION_MANIFEST_FORMAT} manifest`);
  return { manifest, brokerConfig: path.join(outDir, BROKER_DIR, 'mosquitto.conf') };
}

function checkPort(port: number, path: string): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError(path, `must be a port 1..65535, got ${String(port)}`);
  return port;
}

function existingPassword(file: string, keep: boolean): string | undefined {
  if (!keep || !fs.existsSync(file)) return undefined;
  return readSecretFile(file, file);
}

export async function provisionMqtt(options: MqttProvisionOptions): Promise<MqttProvisionResult> {
  const outDir = path.resolve(options.outDir);
  const topicPrefix = checkTopicPrefix(options.topicPrefix ?? 'devices', 'topicPrefix');
  const alertsPrefix = checkTopicPrefix(options.alertsPrefix ?? 'alerts', 'alertsPrefix');
  const ingestUser = checkMqttIdentity(options.ingestUser ?? 'ingest', 'ingestUser');
  const alertsUser = checkMqttIdentity(options.alertsUser ?? 'alerts', 'alertsUser');
  const port = checkPort(options.port ?? DEFAULT_SECURE_MQTT_PORT, 'port');
  const tlsPort = options.tls === undefined ? undefined : checkPort(options.tls.port ?? DEFAULT_SECURE_MQTTS_PORT, 'tls.port');
  if (tlsPort === port) throw new ConfigError('tls.port', `must differ from port ${port}`);
  if (ingestUser === alertsUser) throw new ConfigError('alertsUser', `must differ from ingestUser (${ingestUser})`);
  if (options.deviceIds.length === 0) throw new ConfigError('deviceIds', 'provision at least one device');
  const wanted = new Set<string>();
  options.deviceIds.forEach((id, index) => {
    checkMqttIdentity(id, `deviceIds[${index}]`);
    // the ACL's patterns apply to every user: a device named like a service would share its rights
    if (id === ingestUser || id === alertsUser) throw new ConfigError(`deviceIds[${index}]`, `${id} is the name of a service user`);
    if (wanted.has(id)) throw new ConfigError(`deviceIds[${index}]`, `${id} is listed twice`);
    wanted.add(id);
  });
  const keep = options.rotate !== true;
  const brokerDir = path.join(outDir, BROKER_DIR);
  ensureDirectory(outDir, 0o711);
  ensureDirectory(brokerDir, 0o700);

  const files = {
    brokerConfig: path.join(brokerDir, 'mosquitto.conf'),
    passwordFile: path.join(brokerDir, 'passwd'),
    aclFile: path.join(brokerDir, 'acl'),
    credentials: path.join(outDir, 'devices.json'),
    ingestPassword: path.join(outDir, `${ingestUser}.password`),
    alertsPassword: path.join(outDir, `${alertsUser}.password`),
    caCertificate: tlsPort === undefined ? undefined : path.join(outDir, 'ca.crt'),
  };

  // Device passwords: keep those still wanted, make new ones for the rest.
  const previous = keep && fs.existsSync(files.credentials) ? readMqttCredentials(files.credentials, files.credentials) : new Map<string, string>();
  const credentials = new Map<string, string>();
  let added = 0;
  for (const id of wanted) {
    const password = previous.get(id);
    if (password === undefined) added += 1;
    credentials.set(id, password ?? generatePassword());
  }
  const removed = [...previous.keys()].filter((id) => !wanted.has(id)).length;
  const ingestPassword = existingPassword(files.ingestPassword, keep) ?? generatePassword();
  const alertsPassword = existingPassword(files.alertsPassword, keep) ?? generatePassword();

  const owner = brokerFileOwner();
  await writeMosquittoPasswordFile(files.passwordFile, [
    { username: ingestUser, password: ingestPassword },
    { username: alertsUser, password: alertsPassword },
    ...[...credentials].map(([username, password]) => ({ username, password })),
  ]);
  writeFileAtomically(files.aclFile, renderMosquittoAcl({ topicPrefix, alertsPrefix, ingestUser, alertsUser }), PRIVATE_FILE_MODE);

  const tlsFiles = { caFile: path.join(brokerDir, 'ca.crt'), certFile: path.join(brokerDir, 'server.crt'), keyFile: path.join(brokerDir, 'server.key') };
  if (tlsPort !== undefined && files.caCertificate !== undefined) {
    const reuse = keep && Object.values(tlsFiles).every((file) => fs.existsSync(file)) && fs.existsSync(files.caCertificate);
    if (!reuse) {
      const material = await createTlsMaterial({ hosts: options.tls?.hosts });
      writeFileAtomically(tlsFiles.caFile, material.caCertificate, PUBLIC_FILE_MODE);
      writeFileAtomically(tlsFiles.certFile, material.serverCertificate, PUBLIC_FILE_MODE);
      writeFileAtomically(tlsFiles.keyFile, material.serverKey, PRIVATE_FILE_MODE);
      writeFileAtomically(files.caCertificate, material.caCertificate, PUBLIC_FILE_MODE);
    }
  } else {
    // no TLS this time: leave no key behind that nothing uses
    for (const file of [...Object.values(tlsFiles), path.join(outDir, 'ca.crt')]) fs.rmSync(file, { force: true });
  }
  writeFileAtomically(
    files.brokerConfig,
    renderSecuredMosquittoConfig({ port, tls: tlsPort === undefined ? undefined : { port: tlsPort, ...tlsFiles }, passwordFile: files.passwordFile, aclFile: files.aclFile }),
    PRIVATE_FILE_MODE,
  );
  giveTo(owner, brokerDir, ...fs.readdirSync(brokerDir).map((name) => path.join(brokerDir, name)));

  writeMqttCredentials(files.credentials, credentials);
  writeFileAtomically(files.ingestPassword, `${ingestPassword}\n`);
  writeFileAtomically(files.alertsPassword, `${alertsPassword}\n`);
  const manifest: ProvisionManifest = {
    format: PROVISION_MANIFEST_FORMAT,
    provisionedAt: new Date().toISOString(),
    port,
    tlsPort: tlsPort ?? null,
    topicPrefix,
    alertsPrefix,
    users: { ingest: ingestUser, alerts: alertsUser },
    devices: credentials.size,
  };
  writeFileAtomically(path.join(outDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, PUBLIC_FILE_MODE);
  return {
    manifest,
    outDir,
    files,
    mqttUrl: `mqtt://127.0.0.1:${port}`,
    mqttsUrl: tlsPort === undefined ? undefined : `mqtts://localhost:${tlsPort}`,
    devices: { added, kept: credentials.size - added, removed },
    rotated: !keep,
  };
}
