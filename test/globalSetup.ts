/**
 * Runs once before any jest test: every server the tests use must answer its real protocol.
 * If one does not, the run stops here with one error that lists what is missing and how to
 * start it. Tests never skip because a server is missing.
 */
import type { ProbeResult } from '../infra/probes';
import { probeKafka, probeKinesis, probeMqtt, probePostgres, probeRedis } from '../infra/probes';
import { testServers } from './support/servers';

interface RequiredServer {
  name: string;
  /** the environment variable that points tests elsewhere */
  env: string;
  address: string;
  probe(): Promise<ProbeResult>;
}

/** The servers tests use: all of them must answer, or no test runs. */
const REQUIRED_SERVERS: RequiredServer[] = [
  { name: 'Kafka', env: 'SLUICE_KAFKA_BROKERS', address: testServers.kafkaBrokers.join(','), probe: () => probeKafka(testServers.kafkaBrokers) },
  { name: 'kinesalite', env: 'SLUICE_KINESIS_ENDPOINT', address: testServers.kinesisEndpoint, probe: () => probeKinesis(testServers.kinesisEndpoint) },
  { name: 'Redis', env: 'SLUICE_REDIS_URL', address: testServers.redisUrl, probe: () => probeRedis(testServers.redisUrl) },
  { name: 'Mosquitto (project)', env: 'SLUICE_MQTT_URL', address: testServers.mqttUrl, probe: () => probeMqtt(testServers.mqttUrl) },
  { name: 'Mosquitto (machine)', env: 'SLUICE_SYSTEM_MQTT_URL', address: testServers.systemMqttUrl, probe: () => probeMqtt(testServers.systemMqttUrl) },
  { name: 'PostgreSQL', env: 'SLUICE_PG_URL', address: testServers.postgresUrl, probe: () => probePostgres(testServers.postgresUrl) },
];

export default async function globalSetup(): Promise<void> {
  // The SDK's "Node 22 needed after January 2027" warning would repeat in every test worker;
  // sluice pins the SDK for Node 20 (see package-lock). Workers inherit this variable.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

  const results = await Promise.all(REQUIRED_SERVERS.map(async (server) => ({ server, result: await server.probe() })));
  const missing = results.filter(({ result }) => !result.ok);
  if (missing.length === 0) return;
  const lines = missing.map(({ server, result }) => `  - ${server.name} at ${server.address} (${server.env}): ${result.detail}`);
  throw new Error(
    [
      `sluice tests need real servers, and ${missing.length} of ${REQUIRED_SERVERS.length} do not answer:`,
      ...lines,
      '',
      'Start them with:   npm run infra:up        (see what runs: npm run infra:status)',
      'or point the tests at servers that run, with the environment variables named above.',
    ].join('\n'),
  );
}
