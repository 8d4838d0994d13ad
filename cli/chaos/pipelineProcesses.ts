/**
 * The pipeline of pipelineSpec as separate processes, one per worker, as docker-compose and
 * Kubernetes deploy it: `sluice ingest`, and one `sluice run` per stream function with exactly the
 * mapping `sluice up` resolves (the same command lines `sluice deploy render` writes).
 */
import { resolveMappingConfig } from '../../runtime/mapping/mappingConfig';
import { findFreePort } from '../../infra/ports';
import { runCommandArgs } from '../deploy/runCommandArgs';
import { processorEnvironment } from '../pipeline/localPipeline';
import type { ProcessorEnvironmentOptions } from '../pipeline/localPipeline';
import { PIPELINE_FUNCTIONS, pipelineMappingInputs, streamAddress } from '../pipeline/pipelineSpec';
import type { WorkerName } from './faultPlan';
import type { WorkerSpec } from './workerProcess';

export interface PipelineProcessesOptions extends ProcessorEnvironmentOptions {
  projectRoot: string;
  runId: string;
  mqttTopicPrefix: string;
  /** Kafka: how soon the group gives a killed worker's partitions to its successor */
  sessionTimeoutMs: number;
  logLevel: string;
}

export function workerNameOf(functionName: string): WorkerName {
  return functionName.replace(/^sluice-/, '') as WorkerName;
}

export async function pipelineWorkerSpecs(o: PipelineProcessesOptions): Promise<WorkerSpec[]> {
  const env = { ...process.env, ...processorEnvironment(o) };
  const specs: WorkerSpec[] = [];
  const ingestMetricsPort = await findFreePort();
  specs.push({
    name: 'ingest',
    args: [
      'ingest', '--stream', streamAddress(o, 'telemetry'), '--dead-letter', streamAddress(o, 'telemetryDeadLetter'), '--mqtt-url', o.mqttUrl,
      '--schema-registry', o.redisUrl,
      // A fixed id: the broker keeps the session's unacked messages while the worker is down. One
      // ingest instance with a plain subscription: Mosquitto (2.0.11) restores a persistent session's
      // plain subscriptions after a restart but not its shared ones, so with a shared subscription a
      // broker restart drops what devices publish before ingest subscribes again (acked to them).
      '--client-id', `sluice-chaos-ingest-${o.runId}`, '--no-shared', '--topic-filter', `${o.mqttTopicPrefix}/+/telemetry`,
      '--metrics-port', String(ingestMetricsPort), '--log-level', o.logLevel,
    ],
    env,
    readyLine: /sluice ingest: .*Ctrl-C to drain/,
    metricsPort: ingestMetricsPort,
  });
  const inputs = pipelineMappingInputs(o, o.projectRoot);
  for (const fn of PIPELINE_FUNCTIONS) {
    const input = inputs.find((candidate) => candidate.FunctionName === `${o.streamPrefix ?? ''}${fn.name}`);
    if (!input) continue;
    const mapping = resolveMappingConfig(input, `pipeline function ${fn.name}`);
    // runCommandArgs ends with the containers' fixed metrics port; here every worker needs its own
    const args = runCommandArgs(mapping, fn.handler, (stream) => `${o.streamBase.replace(/\/+$/, '')}/${stream}`).slice(0, -2);
    const metricsPort = await findFreePort();
    const name = workerNameOf(fn.name);
    args.push('--metrics-port', String(metricsPort), '--redis-url', o.redisUrl, '--worker-id', `chaos-${name}`, '--log-level', o.logLevel, '--session-timeout-ms', String(o.sessionTimeoutMs));
    specs.push({ name, args, env, readyLine: /sluice run: .*Ctrl-C to drain/, metricsPort });
  }
  return specs;
}
