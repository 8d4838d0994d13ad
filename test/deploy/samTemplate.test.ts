/**
 * The SAM templates `sluice deploy render` writes: every pipeline function with the event-source
 * mapping the local runtime resolves for it (computed here from the pipeline table and
 * resolveMappingConfig, not copied), environments complete, references declared, handler files
 * present with their exports, and the committed templates equal to a fresh render.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fc, test as propertyTest } from '@fast-check/jest';
import { PIPELINE_FUNCTIONS, PIPELINE_STREAMS, SCHEDULED_FUNCTIONS, pipelineMappingInputs } from '../../cli/pipeline/pipelineSpec';
import type { PipelineFunction } from '../../cli/pipeline/pipelineSpec';
import { COMMITTED_RENDERINGS, DEPLOY_TARGETS, renderDeployment } from '../../cli/deploy/renderTargets';
import { parseHandlerSpec, resolveMappingConfig } from '../../runtime/mapping/mappingConfig';
import type { MappingConfig, MappingInput, SourceKind } from '../../runtime/mapping/mappingTypes';
import { optionSpecAt } from '../../runtime/mapping/mappingOptions';
import { parseStreamAddress } from '../../streams/streamAddress';
import type { Json } from './deployTestSupport';
import { PROJECT_ROOT, at, parseCloudFormation, readProjectFile } from './deployTestSupport';

const SAM_TARGETS = [
  { target: 'kinesis', kind: 'kinesis', eventType: 'Kinesis', base: 'kinesis://127.0.0.1:4567' },
  { target: 'msk', kind: 'kafka', eventType: 'MSK', base: 'kafka://127.0.0.1:9092' },
] as const;

/** ESM settings SAM passes to AWS::Lambda::EventSourceMapping under the same names as MappingConfig's. */
const ESM_SETTINGS = [
  'Enabled', 'BatchSize', 'MaximumBatchingWindowInSeconds', 'StartingPosition', 'StartingPositionTimestamp', 'ParallelizationFactor',
  'BisectBatchOnFunctionError', 'MaximumRetryAttempts', 'MaximumRecordAgeInSeconds', 'TumblingWindowInSeconds',
] as const;

/** The mapping `sluice up` runs locally for each function, straight from the runtime's resolver. */
function localMappings(kind: SourceKind, base: string, overrides: MappingInput = {}): Map<string, MappingConfig> {
  const inputs = pipelineMappingInputs({ streamBase: base }, PROJECT_ROOT, overrides);
  return new Map(inputs.map((input) => {
    const mapping = resolveMappingConfig(input, 'test');
    expect(parseStreamAddress(mapping.Source).kind).toBe(kind);
    return [mapping.FunctionName, mapping];
  }));
}

function functionsByName(template: Json): Map<string, Json> {
  const resources = at(template, 'Resources') as Record<string, Json>;
  const functions = Object.values(resources).filter((resource) => resource.Type === 'AWS::Serverless::Function');
  return new Map(functions.map((resource) => [at(resource, 'Properties', 'FunctionName') as string, resource]));
}

/** Asserts that the function's stream event carries exactly the local mapping's settings. */
function expectEventMatchesMapping(template: Json, fn: PipelineFunction, mapping: MappingConfig, sam: (typeof SAM_TARGETS)[number]): void {
  const resource = functionsByName(template).get(fn.name);
  expect(resource).toBeDefined();
  const events = at(resource, 'Properties', 'Events') as Record<string, Json>;
  const streamEvents = Object.values(events).filter((event) => event.Type === sam.eventType);
  expect(streamEvents).toHaveLength(1);
  const properties = at(streamEvents[0], 'Properties') as Json;

  for (const setting of ESM_SETTINGS) {
    const applies = sam.kind in (optionSpecAt(setting)?.defaults ?? {});
    const expected = mapping[setting];
    if (!applies || expected === undefined) {
      expect({ setting, value: properties[setting] }).toEqual({ setting, value: undefined });
    } else if (setting === 'MaximumBatchingWindowInSeconds' && !Number.isInteger(expected)) {
      // whole seconds on AWS; absent means AWS's own 500 ms Kafka default
      expect({ setting, value: properties[setting], expected }).toEqual({ setting, value: undefined, expected: 0.5 });
    } else {
      expect({ setting, value: properties[setting] }).toEqual({ setting, value: expected });
    }
  }
  expect(properties.FunctionResponseTypes ?? []).toEqual(mapping.FunctionResponseTypes);
  expect(properties.FilterCriteria).toEqual(mapping.FilterCriteria);

  const resources = at(template, 'Resources') as Record<string, Json>;
  const destination = mapping.DestinationConfig?.OnFailure.Destination;
  expect(destination).toBeDefined();
  const sourceName = parseStreamAddress(mapping.Source).stream;
  if (sam.target === 'kinesis') {
    const streamRef = at(properties, 'Stream', 'Fn::GetAtt') as string[];
    expect(streamRef[1]).toBe('Arn');
    expect(at(resources, streamRef[0] ?? '', 'Type')).toBe('AWS::Kinesis::Stream');
    expect(at(resources, streamRef[0] ?? '', 'Properties', 'Name')).toEqual({ 'Fn::Sub': `\${StreamNamePrefix}${sourceName}` });
    // Kinesis mappings cannot fail to a stream: the bucket keeps the failed records instead
    const bucket = (at(properties, 'DestinationConfig', 'OnFailure', 'Destination', 'Fn::GetAtt') as string[])[0] ?? '';
    expect(at(resources, bucket, 'Type')).toBe('AWS::S3::Bucket');
  } else {
    expect(properties.Stream).toEqual({ Ref: 'MskClusterArn' });
    expect(properties.Topics).toEqual([sourceName]);
    expect(at(properties, 'DestinationConfig', 'OnFailure', 'Destination')).toBe(`kafka://${parseStreamAddress(destination ?? '').stream}`);
    expect(at(properties, 'ProvisionedPollerConfig', 'MinimumPollers')).toBeGreaterThanOrEqual(1);
  }
  expect(at(resource, 'Properties', 'Timeout')).toBe(mapping.Function.Timeout);
  expect(at(resource, 'Properties', 'MemorySize')).toBe(mapping.Function.MemorySize);
}

describe.each(SAM_TARGETS)('SAM template on $target', (sam) => {
  const template = parseCloudFormation(renderDeployment(sam.target));
  const mappings = localMappings(sam.kind, sam.base);

  it('is a SAM template', () => {
    expect(template.AWSTemplateFormatVersion).toBe('2010-09-09');
    expect(template.Transform).toBe('AWS::Serverless-2016-10-31');
  });

  it.each(PIPELINE_FUNCTIONS.map((fn) => [fn.name, fn] as const))('deploys %s with the mapping settings the local runtime resolves', (_name, fn) => {
    const mapping = mappings.get(fn.name);
    expect(mapping).toBeDefined();
    if (mapping) expectEventMatchesMapping(template, fn, mapping, sam);
  });

  it('gives every function each environment setting it reads, from declared parameters and resources', () => {
    const parameters = Object.keys(at(template, 'Parameters') as Json);
    const resources = Object.keys(at(template, 'Resources') as Json);
    const known = new Set([...parameters, ...resources, 'AWS::Region', 'AWS::URLSuffix', 'AWS::StackName', 'AWS::AccountId', 'ServerlessHttpApi']);
    const byName = functionsByName(template);
    for (const fn of [...PIPELINE_FUNCTIONS, ...SCHEDULED_FUNCTIONS]) {
      const variables = at(byName.get(fn.name), 'Properties', 'Environment', 'Variables') as Json;
      expect(Object.keys(variables).sort()).toEqual([...fn.environment].sort());
    }
    // every reference anywhere in the template names something declared
    const references: string[] = [];
    JSON.stringify(template, (key, value: unknown) => {
      if (key === 'Ref' && typeof value === 'string') references.push(value);
      if (key === 'Fn::GetAtt' && Array.isArray(value)) references.push(String(value[0]));
      if (key === 'Fn::Sub' && typeof value === 'string') references.push(...[...value.matchAll(/\$\{([^}.]+)(\.[^}]+)?\}/g)].map((match) => match[1] ?? ''));
      return value;
    });
    expect(references.length).toBeGreaterThan(0);
    expect(references.filter((name) => !known.has(name))).toEqual([]);
  });

  it('schedules each timer function on EventBridge at the nearest rate AWS allows (whole minutes, at least one)', () => {
    const byName = functionsByName(template);
    for (const scheduled of SCHEDULED_FUNCTIONS) {
      const timer = at(byName.get(scheduled.name), 'Properties', 'Events', 'Timer') as Json;
      expect(timer.Type).toBe('Schedule');
      const rate = /^rate\((\d+) (minute|minutes)\)$/.exec(at(timer, 'Properties', 'Schedule') as string);
      expect(rate).not.toBeNull();
      const minutes = Number(rate?.[1]);
      expect(rate?.[2]).toBe(minutes === 1 ? 'minute' : 'minutes');
      expect(minutes * 60).toBeGreaterThanOrEqual(scheduled.rateSeconds);
      expect(minutes === 1 || (minutes - 1) * 60 < scheduled.rateSeconds).toBe(true);
    }
  });

  it('puts the ingest function behind POST /v1/telemetry on an HTTP API and an IoT rule on devices/+/telemetry', () => {
    const events = at(functionsByName(template).get('sluice-ingest'), 'Properties', 'Events') as Record<string, Json>;
    const http = Object.values(events).find((event) => event.Type === 'HttpApi');
    expect(at(http, 'Properties')).toMatchObject({ Path: '/v1/telemetry', Method: 'POST', PayloadFormatVersion: '2.0' });
    const iot = Object.values(events).find((event) => event.Type === 'IoTRule');
    expect(at(iot, 'Properties', 'Sql')).toMatch(/ FROM 'devices\/\+\/telemetry'$/);
    expect(at(iot, 'Properties', 'AwsIotSqlVersion')).toBe('2016-03-23');
  });

  it('builds every handler file unchanged with esbuild from the project root', () => {
    const codeUri = at(template, 'Globals', 'Function', 'CodeUri') as string;
    const committedDir = path.join(PROJECT_ROOT, path.dirname(COMMITTED_RENDERINGS[sam.target]));
    expect(path.resolve(committedDir, codeUri)).toBe(PROJECT_ROOT);
    for (const resource of functionsByName(template).values()) {
      expect(at(resource, 'Metadata', 'BuildMethod')).toBe('esbuild');
      const [entry] = at(resource, 'Metadata', 'BuildProperties', 'EntryPoints') as string[];
      // esbuild writes one entry point as <name>.js at the artifact root
      const handler = at(resource, 'Properties', 'Handler') as string;
      expect(handler.slice(0, handler.lastIndexOf('.'))).toBe(path.basename(entry ?? '').replace(/\.ts$/, ''));
    }
  });
});

/** Every handler the templates deploy, each once. */
const HANDLERS = [...new Set([...PIPELINE_FUNCTIONS, ...SCHEDULED_FUNCTIONS].map((fn) => fn.handler).concat('ingest/lambda/ingestHandler.ts#handler'))];

describe('handler files the templates deploy', () => {
  it.each(HANDLERS)('%s exists and exports that function', (handler) => {
    const { file, exportName } = parseHandlerSpec(handler);
    const absolute = path.join(PROJECT_ROOT, file);
    expect({ handler, exists: existsSync(absolute) }).toEqual({ handler, exists: true });
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading the handler module as the runtime does
    const loaded = require(absolute) as Record<string, unknown>;
    expect({ handler, type: typeof loaded[exportName] }).toEqual({ handler, type: 'function' });
  });

  it('are the ones in the template, entry point and handler name alike', () => {
    const template = parseCloudFormation(renderDeployment('kinesis'));
    const deployed = [...functionsByName(template).values()].map((resource) => {
      const [entry] = at(resource, 'Metadata', 'BuildProperties', 'EntryPoints') as string[];
      const handler = at(resource, 'Properties', 'Handler') as string;
      return `${entry}#${handler.slice(handler.lastIndexOf('.') + 1)}`;
    });
    expect([...new Set(deployed)].sort()).toEqual([...HANDLERS].sort());
  });
});

describe('committed renderings', () => {
  it.each(DEPLOY_TARGETS.map((target) => [target, COMMITTED_RENDERINGS[target]] as const))('%s: %s equals a fresh render (render again after changing the pipeline)', (target, file) => {
    expect(readProjectFile(file)).toBe(renderDeployment(target));
  });
});

describe('mapping overrides (sluice deploy render --config)', () => {
  const settings = fc.record({
    BatchSize: fc.integer({ min: 1, max: 10_000 }),
    MaximumBatchingWindowInSeconds: fc.integer({ min: 0, max: 300 }),
    MaximumRetryAttempts: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 10_000 })),
    MaximumRecordAgeInSeconds: fc.oneof(fc.constant(-1), fc.integer({ min: 60, max: 604_800 })),
    BisectBatchOnFunctionError: fc.boolean(),
    StartingPosition: fc.constantFrom('LATEST', 'TRIM_HORIZON'),
  }, { requiredKeys: [] });
  const kinesisOnly = fc.record({ ParallelizationFactor: fc.integer({ min: 1, max: 10 }), TumblingWindowInSeconds: fc.integer({ min: 0, max: 900 }) }, { requiredKeys: [] });

  propertyTest.prop([settings, kinesisOnly], { numRuns: 15 })('reach every Kinesis mapping exactly as the runtime resolves them', (common, kinesis) => {
    const overrides = { ...common, ...kinesis };
    const template = parseCloudFormation(renderDeployment('kinesis', { overrides }));
    const mappings = localMappings('kinesis', 'kinesis://127.0.0.1:4567', overrides);
    for (const fn of PIPELINE_FUNCTIONS) expectEventMatchesMapping(template, fn, mappings.get(fn.name) as MappingConfig, SAM_TARGETS[0]);
  });

  propertyTest.prop([settings], { numRuns: 15 })('reach every MSK mapping exactly as the runtime resolves them', (overrides) => {
    const template = parseCloudFormation(renderDeployment('msk', { overrides }));
    const mappings = localMappings('kafka', 'kafka://127.0.0.1:9092', overrides);
    for (const fn of PIPELINE_FUNCTIONS) expectEventMatchesMapping(template, fn, mappings.get(fn.name) as MappingConfig, SAM_TARGETS[1]);
  });

  it('are refused like the runtime refuses them, naming the setting', () => {
    expect(() => renderDeployment('msk', { overrides: { ParallelizationFactor: 2 } })).toThrow(/mapping\.ParallelizationFactor: AWS supports it only for Kinesis/);
    expect(() => renderDeployment('kinesis', { overrides: { BatchSize: 0 } })).toThrow(/mapping\.BatchSize: must be 1\.\.10000, got 0/);
  });

  it('streams are named as in the pipeline table', () => {
    const template = parseCloudFormation(renderDeployment('msk'));
    expect(at(template, 'Outputs', 'TopicsToCreate', 'Value')).toBe(Object.values(PIPELINE_STREAMS).join(','));
  });
});
