/**
 * `npm run bench -- e2e`: the pipeline end to end — simulated devices → Mosquitto → ingest →
 * Kafka → transform → aggregate → Redis — against raw Mosquitto pass-through in the same run,
 * and end-to-end latency (device event time → visible in Redis) at a fixed rate.
 *
 * Everything runs in this one process (LocalPipeline, as `sluice up` runs it), with only the
 * functions on the path to Redis (transform, aggregate): storage and alerts read the same
 * streams but are not on the measured path.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Redis from 'ioredis';
import { LocalPipeline } from '../cli/pipeline/localPipeline';
import { LatencyProbe } from '../cli/up/latencyProbe';
import { AggregateKeys } from '../processors/aggregate/aggregateKeys';
import { startFleet } from '../simulators/fleet';
import { testServersForBench } from './benchServers';
import { benchRawMosquittoPassThrough } from './ingest/rawPassThrough';
import type { BenchSuite } from './index';

const MESSAGES = Number(process.env.SLUICE_BENCH_E2E_MESSAGES ?? 30_000);
const LATENCY_RATE = Number(process.env.SLUICE_BENCH_E2E_RATE ?? 5000);
const LATENCY_SECONDS = Number(process.env.SLUICE_BENCH_E2E_SECONDS ?? 15);
const DEVICES = 100;

async function withPipeline<T>(tag: string, run: (pipeline: LocalPipeline, redis: Redis, keyPrefix: string) => Promise<T>): Promise<T> {
  const servers = testServersForBench();
  const redis = new Redis(servers.redisUrl);
  const keyPrefix = `bench-e2e-${tag}`;
  const pipeline = new LocalPipeline({
    streamBase: `kafka://${servers.kafkaBrokers}`, streamPrefix: `${keyPrefix}-`, partitions: 4, mqttUrl: servers.mqttUrl, mqttBroker: 'mosquitto',
    redisUrl: servers.redisUrl, pgUrl: undefined, lakeDir: path.join('/tmp', keyPrefix), keyPrefix, runtimeKeyPrefix: keyPrefix,
    projectRoot: path.resolve(__dirname, '..'), ingestClientId: `${keyPrefix}-ingest`, mqttTopicPrefix: `${keyPrefix}-devices`,
    without: ['sluice-store-readings', 'sluice-alerts', 'sluice-store-aggregates', 'sluice-alerts-aggregates', 'sluice-compact-lake', 'sluice-check-heartbeats'],
  }, redis);
  try {
    await pipeline.start();
    return await run(pipeline, redis, keyPrefix);
  } finally {
    await pipeline.stop();
    redis.disconnect();
  }
}

/** Readings the aggregate counted so far (its own counter in Redis). */
async function aggregated(redis: Redis, keyPrefix: string): Promise<number> {
  return Number((await redis.hget(new AggregateKeys(keyPrefix).counters(), 'readings')) ?? 0);
}

async function throughput(): Promise<Record<string, unknown>> {
  const tag = `t${Date.now().toString(36)}`;
  return withPipeline(tag, async (_pipeline, redis, keyPrefix) => {
    const startedAt = performance.now();
    const fleet = startFleet({
      mqttUrl: testServersForBench().mqttUrl, devices: DEVICES, rate: 1_000_000, readingsPerDevice: Math.ceil(MESSAGES / DEVICES), qos: 1, gateway: true, gatewayConnections: 4,
      maxLagMs: 3_600_000, topicPrefix: `${keyPrefix}-devices`, firstSeq: Date.now() * 100,
    });
    const report = await fleet.finished;
    let counted = 0;
    let lastChange = performance.now();
    let lastCountedAt = startedAt;
    while (counted < report.ackedReadings && performance.now() - lastChange < 15_000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const now = await aggregated(redis, keyPrefix);
      if (now !== counted) {
        counted = now;
        lastChange = lastCountedAt = performance.now();
      }
    }
    const seconds = (lastCountedAt - startedAt) / 1000;
    return { messages: report.ackedReadings, aggregated: counted, seconds: Math.round(seconds * 100) / 100, msgPerSec: Math.round(counted / seconds), devicesAckedPerSec: Math.round(report.achievedRate) };
  });
}

async function latencyAtRate(): Promise<Record<string, unknown>> {
  const tag = `l${Date.now().toString(36)}`;
  return withPipeline(tag, async (_pipeline, redis, keyPrefix) => {
    const fleet = startFleet({
      mqttUrl: testServersForBench().mqttUrl, devices: DEVICES, rate: LATENCY_RATE, durationMs: LATENCY_SECONDS * 1000, qos: 1, gateway: true, gatewayConnections: 4,
      topicPrefix: `${keyPrefix}-devices`, firstSeq: Date.now() * 100,
    });
    const probe = new LatencyProbe(redis, keyPrefix, fleet.devices.map((device) => device.deviceId));
    probe.start();
    const report = await fleet.finished;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    probe.stop();
    return { targetRate: LATENCY_RATE, achievedRate: Math.round(report.achievedRate), latencyMs: probe.summary() };
  });
}

export const e2eBench: BenchSuite = {
  name: 'e2e',
  description: 'sim → Mosquitto → ingest → Kafka → transform → aggregate → Redis vs raw Mosquitto pass-through; e2e latency at a fixed rate',
  async run() {
    const raw = await benchRawMosquittoPassThrough({ url: testServersForBench().mqttUrl, messages: MESSAGES, qos: 1, publishers: 4 });
    const pipeline = await throughput();
    const latency = await latencyAtRate();
    return {
      rawMosquittoQos1: raw,
      pipeline,
      ratioToRaw: Math.round(((pipeline.msgPerSec as number) / raw.msgPerSec) * 100) / 100,
      goals: { msgPerSec: 50_000, ratioToRaw: 0.4, p99MsAt5k: 100 },
      latency,
    };
  },
};
