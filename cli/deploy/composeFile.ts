/**
 * infra/docker-compose.yml (`sluice deploy render --target compose`): Kafka (KRaft, the
 * apache/kafka image of the version `sluice infra up` runs), Redis, Mosquitto with the project's
 * broker settings, PostgreSQL, a one-shot job that creates the topics, and the sluice containers.
 * Every service has a healthcheck; sluice containers start once what they need is healthy.
 */
import { defaultKafkaVersion } from '../../infra/kafka/kafkaJars';
import type { ClusterOptions, SluiceContainer } from './clusterDeployment';
import { DOCKERFILE, METRICS_PROBE_COMMAND, topicCreationScript } from './clusterDeployment';
import { CLUSTER_LAKE_DIR, clusterEnvironmentValue, ENVIRONMENT_SETTINGS } from './deploymentEnvironment';

export const COMPOSE_KAFKA_BROKERS = 'kafka:9092';
/** The image's Mosquitto config: a container listener, then the project's broker settings included. */
export const COMPOSE_MOSQUITTO_CONF = './docker/mosquitto.conf';
export const COMPOSE_MOSQUITTO_INCLUDE_DIR = '/mosquitto/config/sluice.d';

const KAFKA_DATA_DIR = '/var/lib/kafka/data';
const HEALTH_TIMING = { interval: '5s', timeout: '10s', retries: 30, start_period: '10s' };

/** user:password@postgres:5432/database of the cluster's SLUICE_PG_URL, so the server and its clients agree. */
function postgresSettings(): { user: string; password: string; database: string } {
  const setting = ENVIRONMENT_SETTINGS.SLUICE_PG_URL;
  const url = new URL(setting?.kind === 'plain' ? setting.clusterValue : '');
  return { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password), database: url.pathname.slice(1) };
}

function infrastructureServices(options: ClusterOptions): Record<string, unknown> {
  const kafkaImage = `apache/kafka:${defaultKafkaVersion()}`;
  const postgres = postgresSettings();
  return {
    kafka: {
      image: kafkaImage,
      environment: {
        // The image takes its whole config from KAFKA_* variables once one is set: all of a
        // single-node KRaft broker's settings are here, as infra/kafka/kafkaServer.ts writes them.
        CLUSTER_ID: 'c2x1aWNlLWNvbXBvc2UtMQ',
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${options.kafkaBrokers}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@kafka:9093',
        KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
        KAFKA_LOG_DIRS: KAFKA_DATA_DIR,
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        // As `sluice infra up`: a typo in a topic name fails loudly instead of creating a topic nobody reads.
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      },
      volumes: [`kafka-data:${KAFKA_DATA_DIR}`],
      healthcheck: { test: ['CMD-SHELL', `/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server ${options.kafkaBrokers} > /dev/null 2>&1`], ...HEALTH_TIMING },
    },
    'kafka-topics': {
      image: kafkaImage,
      entrypoint: ['/bin/sh', '-c'],
      command: [topicCreationScript(options.kafkaBrokers, options.partitions)],
      depends_on: { kafka: { condition: 'service_healthy' } },
      restart: 'no',
    },
    redis: {
      image: 'redis:7.4-alpine',
      healthcheck: { test: ['CMD', 'redis-cli', 'ping'], ...HEALTH_TIMING },
    },
    mosquitto: {
      image: 'eclipse-mosquitto:2',
      volumes: [`${COMPOSE_MOSQUITTO_CONF}:/mosquitto/config/mosquitto.conf:ro`, `./mosquitto/mosquitto.conf:${COMPOSE_MOSQUITTO_INCLUDE_DIR}/sluice.conf:ro`],
      ports: ['1883:1883'],
      healthcheck: { test: ['CMD', 'mosquitto_pub', '-p', '1883', '-t', 'sluice/healthcheck', '-m', 'ok'], ...HEALTH_TIMING },
    },
    postgres: {
      image: 'postgres:16-alpine',
      environment: { POSTGRES_USER: postgres.user, POSTGRES_PASSWORD: postgres.password, POSTGRES_DB: postgres.database },
      volumes: ['postgres-data:/var/lib/postgresql/data'],
      healthcheck: { test: ['CMD-SHELL', `pg_isready -U ${postgres.user} -d ${postgres.database}`], ...HEALTH_TIMING },
    },
  };
}

function sluiceService(container: SluiceContainer, options: ClusterOptions): Record<string, unknown> {
  const environment: Record<string, string> = {};
  for (const name of container.environment) environment[name] = clusterEnvironmentValue(name, container.name, options.kafkaBrokers);
  const dependsOn: Record<string, { condition: string }> = { 'kafka-topics': { condition: 'service_completed_successfully' }, redis: { condition: 'service_healthy' } };
  if (container.environment.includes('SLUICE_PG_URL')) dependsOn.postgres = { condition: 'service_healthy' };
  if (container.environment.includes('SLUICE_MQTT_URL')) dependsOn.mosquitto = { condition: 'service_healthy' };
  return {
    image: options.image,
    build: { context: '..', dockerfile: DOCKERFILE },
    command: container.args,
    environment,
    ...(container.ports.http === undefined ? {} : { ports: [`${container.ports.http}:${container.ports.http}`] }),
    ...(container.environment.includes('SLUICE_LAKE_DIR') ? { volumes: [`lake:${CLUSTER_LAKE_DIR}`] } : {}),
    depends_on: dependsOn,
    healthcheck: { test: ['CMD', ...METRICS_PROBE_COMMAND], ...HEALTH_TIMING },
    restart: 'unless-stopped',
  };
}

export function renderComposeFile(containers: SluiceContainer[], options: ClusterOptions): Record<string, unknown> {
  const services: Record<string, unknown> = infrastructureServices(options);
  for (const container of containers) services[container.name] = sluiceService(container, options);
  return { name: 'sluice', services, volumes: { 'kafka-data': {}, 'postgres-data': {}, lake: {} } };
}
