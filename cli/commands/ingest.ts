/**
 * `sluice ingest`: the ingest function. Takes device telemetry from MQTT (QoS 1, persistent
 * session, shared subscription), validates it, produces valid readings as Avro to --stream keyed by
 * device id and the rest as Avro DeadLetter records to --dead-letter; a message is PUBACKed only
 * once its record is durable. Ctrl-C / SIGTERM drains (everything taken in is stored and acked).
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { ConfigError } from '../../core/errors';
import { createLogger } from '../../core/logger';
import { startHttpIngest } from '../../ingest/httpIngest';
import { createIngestMetrics } from '../../ingest/ingestMetrics';
import { IngestPipeline } from '../../ingest/ingestPipeline';
import type { IngestPipelineOptions } from '../../ingest/ingestPipeline';
import { DEFAULT_TELEMETRY_FILTER, MqttIngest } from '../../ingest/mqttIngest';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../../ingest/telemetryValidation';
import { AvroCodec } from '../../schemas/avroCodec';
import { FileSchemaStore } from '../../schemas/fileSchemaStore';
import { RedisSchemaStore } from '../../schemas/redisSchemaStore';
import { SchemaRegistry } from '../../schemas/schemaRegistry';
import { registerSluiceSchemas } from '../../schemas/sluiceSchemas';
import { debugPrintsMqttPasswords, MQTT_DEBUG_WARNING, resolveMqttLogin } from '../../security/mqttLogin';
import { openStreamClient } from '../../streams/openStreamClient';
import { serveMetrics } from '../support/metricsServer';
import { MQTT_URL, integerSetting, logLevelSetting, portSetting, schemaRegistrySetting, serverUrl, streamAddressSetting } from '../support/serverAddresses';
import { mqttCheck, redisCheck, requireServersAnswer, streamServerCheck } from '../support/serverChecks';

interface IngestFlags {
  mqttUrl: string;
  stream: string;
  deadLetter: string;
  sharedGroup: string;
  shared: boolean;
  topicFilter: string;
  clientId?: string;
  protocolVersion: string;
  maxPayloadBytes: string;
  schemaRegistry?: string;
  lingerMs: string;
  maxBatch: string;
  maxInFlight: string;
  metricsPort?: string;
  httpPort?: string;
  logLevel: string;
  mqttUsername?: string;
  mqttPasswordFile?: string;
  mqttCaFile?: string;
}

function nonNegativeInteger(value: string, path: string): number {
  return integerSetting(value, path, 0, Number.MAX_SAFE_INTEGER);
}

export function registerIngestCommand(program: Command): void {
  program
    .command('ingest')
    .description('take device telemetry from MQTT into a stream: validate, encode Avro, dead-letter bad input, PUBACK once durable')
    .requiredOption('--stream <address>', 'telemetry stream, kafka://host:port/topic or kinesis://host:port/stream')
    .requiredOption('--dead-letter <address>', 'dead-letter stream for rejected messages (Avro dev.sluice.DeadLetter records)')
    .option('--mqtt-url <url>', 'MQTT broker', process.env.SLUICE_MQTT_URL ?? 'mqtt://127.0.0.1:1883')
    .option('--shared-group <name>', 'MQTT 5 shared-subscription group, so several instances share the load', 'ingest')
    .option('--no-shared', 'plain subscription (brokers without shared subscriptions, e.g. aedes over MQTT 3.1.1)')
    .option('--topic-filter <filter>', 'telemetry topics; the device id is the level before /telemetry', DEFAULT_TELEMETRY_FILTER)
    .option('--client-id <id>', 'fixed MQTT client id: the broker keeps this session\'s unacked messages across restarts (default sluice-ingest-<host>)')
    .option('--protocol-version <4|5>', 'MQTT protocol version', '5')
    .option('--max-payload-bytes <n>', 'larger payloads are dead-lettered as too_large', String(DEFAULT_MAX_PAYLOAD_BYTES))
    .option('--schema-registry <file|redis://...>', 'schema registry (default $SLUICE_SCHEMA_REGISTRY)')
    .option('--linger-ms <ms>', 'how long a batch waits to fill', '5')
    .option('--max-batch <n>', 'messages per produce', '500')
    .option('--max-in-flight <n>', 'messages taken in and not yet durable; MQTT reading pauses above it', '5000')
    .option('--http-port <port>', 'also serve the HTTP gateway POST /v1/telemetry (202 once durable, 400 per-item reasons, 413) on 127.0.0.1:<port>')
    .option('--metrics-port <port>', 'serve Prometheus metrics at http://127.0.0.1:<port>/metrics')
    .option('--log-level <level>', 'pino log level on stderr', 'info')
    .option('--mqtt-username <name>', 'user name on a secured broker (default $SLUICE_MQTT_USERNAME; `sluice devices provision` makes one)')
    .option('--mqtt-password-file <file>', 'file holding the MQTT password (default $SLUICE_MQTT_PASSWORD_FILE, or the password itself in $SLUICE_MQTT_PASSWORD; never on the command line)')
    .option('--mqtt-ca-file <file>', 'CA certificate (PEM) to trust for mqtts:// (default $SLUICE_MQTT_CA_FILE)')
    .addHelpText('after', `
Example:
  sluice ingest --mqtt-url mqtt://127.0.0.1:1884 --stream kafka://127.0.0.1:9092/telemetry \\
    --dead-letter kafka://127.0.0.1:9092/telemetry-dlq --schema-registry ./schemas.json`)
    .action(async (flags: IngestFlags) => runIngest(flags));
}

async function runIngest(flags: IngestFlags): Promise<void> {
  // Every flag is checked before anything opens: a bad --max-batch must not fail after the
  // schemas were registered and the broker connected.
  const registryAddress = schemaRegistrySetting(flags.schemaRegistry, 'ingest encodes Avro');
  const protocolVersion = flags.protocolVersion === '4' ? 4 : flags.protocolVersion === '5' ? 5 : undefined;
  if (protocolVersion === undefined) throw new ConfigError('--protocol-version', `must be 4 or 5, got "${flags.protocolVersion}"`);
  serverUrl(flags.mqttUrl, '--mqtt-url', MQTT_URL);
  const login = resolveMqttLogin(flags, process.env);
  const telemetryAddress = streamAddressSetting(flags.stream, '--stream');
  const deadLetterAddress = streamAddressSetting(flags.deadLetter, '--dead-letter');
  const limits = {
    maxPayloadBytes: nonNegativeInteger(flags.maxPayloadBytes, '--max-payload-bytes'),
    lingerMs: nonNegativeInteger(flags.lingerMs, '--linger-ms'),
    maxBatchMessages: Math.max(1, nonNegativeInteger(flags.maxBatch, '--max-batch')),
    maxInFlightMessages: Math.max(1, nonNegativeInteger(flags.maxInFlight, '--max-in-flight')),
  };
  const httpPort = flags.httpPort === undefined ? undefined : portSetting(flags.httpPort, '--http-port', { allowAny: true });
  const metricsPort = flags.metricsPort === undefined ? undefined : portSetting(flags.metricsPort, '--metrics-port', { allowAny: true });
  const logLevel = logLevelSetting(flags.logLevel, '--log-level');
  await requireServersAnswer([
    // ingest logs in with exactly these credentials: a refused login is an error here too
    mqttCheck(login.url, '--mqtt-url', { username: login.username, password: login.password, ca: login.ca, loginMatters: true }),
    streamServerCheck(telemetryAddress, '--stream'),
    streamServerCheck(deadLetterAddress, '--dead-letter'),
    registryAddress.redis ? redisCheck(registryAddress.address, registryAddress.setting) : undefined,
  ]);
  if (login.password !== undefined && debugPrintsMqttPasswords(process.env)) console.error(MQTT_DEBUG_WARNING);
  const logger = createLogger({ level: logLevel, component: 'ingest' });

  const store = registryAddress.redis ? RedisSchemaStore.connect(registryAddress.address) : new FileSchemaStore(registryAddress.address);
  const registry = new SchemaRegistry(store);
  await registerSluiceSchemas(registry);
  const telemetryClient = openStreamClient(telemetryAddress, { logger, clientId: 'sluice-ingest' });
  const deadLetterClient = openStreamClient(deadLetterAddress, { logger, clientId: 'sluice-ingest-dlq' });
  const metrics = createIngestMetrics();
  const pipelineOptions: IngestPipelineOptions = {
    telemetry: { client: telemetryClient, stream: telemetryAddress.stream },
    deadLetter: { client: deadLetterClient, stream: deadLetterAddress.stream },
    codec: new AvroCodec(registry),
    sourceKind: 'mqtt',
    ...limits,
    metrics,
    logger,
  };
  const pipeline = new IngestPipeline(pipelineOptions);
  // HTTP gets its own batches (and source label) on the same streams and metrics.
  const httpPipeline = httpPort === undefined ? undefined : new IngestPipeline({ ...pipelineOptions, sourceKind: 'http' });
  const ingest = await MqttIngest.start({
    mqttUrl: login.url,
    username: login.username,
    password: login.password,
    ca: login.ca,
    pipeline,
    sharedGroup: flags.shared ? flags.sharedGroup : null,
    topicFilter: flags.topicFilter,
    clientId: flags.clientId ?? `sluice-ingest-${hostname()}`,
    protocolVersion,
    logger,
  });
  const httpServer = httpPipeline
    ? await startHttpIngest({ pipeline: httpPipeline, port: httpPort ?? 0, maxPayloadBytes: pipelineOptions.maxPayloadBytes, logger })
    : undefined;
  const metricsServer = metricsPort === undefined ? undefined : await serveMetrics(metrics.registry, metricsPort);
  // Listen before saying "ready": a SIGTERM sent on that line must drain, not kill (Node's default).
  const stopRequested = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  console.error(`sluice ingest: ${ingest.subscription} on ${login.url}${login.username === undefined ? '' : ` as ${login.username}`} -> ${flags.stream} (dead letters -> ${flags.deadLetter})${httpServer ? `, HTTP at ${httpServer.url}/v1/telemetry` : ''}${metricsServer ? `, metrics at ${metricsServer.url}` : ''}; Ctrl-C to drain and stop`);

  await stopRequested;
  console.error('sluice ingest: draining...');
  await httpServer?.close();
  await ingest.stop();
  await httpPipeline?.drain();
  await metricsServer?.close();
  await telemetryClient.close();
  await deadLetterClient.close();
  await registry.close();
  const stats = ingest.stats;
  console.error(`sluice ingest: stopped (${stats.acked} acked)`);
}
