/**
 * Resolves a mapping (from a file, CLI flags, or both merged) into a MappingConfig: AWS
 * defaults per source kind, AWS ranges, one validation at start-up. Every problem is a
 * ConfigError naming the setting (`mapping.BatchSize: must be 1..10000, got 0 (in run.yaml)`).
 *
 * Decisions where AWS differs by source (Lambda developer guide, 2025-2026):
 * - ParallelizationFactor, TumblingWindowInSeconds, AT_TIMESTAMP: Kinesis only; refused for Kafka.
 * - BisectBatchOnFunctionError, MaximumRetryAttempts, MaximumRecordAgeInSeconds: AWS supports
 *   them for Kafka too (provisioned mode, "Configuring error handling controls for Kafka event
 *   sources", same ranges and defaults), so sluice accepts them for both.
 * - Kafka with an on-failure destination and infinite retries: AWS applies at most 10 retries,
 *   and so does this resolver (MaximumRetryAttempts becomes 10).
 * - MaximumBatchingWindowInSeconds defaults to 0 for Kinesis and 0.5 s for Kafka (the AWS API
 *   takes whole seconds, so a configured value must be an integer).
 * - StartingPosition is required by AWS; sluice defaults it to LATEST.
 */
import { ConfigError, isSluiceError } from '../../core/errors';
import { parseStreamAddress } from '../../streams/streamAddress';
import type { StreamAddress } from '../../streams/streamAddress';
import { validateFilterCriteria } from '../filter/filterCriteria';
import { describeValue, isPlainObject, scalarProblem, unknownKeyProblem } from './configChecks';
import type { MappingOptionSpec } from './mappingOptions';
import { MAPPING_OPTIONS, RUNTIME_MODE_DEFAULTS } from './mappingOptions';
import type { FilterCriteria, MappingConfig, MappingInput, RuntimeMode, SourceKind } from './mappingTypes';
import { functionNameFromHandler, parseHandlerSpec } from './handlerSpec';

// One import point for the mapping API (the CLI and the engine need only this file).
export type * from './mappingTypes';
export { describeMappingOptions } from './mappingOptions';
export type { MappingOptionDescription } from './mappingOptions';
export { loadMappingFile, mappingFromCliFlags, mergeMapping } from './mappingSources';
export { functionNameFromHandler, parseHandlerSpec } from './handlerSpec';

const ROOT = 'mapping';
const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The keys each object level may hold, derived from the option table. */
function knownKeysByContainer(): Map<string, string[]> {
  const known = new Map<string, string[]>();
  for (const spec of MAPPING_OPTIONS) {
    const parts = spec.path.split('.');
    for (let depth = 0; depth < parts.length; depth += 1) {
      const container = parts.slice(0, depth).join('.');
      const keys = known.get(container) ?? [];
      const key = parts[depth] ?? '';
      if (!keys.includes(key)) keys.push(key);
      known.set(container, keys);
    }
  }
  return known;
}
const KNOWN_KEYS = knownKeysByContainer();

export function mappingSourceAddress(config: Pick<MappingConfig, 'Source'>): StreamAddress {
  return parseStreamAddress(config.Source);
}

export function mappingSourceKind(config: Pick<MappingConfig, 'Source'>): SourceKind {
  return mappingSourceAddress(config).kind;
}

class MappingResolver {
  constructor(private readonly input: MappingInput, private readonly origin: string) {}

  fail(path: string, problem: string): never {
    throw new ConfigError(`${ROOT}.${path}`, `${problem} (in ${this.origin})`);
  }

  /** Refuses keys no setting has, level by level, with a did-you-mean. */
  checkKeys(value: Record<string, unknown>, container: string): void {
    const known = KNOWN_KEYS.get(container) ?? [];
    for (const [key, child] of Object.entries(value)) {
      const path = container ? `${container}.${key}` : key;
      if (container === 'DestinationConfig' && key === 'OnSuccess') this.fail(path, 'AWS has no on-success destination for stream sources; only OnFailure');
      if (!known.includes(key)) this.fail(path, unknownKeyProblem(key, known));
      if (KNOWN_KEYS.has(path) && child !== undefined && child !== null) {
        if (!isPlainObject(child)) this.fail(path, `must be an object, got ${describeValue(child)}`);
        this.checkKeys(child, path);
      }
    }
  }

  /** The value at a dot path; null (an empty YAML value) counts as not set. */
  valueAt(path: string): unknown {
    let value: unknown = this.input;
    for (const part of path.split('.')) {
      if (!isPlainObject(value)) return undefined;
      value = value[part];
    }
    return value === null ? undefined : value;
  }

  /** A knob's value: given (validated) or the AWS default for this source kind. */
  setting(spec: MappingOptionSpec, kind: SourceKind, address: string): unknown {
    const value = this.valueAt(spec.path);
    if (!(kind in spec.defaults)) {
      if (value === undefined) return undefined;
      this.fail(spec.path, `AWS supports it only for ${kind === 'kafka' ? 'Kinesis' : 'Kafka'} sources, not for ${address}`);
    }
    if (value === undefined) return spec.defaults[kind];
    const problem = scalarProblem(spec, value);
    if (problem) this.fail(spec.path, problem);
    return value;
  }

  resolve(): MappingConfig {
    if (!isPlainObject(this.input)) throw new ConfigError(ROOT, `must be an object of settings, got ${describeValue(this.input)} (in ${this.origin})`);
    this.checkKeys(this.input, '');
    const source = this.valueAt('Source');
    if (source === undefined) this.fail('Source', 'is required: the stream to read (kafka://host:port/topic or kinesis://host:port/stream)');
    const sourceProblem = scalarProblem({ path: 'Source', flag: 'source', type: 'address', defaults: {}, help: '' }, source);
    if (sourceProblem) this.fail('Source', sourceProblem);
    const address = this.parseAddress('Source', source as string);
    const kind = address.kind;
    const get = (path: string): unknown => {
      const spec = MAPPING_OPTIONS.find((candidate) => candidate.path === path);
      if (!spec) throw new Error(`no mapping option ${path}`);
      return this.setting(spec, kind, source as string);
    };

    const handler = this.valueAt('Function.Handler');
    if (handler === undefined) this.fail('Function.Handler', 'is required: the handler to run, e.g. ./processors/aggregate.ts#handler');
    const handlerText = get('Function.Handler') as string;
    const { file, exportName } = parseHandlerSpec(handlerText);
    if (!file || !exportName) this.fail('Function.Handler', `must look like ./path/to/file.ts#exportName, got ${describeValue(handlerText)}`);
    const functionName = (get('FunctionName') as string | undefined) ?? functionNameFromHandler(handlerText);
    if (!FUNCTION_NAME.test(functionName)) this.fail('FunctionName', `must be 1..64 letters, digits, - or _, got ${describeValue(functionName)}`);

    const startingPosition = get('StartingPosition') as MappingConfig['StartingPosition'];
    if (startingPosition === 'AT_TIMESTAMP' && kind === 'kafka') this.fail('StartingPosition', `AT_TIMESTAMP is Kinesis only; use LATEST or TRIM_HORIZON for ${source as string}`);
    const timestamp = get('StartingPositionTimestamp') as number | undefined;
    if (startingPosition === 'AT_TIMESTAMP' && timestamp === undefined) this.fail('StartingPositionTimestamp', 'is required with StartingPosition AT_TIMESTAMP (epoch seconds)');
    if (startingPosition !== 'AT_TIMESTAMP' && timestamp !== undefined) this.fail('StartingPositionTimestamp', `applies only to StartingPosition AT_TIMESTAMP, not ${startingPosition}`);

    const destinationConfig = this.destinationConfig(get, source as string);
    let maximumRetryAttempts = get('MaximumRetryAttempts') as number;
    // AWS: a Kafka mapping with infinite retries and an on-failure destination retries at most 10 times.
    if (kind === 'kafka' && destinationConfig && maximumRetryAttempts === -1) maximumRetryAttempts = 10;

    const mode = get('Runtime.Mode') as RuntimeMode;
    const maxInstances = get('Runtime.MaxInstances') as number | undefined;
    const reserved = get('Function.ReservedConcurrentExecutions') as number | undefined;
    const filterCriteria = this.filterCriteria(kind);
    const config: MappingConfig = {
      FunctionName: functionName,
      Source: source as string,
      Enabled: get('Enabled') as boolean,
      BatchSize: get('BatchSize') as number,
      MaximumBatchingWindowInSeconds: get('MaximumBatchingWindowInSeconds') as number,
      StartingPosition: startingPosition,
      ParallelizationFactor: (get('ParallelizationFactor') as number | undefined) ?? 1,
      BisectBatchOnFunctionError: get('BisectBatchOnFunctionError') as boolean,
      MaximumRetryAttempts: maximumRetryAttempts,
      MaximumRecordAgeInSeconds: get('MaximumRecordAgeInSeconds') as number,
      FunctionResponseTypes: this.functionResponseTypes(),
      TumblingWindowInSeconds: (get('TumblingWindowInSeconds') as number | undefined) ?? 0,
      Function: {
        Handler: handlerText,
        Timeout: get('Function.Timeout') as number,
        MemorySize: get('Function.MemorySize') as number,
        ...(reserved === undefined ? {} : { ReservedConcurrentExecutions: reserved }),
      },
      Runtime: {
        Mode: mode,
        PollIntervalMs: (get('Runtime.PollIntervalMs') as number | undefined) ?? RUNTIME_MODE_DEFAULTS[mode].PollIntervalMs,
        ColdStartMs: (get('Runtime.ColdStartMs') as number | undefined) ?? RUNTIME_MODE_DEFAULTS[mode].ColdStartMs,
        ExtraLatencyMs: (get('Runtime.ExtraLatencyMs') as number | undefined) ?? 0,
        ...(maxInstances === undefined ? {} : { MaxInstances: maxInstances }),
      },
    };
    if (timestamp !== undefined) config.StartingPositionTimestamp = timestamp;
    if (destinationConfig) config.DestinationConfig = destinationConfig;
    if (filterCriteria) config.FilterCriteria = filterCriteria;
    return config;
  }

  parseAddress(path: string, value: string): StreamAddress {
    try {
      return parseStreamAddress(value);
    } catch (error) {
      if (isSluiceError(error, 'ADDRESS_INVALID')) this.fail(path, error.message);
      throw error;
    }
  }

  destinationConfig(get: (path: string) => unknown, source: string): MappingConfig['DestinationConfig'] {
    const destination = get('DestinationConfig.OnFailure.Destination') as string | undefined;
    const includeRecords = this.valueAt('DestinationConfig.OnFailure.IncludeRecords');
    if (destination === undefined) {
      if (includeRecords !== undefined) this.fail('DestinationConfig.OnFailure.IncludeRecords', 'needs DestinationConfig.OnFailure.Destination');
      return undefined;
    }
    const target = this.parseAddress('DestinationConfig.OnFailure.Destination', destination);
    const from = this.parseAddress('Source', source);
    // Like AWS's recursion prevention: failures written to the source stream would be read again.
    if (target.kind === from.kind && target.stream === from.stream) this.fail('DestinationConfig.OnFailure.Destination', `is the source stream itself (${destination}); failures would loop`);
    return { OnFailure: { Destination: destination, IncludeRecords: get('DestinationConfig.OnFailure.IncludeRecords') as boolean } };
  }

  functionResponseTypes(): MappingConfig['FunctionResponseTypes'] {
    const value = this.valueAt('FunctionResponseTypes');
    if (value === undefined) return [];
    if (!Array.isArray(value)) this.fail('FunctionResponseTypes', `must be a list (e.g. [ReportBatchItemFailures]), got ${describeValue(value)}`);
    for (const type of value) if (type !== 'ReportBatchItemFailures') this.fail('FunctionResponseTypes', `the only response type is ReportBatchItemFailures, got ${describeValue(type)}`);
    return value.length > 0 ? ['ReportBatchItemFailures'] : [];
  }

  /** Patterns may be given as objects in YAML/JSON files for readability; AWS takes strings. */
  filterCriteria(kind: SourceKind): FilterCriteria | undefined {
    const value = this.valueAt('FilterCriteria');
    if (value === undefined) return undefined;
    if (isPlainObject(value)) for (const key of Object.keys(value)) if (key !== 'Filters') this.fail(`FilterCriteria.${key}`, unknownKeyProblem(key, ['Filters']));
    const filters = isPlainObject(value) ? value.Filters : undefined;
    const normalized = Array.isArray(filters)
      ? { Filters: filters.map((filter: unknown) => (isPlainObject(filter) && isPlainObject(filter.Pattern) ? { ...filter, Pattern: JSON.stringify(filter.Pattern) } : filter)) }
      : value;
    try {
      validateFilterCriteria(normalized, kind, `${ROOT}.FilterCriteria`);
    } catch (error) {
      if (error instanceof ConfigError) throw new ConfigError(error.path, `${error.message.slice(error.path.length + 2)} (in ${this.origin})`);
      throw error;
    }
    for (const [index, filter] of ((normalized as { Filters?: unknown[] }).Filters ?? []).entries()) {
      if (isPlainObject(filter)) for (const key of Object.keys(filter)) if (key !== 'Pattern') this.fail(`FilterCriteria.Filters[${index}].${key}`, unknownKeyProblem(key, ['Pattern']));
    }
    return normalized as FilterCriteria;
  }
}

/**
 * Validates a mapping once and fills in the AWS defaults for its source kind. `origin` names
 * where the settings came from (a file path, "command line", ...) for error messages.
 */
export function resolveMappingConfig(input: unknown, origin: string): MappingConfig {
  return new MappingResolver(input as MappingInput, origin).resolve();
}
