/**
 * `sluice run`: runs a Lambda handler on a Kafka topic or Kinesis stream with the semantics of
 * an AWS event source mapping. Every ESM knob is a flag named like the AWS setting in kebab
 * case (--batch-size, --bisect-batch-on-function-error, ...), built from the one option table
 * in runtime/mapping, or comes from --config mapping.yaml; flags win over the file.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { SluiceError, isSluiceError } from '../../core/errors';
import { createLogger } from '../../core/logger';
import { loadHandler } from '../../runtime/invoke/loadHandler';
import { loadMappingFile, mappingFromCliFlags, mergeMapping } from '../../runtime/mapping/mappingSources';
import { describeMappingOptions } from '../../runtime/mapping/mappingOptions';
import { resolveMappingConfig } from '../../runtime/mapping/mappingConfig';
import type { MappingConfig } from '../../runtime/mapping/mappingTypes';
import { MappingRunner } from '../../runtime/runner/mappingRunner';
import { openStreamClient } from '../../streams/openStreamClient';
import { formatStreamAddress, parseStreamAddress } from '../../streams/streamAddress';
import type { StreamAddress } from '../../streams/streamAddress';
import { connectRedis, redisUrlFrom } from '../support/redisConnection';
import { serveMetrics } from '../support/metricsServer';
import { REDIS_URL, integerSetting, logLevelSetting, portSetting, serverUrl } from '../support/serverAddresses';
import { redisCheck, requireServersAnswer, streamServerCheck } from '../support/serverChecks';

interface RunFlags extends Record<string, unknown> {
  config?: string;
  redisUrl?: string;
  workerId?: string;
  metricsPort?: string;
  leaseDurationMs?: string;
  sessionTimeoutMs?: string;
  logLevel?: string;
}

/** The mapping from --config and the ESM flags, validated once (a ConfigError names the field). */
export function mappingFromRunFlags(flags: RunFlags): MappingConfig {
  const fromFile = flags.config ? loadMappingFile(flags.config) : {};
  const fromFlags = mappingFromCliFlags(flags);
  const merged = mergeMapping(fromFile, fromFlags);
  return resolveMappingConfig(merged, flags.config ? path.basename(flags.config) : 'command line');
}

interface RunSettings {
  leaseDurationMs: number;
  sessionTimeoutMs: number;
  metricsPort: number | undefined;
  logLevel: string;
}

/** The flags that are not mapping settings, checked with the mapping, before anything starts. */
function runSettingsFromFlags(flags: RunFlags): RunSettings {
  return {
    leaseDurationMs: integerSetting(flags.leaseDurationMs ?? '10000', '--lease-duration-ms', 1, 86_400_000),
    // the broker enforces its own range (group.min/max.session.timeout.ms); this catches what is not a number
    sessionTimeoutMs: integerSetting(flags.sessionTimeoutMs ?? '30000', '--session-timeout-ms', 1, 86_400_000),
    metricsPort: flags.metricsPort === undefined ? undefined : portSetting(flags.metricsPort, '--metrics-port', { allowAny: true }),
    logLevel: logLevelSetting(flags.logLevel ?? 'info', '--log-level'),
  };
}

/** --redis-url, else $SLUICE_REDIS_URL, else the local default; errors name the one that was used. */
function redisSetting(flag: string | undefined): { url: string; setting: string } {
  const setting = flag !== undefined ? '--redis-url' : process.env.SLUICE_REDIS_URL ? '$SLUICE_REDIS_URL' : '--redis-url (default)';
  return { url: serverUrl(redisUrlFrom(flag), setting, REDIS_URL), setting };
}

const camelCase = (flag: string): string => flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

/** Like AWS CreateEventSourceMapping: a mapping to a stream that does not exist is refused, before anything runs. */
async function requireSourceStream(source: StreamAddress, setting: string): Promise<void> {
  // no logger: the client library's own retries and warnings would come before the one error
  const client = openStreamClient(source);
  try {
    await client.listPartitions(source.stream);
  } catch (error) {
    if (!isSluiceError(error, 'STREAM_NOT_FOUND')) throw error;
    throw new SluiceError('STREAM_NOT_FOUND', `${setting}: the source stream "${source.stream}" does not exist on ${formatStreamAddress(source).replace(/\/[^/]*$/, '')}`, {
      hint: 'create it first (the producer, `sluice up` or your infrastructure does), or fix the name',
    });
  } finally {
    await client.close().catch(() => undefined);
  }
}

export function registerRunCommand(program: Command): void {
  const command = program
    .command('run')
    .description('run a Lambda handler on a Kafka topic or Kinesis stream, with the semantics of an AWS event source mapping')
    .option('--config <mapping.yaml>', 'mapping file (YAML or JSON, AWS setting names); flags override it')
    .option('--redis-url <url>', 'Redis for Kinesis leases and tumbling-window state (default $SLUICE_REDIS_URL or redis://127.0.0.1:6379)')
    .option('--worker-id <id>', 'this worker\'s name in the lease table (default: random)')
    .option('--lease-duration-ms <ms>', 'Kinesis: how long a shard lease holds without renewal before another worker may take it (KCL failover time)', '10000')
    .option('--session-timeout-ms <ms>', 'Kafka: how long the consumer group waits for a worker that stopped heartbeating before its partitions go to another (failover time; the broker allows 6000..1800000 by default)', '30000')
    .option('--metrics-port <port>', 'serve Prometheus metrics at http://127.0.0.1:<port>/metrics')
    .option('--log-level <level>', 'pino log level on stderr', 'info');
  for (const option of describeMappingOptions()) {
    const flag = option.valueName ? `--${option.name} ${option.valueName}` : `--${option.name}`;
    const details = [option.range ? `range ${option.range}` : undefined, option.default === 'required' ? 'required' : option.default ? `default ${option.default}` : undefined, option.sources.length === 1 ? `${option.sources[0]} only` : undefined].filter(Boolean).join('; ');
    const described = new Option(flag, `${option.help}${details ? ` (${details})` : ''}`);
    if (option.choices) described.choices(option.choices);
    command.addOption(described);
  }
  command.addHelpText('after', `
Examples:
  sluice run --handler ./processors/echo.ts#handler --source kinesis://127.0.0.1:4567/telemetry --starting-position TRIM_HORIZON
  sluice run --config mapping.yaml --batch-size 500 --maximum-retry-attempts 2 --on-failure kafka://127.0.0.1:9092/dlq
Ctrl-C drains: in-flight batches finish and are checkpointed, then the worker exits.`);

  command.action(async (flags: RunFlags) => {
    const mapping = mappingFromRunFlags(flags);
    const settings = runSettingsFromFlags(flags);
    const source = parseStreamAddress(mapping.Source);
    const destinationAddress = mapping.DestinationConfig?.OnFailure.Destination;
    const needsRedis = source.kind === 'kinesis' || mapping.TumblingWindowInSeconds > 0;
    const redisUrl = needsRedis ? redisSetting(flags.redisUrl) : undefined;
    // not needed by this mapping, but a mistyped URL is still a mistake worth saying
    if (!needsRedis && flags.redisUrl !== undefined) serverUrl(flags.redisUrl, '--redis-url', REDIS_URL);
    // Before anything connects: the handler loads (a missing file or export is a configuration
    // error), every named server answers, and the source stream exists (AWS refuses a mapping
    // to a missing stream too).
    loadHandler(mapping.Function.Handler, process.cwd());
    const nameOf = (flag: string, key: string): string => (flags[camelCase(flag)] !== undefined || !flags.config ? `--${flag}` : `${path.basename(flags.config)}: ${key}`);
    const sourceSetting = nameOf('source', 'Source');
    await requireServersAnswer([
      streamServerCheck(source, sourceSetting),
      destinationAddress ? streamServerCheck(parseStreamAddress(destinationAddress), nameOf('on-failure', 'DestinationConfig.OnFailure.Destination')) : undefined,
      redisUrl ? redisCheck(redisUrl.url, redisUrl.setting) : undefined,
    ]);
    await requireSourceStream(source, sourceSetting);

    const logger = createLogger({ level: settings.logLevel, component: 'run' });
    const client = openStreamClient(source, { logger, clientId: `sluice-${mapping.FunctionName}` });
    const destinationClient = destinationAddress ? openStreamClient(destinationAddress, { logger }) : undefined;
    const redis = redisUrl ? await connectRedis(redisUrl.url) : undefined;
    const runner = new MappingRunner({
      mapping, client, redis, workerId: flags.workerId, logger, leaseDurationMs: settings.leaseDurationMs, sessionTimeoutMs: settings.sessionTimeoutMs,
      destination: destinationClient && destinationAddress ? { client: destinationClient, stream: parseStreamAddress(destinationAddress).stream } : undefined,
    });
    const metricsServer = settings.metricsPort === undefined ? undefined : await serveMetrics(runner.metrics.registry, settings.metricsPort);
    await runner.start();
    console.error(`sluice run: ${mapping.FunctionName} on ${mapping.Source} as ${runner.workerId}${metricsServer ? `, metrics at ${metricsServer.url}` : ''}; Ctrl-C to drain and stop`);
    await new Promise<void>((resolve) => {
      const stop = (): void => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    console.error('sluice run: draining in-flight batches...');
    await runner.stop();
    await metricsServer?.close();
    await client.close();
    await destinationClient?.close();
    redis?.disconnect();
    console.error('sluice run: stopped');
  });
}
