/**
 * The sources `sluice up` gives its dashboard: the LocalPipeline's own counters for the stages,
 * and the same Redis, PostgreSQL, schema registry, streams and MQTT broker its processors use
 * (read from the environment the pipeline hands its processors, so the two never disagree).
 */
import type { LocalPipeline } from '../../cli/pipeline/localPipeline';
import type { Logger } from 'pino';
import { alertsContext } from '../../processors/alerts/alertsContext';
import type { DashboardSources } from './dashboardSources';
import { localPipelineFigures } from './pipelineFigures';
import { openPipelineSources } from './pipelineSources';

export function localPipelineSources(pipeline: LocalPipeline, options: { devicePrefix?: string; logger?: Logger } = {}): Promise<DashboardSources> {
  const o = pipeline.options;
  const environment = pipeline.processorEnvironment();
  return openPipelineSources({
    streamBase: o.streamBase,
    streamPrefix: o.streamPrefix,
    figures: localPipelineFigures(pipeline),
    redisUrl: o.redisUrl,
    pgUrl: o.pgUrl,
    keyPrefix: environment.SLUICE_KEY_PREFIX ?? o.keyPrefix,
    schemaRegistry: environment.SLUICE_SCHEMA_REGISTRY ?? o.redisUrl,
    mqttUrl: o.mqttUrl,
    devicePrefix: options.devicePrefix,
    // the processors' own targets and connections, which the pipeline closes when it stops
    alertFanout: () => alertsContext({ ...process.env, ...environment }).fanout,
    logger: options.logger,
  });
}
