/**
 * The device credentials file `sluice devices provision` writes for the simulators (and for
 * whoever flashes real devices): device id → password, JSON, mode 0600. It holds the plain
 * passwords, so it is never logged and its parse errors never quote it.
 */
import fs from 'node:fs';
import { ConfigError } from '../core/errors';
import { MQTT_IDENTITY } from './mqttIdentity';
import { writeFileAtomically } from './privateFiles';

export const MQTT_CREDENTIALS_FORMAT = 'sluice.mqtt-credentials/1';

interface CredentialsDocument {
  format: typeof MQTT_CREDENTIALS_FORMAT;
  /** device id → password */
  devices: Record<string, string>;
}

export function writeMqttCredentials(file: string, devices: ReadonlyMap<string, string>): void {
  const document: CredentialsDocument = { format: MQTT_CREDENTIALS_FORMAT, devices: Object.fromEntries(devices) };
  writeFileAtomically(file, `${JSON.stringify(document, null, 2)}\n`);
}

/** Device id → password. A ConfigError naming `path` (the flag) and the file when it is not a credentials file. */
export function readMqttCredentials(file: string, path = 'credentials'): Map<string, string> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(path, `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    // JSON.parse's own message quotes the text around the error: part of a password
    throw new ConfigError(path, `${file} is not valid JSON`);
  }
  const { format, devices } = (document ?? {}) as Partial<CredentialsDocument>;
  if (format !== MQTT_CREDENTIALS_FORMAT || typeof devices !== 'object' || devices === null || Array.isArray(devices)) {
    throw new ConfigError(path, `${file} is not a ${MQTT_CREDENTIALS_FORMAT} file (written by \`sluice devices provision\`)`);
  }
  const credentials = new Map<string, string>();
  for (const [deviceId, password] of Object.entries(devices)) {
    if (!MQTT_IDENTITY.test(deviceId)) throw new ConfigError(path, `${file}: device id ${JSON.stringify(deviceId)} is not valid`);
    if (typeof password !== 'string' || password === '') throw new ConfigError(path, `${file}: device ${deviceId} has no password`);
    credentials.set(deviceId, password);
  }
  return credentials;
}
