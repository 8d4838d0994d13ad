/**
 * `sluice devices provision` and `sluice devices broker up|down|status|reload`: per-device MQTT
 * credentials, the ACL that confines each device to its own topics, and the secured Mosquitto
 * that enforces them (security/, SECURITY.md). Attached to `sluice devices` by
 * `registerDevicesProvision(devicesCommand)`.
 *
 * Nothing here prints a password: the report names the files that hold them.
 */
import type { Command } from 'commander';
import { ConfigError, SluiceError } from '../../core/errors';
import { displayPath } from '../../infra/paths';
import type { MqttProvisionResult } from '../../security/mqttProvisioning';
import { DEFAULT_SECURE_MQTT_PORT, DEFAULT_SECURE_MQTTS_PORT, provisionMqtt } from '../../security/mqttProvisioning';
import { downSecuredMosquitto, reloadSecuredMosquitto, statusSecuredMosquitto, upSecuredMosquitto } from '../../security/securedMosquitto';
import { deviceIdFor } from '../../simulators/fleetDevices';
import { formatDown, formatStatus, formatUpReport } from '../infraReport';

export const DEFAULT_PROVISION_DIR = '.sluice/mqtt';

interface ProvisionFlags {
  devices?: string;
  deviceIds?: string;
  deviceIdPrefix: string;
  topicPrefix: string;
  alertsPrefix: string;
  out: string;
  ingestUser: string;
  alertsUser: string;
  port: string;
  tls?: boolean;
  tlsPort: string;
  tlsHost?: string[];
  rotate?: boolean;
  json?: boolean;
}

function integerFlag(value: string, flag: string, min: number, max: number): number {
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || number < min || number > max) throw new ConfigError(flag, `must be an integer ${min}..${max}, got "${value}"`);
  return number;
}

/** The device ids to provision: an explicit list, or the ids `sluice simulate --devices N` uses. */
export function provisionDeviceIds(flags: Pick<ProvisionFlags, 'devices' | 'deviceIds' | 'deviceIdPrefix'>): string[] {
  if (flags.deviceIds !== undefined && flags.devices !== undefined) throw new ConfigError('--devices/--device-ids', 'choose one, not both');
  if (flags.deviceIds !== undefined) return flags.deviceIds.split(',').map((id) => id.trim()).filter((id) => id !== '');
  if (flags.devices === undefined) throw new ConfigError('--devices', 'say how many devices to provision (or list them with --device-ids)');
  const count = integerFlag(flags.devices, '--devices', 1, 1_000_000);
  return Array.from({ length: count }, (_, index) => deviceIdFor(flags.deviceIdPrefix, index, count));
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function formatProvisionReport(result: MqttProvisionResult): string {
  const { files, manifest, devices } = result;
  const dir = displayPath(result.outDir);
  const lines = [
    `provisioned ${manifest.devices} device(s) in ${dir}: ${devices.added} new, ${devices.kept} kept, ${devices.removed} removed${result.rotated ? ' (all passwords rotated)' : ''}`,
    `  broker       ${displayPath(files.brokerConfig)}: ${result.mqttUrl}${result.mqttsUrl === undefined ? '' : ` and ${result.mqttsUrl}`}, no anonymous clients`,
    `               start it: sluice devices broker up --dir ${dir}`,
    `  devices      ${displayPath(files.credentials)} (0600): sluice simulate --mqtt-url ${result.mqttUrl} --credentials ${displayPath(files.credentials)}`,
    `  ingest       user ${manifest.users.ingest}, password in ${displayPath(files.ingestPassword)} (0600): sluice ingest --mqtt-username ${manifest.users.ingest} --mqtt-password-file ${displayPath(files.ingestPassword)}`,
    `  alerts       user ${manifest.users.alerts}, password in ${displayPath(files.alertsPassword)} (0600)`,
  ];
  if (files.caCertificate !== undefined) lines.push(`  TLS          CA ${displayPath(files.caCertificate)}: --mqtt-url ${result.mqttsUrl ?? ''} --mqtt-ca-file ${displayPath(files.caCertificate)}`);
  if (devices.removed > 0 || devices.added > 0) lines.push(`a running broker applies changes on reload: sluice devices broker reload --dir ${dir}`);
  return lines.join('\n');
}

export function registerDevicesProvision(devices: Command): void {
  devices
    .command('provision')
    .description('per-device MQTT passwords, a Mosquitto password file and ACL (each device publishes only under its own topic, reads only its own commands and alerts), a secured broker config')
    .option('--devices <n>', 'provision the ids `sluice simulate --devices <n>` uses: <prefix>-0000, <prefix>-0001, ...')
    .option('--device-ids <list>', 'or: comma-separated device ids')
    .option('--device-id-prefix <prefix>', 'with --devices: device ids are <prefix>-0000, ...', 'dev')
    .option('--topic-prefix <prefix>', 'devices publish under <prefix>/<id>/... (as simulate --topic-prefix)', 'devices')
    .option('--alerts-prefix <prefix>', 'a device reads its alerts on <prefix>/<id>', 'alerts')
    .option('--out <dir>', 'where the files go (git-ignored by default)', DEFAULT_PROVISION_DIR)
    .option('--ingest-user <name>', 'MQTT user of the ingest function (reads every device\'s telemetry)', 'ingest')
    .option('--alerts-user <name>', 'MQTT user of the alerts processor (publishes alerts)', 'alerts')
    .option('--port <port>', 'the secured broker\'s MQTT port on 127.0.0.1', String(DEFAULT_SECURE_MQTT_PORT))
    .option('--tls', 'also a TLS listener, with a new private CA and server certificate (openssl)')
    .option('--tls-port <port>', 'the TLS listener\'s port', String(DEFAULT_SECURE_MQTTS_PORT))
    .option('--tls-host <name>', 'another DNS name or IP for the server certificate (repeatable; localhost and 127.0.0.1 are always in)', collect)
    .option('--rotate', 'new passwords for every device and user (and a new CA); default: keep those that exist')
    .option('--json', 'print the result as JSON (file paths and counts; never passwords)')
    .addHelpText('after', `
Examples:
  sluice devices provision --devices 100 --tls
  sluice devices broker up
  sluice simulate --devices 100 --rate 100 --mqtt-url mqtt://127.0.0.1:${DEFAULT_SECURE_MQTT_PORT} --credentials ${DEFAULT_PROVISION_DIR}/devices.json
  sluice ingest --mqtt-url mqtt://127.0.0.1:${DEFAULT_SECURE_MQTT_PORT} --mqtt-username ingest --mqtt-password-file ${DEFAULT_PROVISION_DIR}/ingest.password ...

Provisioning again keeps the passwords of devices still listed, adds new devices and drops the
others; \`sluice devices broker reload\` makes a running broker apply it.`)
    .action(async (flags: ProvisionFlags) => {
      const result = await provisionMqtt({
        outDir: flags.out,
        deviceIds: provisionDeviceIds(flags),
        topicPrefix: flags.topicPrefix,
        alertsPrefix: flags.alertsPrefix,
        ingestUser: flags.ingestUser,
        alertsUser: flags.alertsUser,
        port: integerFlag(flags.port, '--port', 1, 65535),
        tls: flags.tls === true ? { port: integerFlag(flags.tlsPort, '--tls-port', 1, 65535), hosts: flags.tlsHost } : undefined,
        rotate: flags.rotate === true,
      });
      console.log(flags.json === true ? JSON.stringify(result, null, 2) : formatProvisionReport(result));
    });

  const broker = devices.command('broker').description('the secured Mosquitto a provisioning configured (runs beside the open one on :1884)');
  const dirOption = (command: Command): Command =>
    command.option('--dir <dir>', 'the provisioning\'s directory (provision --out)', DEFAULT_PROVISION_DIR).option('--json', 'print the result as JSON');
  dirOption(broker.command('up').description('start it unless it runs, and wait until it refuses an anonymous client'))
    .action(async (flags: { dir: string; json?: boolean }) => {
      const result = await upSecuredMosquitto({ provisionDir: flags.dir }, (message) => console.error(message));
      const report = { ok: true, durationMs: result.durationMs, results: [result] };
      console.log(flags.json === true ? JSON.stringify(result, null, 2) : formatUpReport(report).replace(/^infra up: /m, 'devices broker up: '));
    });
  dirOption(broker.command('down').description('stop it (SIGTERM, then SIGKILL)')).action(async (flags: { dir: string; json?: boolean }) => {
    const result = await downSecuredMosquitto({ provisionDir: flags.dir });
    console.log(flags.json === true ? JSON.stringify(result, null, 2) : formatDown([result]));
  });
  dirOption(broker.command('status').description('whether it runs and refuses anonymous clients')).action(async (flags: { dir: string; json?: boolean }) => {
    const status = await statusSecuredMosquitto({ provisionDir: flags.dir });
    console.log(flags.json === true ? JSON.stringify(status, null, 2) : formatStatus([status]));
  });
  dirOption(broker.command('reload').description('make the running broker re-read its password file and ACL (SIGHUP): new devices get in, removed ones are disconnected'))
    .action((flags: { dir: string }) => {
      if (!reloadSecuredMosquitto({ provisionDir: flags.dir })) {
        throw new SluiceError('SERVICE_UNAVAILABLE', `no secured broker of ${flags.dir} is running: sluice devices broker up --dir ${flags.dir}`, { retriable: false });
      }
      console.log('secured broker reloaded its password file and ACL');
    });
}
