/**
 * The pipeline as long-running containers, for users who outgrow one machine (docker-compose,
 * Kubernetes): one `sluice ingest` (MQTT and the HTTP gateway) and one `sluice run` per pipeline
 * function, all from one image, on Kafka. docker-compose and the Kubernetes manifests render
 * from this one description.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PIPELINE_STREAMS } from '../pipeline/pipelineSpec';
import { clusterStreamAddress } from './deploymentEnvironment';
import type { DeployedFunction } from './pipelineDeployment';
import { PROJECT_ROOT, kafkaConsumerGroupId } from './pipelineDeployment';
import { METRICS_PORT, runCommandArgs } from './runCommandArgs';
import { INGEST_FUNCTION } from './samTemplate';

export const INGEST_HTTP_PORT = 8080;
/** The Dockerfile that builds the sluice image, relative to the project root. */
export const DOCKERFILE = 'infra/docker/Dockerfile';

export interface ClusterOptions {
  kafkaBrokers: string;
  image: string;
  /** partitions of each topic the topic job creates (and the most replicas KEDA runs per function) */
  partitions: number;
}

export interface KafkaSourceScaling {
  topic: string;
  consumerGroup: string;
  /** records of lag per replica KEDA aims for: one batch of the mapping */
  lagThreshold: number;
  /** where a group without commits starts, as KEDA needs to know to count its lag */
  offsetResetPolicy: 'earliest' | 'latest';
}

export interface SluiceContainer {
  name: string;
  /** arguments of `node bin/sluice.js` (the image's entry point) */
  args: string[];
  /** environment settings (processors/README.md) the container reads */
  environment: readonly string[];
  ports: { metrics: number; http?: number };
  /** the function's memory setting, as the container's memory request */
  memoryMb: number;
  /** set for a pipeline function: how KEDA scales it on its consumer group's lag */
  scaling?: KafkaSourceScaling;
}

/** The sluice image's default name: `sluice:<package version>`. */
export function defaultSluiceImage(): string {
  const packageJson = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version?: string };
  return `sluice:${packageJson.version ?? '0.0.0'}`;
}

export function sluiceContainers(pipeline: DeployedFunction[], options: ClusterOptions): SluiceContainer[] {
  const address = (stream: string): string => clusterStreamAddress(options.kafkaBrokers, stream);
  const ingest: SluiceContainer = {
    name: 'sluice-ingest',
    // --mqtt-url and --schema-registry default to $SLUICE_MQTT_URL and $SLUICE_SCHEMA_REGISTRY.
    args: ['ingest', '--stream', address(PIPELINE_STREAMS.telemetry), '--dead-letter', address(PIPELINE_STREAMS.telemetryDeadLetter), '--http-port', String(INGEST_HTTP_PORT), '--metrics-port', String(METRICS_PORT)],
    environment: ['SLUICE_MQTT_URL', 'SLUICE_SCHEMA_REGISTRY'],
    ports: { metrics: METRICS_PORT, http: INGEST_HTTP_PORT },
    // as much as the ingest Lambda gets
    memoryMb: INGEST_FUNCTION.settings.MemorySize,
  };
  const functions = pipeline.map(({ spec, mapping }): SluiceContainer => ({
    name: spec.name,
    args: runCommandArgs(mapping, spec.handler, address),
    environment: spec.environment,
    ports: { metrics: METRICS_PORT },
    memoryMb: mapping.Function.MemorySize,
    scaling: {
      topic: PIPELINE_STREAMS[spec.source],
      consumerGroup: kafkaConsumerGroupId(mapping.FunctionName),
      lagThreshold: mapping.BatchSize,
      // AT_TIMESTAMP is Kinesis only, so a Kafka mapping starts at one end or the other.
      offsetResetPolicy: mapping.StartingPosition === 'LATEST' ? 'latest' : 'earliest',
    },
  }));
  return [ingest, ...functions];
}

/** A shell line that creates every pipeline topic (idempotent), for the apache/kafka image. */
export function topicCreationScript(kafkaBrokers: string, partitions: number): string {
  return Object.values(PIPELINE_STREAMS)
    .map((topic) => `/opt/kafka/bin/kafka-topics.sh --bootstrap-server ${kafkaBrokers} --create --if-not-exists --topic ${topic} --partitions ${partitions}`)
    .join(' && ');
}

/** A container answers when its own /metrics does (the HTTP servers listen on the container's loopback). */
export const METRICS_PROBE_COMMAND = ['node', '-e', `fetch('http://127.0.0.1:${METRICS_PORT}/metrics').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`];

/** The environment settings any container reads, in a stable order. */
export function environmentNames(containers: SluiceContainer[]): string[] {
  return [...new Set(containers.flatMap((container) => container.environment))].sort();
}
