/**
 * Where the stage figures come from. Inside `sluice up` the pipeline runs in the same process
 * and its own counters (LocalPipeline.stats(): records read, errors, iterator age, instances)
 * are exact. Against running parts (`sluice dashboard`) only what the streams keep is there:
 * on Kafka, each function's consumer group (committed offsets, lag in records, members) and
 * the telemetry topic's end offsets for ingest; on Kinesis, the lease table in Redis, which
 * has checkpoints but no counts. What a provider cannot tell, it says in `notes`.
 */
import type { PipelineStats } from '../../cli/pipeline/localPipeline';
import { PIPELINE_FUNCTIONS, streamName } from '../../cli/pipeline/pipelineSpec';
import type { PipelineStreamsAt } from '../../cli/pipeline/pipelineSpec';
import { errorMessage } from '../../core/errors';
import { CheckpointView } from '../../runtime/checkpoints/checkpointView';
import { RedisKeys, leaseGroupName } from '../../runtime/redis/keys';
import type { RedisConnection } from '../../runtime/redis/scriptLoader';
import { supportsGroupAdmin } from '../../streams/streamClient';
import type { ConsumerGroupAdminCapable, StreamClient } from '../../streams/streamClient';
import type { PipelineFigures, StageFigures } from './dashboardSources';

export type PipelineFigureSource = () => Promise<PipelineFigures>;

/** Figures of a LocalPipeline running in this process (anything with its `stats()`). */
export function localPipelineFigures(pipeline: { stats(): Promise<PipelineStats> }): PipelineFigureSource {
  return async () => {
    const stats = await pipeline.stats();
    const rejected = Object.values(stats.ingest.rejected).reduce((sum, count) => sum + count, 0);
    const ingest: StageFigures = { name: 'ingest', source: 'mqtt', recordsRead: stats.ingest.received, errors: rejected, lagMs: null, lagRecords: stats.ingest.inFlight, instances: null };
    const stages = stats.stages.map((stage): StageFigures => ({
      name: stage.name,
      source: stage.source,
      recordsRead: stage.recordsRead,
      errors: stage.errors,
      lagMs: stage.iteratorAgeMs,
      lagRecords: null,
      instances: stage.instances,
    }));
    const notes = Object.entries(stats.scheduled)
      .filter(([, run]) => run.failures > 0)
      .map(([name, run]) => `${name}: ${run.failures} failed run(s) of ${run.runs + run.failures}; last: ${run.lastError ?? '?'}`);
    return { stages: [ingest, ...stages], rejectedByReason: stats.ingest.rejected, notes };
  };
}

export interface StreamFigureOptions extends PipelineStreamsAt {
  client: StreamClient;
  /** Kinesis: the Redis holding the runtime's leases */
  redis: RedisConnection | undefined;
  runtimeKeyPrefix: string;
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

async function kafkaFigures(options: StreamFigureOptions, client: StreamClient & ConsumerGroupAdminCapable): Promise<PipelineFigures> {
  const stages: StageFigures[] = [];
  const notes = [
    'figures from Kafka consumer groups: "total" is the sum of committed offsets, "lag records" what is not committed yet; errors, iterator age and ingest rejections are counted only inside the process that runs the pipeline (sluice up)',
  ];
  let telemetryEnd: number | null = null;
  // one admin round trip per function, all at once: a tick should not take six of them in a row
  const results = await Promise.allSettled(PIPELINE_FUNCTIONS.map((fn) => client.groupOffsets(streamName(options, fn.source), `sluice-${options.streamPrefix ?? ''}${fn.name}`)));
  PIPELINE_FUNCTIONS.forEach((fn, index) => {
    const result = results[index];
    if (!result || result.status === 'rejected') {
      notes.push(`${fn.name}: ${errorMessage(result?.reason)}`);
      return;
    }
    const offsets = result.value;
    const ran = offsets.members.length > 0 || offsets.partitions.some((partition) => partition.committed !== null);
    if (fn.source === 'telemetry') telemetryEnd = sum(offsets.partitions.map((partition) => Number(partition.high)));
    stages.push({
      name: `${options.streamPrefix ?? ''}${fn.name}`,
      source: streamName(options, fn.source),
      recordsRead: ran ? sum(offsets.partitions.map((partition) => Number(partition.committed ?? partition.low))) : null,
      errors: null,
      lagMs: null,
      lagRecords: ran ? sum(offsets.partitions.map((partition) => partition.lag)) : null,
      instances: offsets.members.length,
    });
  });
  const ingest: StageFigures = { name: 'ingest', source: 'mqtt', recordsRead: telemetryEnd, errors: null, lagMs: null, lagRecords: null, instances: null };
  return { stages: [ingest, ...stages], rejectedByReason: {}, notes };
}

async function kinesisFigures(options: StreamFigureOptions): Promise<PipelineFigures> {
  const notes = ['figures from the Kinesis lease table: it holds checkpoints, not counts, so rates, totals, lag and errors show only inside the process that runs the pipeline (sluice up); "instances" counts shards whose lease is held'];
  if (!options.redis) return { stages: [], rejectedByReason: {}, notes: [...notes, 'no Redis given: no lease figures'] };
  const view = new CheckpointView({ redis: options.redis, keys: new RedisKeys(options.runtimeKeyPrefix) });
  const stages: StageFigures[] = [];
  for (const fn of PIPELINE_FUNCTIONS) {
    const stream = streamName(options, fn.source);
    const name = `${options.streamPrefix ?? ''}${fn.name}`;
    const rows = await view.list(leaseGroupName(name, stream));
    stages.push({ name, source: stream, recordsRead: null, errors: null, lagMs: null, lagRecords: null, instances: rows.length === 0 ? null : rows.filter((row) => row.state === 'held').length });
  }
  return { stages, rejectedByReason: {}, notes };
}

/** Figures of a pipeline running elsewhere, read from its streams (and, on Kinesis, its leases in Redis). */
export function streamPipelineFigures(options: StreamFigureOptions): PipelineFigureSource {
  return async () => {
    const { client } = options;
    if (supportsGroupAdmin(client)) return kafkaFigures(options, client);
    return kinesisFigures(options);
  };
}
