import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../core/errors';
import { describeMappingOptions, loadMappingFile, mappingFromCliFlags, mergeMapping, resolveMappingConfig } from '../../../runtime/mapping/mappingConfig';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-mapping-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function configErrorOf(action: () => unknown): ConfigError {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('mapping files', () => {
  it('loads YAML and makes a relative handler absolute against the file’s directory', () => {
    const path = write('run.yaml', [
      'Source: kinesis://127.0.0.1:14567/telemetry',
      'BatchSize: 50',
      'FunctionResponseTypes: [ReportBatchItemFailures]',
      'Function:',
      '  Handler: ./processors/aggregate.ts#handler',
      'FilterCriteria:',
      '  Filters:',
      '    - Pattern: { data: { type: [reading] } }',
    ].join('\n'));
    const input = loadMappingFile(path);
    expect(input).toMatchObject({ BatchSize: 50, Function: { Handler: `${join(dir, 'processors/aggregate.ts')}#handler` } });
    const config = resolveMappingConfig(input, path);
    expect(config.FunctionName).toBe('aggregate');
    expect(config.FilterCriteria?.Filters[0]?.Pattern).toBe('{"data":{"type":["reading"]}}');
  });

  it('loads JSON', () => {
    const path = write('run.json', JSON.stringify({ Source: 'kafka://127.0.0.1:19092/t', Function: { Handler: '/abs/h.ts' }, BatchSize: 7 }));
    expect(resolveMappingConfig(loadMappingFile(path), path).BatchSize).toBe(7);
  });

  it('names the file when it is missing, not YAML, or not an object', () => {
    const missing = join(dir, 'nope.yaml');
    expect(configErrorOf(() => loadMappingFile(missing)).path).toBe(missing);
    const broken = write('broken.yaml', 'Source: [unclosed');
    const brokenError = configErrorOf(() => loadMappingFile(broken));
    expect(brokenError.path).toBe(broken);
    expect(brokenError.message).toContain('is not valid YAML or JSON');
    const list = write('list.yaml', '- a\n- b\n');
    expect(configErrorOf(() => loadMappingFile(list)).message).toContain('must hold an object of mapping settings');
  });

  it('names the file in validation errors', () => {
    const path = write('bad.yaml', 'Source: kinesis:///s\nFunction: { Handler: ./h.ts }\nBatchSize: 0\n');
    expect(configErrorOf(() => resolveMappingConfig(loadMappingFile(path), path)).message).toBe(`mapping.BatchSize: must be 1..10000, got 0 (in ${path})`);
  });
});

describe('mapping CLI flags', () => {
  it('maps every kebab-case flag onto the AWS-named setting, coercing text', () => {
    const criteria = write('filters.json', JSON.stringify({ Filters: [{ Pattern: '{"data":{"t":["a"]}}' }] }));
    const mapping = mappingFromCliFlags({
      source: 'kinesis://127.0.0.1:14567/telemetry',
      handler: './h.ts#handler',
      'function-name': 'fn',
      'batch-size': '25',
      'maximum-batching-window-in-seconds': '2',
      'starting-position': 'AT_TIMESTAMP',
      'starting-position-timestamp': '1700000000.25',
      'parallelization-factor': '4',
      'bisect-batch-on-function-error': true,
      'maximum-retry-attempts': '2',
      'maximum-record-age-in-seconds': '-1',
      'on-failure': 'kafka://127.0.0.1:19092/dlq',
      'include-records': 'true',
      'function-response-types': 'ReportBatchItemFailures',
      'tumbling-window-in-seconds': '60',
      'filter-criteria': criteria,
      timeout: '30',
      'memory-size': '512',
      concurrency: '8',
      mode: 'realistic',
      'poll-interval-ms': '200',
      'cold-start-ms': '0',
      'extra-latency-ms': '10',
      'max-instances': '16',
      enabled: 'false',
    });
    expect(resolveMappingConfig(mapping, 'command line')).toEqual({
      FunctionName: 'fn', Source: 'kinesis://127.0.0.1:14567/telemetry', Enabled: false, BatchSize: 25, MaximumBatchingWindowInSeconds: 2,
      StartingPosition: 'AT_TIMESTAMP', StartingPositionTimestamp: 1700000000.25, ParallelizationFactor: 4, BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 2, MaximumRecordAgeInSeconds: -1, DestinationConfig: { OnFailure: { Destination: 'kafka://127.0.0.1:19092/dlq', IncludeRecords: true } },
      FunctionResponseTypes: ['ReportBatchItemFailures'], TumblingWindowInSeconds: 60, FilterCriteria: { Filters: [{ Pattern: '{"data":{"t":["a"]}}' }] },
      Function: { Handler: './h.ts#handler', Timeout: 30, MemorySize: 512, ReservedConcurrentExecutions: 8 },
      Runtime: { Mode: 'realistic', PollIntervalMs: 200, ColdStartMs: 0, ExtraLatencyMs: 10, MaxInstances: 16 },
    });
  });

  it('reads the camelCase keys commander produces and ignores flags that are not mapping settings', () => {
    expect(mappingFromCliFlags({ batchSize: '9', onFailure: 'kafka://h:1/d', config: 'run.yaml', verbose: true, timeout: undefined })).toEqual({ BatchSize: 9, DestinationConfig: { OnFailure: { Destination: 'kafka://h:1/d' } } });
  });

  it('takes --filter-criteria as inline JSON: FilterCriteria, one pattern, or a list of patterns', () => {
    expect(mappingFromCliFlags({ 'filter-criteria': '{"Filters":[{"Pattern":"{}"}]}' }).FilterCriteria).toEqual({ Filters: [{ Pattern: '{}' }] });
    expect(mappingFromCliFlags({ 'filter-criteria': '{"data":{"a":["x"]}}' }).FilterCriteria).toEqual({ Filters: [{ Pattern: '{"data":{"a":["x"]}}' }] });
    expect(mappingFromCliFlags({ 'filter-criteria': '[{"data":{"a":["x"]}}, "{\\"data\\":{}}"]' }).FilterCriteria).toEqual({ Filters: [{ Pattern: '{"data":{"a":["x"]}}' }, { Pattern: '{"data":{}}' }] });
  });

  it('resolves a --filter-criteria file against the base directory', () => {
    write('one.json', '{"value":{"a":["x"]}}');
    expect(mappingFromCliFlags({ 'filter-criteria': 'one.json' }, { baseDir: dir }).FilterCriteria).toEqual({ Filters: [{ Pattern: '{"value":{"a":["x"]}}' }] });
  });

  it.each([
    [{ 'batch-size': 'ten' }, '--batch-size', 'must be a number, got "ten"'],
    [{ 'bisect-batch-on-function-error': 'maybe' }, '--bisect-batch-on-function-error', 'must be true or false'],
    [{ 'filter-criteria': 'missing-file.json' }, '--filter-criteria', 'is neither inline JSON nor a readable file'],
    [{ 'filter-criteria': '{bad json' }, '--filter-criteria', 'is not valid JSON'],
    [{ source: 5 }, '--source', 'must be text'],
  ])('names the flag when %j cannot be read', (flags, path, message) => {
    const error = configErrorOf(() => mappingFromCliFlags(flags, { baseDir: dir }));
    expect(error.path).toBe(path);
    expect(error.message).toContain(message);
  });

  it('lets flags override file values, merging nested settings', () => {
    const file = { Source: 'kinesis:///s', BatchSize: 10, Function: { Handler: '/abs/h.ts', Timeout: 30 }, FunctionResponseTypes: ['ReportBatchItemFailures'] };
    const flags = mappingFromCliFlags({ 'batch-size': '20', 'memory-size': '256', 'function-response-types': '' });
    const merged = mergeMapping(file, flags);
    expect(merged).toEqual({ Source: 'kinesis:///s', BatchSize: 20, Function: { Handler: '/abs/h.ts', Timeout: 30, MemorySize: 256 }, FunctionResponseTypes: [] });
    expect(file.BatchSize).toBe(10);
  });
});

describe('mapping option table', () => {
  const options = describeMappingOptions();

  it('lists every ESM flag of `sluice run`', () => {
    const names = options.map((option) => option.name);
    for (const flag of ['batch-size', 'maximum-batching-window-in-seconds', 'starting-position', 'parallelization-factor', 'bisect-batch-on-function-error', 'maximum-retry-attempts',
      'maximum-record-age-in-seconds', 'on-failure', 'include-records', 'function-response-types', 'tumbling-window-in-seconds', 'filter-criteria', 'timeout', 'memory-size',
      'concurrency', 'mode', 'handler', 'source', 'function-name']) {
      expect(names).toContain(flag);
    }
    expect(new Set(names).size).toBe(names.length);
  });

  it('describes ranges, per-source defaults and the sources AWS supports', () => {
    const byName = new Map(options.map((option) => [option.name, option]));
    expect(byName.get('batch-size')).toMatchObject({ path: 'BatchSize', type: 'integer', range: '1..10000', default: '100', valueName: '<n>', sources: ['kinesis', 'kafka'] });
    expect(byName.get('maximum-batching-window-in-seconds')?.default).toBe('0 (Kinesis), 0.5 (Kafka)');
    expect(byName.get('maximum-retry-attempts')?.range).toBe('-1 or 0..10000');
    expect(byName.get('parallelization-factor')?.sources).toEqual(['kinesis']);
    expect(byName.get('bisect-batch-on-function-error')).toMatchObject({ type: 'boolean', valueName: undefined, default: 'false' });
    expect(byName.get('mode')?.choices).toEqual(['fast', 'realistic']);
    for (const option of options) expect(option.help.length).toBeGreaterThan(10);
  });

  it('maps each described flag to the path it documents', () => {
    const sample: Record<string, unknown> = { integer: '1', number: '1', boolean: 'true', string: 'x', enum: 'LATEST', address: 'kafka://h:1/t', list: 'ReportBatchItemFailures', 'filter-criteria': '{}' };
    for (const option of options) {
      const mapping = mappingFromCliFlags({ [option.name]: sample[option.type] });
      const value = option.path.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], mapping);
      expect(value).toBeDefined();
    }
  });
});
