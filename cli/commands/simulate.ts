import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigError, SluiceError } from '../../core/errors';
import { createLogger } from '../../core/logger';
import {
  ANOMALY_KINDS,
  DEVICE_TYPES,
  FAULT_KINDS,
  FLEET_DEFAULTS,
  PAYLOAD_FORMATS,
  formatFleetReport,
  createAvroReadingEncoder,
  formatProgressLine,
  parseFaultSpecs,
  resolveFleetOptions,
  startFleet,
} from '../../simulators';
import type { AnomalyKind, DeviceType, FleetOptions, FleetOptionsInput, FleetReport, OptionPath, ReadingEncoder } from '../../simulators';
import { FileSchemaStore } from '../../schemas/fileSchemaStore';
import { RedisSchemaStore } from '../../schemas/redisSchemaStore';
import { SchemaRegistry } from '../../schemas/schemaRegistry';
import { readMqttCredentials } from '../../security/mqttCredentialsFile';
import { debugPrintsMqttPasswords, MQTT_DEBUG_WARNING } from '../../security/mqttLogin';
import { redactUrl } from '../../security/urlCredentials';
import { schemaRegistrySetting } from '../support/serverAddresses';
import { mqttCheck, redisCheck, requireServersAnswer } from '../support/serverChecks';

/**
 * `sluice simulate`: a fleet of simulated devices publishing telemetry over MQTT. Also a plain
 * MQTT load tool (like emqtt-bench): the report gives achieved rate and publish→ack latency.
 */
interface SimulateFlags {
  devices: string;
  rate: string;
  duration?: string;
  readingsPerDevice?: string;
  mqttUrl?: string;
  seed: string;
  qos: string;
  clean?: boolean;
  persistent?: boolean;
  rampUpMs: string;
  gateway?: boolean;
  gatewayConnections: string;
  deviceTypes?: string;
  anomalyRate: string;
  anomalies?: string;
  fault?: string[];
  payload: string;
  schemaRegistry?: string;
  topicPrefix: string;
  deviceIdPrefix: string;
  firstSeq?: string;
  inflight: string;
  oversizeBytes: string;
  drainTimeoutMs: string;
  json?: boolean;
  ledgerFile?: string;
  credentials?: string;
  mqttCaFile?: string;
}

/** Which flag each option comes from, so a ConfigError names what the user typed. */
const FLAG_OF: Partial<Record<keyof FleetOptions, string>> = {
  mqttUrl: '--mqtt-url',
  devices: '--devices',
  rate: '--rate',
  durationMs: '--duration',
  readingsPerDevice: '--readings-per-device',
  seed: '--seed',
  qos: '--qos',
  rampUpMs: '--ramp-up-ms',
  gatewayConnections: '--gateway-connections',
  deviceTypes: '--device-types',
  anomalyRate: '--anomaly-rate',
  anomalyKinds: '--anomalies',
  faults: '--fault',
  payload: '--payload',
  encodeReading: '--payload',
  topicPrefix: '--topic-prefix',
  deviceIdPrefix: '--device-id-prefix',
  firstSeq: '--first-seq',
  inflightWindow: '--inflight',
  oversizeBytes: '--oversize-bytes',
  drainTimeoutMs: '--drain-timeout-ms',
  credentials: '--credentials',
  tlsCa: '--mqtt-ca-file',
};

const flagPath: OptionPath = (key) => FLAG_OF[key] ?? key;

function parseNumberFlag(value: string, flag: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) throw new ConfigError(flag, `must be a number, got "${value}"`);
  return number;
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `30s`, `5m`, `1h`; a bare number is seconds. */
export function parseDuration(value: string, flag = '--duration'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!match) throw new ConfigError(flag, `must be a duration like 30s, 5m, 500ms (a bare number is seconds), got "${value}"`);
  return Number(match[1]) * (DURATION_UNITS_MS[match[2] ?? 's'] ?? 1000);
}

function parseList<T extends string>(value: string, known: readonly T[], flag: string): T[] {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  for (const item of items) {
    if (!(known as readonly string[]).includes(item)) throw new ConfigError(flag, `unknown value "${item}"; known: ${known.join(', ')}`);
  }
  return items as T[];
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function fleetOptionsFromFlags(flags: SimulateFlags): FleetOptionsInput {
  if (flags.clean && flags.persistent) throw new ConfigError('--clean/--persistent', 'choose one, not both');
  const qos = parseNumberFlag(flags.qos, '--qos');
  if (qos !== 0 && qos !== 1) throw new ConfigError('--qos', `must be 0 or 1, got ${flags.qos}`);
  if (flags.payload === 'avro') schemaRegistrySetting(flags.schemaRegistry, 'avro payloads need a schema registry');
  return {
    mqttUrl: flags.mqttUrl ?? process.env.SLUICE_MQTT_URL ?? 'mqtt://127.0.0.1:1883',
    devices: parseNumberFlag(flags.devices, '--devices'),
    rate: parseNumberFlag(flags.rate, '--rate'),
    durationMs: flags.duration === undefined ? undefined : parseDuration(flags.duration),
    readingsPerDevice: flags.readingsPerDevice === undefined ? undefined : parseNumberFlag(flags.readingsPerDevice, '--readings-per-device'),
    seed: parseNumberFlag(flags.seed, '--seed'),
    qos,
    cleanSession: !flags.persistent,
    rampUpMs: parseNumberFlag(flags.rampUpMs, '--ramp-up-ms'),
    gateway: flags.gateway === true,
    gatewayConnections: parseNumberFlag(flags.gatewayConnections, '--gateway-connections'),
    deviceTypes: flags.deviceTypes === undefined ? undefined : parseList<DeviceType>(flags.deviceTypes, DEVICE_TYPES, '--device-types'),
    anomalyRate: parseNumberFlag(flags.anomalyRate, '--anomaly-rate'),
    anomalyKinds: flags.anomalies === undefined ? undefined : parseList<AnomalyKind>(flags.anomalies, ANOMALY_KINDS, '--anomalies'),
    faults: parseFaultSpecs(flags.fault ?? [], '--fault'),
    payload: parseList(flags.payload, PAYLOAD_FORMATS, '--payload')[0],
    topicPrefix: flags.topicPrefix,
    deviceIdPrefix: flags.deviceIdPrefix,
    firstSeq: flags.firstSeq === undefined ? undefined : parseNumberFlag(flags.firstSeq, '--first-seq'),
    inflightWindow: parseNumberFlag(flags.inflight, '--inflight'),
    oversizeBytes: parseNumberFlag(flags.oversizeBytes, '--oversize-bytes'),
    drainTimeoutMs: parseNumberFlag(flags.drainTimeoutMs, '--drain-timeout-ms'),
    credentials: flags.credentials === undefined ? undefined : readMqttCredentials(flags.credentials, '--credentials'),
    tlsCa: flags.mqttCaFile === undefined ? undefined : readCaFile(flags.mqttCaFile, '--mqtt-ca-file'),
    logger: createLogger({ component: 'simulate', level: process.env.SLUICE_LOG_LEVEL ?? 'warn' }),
  };
}

function readCaFile(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ConfigError(flag, `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
}

/** Registers the TelemetryReading schema in the registry the flag names and returns its encoder. */
async function avroEncoderFor(address: string): Promise<ReadingEncoder> {
  const store = /^rediss?:\/\//.test(address) ? RedisSchemaStore.connect(address) : new FileSchemaStore(address);
  const registry = new SchemaRegistry(store);
  try {
    return (await createAvroReadingEncoder(registry)).encode;
  } finally {
    await registry.close();
  }
}

/** Stands in for the Avro encoder while the options are checked, before the registry is opened. */
const encoderToCome: ReadingEncoder = () => Buffer.alloc(0);

async function runSimulate(flags: SimulateFlags): Promise<FleetReport> {
  const options = fleetOptionsFromFlags(flags);
  // Everything is checked before anything opens: the options (all of them, as startFleet will),
  // then the broker and the registry answer. Without this, an unreachable broker ran the whole
  // --duration and printed a report of zeros.
  const registry = options.payload === 'avro' ? schemaRegistrySetting(flags.schemaRegistry, 'avro payloads need a schema registry') : undefined;
  const checked = resolveFleetOptions({ ...options, encodeReading: registry ? encoderToCome : undefined }, flagPath);
  await requireServersAnswer([
    // each device logs in with its own credentials: any CONNACK shows the broker is there
    mqttCheck(checked.mqttUrl, '--mqtt-url', { ca: checked.tlsCa }),
    registry?.redis ? redisCheck(registry.address, registry.setting) : undefined,
  ]);
  if (registry) options.encodeReading = await avroEncoderFor(registry.address);
  if (options.credentials !== undefined && debugPrintsMqttPasswords(process.env)) console.error(MQTT_DEBUG_WARNING);
  const fleet = startFleet(options, flagPath);
  const statusLine = process.stderr.isTTY === true;
  if (statusLine) {
    const until = flags.duration ?? (flags.readingsPerDevice ? `${flags.readingsPerDevice} readings per device` : 'Ctrl-C');
    process.stderr.write(`simulating ${fleet.devices.length} devices -> ${redactUrl(fleet.options.mqttUrl)} until ${until}\n`);
    fleet.on('progress', (progress) => process.stderr.write(`\r\x1b[2K${formatProgressLine(progress)}`));
  }
  // Ctrl-C stops the fleet cleanly (drain, retained "offline", report); a second one exits at once.
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    if (statusLine) process.stderr.write('\nstopping (Ctrl-C again to quit at once)...\n');
    void fleet.stop();
  };
  process.on('SIGINT', onSigint);
  try {
    const report = await fleet.finished;
    if (statusLine) process.stderr.write('\n');
    console.log(flags.json ? JSON.stringify(report, null, 2) : formatFleetReport(report));
    if (flags.ledgerFile !== undefined) {
      // accepted: readings the telemetry stream must hold; rejected: messages ingest must dead-letter.
      const ledger = { accepted: fleet.ledger.acceptedRanges(), rejected: fleet.ledger.rejected, rejectedNotListed: fleet.ledger.rejectedDropped };
      writeFileSync(flags.ledgerFile, JSON.stringify(ledger));
    }
    if (report.connects === 0) {
      throw new SluiceError('CONNECTION_FAILED', `no device could connect to ${redactUrl(fleet.options.mqttUrl)} (is the broker running${fleet.options.credentials === undefined ? '' : ', and does it know these credentials'}?)`);
    }
    return report;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export function registerSimulateCommand(program: Command): void {
  const defaults = FLEET_DEFAULTS;
  program
    .command('simulate')
    .description('run a fleet of simulated MQTT devices (sensors, pumps, meters, trackers) with optional anomalies and faults')
    .option('--devices <n>', 'number of devices', String(defaults.devices))
    .option('--rate <msgPerSec>', 'target readings per second over the whole fleet', String(defaults.rate))
    .option('--duration <time>', 'how long to run: 30s, 5m, 500ms (default: until Ctrl-C)')
    .option('--readings-per-device <n>', 'stop once every device took this many readings')
    .option('--mqtt-url <url>', 'broker URL (default: $SLUICE_MQTT_URL or mqtt://127.0.0.1:1883)')
    .option('--seed <n>', 'seed for signals, anomalies and faults (same seed, same readings)', String(defaults.seed))
    .option('--qos <0|1>', 'MQTT QoS of telemetry', String(defaults.qos))
    .option('--clean', 'clean sessions (the default)')
    .option('--persistent', 'persistent sessions (clean: false, a stable client id per device)')
    .option('--ramp-up-ms <ms>', 'open the connections evenly over this time', String(defaults.rampUpMs))
    .option('--gateway', 'publish for all devices over a few gateway connections (for high rates)')
    .option('--gateway-connections <n>', 'connections in gateway mode', String(defaults.gatewayConnections))
    .option('--device-types <list>', `comma-separated subset of: ${DEVICE_TYPES.join(', ')} (default: all)`)
    .option('--anomaly-rate <p>', 'probability per reading that an anomaly starts', String(defaults.anomalyRate))
    .option('--anomalies <list>', `anomaly kinds, comma-separated subset of: ${ANOMALY_KINDS.join(', ')} (default: all)`)
    .option('--fault <kind=rate>', `inject a fault with a probability per reading (repeatable); kinds: ${FAULT_KINDS.join(', ')}`, collect)
    .option('--payload <format>', `payload format: ${PAYLOAD_FORMATS.join(', ')}`, defaults.payload)
    .option('--schema-registry <address>', 'for --payload avro: registry file path or redis://host:port (default: $SLUICE_SCHEMA_REGISTRY)')
    .option('--topic-prefix <prefix>', 'topics are <prefix>/<deviceId>/telemetry and .../status', defaults.topicPrefix)
    .option('--device-id-prefix <prefix>', 'device ids are <prefix>-0000, <prefix>-0001, ...', defaults.deviceIdPrefix)
    .option('--first-seq <n>', 'sequence number of each device\'s first reading (continue a device\'s counter from an earlier run)')
    .option('--inflight <n>', 'unacknowledged publishes allowed per connection', String(defaults.inflightWindow))
    .option('--oversize-bytes <n>', 'size limit the oversized fault exceeds', String(defaults.oversizeBytes))
    .option('--drain-timeout-ms <ms>', 'how long to wait for outstanding acks at the end', String(defaults.drainTimeoutMs))
    .option('--json', 'print the final report as JSON on stdout')
    .option('--ledger-file <path>', 'write what was acked, per device as seq ranges, for downstream loss checks (JSON)')
    .option('--credentials <file>', 'a secured broker: each device logs in with its id and its password from this file (`sluice devices provision` writes it)')
    .option('--mqtt-ca-file <file>', 'CA certificate (PEM) to trust for mqtts:// (a provisioning\'s ca.crt)')
    .addHelpText(
      'after',
      `
Examples:
  sluice simulate --devices 100 --rate 500 --duration 30s
  sluice simulate --devices 1000 --rate 50000 --gateway --qos 0 --duration 10s --json
  sluice simulate --devices 20 --rate 100 --anomaly-rate 0.01 --fault duplicate=0.01 --fault malformed-json=0.001`,
    )
    .action(async (flags: SimulateFlags) => {
      await runSimulate(flags);
    });
}
