import { ConfigError } from '../core/errors';
import type { Logger } from '../core/logger';
import { ANOMALY_KINDS } from './anomalyInjector';
import type { AnomalyKind } from './anomalyInjector';
import { validateFaultRates } from './faultKinds';
import type { FaultRates } from './faultKinds';
import { PAYLOAD_FORMATS } from './readingPayload';
import type { PayloadFormat, ReadingEncoder } from './readingPayload';
import { DEVICE_TYPES } from './signals/signalModel';
import type { DeviceType } from './signals/signalModel';

export interface FleetOptions {
  mqttUrl: string;
  devices: number;
  /** Target readings per second over the whole fleet, spread evenly over the devices. */
  rate: number;
  /** Stop taking readings after this long; undefined = until stop() (or readingsPerDevice). */
  durationMs: number | undefined;
  /** Each device stops after this many readings; the fleet stops when all have. */
  readingsPerDevice: number | undefined;
  seed: number;
  qos: 0 | 1;
  /** false = persistent session (clean: false, stable clientId per device). */
  cleanSession: boolean;
  /** Connections are opened evenly over this time. */
  rampUpMs: number;
  /** One MQTT connection publishes for many devices (a field gateway); for high rates. */
  gateway: boolean;
  gatewayConnections: number;
  deviceTypes: DeviceType[];
  anomalyRate: number;
  anomalyKinds: AnomalyKind[];
  faults: FaultRates;
  payload: PayloadFormat;
  /** The encoder for payload 'avro' (createAvroReadingEncoder); JSON needs none. */
  encodeReading: ReadingEncoder | undefined;
  /** Topics are `{topicPrefix}/{deviceId}/telemetry` and `.../status`. */
  topicPrefix: string;
  deviceIdPrefix: string;
  /** Sequence number of each device's first reading; `sluice up` starts each run above the last so (deviceId, seq) never repeats across runs. */
  firstSeq: number;
  clientIdPrefix: string;
  /** Unacknowledged publishes allowed per connection (mqtt.js keeps no window of its own). */
  inflightWindow: number;
  /** Messages waiting for the window per connection; a device whose outbox is full skips a reading. */
  outboxLimit: number;
  oversizeBytes: number;
  clockSkewMaxMs: number;
  offlineReadings: [number, number];
  /** How far behind schedule the fleet may fall before it skips readings instead of bursting. */
  maxLagMs: number;
  drainTimeoutMs: number;
  progressIntervalMs: number;
  connectTimeoutMs: number;
  reconnectPeriodMs: number;
  keepaliveSeconds: number;
  protocolVersion: 4 | 5;
  /** Passwords for a secured broker (`sluice devices provision`): each device logs in with its id as user name (a gateway with its gateway id). */
  credentials: ReadonlyMap<string, string> | undefined;
  /** CA certificate(s), PEM, trusted for mqtts:// and wss:// (a provisioning's ca.crt); default: the system's CAs. */
  tlsCa: string | Buffer | undefined;
  /** Where event times come from (epoch ms). */
  clock: () => number;
  logger: Logger | undefined;
}

export type FleetOptionsInput = Partial<FleetOptions> & Pick<FleetOptions, 'mqttUrl'>;

export const DEFAULT_OVERSIZE_BYTES = 256 * 1024;

export const FLEET_DEFAULTS: Omit<FleetOptions, 'mqttUrl'> = {
  devices: 10,
  rate: 10,
  durationMs: undefined,
  readingsPerDevice: undefined,
  seed: 1,
  qos: 1,
  cleanSession: true,
  rampUpMs: 0,
  gateway: false,
  gatewayConnections: 1,
  deviceTypes: [...DEVICE_TYPES],
  anomalyRate: 0,
  anomalyKinds: [...ANOMALY_KINDS],
  faults: {},
  payload: 'json',
  encodeReading: undefined,
  topicPrefix: 'devices',
  deviceIdPrefix: 'dev',
  firstSeq: 0,
  clientIdPrefix: 'sluice-sim-',
  inflightWindow: 256,
  outboxLimit: 1024,
  oversizeBytes: DEFAULT_OVERSIZE_BYTES,
  clockSkewMaxMs: 10 * 60_000,
  offlineReadings: [5, 30],
  maxLagMs: 1000,
  drainTimeoutMs: 10_000,
  progressIntervalMs: 1000,
  connectTimeoutMs: 10_000,
  reconnectPeriodMs: 1000,
  keepaliveSeconds: 30,
  protocolVersion: 4,
  credentials: undefined,
  tlsCa: undefined,
  clock: Date.now,
  logger: undefined,
};

/** Names an option in errors: the CLI passes its flag names, library callers get `fleet.<key>`. */
export type OptionPath = (key: keyof FleetOptions) => string;

const defaultPath: OptionPath = (key) => `fleet.${key}`;

function requireInteger(value: number, path: string, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(path, `must be an integer in ${min}..${max}, got ${String(value)}`);
  }
}

function requireNumber(value: number, path: string, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(path, `must be a number in ${min}..${max}, got ${String(value)}`);
  }
}

const TOPIC_LEVEL = /^[^#+/\s]+$/;

/** undefined for a usable MQTT URL, else what is wrong (with a leading space), or '' when it is not an MQTT URL at all. */
function mqttUrlProblem(url: string): string | undefined {
  const match = /^(?:mqtts?|wss?|tcp|ssl):\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)(?::([^/?#]*))?/.exec(url);
  if (!match || match[1] === '') return '';
  const port = match[2];
  // mqtt.js would take "host:notaport" as host "host" on the default port, and Node warns that such URLs will throw
  if (port !== undefined && port !== '' && !(/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) return ` (port "${port}" is not a number 1..65535)`;
  return undefined;
}

/** Errors show the URL without its password (simulators/ depends on nothing that would do this for it). */
function withoutPassword(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*:)[^@/]*@/i, '$1REDACTED@');
}

/** Defaults filled in and every field checked once, before any connection opens. */
export function resolveFleetOptions(input: FleetOptionsInput, pathOf: OptionPath = defaultPath): FleetOptions {
  const defined = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
  const options: FleetOptions = { ...FLEET_DEFAULTS, ...defined, mqttUrl: input.mqttUrl };
  const urlProblem = mqttUrlProblem(options.mqttUrl);
  if (urlProblem !== undefined) {
    throw new ConfigError(pathOf('mqttUrl'), `must be an MQTT URL like mqtt://127.0.0.1:1883, got "${withoutPassword(options.mqttUrl)}"${urlProblem}`);
  }
  requireInteger(options.devices, pathOf('devices'), 1, 1_000_000);
  requireNumber(options.rate, pathOf('rate'), 0.001, 10_000_000);
  if (options.durationMs !== undefined) requireNumber(options.durationMs, pathOf('durationMs'), 1, 365 * 24 * 3_600_000);
  if (options.readingsPerDevice !== undefined) requireInteger(options.readingsPerDevice, pathOf('readingsPerDevice'), 1, Number.MAX_SAFE_INTEGER);
  requireInteger(options.seed, pathOf('seed'), 0, 0xffffffff);
  requireInteger(options.firstSeq, pathOf('firstSeq'), 0, Math.floor(Number.MAX_SAFE_INTEGER / 2));
  if (options.qos !== 0 && options.qos !== 1) throw new ConfigError(pathOf('qos'), `must be 0 or 1, got ${String(options.qos)}`);
  requireNumber(options.rampUpMs, pathOf('rampUpMs'), 0, 3_600_000);
  requireInteger(options.gatewayConnections, pathOf('gatewayConnections'), 1, 1000);
  if (options.deviceTypes.length === 0) throw new ConfigError(pathOf('deviceTypes'), 'needs at least one device type');
  for (const type of options.deviceTypes) {
    if (!(DEVICE_TYPES as readonly string[]).includes(type)) {
      throw new ConfigError(pathOf('deviceTypes'), `unknown device type "${type}"; known: ${DEVICE_TYPES.join(', ')}`);
    }
  }
  requireNumber(options.anomalyRate, pathOf('anomalyRate'), 0, 1);
  for (const kind of options.anomalyKinds) {
    if (!(ANOMALY_KINDS as readonly string[]).includes(kind)) {
      throw new ConfigError(pathOf('anomalyKinds'), `unknown anomaly kind "${kind}"; known: ${ANOMALY_KINDS.join(', ')}`);
    }
  }
  validateFaultRates(options.faults, pathOf('faults'));
  if (!(PAYLOAD_FORMATS as readonly string[]).includes(options.payload)) {
    throw new ConfigError(pathOf('payload'), `must be one of ${PAYLOAD_FORMATS.join(', ')}, got "${options.payload}"`);
  }
  if (options.payload === 'avro' && options.encodeReading === undefined) {
    throw new ConfigError(pathOf('payload'), 'avro needs an encoder bound to a schema registry (createAvroReadingEncoder)');
  }
  for (const key of ['topicPrefix', 'deviceIdPrefix'] as const) {
    const levels = options[key].split('/');
    if (options[key] === '' || !levels.every((level) => TOPIC_LEVEL.test(level))) {
      throw new ConfigError(pathOf(key), `must be non-empty topic levels without + # or spaces, got "${options[key]}"`);
    }
  }
  if (options.deviceIdPrefix.includes('/')) throw new ConfigError(pathOf('deviceIdPrefix'), 'must be a single topic level (no "/")');
  requireInteger(options.inflightWindow, pathOf('inflightWindow'), 1, 65_000);
  requireInteger(options.outboxLimit, pathOf('outboxLimit'), 1, 10_000_000);
  requireInteger(options.oversizeBytes, pathOf('oversizeBytes'), 1, 256 * 1024 * 1024);
  requireNumber(options.clockSkewMaxMs, pathOf('clockSkewMaxMs'), 0, 10 * 365 * 24 * 3_600_000);
  const [minOffline, maxOffline] = options.offlineReadings;
  requireInteger(minOffline, pathOf('offlineReadings'), 1, 1_000_000);
  requireInteger(maxOffline, pathOf('offlineReadings'), minOffline, 1_000_000);
  requireNumber(options.maxLagMs, pathOf('maxLagMs'), 0, 3_600_000);
  requireNumber(options.drainTimeoutMs, pathOf('drainTimeoutMs'), 0, 3_600_000);
  requireNumber(options.progressIntervalMs, pathOf('progressIntervalMs'), 10, 3_600_000);
  requireNumber(options.connectTimeoutMs, pathOf('connectTimeoutMs'), 100, 600_000);
  requireNumber(options.reconnectPeriodMs, pathOf('reconnectPeriodMs'), 0, 600_000);
  requireInteger(options.keepaliveSeconds, pathOf('keepaliveSeconds'), 0, 65_535);
  if (options.protocolVersion !== 4 && options.protocolVersion !== 5) {
    throw new ConfigError(pathOf('protocolVersion'), `must be 4 (MQTT 3.1.1) or 5, got ${String(options.protocolVersion)}`);
  }
  return options;
}
