/**
 * A service's MQTT login (ingest, alerts) from its flags, its environment and its URL, in that
 * order: `--mqtt-username` / `$SLUICE_MQTT_USERNAME`; the password from `--mqtt-password-file`,
 * `$SLUICE_MQTT_PASSWORD_FILE` or `$SLUICE_MQTT_PASSWORD`; else `mqtt://user:password@host` in
 * the URL. The URL handed on has no credentials left in it, so printing it shows none.
 */
import fs from 'node:fs';
import { ConfigError } from '../core/errors';
import { readSecret } from './secretSources';
import { splitUrlCredentials } from './urlCredentials';

export interface MqttLoginFlags {
  mqttUrl: string;
  mqttUsername?: string;
  mqttPasswordFile?: string;
  mqttCaFile?: string;
}

export interface MqttLogin {
  /** the broker URL without user name and password */
  url: string;
  username: string | undefined;
  password: string | undefined;
  ca: Buffer | undefined;
}

export function resolveMqttLogin(flags: MqttLoginFlags, env: NodeJS.ProcessEnv): MqttLogin {
  const fromUrl = splitUrlCredentials(flags.mqttUrl);
  const username = flags.mqttUsername ?? (env.SLUICE_MQTT_USERNAME || undefined) ?? fromUrl.username;
  const password =
    readSecret({ file: flags.mqttPasswordFile === undefined ? undefined : { path: flags.mqttPasswordFile, flag: '--mqtt-password-file' }, envVar: 'SLUICE_MQTT_PASSWORD', env }) ??
    fromUrl.password;
  if (password !== undefined && username === undefined) {
    throw new ConfigError('--mqtt-username', 'a password was given but no user name (--mqtt-username or $SLUICE_MQTT_USERNAME)');
  }
  const caFile = flags.mqttCaFile ?? (env.SLUICE_MQTT_CA_FILE || undefined);
  let ca: Buffer | undefined;
  if (caFile !== undefined) {
    try {
      ca = fs.readFileSync(caFile);
    } catch (error) {
      throw new ConfigError(flags.mqttCaFile === undefined ? '$SLUICE_MQTT_CA_FILE' : '--mqtt-ca-file', `cannot read ${caFile} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    }
  }
  return { url: fromUrl.url, username, password, ca };
}

/**
 * True when $DEBUG turns on mqtt.js's debug output, which prints every packet it writes,
 * CONNECT with its password included. Nothing of ours logs a password, but that channel would:
 * the CLI warns when it is on and a password is in use. (The `debug` package's syntax: names
 * separated by commas or spaces, `*` wildcards, `-name` to exclude.)
 */
export function debugPrintsMqttPasswords(env: NodeJS.ProcessEnv): boolean {
  const names = (env.DEBUG ?? '').split(/[\s,]+/).filter((name) => name !== '');
  const matches = (pattern: string): boolean => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test('mqttjs:client');
  return names.some((name) => !name.startsWith('-') && matches(name)) && !names.some((name) => name.startsWith('-') && matches(name.slice(1)));
}

export const MQTT_DEBUG_WARNING = 'warning: $DEBUG enables mqtt.js debug output, which prints the MQTT password (in the CONNECT packet); unset it outside a debugging session';
