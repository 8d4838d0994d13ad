/**
 * A resolved mapping (MappingConfig, AWS names) as the event of an AWS::Serverless::Function:
 * `Type: Kinesis` or `Type: MSK`, whose properties SAM passes straight to the
 * AWS::Lambda::EventSourceMapping it generates. Property names are SAM's (developer guide,
 * sam-property-function-kinesis / sam-property-function-msk), which are the ESM API's names.
 *
 * Where AWS and the local runtime differ, the choice is made here and said here:
 * - Failure destination: locally a stream (with the full records, IncludeRecords). AWS Kinesis
 *   mappings cannot send to a stream; an S3 bucket is the destination that keeps the records
 *   (`payload` beside the failure record). MSK sends to a Kafka topic of the same cluster
 *   (`kafka://topic`), records included, like the local Kafka runtime.
 * - MSK error handling (bisect, retries, record age, partial batch responses, Kafka
 *   destinations) exists only in provisioned poller mode, so MSK mappings get ProvisionedPollerConfig.
 * - MaximumBatchingWindowInSeconds is whole seconds on AWS; the runtime's Kafka default of 0.5 s
 *   is AWS's own default (500 ms), so a non-integer window is left out and AWS applies it.
 */
import type { MappingConfig, SourceKind } from '../../runtime/mapping/mappingTypes';
import { optionSpecAt } from '../../runtime/mapping/mappingOptions';
import { parseStreamAddress } from '../../streams/streamAddress';
import { PIPELINE_STREAMS } from '../pipeline/pipelineSpec';
import type { PipelineStream } from '../pipeline/pipelineSpec';
import type { CfnValue } from './cfnIntrinsics';
import { getAtt, ref } from './cfnIntrinsics';
import { kafkaConsumerGroupId, pascalCase } from './pipelineDeployment';

export type SamTarget = 'kinesis' | 'msk';

export const SAM_SOURCE_KIND: Record<SamTarget, SourceKind> = { kinesis: 'kinesis', msk: 'kafka' };

/** ESM settings copied from the mapping as they are, when AWS supports them for the source kind. */
const PASSED_THROUGH = [
  'Enabled', 'BatchSize', 'MaximumBatchingWindowInSeconds', 'StartingPosition', 'StartingPositionTimestamp', 'ParallelizationFactor',
  'BisectBatchOnFunctionError', 'MaximumRetryAttempts', 'MaximumRecordAgeInSeconds', 'TumblingWindowInSeconds',
] as const satisfies ReadonlyArray<keyof MappingConfig>;

/** MSK provisioned pollers: AWS's minimum, and a ceiling that bounds cost (one poller serves several partitions). */
export const MSK_PROVISIONED_POLLERS = { MinimumPollers: 1, MaximumPollers: 10 };

export const FAILURE_BUCKET_ID = 'FailureBucket';
export const MSK_CLUSTER_PARAMETER = 'MskClusterArn';

export function streamLogicalId(stream: PipelineStream): string {
  return `${pascalCase(stream)}Stream`;
}

function appliesTo(setting: string, kind: SourceKind): boolean {
  const spec = optionSpecAt(setting);
  return spec !== undefined && kind in spec.defaults;
}

function failureDestination(mapping: MappingConfig, target: SamTarget): CfnValue | undefined {
  const destination = mapping.DestinationConfig?.OnFailure.Destination;
  if (destination === undefined) return undefined;
  return target === 'kinesis' ? getAtt(FAILURE_BUCKET_ID, 'Arn') : `kafka://${parseStreamAddress(destination).stream}`;
}

/** The `Properties` of the function's stream event. */
export function streamEventProperties(mapping: MappingConfig, source: PipelineStream, target: SamTarget): Record<string, unknown> {
  const kind = SAM_SOURCE_KIND[target];
  const properties: Record<string, unknown> = target === 'kinesis'
    ? { Stream: getAtt(streamLogicalId(source), 'Arn') }
    : { Stream: ref(MSK_CLUSTER_PARAMETER), Topics: [PIPELINE_STREAMS[source]], ConsumerGroupId: kafkaConsumerGroupId(mapping.FunctionName) };
  for (const setting of PASSED_THROUGH) {
    const value = mapping[setting];
    if (value === undefined || !appliesTo(setting, kind)) continue;
    if (setting === 'MaximumBatchingWindowInSeconds' && !Number.isInteger(value)) continue;
    properties[setting] = value;
  }
  if (mapping.FunctionResponseTypes.length > 0) properties.FunctionResponseTypes = [...mapping.FunctionResponseTypes];
  if (mapping.FilterCriteria) properties.FilterCriteria = { Filters: mapping.FilterCriteria.Filters.map(({ Pattern }) => ({ Pattern })) };
  const destination = failureDestination(mapping, target);
  if (destination !== undefined) properties.DestinationConfig = { OnFailure: { Destination: destination } };
  if (target === 'msk') properties.ProvisionedPollerConfig = { ...MSK_PROVISIONED_POLLERS };
  return properties;
}
