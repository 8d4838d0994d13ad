import { ConfigError } from '../../../core/errors';
import { mappingSourceKind, resolveMappingConfig } from '../../../runtime/mapping/mappingConfig';

const KINESIS = 'kinesis://127.0.0.1:14567/telemetry';
const KAFKA = 'kafka://127.0.0.1:19092/telemetry';
const base = (source: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ Source: source, Function: { Handler: './processors/aggregate.ts#handler' }, ...extra });

function configErrorOf(input: unknown): ConfigError {
  try {
    resolveMappingConfig(input, 'run.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('mapping config defaults', () => {
  it('gives a new Kinesis mapping the AWS defaults', () => {
    const config = resolveMappingConfig(base(KINESIS), 'run.yaml');
    expect(config).toEqual({
      FunctionName: 'aggregate',
      Source: KINESIS,
      Enabled: true,
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 0,
      StartingPosition: 'LATEST',
      ParallelizationFactor: 1,
      BisectBatchOnFunctionError: false,
      MaximumRetryAttempts: -1,
      MaximumRecordAgeInSeconds: -1,
      FunctionResponseTypes: [],
      TumblingWindowInSeconds: 0,
      Function: { Handler: './processors/aggregate.ts#handler', Timeout: 3, MemorySize: 128 },
      Runtime: { Mode: 'fast', PollIntervalMs: 0, ColdStartMs: 0, ExtraLatencyMs: 0 },
    });
    expect(mappingSourceKind(config)).toBe('kinesis');
  });

  it('gives a new Kafka mapping a 0.5 s batching window and neutral Kinesis-only knobs', () => {
    const config = resolveMappingConfig(base(KAFKA), 'run.yaml');
    expect(config.MaximumBatchingWindowInSeconds).toBe(0.5);
    expect(config.ParallelizationFactor).toBe(1);
    expect(config.TumblingWindowInSeconds).toBe(0);
    expect(config.MaximumRetryAttempts).toBe(-1);
    expect(mappingSourceKind(config)).toBe('kafka');
  });

  it('uses Lambda-like polling and cold starts in realistic mode unless told otherwise', () => {
    expect(resolveMappingConfig(base(KINESIS, { Runtime: { Mode: 'realistic' } }), 'x').Runtime).toEqual({ Mode: 'realistic', PollIntervalMs: 1000, ColdStartMs: 250, ExtraLatencyMs: 0 });
    expect(resolveMappingConfig(base(KINESIS, { Runtime: { Mode: 'realistic', ColdStartMs: 0, MaxInstances: 4 } }), 'x').Runtime).toEqual({ Mode: 'realistic', PollIntervalMs: 1000, ColdStartMs: 0, ExtraLatencyMs: 0, MaxInstances: 4 });
  });

  it('keeps every knob it is given', () => {
    const config = resolveMappingConfig(
      base(KINESIS, {
        FunctionName: 'agg_1',
        Enabled: false,
        BatchSize: 10000,
        MaximumBatchingWindowInSeconds: 300,
        StartingPosition: 'AT_TIMESTAMP',
        StartingPositionTimestamp: 1700000000.5,
        ParallelizationFactor: 10,
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 10000,
        MaximumRecordAgeInSeconds: 604800,
        DestinationConfig: { OnFailure: { Destination: 'kafka://127.0.0.1:19092/dlq', IncludeRecords: true } },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        TumblingWindowInSeconds: 900,
        FilterCriteria: { Filters: [{ Pattern: '{"data":{"type":["reading"]}}' }] },
        Function: { Handler: './h.ts#run', Timeout: 900, MemorySize: 10240, ReservedConcurrentExecutions: 5 },
      }),
      'x',
    );
    expect(config).toMatchObject({
      FunctionName: 'agg_1', Enabled: false, BatchSize: 10000, MaximumBatchingWindowInSeconds: 300, StartingPosition: 'AT_TIMESTAMP', StartingPositionTimestamp: 1700000000.5,
      ParallelizationFactor: 10, BisectBatchOnFunctionError: true, MaximumRetryAttempts: 10000, MaximumRecordAgeInSeconds: 604800,
      DestinationConfig: { OnFailure: { Destination: 'kafka://127.0.0.1:19092/dlq', IncludeRecords: true } }, FunctionResponseTypes: ['ReportBatchItemFailures'],
      TumblingWindowInSeconds: 900, FilterCriteria: { Filters: [{ Pattern: '{"data":{"type":["reading"]}}' }] },
      Function: { Handler: './h.ts#run', Timeout: 900, MemorySize: 10240, ReservedConcurrentExecutions: 5 },
    });
  });

  it('names the function after the handler file and its export', () => {
    expect(resolveMappingConfig({ Source: KINESIS, Function: { Handler: '/abs/path/alerts.ts#onReading' } }, 'x').FunctionName).toBe('alerts-onReading');
    expect(resolveMappingConfig({ Source: KINESIS, Function: { Handler: './a.b.ts' } }, 'x').FunctionName).toBe('a-b');
  });

  it('lets a Kafka mapping with an on-failure destination retry at most 10 times instead of forever, like AWS', () => {
    const withDestination = base(KAFKA, { DestinationConfig: { OnFailure: { Destination: 'kafka://127.0.0.1:19092/dlq' } } });
    expect(resolveMappingConfig(withDestination, 'x').MaximumRetryAttempts).toBe(10);
    expect(resolveMappingConfig({ ...withDestination, MaximumRetryAttempts: 3 }, 'x').MaximumRetryAttempts).toBe(3);
    expect(resolveMappingConfig({ ...withDestination, Source: KINESIS }, 'x').MaximumRetryAttempts).toBe(-1);
  });

  it('accepts the Kafka error-handling knobs AWS supports for Kafka', () => {
    const config = resolveMappingConfig(base(KAFKA, { BisectBatchOnFunctionError: true, MaximumRetryAttempts: 2, MaximumRecordAgeInSeconds: 60, FunctionResponseTypes: ['ReportBatchItemFailures'] }), 'x');
    expect(config).toMatchObject({ BisectBatchOnFunctionError: true, MaximumRetryAttempts: 2, MaximumRecordAgeInSeconds: 60, FunctionResponseTypes: ['ReportBatchItemFailures'] });
  });

  it('turns filter patterns written as objects into the JSON strings AWS takes', () => {
    const config = resolveMappingConfig(base(KINESIS, { FilterCriteria: { Filters: [{ Pattern: { data: { type: ['reading'] } } }] } }), 'x');
    expect(config.FilterCriteria).toEqual({ Filters: [{ Pattern: '{"data":{"type":["reading"]}}' }] });
  });

  it('treats an empty YAML value (null) as not set', () => {
    expect(resolveMappingConfig(base(KINESIS, { BatchSize: null }), 'x').BatchSize).toBe(100);
  });
});

describe('mapping config validation', () => {
  it.each([
    [{ BatchSize: 0 }, 'mapping.BatchSize', 'must be 1..10000, got 0'],
    [{ BatchSize: 10001 }, 'mapping.BatchSize', 'must be 1..10000, got 10001'],
    [{ BatchSize: '100' }, 'mapping.BatchSize', 'must be an integer, got "100"'],
    [{ BatchSize: 1.5 }, 'mapping.BatchSize', 'must be an integer, got 1.5'],
    [{ MaximumBatchingWindowInSeconds: 301 }, 'mapping.MaximumBatchingWindowInSeconds', 'must be 0..300'],
    [{ MaximumBatchingWindowInSeconds: 0.5 }, 'mapping.MaximumBatchingWindowInSeconds', 'must be an integer'],
    [{ ParallelizationFactor: 0 }, 'mapping.ParallelizationFactor', 'must be 1..10, got 0'],
    [{ ParallelizationFactor: 11 }, 'mapping.ParallelizationFactor', 'must be 1..10, got 11'],
    [{ MaximumRetryAttempts: -2 }, 'mapping.MaximumRetryAttempts', 'must be -1 or 0..10000, got -2'],
    [{ MaximumRetryAttempts: 10001 }, 'mapping.MaximumRetryAttempts', 'must be -1 or 0..10000'],
    [{ MaximumRecordAgeInSeconds: 59 }, 'mapping.MaximumRecordAgeInSeconds', 'must be -1 or 60..604800, got 59'],
    [{ MaximumRecordAgeInSeconds: 604801 }, 'mapping.MaximumRecordAgeInSeconds', 'must be -1 or 60..604800'],
    [{ TumblingWindowInSeconds: 901 }, 'mapping.TumblingWindowInSeconds', 'must be 0..900'],
    [{ BisectBatchOnFunctionError: 'yes' }, 'mapping.BisectBatchOnFunctionError', 'must be true or false'],
    [{ StartingPosition: 'EARLIEST' }, 'mapping.StartingPosition', 'must be one of LATEST, TRIM_HORIZON, AT_TIMESTAMP'],
    [{ StartingPosition: 'AT_TIMESTAMP' }, 'mapping.StartingPositionTimestamp', 'is required with StartingPosition AT_TIMESTAMP'],
    [{ StartingPositionTimestamp: 1700000000 }, 'mapping.StartingPositionTimestamp', 'applies only to StartingPosition AT_TIMESTAMP'],
    [{ FunctionResponseTypes: ['ReportBatchItemFailure'] }, 'mapping.FunctionResponseTypes', 'the only response type is ReportBatchItemFailures'],
    [{ FunctionResponseTypes: 'ReportBatchItemFailures' }, 'mapping.FunctionResponseTypes', 'must be a list'],
    [{ FunctionName: 'has space' }, 'mapping.FunctionName', 'must be 1..64 letters, digits, - or _'],
    [{ Function: { Handler: './h.ts', Timeout: 0 } }, 'mapping.Function.Timeout', 'must be 1..900, got 0'],
    [{ Function: { Handler: './h.ts', Timeout: 901 } }, 'mapping.Function.Timeout', 'must be 1..900, got 901'],
    [{ Function: { Handler: './h.ts', MemorySize: 127 } }, 'mapping.Function.MemorySize', 'must be 128..10240, got 127'],
    [{ Function: { Handler: './h.ts', ReservedConcurrentExecutions: -1 } }, 'mapping.Function.ReservedConcurrentExecutions', 'must be >= 0, got -1'],
    [{ Function: { Handler: './h.ts#' } }, 'mapping.Function.Handler', 'must look like ./path/to/file.ts#exportName'],
    [{ Function: {} }, 'mapping.Function.Handler', 'is required'],
    [{ Function: 'x' }, 'mapping.Function', 'must be an object'],
    [{ Runtime: { Mode: 'turbo' } }, 'mapping.Runtime.Mode', 'must be one of fast, realistic'],
    [{ DestinationConfig: { OnFailure: { Destination: 'sqs://host:1/queue' } } }, 'mapping.DestinationConfig.OnFailure.Destination', 'unknown scheme "sqs://"'],
    [{ DestinationConfig: { OnFailure: { Destination: KINESIS } } }, 'mapping.DestinationConfig.OnFailure.Destination', 'is the source stream itself'],
    [{ DestinationConfig: { OnFailure: { IncludeRecords: true } } }, 'mapping.DestinationConfig.OnFailure.IncludeRecords', 'needs DestinationConfig.OnFailure.Destination'],
    [{ DestinationConfig: { OnSuccess: { Destination: KAFKA } } }, 'mapping.DestinationConfig.OnSuccess', 'only OnFailure'],
    [{ FilterCriteria: { Filters: [{ Pattern: '{"data":' }] } }, 'mapping.FilterCriteria.Filters[0].Pattern', 'is not valid JSON'],
    [{ FilterCriteria: { Filters: Array.from({ length: 6 }, () => ({ Pattern: '{"data":{"a":["x"]}}' })) } }, 'mapping.FilterCriteria.Filters', 'AWS allows at most 5'],
    [{ FilterCriteria: { Filter: [] } }, 'mapping.FilterCriteria.Filter', 'did you mean "Filters"?'],
    [{ FilterCriteria: { Filters: [{ Pattern: '{}', Name: 'x' }] } }, 'mapping.FilterCriteria.Filters[0].Name', 'unknown setting'],
  ])('refuses %j with a ConfigError naming the setting', (extra, path, message) => {
    const error = configErrorOf(base(KINESIS, extra));
    expect(error.path).toBe(path);
    expect(error.message).toContain(message);
    expect(error.message).toContain('(in run.yaml)');
  });

  it('says exactly what is wrong with a batch size of 0', () => {
    expect(configErrorOf(base(KINESIS, { BatchSize: 0 })).message).toBe('mapping.BatchSize: must be 1..10000, got 0 (in run.yaml)');
  });

  it('refuses an unknown setting and suggests the one meant', () => {
    expect(configErrorOf(base(KINESIS, { batchSize: 5 })).message).toContain('mapping.batchSize: unknown setting; did you mean "BatchSize"?');
    expect(configErrorOf(base(KINESIS, { MaximumRetryAttempt: 5 })).message).toContain('did you mean "MaximumRetryAttempts"?');
    expect(configErrorOf(base(KINESIS, { Function: { Handler: './h.ts', Timout: 5 } })).message).toContain('mapping.Function.Timout: unknown setting; did you mean "Timeout"?');
    expect(configErrorOf(base(KINESIS, { Zzz: 1 })).message).not.toContain('did you mean');
  });

  it.each([
    [{ ParallelizationFactor: 2 }, 'mapping.ParallelizationFactor'],
    [{ TumblingWindowInSeconds: 60 }, 'mapping.TumblingWindowInSeconds'],
    [{ StartingPosition: 'AT_TIMESTAMP', StartingPositionTimestamp: 1 }, 'mapping.StartingPosition'],
  ])('refuses the Kinesis-only knob %j for a Kafka source', (extra, path) => {
    const error = configErrorOf(base(KAFKA, extra));
    expect(error.path).toBe(path);
    expect(error.message).toMatch(/Kinesis/);
  });

  it('requires a valid source and names it', () => {
    expect(configErrorOf({ Function: { Handler: './h.ts' } }).path).toBe('mapping.Source');
    const invalid = configErrorOf(base('kafka://nohost/t'));
    expect(invalid.path).toBe('mapping.Source');
    expect(invalid.message).toContain('is not host:port');
  });

  it('refuses a mapping that is not an object', () => {
    expect(configErrorOf([1, 2]).path).toBe('mapping');
    expect(configErrorOf('BatchSize: 5').path).toBe('mapping');
  });

  it('refuses a Kafka filter on a field AWS does not filter Kafka records on', () => {
    expect(configErrorOf(base(KAFKA, { FilterCriteria: { Filters: [{ Pattern: '{"data":{"a":["x"]}}' }] } })).message).toContain('only on "value" and "key"');
  });
});
