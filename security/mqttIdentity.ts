import { ConfigError } from '../core/errors';

/**
 * What a device id (and any MQTT user name sluice provisions) may look like. The id is one
 * topic level (`devices/<id>/telemetry`) and the user name that Mosquitto's pattern ACLs put
 * in place of `%u`, so it must not hold `/`, `+` or `#` (a wildcard in an ACL pattern would grant
 * other devices' topics; Mosquitto refuses such names anyway), nor `:` (the password file's
 * separator) or whitespace. This set is safe in topics, file lines, Redis keys and SQL literals.
 */
export const MQTT_IDENTITY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function checkMqttIdentity(name: string, path: string): string {
  if (!MQTT_IDENTITY.test(name)) {
    throw new ConfigError(path, `must be 1-128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit, got ${JSON.stringify(name)}`);
  }
  return name;
}

/** Topic prefixes (`devices`, `site-1/devices`): topic levels without wildcards. */
export function checkTopicPrefix(prefix: string, path: string): string {
  if (prefix === '' || !prefix.split('/').every((level) => MQTT_IDENTITY.test(level))) {
    throw new ConfigError(path, `must be topic levels of A-Z a-z 0-9 . _ - separated by "/", got ${JSON.stringify(prefix)}`);
  }
  return prefix;
}
