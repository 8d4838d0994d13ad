/**
 * The pipeline as it deploys: each function of cli/pipeline/pipelineSpec.ts with the mapping the
 * local runtime runs, resolved by the runtime's own resolveMappingConfig on the same inputs
 * (pipelineMappingInputs). Every deployment target (SAM on Kinesis or MSK, docker-compose,
 * Kubernetes) renders from these, so what runs on a laptop and what deploys cannot drift apart.
 */
import path from 'node:path';
import { resolveMappingConfig } from '../../runtime/mapping/mappingConfig';
import type { MappingConfig, MappingInput, SourceKind } from '../../runtime/mapping/mappingTypes';
import { PIPELINE_FUNCTIONS, pipelineMappingInputs } from '../pipeline/pipelineSpec';
import type { PipelineFunction } from '../pipeline/pipelineSpec';

/** The project root: handler paths in the pipeline table are relative to it. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/**
 * Where the local runtime finds each kind of stream (the `sluice infra up` servers). Only the
 * kind matters to the mapping's settings (defaults differ between Kinesis and Kafka); targets
 * replace the address with their own streams.
 */
export const LOCAL_STREAM_BASES: Record<SourceKind, string> = {
  kinesis: 'kinesis://127.0.0.1:4567',
  kafka: 'kafka://127.0.0.1:9092',
};

export interface DeployedFunction {
  spec: PipelineFunction;
  mapping: MappingConfig;
}

/** Each pipeline function with its resolved mapping on `kind` streams, `overrides` (e.g. from --config) merged in as `sluice up` would. */
export function deployedPipeline(kind: SourceKind, overrides: MappingInput = {}): DeployedFunction[] {
  const inputs = pipelineMappingInputs({ streamBase: LOCAL_STREAM_BASES[kind] }, PROJECT_ROOT, overrides);
  return PIPELINE_FUNCTIONS.map((spec, index) => ({ spec, mapping: resolveMappingConfig(inputs[index], `pipeline function ${spec.name}`) }));
}

/** The consumer group a Kafka mapping reads with: the runtime's default (runtime/runner/mappingRunner.ts), used by MSK mappings and KEDA alike. */
export function kafkaConsumerGroupId(functionName: string): string {
  return `sluice-${functionName}`;
}

/** `SluiceTransform` from `sluice-transform`: CloudFormation logical ids and Kubernetes-free names. */
export function pascalCase(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part !== '')
    .map((part) => part[0]?.toUpperCase() + part.slice(1))
    .join('');
}
