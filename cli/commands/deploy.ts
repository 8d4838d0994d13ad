/**
 * `sluice deploy render`: the pipeline as deployment files, from the same table and mapping
 * settings `sluice up` runs locally: a SAM template on Kinesis or MSK, docker-compose, or
 * Kubernetes manifests with KEDA. `--check` compares instead of writing (for CI).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError, SluiceError } from '../../core/errors';
import { loadMappingFile } from '../../runtime/mapping/mappingSources';
import { PROJECT_ROOT } from '../deploy/pipelineDeployment';
import type { DeployTarget, RenderOptions } from '../deploy/renderTargets';
import { COMMITTED_RENDERINGS, DEPLOY_TARGETS, renderDeployment } from '../deploy/renderTargets';

interface RenderFlags {
  target: string;
  out?: string;
  config?: string;
  kafkaBrokers?: string;
  image?: string;
  partitions?: string;
  check?: boolean;
}

/** Settings a --config file may not set: each function has its own. */
const PER_FUNCTION_SETTINGS = ['FunctionName', 'Source'];

function renderOptions(flags: RenderFlags): RenderOptions {
  const options: RenderOptions = { kafkaBrokers: flags.kafkaBrokers, image: flags.image };
  if (flags.partitions !== undefined) {
    const partitions = Number(flags.partitions);
    if (!Number.isSafeInteger(partitions) || partitions < 1) throw new ConfigError('--partitions', `must be a positive integer, got "${flags.partitions}"`);
    options.partitions = partitions;
  }
  if (flags.config) {
    const overrides = loadMappingFile(flags.config);
    for (const key of PER_FUNCTION_SETTINGS) if (key in overrides) throw new ConfigError(`${flags.config}: ${key}`, 'is set per pipeline function and cannot be overridden for all of them');
    const handler = (overrides.Function as Record<string, unknown> | undefined)?.Handler;
    if (handler !== undefined) throw new ConfigError(`${flags.config}: Function.Handler`, 'is set per pipeline function and cannot be overridden for all of them');
    options.overrides = overrides;
  }
  return options;
}

function renderOne(target: DeployTarget, flags: RenderFlags, options: RenderOptions): string {
  const text = renderDeployment(target, options);
  if (flags.out === '-') {
    process.stdout.write(text);
    return `${target}: written to standard output`;
  }
  const file = flags.out ? path.resolve(flags.out) : path.join(PROJECT_ROOT, COMMITTED_RENDERINGS[target]);
  if (flags.check) {
    let current: string | undefined;
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      current = undefined;
    }
    if (current !== text) throw new SluiceError('CONFIG_INVALID', `${file} is not what \`sluice deploy render --target ${target}\` renders now: render it again and commit it`);
    return `${target}: ${file} is up to date`;
  }
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return `${target}: wrote ${file}`;
}

export function registerDeployCommand(program: Command): void {
  const deploy = program.command('deploy').description('deployment files for AWS Lambda (SAM), docker-compose and Kubernetes, from the pipeline sluice runs locally');
  deploy
    .command('render')
    .description('render the pipeline as a SAM template (kinesis, msk), docker-compose file (compose) or Kubernetes manifests (k8s)')
    .requiredOption('--target <target>', `${DEPLOY_TARGETS.join(' | ')} | all`)
    .option('--out <file>', 'where to write it (default: the committed file for the target, e.g. infra/aws/template-kinesis.yaml); - for standard output')
    .option('--config <mapping.yaml>', 'mapping settings (AWS names, YAML or JSON) applied to every pipeline function, as `sluice up` would')
    .option('--kafka-brokers <host:port,...>', 'compose/k8s: the Kafka bootstrap brokers (default kafka:9092)')
    .option('--image <name>', 'compose/k8s: the sluice image (default sluice:<version>)')
    .option('--partitions <n>', 'compose/k8s: partitions per topic, and the most replicas KEDA runs per function (default 3 compose, 6 k8s)')
    .option('--check', 'do not write: fail if the file differs from a fresh render (CI)')
    .addHelpText('after', `
Examples:
  sluice deploy render --target all                       refresh every committed file
  sluice deploy render --target kinesis --out template.yaml && sam build -t template.yaml
  sluice deploy render --target k8s --kafka-brokers my-kafka-bootstrap:9092 --image registry.example/sluice:0.1.0 --out sluice.yaml
  sluice deploy render --target all --check               CI: fail if a committed file is stale`)
    .action((flags: RenderFlags) => {
      const targets: DeployTarget[] = flags.target === 'all' ? [...DEPLOY_TARGETS] : DEPLOY_TARGETS.filter((target) => target === flags.target);
      if (targets.length === 0) throw new ConfigError('--target', `must be one of ${DEPLOY_TARGETS.join(', ')}, all; got "${flags.target}"`);
      if (targets.length > 1 && flags.out !== undefined) throw new ConfigError('--out', 'names one file: give it with a single --target');
      const options = renderOptions(flags);
      for (const target of targets) console.error(`sluice deploy render: ${renderOne(target, flags, options)}`);
    });
}
