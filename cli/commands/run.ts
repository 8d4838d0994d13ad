/**
 * `sluice run`: runs a Lambda handler on a Kafka topic or Kinesis stream with the semantics of
 * an AWS event source mapping. Every ESM knob is a flag named like the AWS setting in kebab
 * case (--batch-size, --bisect-batch-on-function-error, ...), built from the one option table
 * in runtime/mapping, or comes from --config mapping.yaml; flags win over the file.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { createLogger } from '../../core/logger';
import { loadMappingFile, mappingFromCliFlags, mergeMapping } from '../../runtime/mapping/mappingSources';
import { describeMappingOptions } from '../../runtime/mapping/mappingOptions';
import { resolveMappingConfig } from '../../runtime/mapping/mappingConfig';
import type { MappingConfig } from '../../runtime/mapping/mappingTypes';
import { MappingRunner } from '../../runtime/runner/mappingRunner';
import { openStreamClient } from '../../streams/openStreamClient';
import { parseStreamAddress } from '../../streams/streamAddress';
import { connectRedis, redisUrlFrom } from '../support/redisConnection';
import { serveMetrics } from '../support/metricsServer';

interface RunFlags extends Record<string, unknown> {
  config?: string;
  redisUrl?: string;
  workerId?: string;
  metricsPort?: string;
  leaseDurationMs?: string;
  logLevel?: string;
}

/** The mapping from --config and the ESM flags, validated once (a ConfigError names the field). */
export function mappingFromRunFlags(flags: RunFlags): MappingConfig {
  const fromFile = flags.config ? loadMappingFile(flags.config) : {};
  const fromFlags = mappingFromCliFlags(flags);
  const merged = mergeMapping(fromFile, fromFlags);
  return resolveMappingConfig(merged, flags.config ? path.basename(flags.config) : 'command line');
}

export function registerRunCommand(program: Command): void {
  const command = program
    .command('run')
    .description('run a Lambda handler on a Kafka topic or Kinesis stream, with the semantics of an AWS event source mapping')
    .option('--config <mapping.yaml>', 'mapping file (YAML or JSON, AWS setting names); flags override it')
    .option('--redis-url <url>', 'Redis for Kinesis leases and tumbling-window state (default $SLUICE_REDIS_URL or redis://127.0.0.1:6379)')
    .option('--worker-id <id>', 'this worker\'s name in the lease table (default: random)')
    .option('--lease-duration-ms <ms>', 'Kinesis: how long a shard lease holds without renewal before another worker may take it (KCL failover time)', '10000')
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
    const logger = createLogger({ level: flags.logLevel, component: 'run' });
    const source = parseStreamAddress(mapping.Source);
    const client = openStreamClient(source, { logger, clientId: `sluice-${mapping.FunctionName}` });
    const destinationAddress = mapping.DestinationConfig?.OnFailure.Destination;
    const destinationClient = destinationAddress ? openStreamClient(destinationAddress, { logger }) : undefined;
    const needsRedis = source.kind === 'kinesis' || mapping.TumblingWindowInSeconds > 0;
    const redis = needsRedis ? await connectRedis(redisUrlFrom(flags.redisUrl)) : undefined;
    const runner = new MappingRunner({
      mapping, client, redis, workerId: flags.workerId, logger, leaseDurationMs: Number(flags.leaseDurationMs ?? 10_000),
      destination: destinationClient && destinationAddress ? { client: destinationClient, stream: parseStreamAddress(destinationAddress).stream } : undefined,
    });
    const metricsServer = flags.metricsPort ? await serveMetrics(runner.metrics.registry, Number(flags.metricsPort)) : undefined;
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
