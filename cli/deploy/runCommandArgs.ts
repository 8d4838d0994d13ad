/**
 * The `sluice run` command line that runs one pipeline function in a container (docker-compose,
 * Kubernetes) with exactly its resolved mapping: every setting that differs from what `sluice run`
 * would resolve on its own becomes its flag, so the container runs what `sluice up` runs.
 */
import { ConfigError } from '../../core/errors';
import { resolveMappingConfig } from '../../runtime/mapping/mappingConfig';
import { MAPPING_OPTIONS } from '../../runtime/mapping/mappingOptions';
import type { MappingOptionSpec } from '../../runtime/mapping/mappingOptions';
import type { MappingConfig } from '../../runtime/mapping/mappingTypes';
import { parseStreamAddress } from '../../streams/streamAddress';

/** Where every sluice container serves Prometheus metrics (the usual exporter port). */
export const METRICS_PORT = 9464;

/** Set from the deployment itself, not copied from the local mapping. */
const DEPLOYMENT_SETTINGS = new Set(['Source', 'Function.Handler', 'FunctionName', 'DestinationConfig.OnFailure.Destination']);

function valueAt(config: MappingConfig, path: string): unknown {
  let value: unknown = config;
  for (const part of path.split('.')) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[part] : undefined;
  return value;
}

function flagValue(spec: MappingOptionSpec, value: unknown, functionName: string): string[] {
  const flag = `--${spec.flag}`;
  switch (spec.type) {
    case 'boolean':
      // `sluice run` boolean flags only switch a setting on.
      if (value !== true) throw new ConfigError(`${functionName}.${spec.path}`, `${String(value)} cannot be given to sluice run as a flag (only true can)`);
      return [flag];
    case 'list':
      return [flag, (value as unknown[]).join(',')];
    case 'filter-criteria':
      return [flag, JSON.stringify(value)];
    default:
      return [flag, String(value)];
  }
}

/**
 * `run --function-name ... --handler <handler> --source <source> [settings...] --metrics-port N`.
 * `handler` is relative to the working directory of the container (the project root);
 * `streamAddressOf` turns a local stream address into the deployment's.
 */
export function runCommandArgs(mapping: MappingConfig, handler: string, streamAddressOf: (stream: string) => string): string[] {
  const source = streamAddressOf(parseStreamAddress(mapping.Source).stream);
  const args = ['run', '--function-name', mapping.FunctionName, '--handler', handler, '--source', source];
  // What `sluice run` resolves from these alone: only settings that differ need a flag.
  const baseline = resolveMappingConfig({ FunctionName: mapping.FunctionName, Source: source, Function: { Handler: handler } }, 'baseline');
  for (const spec of MAPPING_OPTIONS) {
    if (DEPLOYMENT_SETTINGS.has(spec.path)) continue;
    const value = valueAt(mapping, spec.path);
    if (value === undefined || JSON.stringify(value) === JSON.stringify(valueAt(baseline, spec.path))) continue;
    args.push(...flagValue(spec, value, mapping.FunctionName));
  }
  const destination = mapping.DestinationConfig?.OnFailure.Destination;
  if (destination !== undefined) args.push('--on-failure', streamAddressOf(parseStreamAddress(destination).stream));
  args.push('--metrics-port', String(METRICS_PORT));
  return args;
}
