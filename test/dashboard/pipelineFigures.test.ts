/**
 * Stage figures: from a LocalPipeline's counters (sluice up), and from what the streams keep
 * (sluice dashboard): Kafka consumer groups on the real broker, the Kinesis lease table.
 */
import Redis from 'ioredis';
import { PIPELINE_FUNCTIONS } from '../../cli/pipeline/pipelineSpec';
import type { PipelineStats } from '../../cli/pipeline/localPipeline';
import { localPipelineFigures, streamPipelineFigures } from '../../dashboard/server/pipelineFigures';
import { openStreamClient } from '../../streams/openStreamClient';
import { supportsGroupAdmin } from '../../streams/streamClient';
import type { StreamClient } from '../../streams/streamClient';
import { testServers, uniqueName } from '../support/servers';

describe('stage figures of a pipeline in this process', () => {
  it('takes ingest and every stage from LocalPipeline.stats(), and names failing timers', async () => {
    const stats: PipelineStats = {
      ingest: { received: 120, produced: 117, rejected: { bad_json: 2, too_large: 1 }, inFlight: 4, acked: 116 },
      stages: [{ name: 'p-sluice-transform', source: 'p-telemetry', recordsRead: 110, invocations: 12, errors: 1, iteratorAgeMs: 35, instances: 2 }],
      scheduled: { 'sluice-close-windows': { runs: 9, failures: 0 }, 'sluice-check-heartbeats': { runs: 3, failures: 2, lastError: 'redis down' } },
    };
    const figures = await localPipelineFigures({ stats: async () => stats })();
    expect(figures).toEqual({
      stages: [
        { name: 'ingest', source: 'mqtt', recordsRead: 120, errors: 3, lagMs: null, lagRecords: 4, instances: null },
        { name: 'p-sluice-transform', source: 'p-telemetry', recordsRead: 110, errors: 1, lagMs: 35, lagRecords: null, instances: 2 },
      ],
      rejectedByReason: { bad_json: 2, too_large: 1 },
      notes: ['sluice-check-heartbeats: 2 failed run(s) of 5; last: redis down'],
    });
  });
});

describe('stage figures from the streams of a pipeline running elsewhere', () => {
  let kafka: StreamClient;
  let redis: Redis;
  const prefix = `${uniqueName('dash-fig')}-`;
  const base = `kafka://${testServers.kafkaBrokers.join(',')}`;

  beforeAll(async () => {
    kafka = openStreamClient(`${base}/${prefix}telemetry`);
    redis = new Redis(testServers.redisUrl);
    await kafka.createStream(`${prefix}telemetry`, 2);
    await kafka.createStream(`${prefix}enriched`, 1);
  });

  afterAll(async () => {
    for (const name of ['telemetry', 'enriched']) await kafka.deleteStream(`${prefix}${name}`).catch(() => undefined);
    await kafka.close();
    redis.disconnect();
  });

  it('reads committed offsets and lag of each function\'s consumer group on Kafka, and ingest from the telemetry end offsets', async () => {
    const produced = await kafka.produce(`${prefix}telemetry`, Array.from({ length: 10 }, (_, i) => ({ key: `dev-${i}`, value: Buffer.from(String(i)) })));
    const perPartition = new Map<string, number>();
    for (const { partition } of produced) perPartition.set(partition, (perPartition.get(partition) ?? 0) + 1);
    if (!supportsGroupAdmin(kafka)) throw new Error('the Kafka client has no group admin');
    // the transform's group has read 1 record of each partition that has records
    const group = `sluice-${prefix}sluice-transform`;
    await kafka.setGroupOffsets(`${prefix}telemetry`, group, [...perPartition.keys()].map((partition) => ({ partition, target: { type: 'at', position: '1' } })));

    const figures = await streamPipelineFigures({ streamBase: base, streamPrefix: prefix, client: kafka, redis, runtimeKeyPrefix: 'unused' })();
    expect(figures.stages[0]).toEqual({ name: 'ingest', source: 'mqtt', recordsRead: 10, errors: null, lagMs: null, lagRecords: null, instances: null });
    expect(figures.stages.find((stage) => stage.name === `${prefix}sluice-transform`)).toEqual({
      name: `${prefix}sluice-transform`, source: `${prefix}telemetry`, recordsRead: perPartition.size, errors: null, lagMs: null, lagRecords: 10 - perPartition.size, instances: 0,
    });
    // a function whose group never committed has no figures, rather than zeros
    expect(figures.stages.find((stage) => stage.name === `${prefix}sluice-aggregate`)).toMatchObject({ recordsRead: null, lagRecords: null });
    expect(figures.notes[0]).toContain('figures from Kafka consumer groups');
    // streams that do not exist are named, not fatal
    expect(figures.notes.some((note) => note.startsWith('sluice-store-aggregates:'))).toBe(true);
  });

  it('says on Kinesis that the lease table has no counts', async () => {
    const kinesis = openStreamClient(`kinesis://${testServers.kinesisEndpoint.replace(/^https?:\/\//, '')}/${prefix}telemetry`);
    try {
      const figures = await streamPipelineFigures({ streamBase: 'kinesis://127.0.0.1:4567', streamPrefix: prefix, client: kinesis, redis, runtimeKeyPrefix: `${prefix}rt` })();
      expect(figures.stages.map((stage) => stage.name)).toEqual(PIPELINE_FUNCTIONS.map((fn) => `${prefix}${fn.name}`));
      expect(figures.stages.every((stage) => stage.recordsRead === null && stage.instances === null)).toBe(true);
      expect(figures.notes[0]).toContain('the Kinesis lease table: it holds checkpoints, not counts');
    } finally {
      await kinesis.close();
    }
  });
});
