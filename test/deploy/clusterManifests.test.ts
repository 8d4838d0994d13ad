/**
 * docker-compose and the Kubernetes manifests, checked structurally (no Docker engine or cluster
 * here): they parse, every container command is one the real `sluice` CLI accepts and runs the
 * function with exactly its local mapping, every environment setting a function reads is
 * provided, references (images, files, ConfigMaps, Deployments, volumes) exist, healthchecks and
 * metrics ports are in place, and KEDA scales each function on its consumer group.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PIPELINE_FUNCTIONS, PIPELINE_STREAMS, pipelineMappingInputs } from '../../cli/pipeline/pipelineSpec';
import { mappingFromRunFlags } from '../../cli/commands/run';
import { kafkaConsumerGroupId } from '../../cli/deploy/pipelineDeployment';
import { COMMITTED_RENDERINGS } from '../../cli/deploy/renderTargets';
import { defaultKafkaVersion } from '../../infra/kafka/kafkaJars';
import { resolveMappingConfig } from '../../runtime/mapping/mappingConfig';
import type { MappingConfig } from '../../runtime/mapping/mappingTypes';
import { parseStreamAddress } from '../../streams/streamAddress';
import type { Json } from './deployTestSupport';
import { PROJECT_ROOT, at, parseSluiceCommand, parseYaml, parseYamlDocuments, readProjectFile } from './deployTestSupport';

const compose = parseYaml(readProjectFile(COMMITTED_RENDERINGS.compose));
const services = at(compose, 'services') as Record<string, Json>;
const manifests = parseYamlDocuments(readProjectFile(COMMITTED_RENDERINGS.k8s));
const COMPOSE_DIR = path.join(PROJECT_ROOT, path.dirname(COMMITTED_RENDERINGS.compose));

const localMappings = new Map(pipelineMappingInputs({ streamBase: 'kafka://127.0.0.1:9092' }, PROJECT_ROOT).map((input) => {
  const mapping = resolveMappingConfig(input, 'test');
  return [mapping.FunctionName, mapping];
}));

/** What a container's `sluice run` resolves, with the deployment's addresses put back to the local ones. */
async function containerMapping(args: string[]): Promise<MappingConfig> {
  const { command, flags } = await parseSluiceCommand(args);
  expect(command).toBe('run');
  const mapping = mappingFromRunFlags(flags);
  const local = localMappings.get(mapping.FunctionName);
  expect(local).toBeDefined();
  // the container reads the same stream names on its own Kafka
  expect(parseStreamAddress(mapping.Source).stream).toBe(parseStreamAddress(local?.Source ?? '').stream);
  expect(parseStreamAddress(mapping.DestinationConfig?.OnFailure.Destination ?? '').stream).toBe(parseStreamAddress(local?.DestinationConfig?.OnFailure.Destination ?? '').stream);
  return {
    ...mapping,
    Source: local?.Source ?? '',
    DestinationConfig: local?.DestinationConfig,
    Function: { ...mapping.Function, Handler: path.join(PROJECT_ROOT, mapping.Function.Handler) },
  };
}

function topicsCreatedBy(script: string): string[] {
  return [...script.matchAll(/--topic (\S+)/g)].map((match) => match[1] ?? '');
}

describe('docker-compose', () => {
  const sluiceServices = Object.entries(services).filter(([name]) => name.startsWith('sluice-'));

  it('runs Kafka (KRaft, the version sluice infra up runs), Redis, Mosquitto, PostgreSQL, ingest and every pipeline function', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['kafka', 'redis', 'mosquitto', 'postgres', 'sluice-ingest', ...PIPELINE_FUNCTIONS.map((fn) => fn.name)]));
    expect(at(services, 'kafka', 'image')).toBe(`apache/kafka:${defaultKafkaVersion()}`);
    expect(at(services, 'kafka', 'environment', 'KAFKA_PROCESS_ROLES')).toBe('broker,controller');
    expect(at(services, 'kafka', 'environment', 'KAFKA_AUTO_CREATE_TOPICS_ENABLE')).toBe('false');
  });

  it('creates every pipeline topic before a sluice service starts', () => {
    const script = (at(services, 'kafka-topics', 'command') as string[]).join(' ');
    expect(topicsCreatedBy(script).sort()).toEqual(Object.values(PIPELINE_STREAMS).sort());
    for (const [name, service] of sluiceServices) expect({ name, dependsOn: at(service, 'depends_on', 'kafka-topics') }).toEqual({ name, dependsOn: { condition: 'service_completed_successfully' } });
  });

  it('gives long-running services a healthcheck, and waits only on services that have one or that complete', () => {
    for (const [name, service] of Object.entries(services)) {
      if (name !== 'kafka-topics') expect({ name, healthcheck: Array.isArray(at(service, 'healthcheck', 'test')) }).toEqual({ name, healthcheck: true });
      for (const [dependency, { condition }] of Object.entries((service.depends_on ?? {}) as Record<string, { condition: string }>)) {
        expect(services[dependency]).toBeDefined();
        if (condition === 'service_healthy') expect(at(services[dependency], 'healthcheck')).toBeDefined();
        else expect(condition).toBe('service_completed_successfully');
      }
    }
  });

  it('mounts files that exist and volumes it declares', () => {
    const declared = Object.keys((compose.volumes ?? {}) as Json);
    for (const [name, service] of Object.entries(services)) {
      for (const volume of (service.volumes ?? []) as string[]) {
        const [source = ''] = volume.split(':');
        if (source.startsWith('.')) expect({ name, volume, exists: existsSync(path.resolve(COMPOSE_DIR, source)) }).toEqual({ name, volume, exists: true });
        else expect(declared).toContain(source);
      }
    }
    expect(at(services, 'mosquitto', 'volumes')).toEqual(expect.arrayContaining([expect.stringMatching(/^\.\/mosquitto\/mosquitto\.conf:/)]));
  });

  it('builds every sluice service from the Dockerfile, one image', () => {
    const images = new Set(sluiceServices.map(([, service]) => service.image));
    expect(images.size).toBe(1);
    for (const [, service] of sluiceServices) {
      const context = path.resolve(COMPOSE_DIR, at(service, 'build', 'context') as string);
      expect(context).toBe(PROJECT_ROOT);
      expect(existsSync(path.join(context, at(service, 'build', 'dockerfile') as string))).toBe(true);
    }
  });

  it.each(PIPELINE_FUNCTIONS.map((fn) => [fn.name, fn] as const))('runs %s with `sluice run` and exactly its local mapping, with the environment it reads', async (name, fn) => {
    const service = services[name];
    const mapping = await containerMapping(at(service, 'command') as string[]);
    expect(mapping).toEqual(localMappings.get(name));
    const environment = at(service, 'environment') as Record<string, string>;
    expect(Object.keys(environment).sort()).toEqual([...fn.environment].sort());
    for (const value of Object.values(environment).filter((text) => text.startsWith('kafka://'))) {
      expect(Object.values(PIPELINE_STREAMS)).toContain(parseStreamAddress(value).stream);
    }
  });

  it('runs ingest with the CLI, on the telemetry and dead-letter topics, with its broker and registry from the environment', async () => {
    const { command, flags } = await parseSluiceCommand(at(services, 'sluice-ingest', 'command') as string[]);
    expect(command).toBe('ingest');
    expect(parseStreamAddress(flags.stream as string).stream).toBe(PIPELINE_STREAMS.telemetry);
    expect(parseStreamAddress(flags.deadLetter as string).stream).toBe(PIPELINE_STREAMS.telemetryDeadLetter);
    expect(at(services, 'sluice-ingest', 'environment', 'SLUICE_MQTT_URL')).toBe('mqtt://mosquitto:1883');
  });

  it('points the functions at its own PostgreSQL, Redis and Kafka', () => {
    const pg = new URL(at(services, 'sluice-transform', 'environment', 'SLUICE_PG_URL') as string);
    expect(pg.hostname in services).toBe(true);
    expect(at(services, pg.hostname, 'environment')).toEqual({ POSTGRES_USER: pg.username, POSTGRES_PASSWORD: pg.password, POSTGRES_DB: pg.pathname.slice(1) });
    expect(new URL(at(services, 'sluice-transform', 'environment', 'SLUICE_REDIS_URL') as string).hostname in services).toBe(true);
    const brokers = parseStreamAddress(at(services, 'sluice-transform', 'environment', 'SLUICE_ENRICHED_STREAM') as string);
    expect(brokers.kind === 'kafka' ? brokers.brokers : []).toEqual([(at(services, 'kafka', 'environment', 'KAFKA_ADVERTISED_LISTENERS') as string).replace('PLAINTEXT://', '')]);
  });
});

describe('the sluice image', () => {
  const dockerfile = readProjectFile('infra/docker/Dockerfile');
  const ignored = readProjectFile('infra/docker/Dockerfile.dockerignore').split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));

  it('runs bin/sluice.js, which exists', () => {
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "bin\/sluice\.js"\]$/m);
    expect(existsSync(path.join(PROJECT_ROOT, 'bin/sluice.js'))).toBe(true);
  });

  it('keeps every handler and the files the code reads at run time in its build context', () => {
    const needed = ['bin', 'cli', 'core', 'schemas', 'streams', 'runtime', 'ingest', 'processors', 'package.json', 'package-lock.json', ...PIPELINE_FUNCTIONS.map((fn) => fn.handler.split('#')[0] ?? '')];
    for (const file of needed) for (const pattern of ignored) expect({ file, pattern, excluded: file === pattern || file.startsWith(`${pattern}/`) }).toEqual({ file, pattern, excluded: false });
  });
});

describe('Kubernetes manifests', () => {
  const ofKind = (kind: string): Json[] => manifests.filter((manifest) => manifest.kind === kind);
  const named = (kind: string, name: string): Json | undefined => ofKind(kind).find((manifest) => at(manifest, 'metadata', 'name') === name);
  const configMap = (name: string): Record<string, string> => ({ ...((named('ConfigMap', name)?.data ?? {}) as Record<string, string>), ...((named('Secret', name)?.stringData ?? {}) as Record<string, string>) });
  const container = (deployment: Json): Json => (at(deployment, 'spec', 'template', 'spec', 'containers') as Json[])[0] as Json;
  const deployments = ofKind('Deployment');

  it('has a Deployment for ingest and for every pipeline function, all on the compose image', () => {
    expect(deployments.map((deployment) => at(deployment, 'metadata', 'name')).sort()).toEqual(['sluice-ingest', ...PIPELINE_FUNCTIONS.map((fn) => fn.name)].sort());
    const composeImage = at(services, 'sluice-ingest', 'image');
    for (const deployment of deployments) expect(container(deployment).image).toBe(composeImage);
  });

  it('selects its own pods', () => {
    for (const deployment of deployments) expect(at(deployment, 'spec', 'template', 'metadata', 'labels')).toEqual(at(deployment, 'spec', 'selector', 'matchLabels'));
  });

  it.each(PIPELINE_FUNCTIONS.map((fn) => [fn.name, fn] as const))('runs %s with its local mapping and the environment it reads from existing ConfigMaps and Secrets', async (name, fn) => {
    const deployment = named('Deployment', name);
    const mapping = await containerMapping(at(container(deployment ?? {}), 'args') as string[]);
    expect(mapping).toEqual(localMappings.get(name));
    const provided: Record<string, string> = {};
    for (const source of at(container(deployment ?? {}), 'envFrom') as Json[]) {
      const reference = (source.configMapRef ?? source.secretRef) as { name: string };
      const kind = source.configMapRef ? 'ConfigMap' : 'Secret';
      expect({ kind, name: reference.name, exists: named(kind, reference.name) !== undefined }).toEqual({ kind, name: reference.name, exists: true });
      Object.assign(provided, configMap(reference.name));
    }
    for (const variable of fn.environment) expect({ variable, provided: variable in provided }).toEqual({ variable, provided: true });
  });

  it('scales each pipeline function with KEDA on the lag of its consumer group on its source topic', () => {
    const brokers = configMap('sluice-config').SLUICE_KAFKA_BROKERS;
    const topicJob = named('Job', 'sluice-create-topics');
    const created = topicsCreatedBy((at(topicJob, 'spec', 'template', 'spec', 'containers') as Json[]).map((c) => (c.command as string[]).join(' ')).join(' '));
    for (const fn of PIPELINE_FUNCTIONS) {
      const scaler = named('ScaledObject', fn.name);
      expect(at(scaler, 'apiVersion')).toBe('keda.sh/v1alpha1');
      expect(named('Deployment', at(scaler, 'spec', 'scaleTargetRef', 'name') as string)).toBeDefined();
      const [trigger] = at(scaler, 'spec', 'triggers') as Json[];
      expect(trigger?.type).toBe('kafka');
      const metadata = at(trigger, 'metadata') as Record<string, unknown>;
      expect(metadata.topic).toBe(PIPELINE_STREAMS[fn.source]);
      expect(created).toContain(metadata.topic);
      expect(metadata.bootstrapServers).toBe(brokers);
      // KEDA's metadata values are strings
      expect(Object.values(metadata).every((value) => typeof value === 'string')).toBe(true);
      expect(Number(metadata.lagThreshold)).toBe(localMappings.get(fn.name)?.BatchSize);
      expect(metadata.offsetResetPolicy).toBe(localMappings.get(fn.name)?.StartingPosition === 'LATEST' ? 'latest' : 'earliest');
      // the group KEDA measures is the one the Deployment's `sluice run` joins (checked on a real broker in kafkaConsumerGroup.test.ts)
      expect(metadata.consumerGroup).toBe(kafkaConsumerGroupId(fn.name));
    }
  });

  it('annotates every pod and Service for Prometheus, on the port the container serves /metrics on', async () => {
    for (const deployment of deployments) {
      const name = at(deployment, 'metadata', 'name') as string;
      const annotations = at(deployment, 'spec', 'template', 'metadata', 'annotations') as Record<string, string>;
      expect(annotations['prometheus.io/scrape']).toBe('true');
      expect(annotations['prometheus.io/path']).toBe('/metrics');
      const { flags } = await parseSluiceCommand(at(container(deployment), 'args') as string[]);
      expect({ name, port: annotations['prometheus.io/port'] }).toEqual({ name, port: flags.metricsPort });
      const metricsPort = (at(container(deployment), 'ports') as Json[]).find((port) => port.name === 'metrics');
      expect(String(metricsPort?.containerPort)).toBe(flags.metricsPort);
      const service = named('Service', name);
      expect(at(service, 'spec', 'selector')).toEqual(at(deployment, 'spec', 'selector', 'matchLabels'));
      expect((at(service, 'spec', 'ports') as Json[]).find((port) => port.name === 'metrics')?.targetPort).toBe('metrics');
      expect(at(container(deployment), 'readinessProbe')).toBeDefined();
    }
  });

  it('mounts the volumes it declares', () => {
    for (const deployment of deployments) {
      const declared = ((at(deployment, 'spec', 'template', 'spec') as Json).volumes ?? []) as Json[];
      for (const mount of (container(deployment).volumeMounts ?? []) as Json[]) expect(declared.map((volume) => volume.name)).toContain(mount.name);
    }
  });
});
