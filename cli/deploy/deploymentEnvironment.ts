/**
 * Where each environment setting a function reads (processors/README.md) gets its value in a
 * deployment. A stream setting is the address of one of the pipeline's streams on the target;
 * any other setting is a CloudFormation parameter on AWS and a ConfigMap/Secret entry (or a
 * docker-compose value) in a cluster. A function that lists a setting missing here fails the
 * render with the setting's name, so a new setting cannot deploy without a value.
 */
import { ConfigError } from '../../core/errors';
import { PIPELINE_STREAMS } from '../pipeline/pipelineSpec';
import type { PipelineStream } from '../pipeline/pipelineSpec';

export interface StreamSetting {
  kind: 'stream';
  stream: PipelineStream;
}

export interface PlainSetting {
  kind: 'plain';
  /** CloudFormation parameter name */
  parameter: string;
  description: string;
  /** the parameter's default on AWS; undefined = the stack must be given a value */
  awsDefault: string | undefined;
  /** the value in docker-compose and the Kubernetes ConfigMap (or Secret) */
  clusterValue: string;
  /** a password or key: NoEcho on AWS, a Secret in Kubernetes */
  secret?: boolean;
}

export type EnvironmentSetting = StreamSetting | PlainSetting;

/** Where the storage processor keeps its data lake in a container (a volume is mounted there). */
export const CLUSTER_LAKE_DIR = '/var/lib/sluice/lake';

const stream = (name: PipelineStream): StreamSetting => ({ kind: 'stream', stream: name });

export const ENVIRONMENT_SETTINGS: Readonly<Record<string, EnvironmentSetting>> = {
  SLUICE_TELEMETRY_STREAM: stream('telemetry'),
  SLUICE_TELEMETRY_DEAD_LETTER: stream('telemetryDeadLetter'),
  SLUICE_ENRICHED_STREAM: stream('enriched'),
  SLUICE_AGGREGATES_STREAM: stream('aggregates'),
  SLUICE_LATE_STREAM: stream('late'),
  SLUICE_ALERTS_STREAM: stream('alerts'),
  SLUICE_PROCESSOR_DLQ: stream('processorDeadLetter'),
  SLUICE_REDIS_URL: { kind: 'plain', parameter: 'RedisUrl', description: 'Redis for aggregates, leases and state, e.g. redis://my-cache.xxxxxx.cache.amazonaws.com:6379', awsDefault: undefined, clusterValue: 'redis://redis:6379' },
  SLUICE_SCHEMA_REGISTRY: { kind: 'plain', parameter: 'SchemaRegistryUrl', description: 'Schema registry: redis://host:6379 (usually the same Redis)', awsDefault: undefined, clusterValue: 'redis://redis:6379' },
  SLUICE_KEY_PREFIX: { kind: 'plain', parameter: 'KeyPrefix', description: 'Redis key prefix', awsDefault: 'sluice', clusterValue: 'sluice' },
  SLUICE_PG_URL: { kind: 'plain', parameter: 'PostgresUrl', description: 'PostgreSQL connection string, e.g. postgres://user:password@host:5432/sluice', awsDefault: undefined, clusterValue: 'postgres://sluice:sluice@postgres:5432/sluice', secret: true },
  SLUICE_UNKNOWN_DEVICES: { kind: 'plain', parameter: 'UnknownDevices', description: 'transform: what to do with readings of devices missing from the registry (empty: the processor default)', awsDefault: '', clusterValue: '' },
  SLUICE_DEDUPE_WINDOW: { kind: 'plain', parameter: 'DedupeWindow', description: 'transform: recent seqs kept per device for duplicate detection (empty: the processor default)', awsDefault: '', clusterValue: '' },
  SLUICE_DEDUPE_TTL_SECONDS: { kind: 'plain', parameter: 'DedupeTtlSeconds', description: 'transform: how long a silent device keeps its duplicate window (empty: the processor default)', awsDefault: '', clusterValue: '' },
  SLUICE_REGISTRY_CACHE_SECONDS: { kind: 'plain', parameter: 'RegistryCacheSeconds', description: 'transform: device registry cache lifetime (empty: the processor default)', awsDefault: '', clusterValue: '' },
  SLUICE_WINDOWS: { kind: 'plain', parameter: 'Windows', description: 'aggregate: window sizes (empty: the processor default)', awsDefault: '', clusterValue: '' },
  SLUICE_GRACE_MS: { kind: 'plain', parameter: 'GraceMs', description: 'aggregate: lateness grace period in ms (empty: the processor default)', awsDefault: '', clusterValue: '' },
  // Lambda can write only under /tmp, which does not outlive the instance: see infra/aws/README.md.
  SLUICE_LAKE_DIR: { kind: 'plain', parameter: 'LakeDir', description: 'storage: data-lake root directory (on Lambda only /tmp is writable)', awsDefault: '/tmp/sluice-lake', clusterValue: CLUSTER_LAKE_DIR },
  SLUICE_ALERT_RULES: { kind: 'plain', parameter: 'AlertRules', description: 'alerts: rules file (empty: the processor default)', awsDefault: '', clusterValue: '' },
  SLUICE_MQTT_URL: { kind: 'plain', parameter: 'MqttUrl', description: 'alerts: MQTT broker alerts are published to (empty: none)', awsDefault: '', clusterValue: 'mqtt://mosquitto:1883' },
  SLUICE_WEBHOOK_URLS: { kind: 'plain', parameter: 'WebhookUrls', description: 'alerts: comma-separated webhook URLs (empty: none)', awsDefault: '', clusterValue: '' },
  SLUICE_WEBHOOK_SECRET: { kind: 'plain', parameter: 'WebhookSecret', description: 'alerts: HMAC secret for webhook signatures', awsDefault: '', clusterValue: '', secret: true },
};

export function environmentSetting(name: string, functionName: string): EnvironmentSetting {
  const setting = ENVIRONMENT_SETTINGS[name];
  if (!setting) throw new ConfigError(`${functionName}.environment.${name}`, 'has no deployment value: add it to cli/deploy/deploymentEnvironment.ts');
  return setting;
}

/** A setting's value in a cluster (docker-compose, Kubernetes) whose Kafka is at `kafkaBrokers`. */
export function clusterEnvironmentValue(name: string, functionName: string, kafkaBrokers: string): string {
  const setting = environmentSetting(name, functionName);
  return setting.kind === 'stream' ? clusterStreamAddress(kafkaBrokers, PIPELINE_STREAMS[setting.stream]) : setting.clusterValue;
}

/** `kafka://kafka:9092/enriched`: clusters run the pipeline on Kafka. */
export function clusterStreamAddress(kafkaBrokers: string, stream: string): string {
  return `kafka://${kafkaBrokers}/${stream}`;
}
