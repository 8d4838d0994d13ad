/**
 * `sluice dashboard`: the web dashboard against a pipeline that runs elsewhere (other processes,
 * or AWS). It reads what the running parts keep: the streams (stage figures from Kafka consumer
 * groups or the Kinesis lease table, dead letters), Redis (latest values, windows, alert
 * state) and PostgreSQL (the device registry). `sluice up` serves the same page from inside
 * its own process, with the pipeline's exact counters.
 */
import type { Command } from 'commander';
import { ConfigError } from '../../core/errors';
import { createLogger } from '../../core/logger';
import { DEFAULT_DASHBOARD_PORT, startDashboard } from '../../dashboard/server/dashboardServer';
import { streamPipelineFigures } from '../../dashboard/server/pipelineFigures';
import { openPipelineSources } from '../../dashboard/server/pipelineSources';
import { alertsContext, closeAlertsConnections } from '../../processors/alerts/alertsContext';
import { PG_DISABLED } from '../../processors/alerts/alertSettings';
import { closeSharedResources } from '../../processors/shared/processorResources';
import { openStreamClient } from '../../streams/openStreamClient';
import { parseStreamAddress } from '../../streams/streamAddress';
import { streamAddress } from '../pipeline/pipelineSpec';
import { connectRedis, redisUrlFrom } from '../support/redisConnection';

interface DashboardFlags {
  stream: string;
  streamPrefix?: string;
  redisUrl?: string;
  pgUrl?: string;
  registry: boolean;
  schemaRegistry?: string;
  keyPrefix: string;
  runtimeKeyPrefix: string;
  mqttUrl?: string;
  devicePrefix?: string;
  host: string;
  port: string;
  token?: string;
}

/** `kafka://127.0.0.1:9092`, or any address of one of the pipeline's streams: the base without the stream name. */
export function streamBaseOf(address: string): string {
  const trimmed = address.trim().replace(/\/+$/, '');
  const withName = /^[a-z]+:\/\/[^/]*$/.test(trimmed) ? `${trimmed}/telemetry` : trimmed;
  parseStreamAddress(withName); // names the problem when the address is malformed
  return withName.slice(0, withName.lastIndexOf('/'));
}

function portOf(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError('--port', `must be an integer in 0..65535, got "${text}"`);
  return port;
}

export function registerDashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description('serve the web dashboard (stages, fleet, charts, alerts, dead letters) for a pipeline running elsewhere')
    .option('--stream <address>', 'where the pipeline\'s streams live: kafka://host:port or kinesis://host:port', 'kafka://127.0.0.1:9092')
    .option('--stream-prefix <prefix>', 'the pipeline\'s stream name prefix (sluice up --stream-prefix)')
    .option('--redis-url <url>', 'Redis of the processors and the runtime (default $SLUICE_REDIS_URL or redis://127.0.0.1:6379)')
    .option('--pg-url <url>', 'PostgreSQL with the device registry and alert history (default $SLUICE_PG_URL or postgres://postgres@127.0.0.1:5432/test)')
    .option('--no-registry', 'no PostgreSQL: the fleet is what the aggregate processor has seen')
    .option('--schema-registry <address>', 'schema registry: a file path or redis://... (default $SLUICE_SCHEMA_REGISTRY or the Redis URL)')
    .option('--key-prefix <prefix>', 'Redis key prefix of the processors (SLUICE_KEY_PREFIX)', process.env.SLUICE_KEY_PREFIX ?? 'sluice')
    .option('--runtime-key-prefix <prefix>', 'Redis key prefix of the runtime (Kinesis leases)', 'sluice')
    .option('--mqtt-url <url>', 'broker to publish replayed ingest rejects to (default $SLUICE_MQTT_URL or mqtt://127.0.0.1:1884)')
    .option('--device-prefix <prefix>', 'show only devices whose id starts with this')
    .option('--host <address>', 'address to listen on; anything but loopback requires a token', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free one)', String(DEFAULT_DASHBOARD_PORT))
    .option('--token <token>', 'token the API requires (default $SLUICE_DASHBOARD_TOKEN; generated when --host is not loopback)')
    .addHelpText('after', `
Against running parts the stage figures are what the streams keep: on Kafka the consumer groups'
committed offsets and lag (no errors nor iterator age: those are counted inside the process that
runs the functions), on Kinesis the lease table (held shards only). The page says what is missing.

Examples:
  sluice dashboard                                   Kafka on 127.0.0.1:9092, served on http://127.0.0.1:${DEFAULT_DASHBOARD_PORT}/
  sluice dashboard --stream kinesis://127.0.0.1:4567
  SLUICE_DASHBOARD_TOKEN=... sluice dashboard --host 0.0.0.0`)
    .action(async (flags: DashboardFlags) => {
      // flags are checked before anything connects
      const streamBase = streamBaseOf(flags.stream);
      const port = portOf(flags.port);
      const redisUrl = redisUrlFrom(flags.redisUrl);
      const redis = await connectRedis(redisUrl); // fails fast, naming Redis, when it is down
      const logger = createLogger({ component: 'dashboard' });
      const at = { streamBase, streamPrefix: flags.streamPrefix };
      const pgUrl = flags.registry ? (flags.pgUrl ?? process.env.SLUICE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test') : undefined;
      const schemaRegistry = flags.schemaRegistry ?? process.env.SLUICE_SCHEMA_REGISTRY ?? redisUrl;
      const mqttUrl = flags.mqttUrl ?? process.env.SLUICE_MQTT_URL ?? 'mqtt://127.0.0.1:1884';
      // what the alerts processor would read, so an Ack or Clear reaches its targets at once
      const alertsEnvironment: NodeJS.ProcessEnv = {
        ...process.env,
        SLUICE_REDIS_URL: redisUrl,
        SLUICE_KEY_PREFIX: flags.keyPrefix,
        SLUICE_SCHEMA_REGISTRY: schemaRegistry,
        SLUICE_PG_URL: pgUrl ?? PG_DISABLED,
        SLUICE_ALERTS_STREAM: streamAddress(at, 'alerts'),
        SLUICE_PROCESSOR_DLQ: streamAddress(at, 'processorDeadLetter'),
        SLUICE_MQTT_URL: mqttUrl,
      };
      const figureClient = openStreamClient(parseStreamAddress(`${streamBase}/telemetry`), { logger, clientId: 'sluice-dashboard-figures' });
      const sources = await openPipelineSources({
        ...at,
        figures: streamPipelineFigures({ ...at, client: figureClient, redis, runtimeKeyPrefix: flags.runtimeKeyPrefix }),
        redisUrl,
        pgUrl,
        keyPrefix: flags.keyPrefix,
        schemaRegistry,
        mqttUrl,
        devicePrefix: flags.devicePrefix,
        alertFanout: () => alertsContext(alertsEnvironment).fanout,
        logger,
      });
      const dashboard = await startDashboard({
        sources,
        host: flags.host,
        port,
        token: flags.token ?? (process.env.SLUICE_DASHBOARD_TOKEN || undefined),
        logger,
      }).catch(async (error: unknown) => {
        await Promise.allSettled([sources.close(), figureClient.close(), redis.quit(), closeAlertsConnections(), closeSharedResources()]);
        throw error;
      });
      console.log(`sluice dashboard: ${dashboard.url}`);
      if (dashboard.token !== undefined && flags.token === undefined && !process.env.SLUICE_DASHBOARD_TOKEN) {
        console.log('(the token was generated for this run; set SLUICE_DASHBOARD_TOKEN to keep one)');
      }
      console.log('Stop it with Ctrl-C.');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await dashboard.close();
      await Promise.allSettled([figureClient.close(), redis.quit(), closeAlertsConnections(), closeSharedResources()]);
    });
}
