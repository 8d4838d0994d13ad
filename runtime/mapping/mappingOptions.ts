/**
 * The one table of mapping settings: AWS name, CLI flag, type, AWS range, default per source
 * kind and help text. Validation (mappingConfig.ts), CLI flag parsing (mappingSources.ts) and
 * `sluice run --help` all read it, so a knob is added in one place.
 */
import type { SourceKind } from './mappingTypes';

export type MappingOptionType = 'integer' | 'number' | 'boolean' | 'string' | 'enum' | 'address' | 'list' | 'filter-criteria';

export interface MappingOptionSpec {
  /** where it lives in MappingConfig, dot-separated (`Function.Timeout`) */
  path: string;
  /** kebab-case CLI flag without dashes (`timeout`) */
  flag: string;
  type: MappingOptionType;
  choices?: readonly string[];
  min?: number;
  max?: number;
  /** a value allowed besides min..max (AWS uses -1 for "infinite") */
  special?: number;
  /** the AWS default per source kind; a kind missing here means the knob does not apply to it */
  defaults: Partial<Record<SourceKind, unknown>>;
  /** when the default is not a fixed value (depends on another setting), how to describe it */
  defaultText?: string;
  help: string;
}

const BOTH = (value: unknown): Partial<Record<SourceKind, unknown>> => ({ kinesis: value, kafka: value });

export const MAPPING_OPTIONS: readonly MappingOptionSpec[] = [
  { path: 'Source', flag: 'source', type: 'address', defaults: BOTH(undefined), defaultText: 'required', help: 'stream to read: kafka://host:port/topic or kinesis://host:port/stream (kinesis:///stream for AWS)' },
  { path: 'Function.Handler', flag: 'handler', type: 'string', defaults: BOTH(undefined), defaultText: 'required', help: 'handler to run: ./path/to/file.ts#exportName (export defaults to handler)' },
  { path: 'FunctionName', flag: 'function-name', type: 'string', defaults: BOTH(undefined), defaultText: 'from the handler file name', help: 'function name (letters, digits, - and _; at most 64)' },
  { path: 'Enabled', flag: 'enabled', type: 'boolean', defaults: BOTH(true), help: 'a disabled mapping reads and invokes nothing' },
  { path: 'BatchSize', flag: 'batch-size', type: 'integer', min: 1, max: 10000, defaults: BOTH(100), help: 'most records per invocation' },
  {
    path: 'MaximumBatchingWindowInSeconds', flag: 'maximum-batching-window-in-seconds', type: 'integer', min: 0, max: 300, defaults: { kinesis: 0, kafka: 0.5 },
    help: 'seconds to wait to fill a batch; a batch also goes when full or at the 6 MB payload cap',
  },
  {
    path: 'StartingPosition', flag: 'starting-position', type: 'enum', choices: ['LATEST', 'TRIM_HORIZON', 'AT_TIMESTAMP'], defaults: BOTH('LATEST'),
    defaultText: 'LATEST (AWS requires it; sluice defaults it)', help: 'where a new mapping starts (AT_TIMESTAMP: Kinesis only); afterwards it resumes from its checkpoint',
  },
  { path: 'StartingPositionTimestamp', flag: 'starting-position-timestamp', type: 'number', min: 0, defaults: { kinesis: undefined }, defaultText: 'none', help: 'epoch seconds; required with AT_TIMESTAMP, refused otherwise' },
  { path: 'ParallelizationFactor', flag: 'parallelization-factor', type: 'integer', min: 1, max: 10, defaults: { kinesis: 1 }, help: 'concurrent batches per shard; records with the same partition key stay in order' },
  { path: 'BisectBatchOnFunctionError', flag: 'bisect-batch-on-function-error', type: 'boolean', defaults: BOTH(false), help: 'on error, split the batch in two and retry each half' },
  {
    path: 'MaximumRetryAttempts', flag: 'maximum-retry-attempts', type: 'integer', min: 0, max: 10000, special: -1, defaults: BOTH(-1),
    defaultText: '-1 (infinite; Kafka with an on-failure destination: 10, like AWS)', help: 'retries of a failing batch before it goes to the on-failure destination',
  },
  { path: 'MaximumRecordAgeInSeconds', flag: 'maximum-record-age-in-seconds', type: 'integer', min: 60, max: 604800, special: -1, defaults: BOTH(-1), help: 'records older than this are not processed but sent to the on-failure destination (-1: never)' },
  { path: 'DestinationConfig.OnFailure.Destination', flag: 'on-failure', type: 'address', defaults: BOTH(undefined), defaultText: 'none (failed batches are dropped, like AWS)', help: 'stream receiving a failure record for each batch that exhausted its retries or age' },
  { path: 'DestinationConfig.OnFailure.IncludeRecords', flag: 'include-records', type: 'boolean', defaults: BOTH(false), help: 'beyond AWS: put the full failed records in the failure record, for `sluice dlq replay`' },
  { path: 'FunctionResponseTypes', flag: 'function-response-types', type: 'list', choices: ['ReportBatchItemFailures'], defaults: BOTH([]), defaultText: 'none', help: 'ReportBatchItemFailures: the handler returns which records failed' },
  { path: 'TumblingWindowInSeconds', flag: 'tumbling-window-in-seconds', type: 'integer', min: 0, max: 900, defaults: { kinesis: 0 }, help: 'stateful aggregation windows carried between invocations (0: off)' },
  { path: 'FilterCriteria', flag: 'filter-criteria', type: 'filter-criteria', defaults: BOTH(undefined), defaultText: 'none', help: 'file.json or inline JSON: {"Filters":[{"Pattern":"..."}]} or one pattern; at most 5 patterns, OR-ed' },
  { path: 'Function.Timeout', flag: 'timeout', type: 'integer', min: 1, max: 900, defaults: BOTH(3), help: 'seconds an invocation may run before it fails as timed out' },
  { path: 'Function.MemorySize', flag: 'memory-size', type: 'integer', min: 128, max: 10240, defaults: BOTH(128), help: 'MB, a label for context.memoryLimitInMB (not enforced)' },
  { path: 'Function.ReservedConcurrentExecutions', flag: 'concurrency', type: 'integer', min: 0, defaults: BOTH(undefined), defaultText: 'no limit', help: 'most concurrent invocations of the function' },
  { path: 'Runtime.Mode', flag: 'mode', type: 'enum', choices: ['fast', 'realistic'], defaults: BOTH('fast'), help: 'fast: poll continuously, no cold starts; realistic: Lambda-like polling interval and cold starts' },
  { path: 'Runtime.PollIntervalMs', flag: 'poll-interval-ms', type: 'integer', min: 0, max: 60000, defaults: BOTH(undefined), defaultText: '0 (fast), 1000 (realistic)', help: 'pause between empty polls of a partition' },
  { path: 'Runtime.ColdStartMs', flag: 'cold-start-ms', type: 'integer', min: 0, max: 60000, defaults: BOTH(undefined), defaultText: '0 (fast), 250 (realistic)', help: 'delay when a function instance starts' },
  { path: 'Runtime.ExtraLatencyMs', flag: 'extra-latency-ms', type: 'integer', min: 0, max: 60000, defaults: BOTH(0), help: 'added to every invocation before the handler runs (load tests: simulate a heavier handler)' },
  { path: 'Runtime.MaxInstances', flag: 'max-instances', type: 'integer', min: 1, max: 10000, defaults: BOTH(undefined), defaultText: 'partitions x ParallelizationFactor', help: 'most function instances at once' },
];

/** Runtime defaults that follow Runtime.Mode. */
export const RUNTIME_MODE_DEFAULTS = {
  fast: { PollIntervalMs: 0, ColdStartMs: 0 },
  // Lambda polls each shard about once a second (FIELD-NOTES); 250 ms is a typical Node.js cold start.
  realistic: { PollIntervalMs: 1000, ColdStartMs: 250 },
} as const;

export function optionSpecAt(path: string): MappingOptionSpec | undefined {
  return MAPPING_OPTIONS.find((spec) => spec.path === path);
}

function rangeText(spec: MappingOptionSpec): string | undefined {
  if (spec.choices) return spec.choices.join(' | ');
  if (spec.min === undefined && spec.max === undefined) return undefined;
  const range = spec.max === undefined ? `>= ${spec.min}` : `${spec.min ?? ''}..${spec.max}`;
  return spec.special === undefined ? range : `${spec.special} or ${range}`;
}

function defaultText(spec: MappingOptionSpec): string {
  if (spec.defaultText) return spec.defaultText;
  const show = (value: unknown): string => (Array.isArray(value) ? `[${value.join(', ')}]` : String(value));
  const { kinesis, kafka } = spec.defaults;
  if ('kinesis' in spec.defaults && 'kafka' in spec.defaults && kinesis !== kafka) return `${show(kinesis)} (Kinesis), ${show(kafka)} (Kafka)`;
  return show('kinesis' in spec.defaults ? kinesis : kafka);
}

export interface MappingOptionDescription {
  /** CLI flag name without dashes: `batch-size` */
  name: string;
  /** the AWS-named path in MappingConfig: `BatchSize` */
  path: string;
  type: MappingOptionType;
  /** placeholder for --help: `<n>`, `<address>`, ... (undefined for boolean flags) */
  valueName: string | undefined;
  choices: readonly string[] | undefined;
  /** AWS range as text (`1..10000`, `-1 or 0..10000`), undefined when free-form */
  range: string | undefined;
  default: string;
  /** the source kinds AWS supports it for */
  sources: SourceKind[];
  help: string;
}

const VALUE_NAMES: Record<MappingOptionType, string | undefined> = {
  integer: '<n>', number: '<n>', boolean: undefined, string: '<text>', enum: '<choice>', address: '<address>', list: '<types>', 'filter-criteria': '<file.json|json>',
};

/** Every mapping setting, for building `sluice run` options and --help from one table. */
export function describeMappingOptions(): MappingOptionDescription[] {
  return MAPPING_OPTIONS.map((spec) => ({
    name: spec.flag,
    path: spec.path,
    type: spec.type,
    valueName: spec.path === 'Function.Handler' ? '<./file.ts#export>' : VALUE_NAMES[spec.type],
    choices: spec.choices,
    range: rangeText(spec),
    default: defaultText(spec),
    sources: (['kinesis', 'kafka'] as const).filter((kind) => kind in spec.defaults),
    help: spec.help,
  }));
}
