/**
 * `sluice loadtest`: drive the pipeline at a chosen load and write what happened over time —
 * JSON of every second and an HTML chart of rate, lag and latency — with phases that add
 * consumers, to show how throughput scales as they are added.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../core/errors';
import { loadtestHtml } from '../loadtest/loadtestReport';
import { runLoadtest } from '../loadtest/loadtestRun';
import type { LoadtestOptions } from '../loadtest/loadtestRun';
import { resolveUpOptions } from '../up/upOptions';
import type { UpOptions } from '../up/upOptions';

interface LoadtestFlags {
  devices: string;
  rate: string;
  ramp: string;
  duration: string;
  partitions: string;
  parallelization: string;
  handlerLatency: string;
  consumers: string;
  gateway?: boolean;
  qos: string;
  kafka?: string | boolean;
  kinesisEndpoint?: string;
  mqttUrl?: string;
  redisUrl?: string;
  pgUrl?: string;
  pg?: boolean;
  out: string;
  seed: string;
}

function integer(value: string, flag: string, min: number, max: number): number {
  const parsed = /^\s*-?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) throw new ConfigError(flag, `must be an integer from ${min} to ${max}, got "${value}"`);
  return parsed;
}

/** "10ms", "2s", "1m" or a bare number of the default unit. */
export function parseDuration(value: string, flag: string, unit: 'ms' | 's'): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!match) throw new ConfigError(flag, `must be a duration like 10ms, 30s or 2m, got "${value}"`);
  const amount = Number(match[1]);
  const ms = match[2] === 'ms' ? amount : match[2] === 's' ? amount * 1000 : match[2] === 'm' ? amount * 60_000 : unit === 'ms' ? amount : amount * 1000;
  return unit === 'ms' ? ms : ms / 1000;
}

const FLAG_OF: Partial<Record<keyof UpOptions, string>> = { kafka: '--kafka', kinesisEndpoint: '--kinesis-endpoint', mqttUrl: '--mqtt-url', redisUrl: '--redis-url', pgUrl: '--pg-url' };

export function loadtestOptionsFromFlags(flags: LoadtestFlags): LoadtestOptions {
  const consumers = flags.consumers.split(',').map((part) => integer(part.trim(), '--consumers', 1, 64));
  const qos = integer(flags.qos, '--qos', 0, 1) as 0 | 1;
  // the servers are `sluice up`'s, checked the same way
  const { kafka, kinesisEndpoint, mqttUrl, redisUrl, pgUrl } = resolveUpOptions(
    { kafka: flags.kafka, kinesisEndpoint: flags.kinesisEndpoint, mqttUrl: flags.mqttUrl, redisUrl: flags.redisUrl, pgUrl: flags.pg === false ? false : flags.pgUrl },
    {},
    (key) => FLAG_OF[key] ?? key,
  );
  if (existsSync(flags.out) && !statSync(flags.out).isDirectory()) throw new ConfigError('--out', `${flags.out} is a file, not a directory for the reports`);
  return {
    devices: integer(flags.devices, '--devices', 1, 100_000),
    rate: integer(flags.rate, '--rate', 1, 1_000_000),
    rampSeconds: parseDuration(flags.ramp, '--ramp', 's'),
    durationSeconds: parseDuration(flags.duration, '--duration', 's'),
    partitions: integer(flags.partitions, '--partitions', 1, 64),
    parallelization: integer(flags.parallelization, '--parallelization', 1, 10),
    handlerLatencyMs: Math.round(parseDuration(flags.handlerLatency, '--handler-latency', 'ms')),
    consumers, gateway: flags.gateway === true, qos, kafka, kinesisEndpoint, mqttUrl, redisUrl,
    pgUrl, keyPrefix: 'sluice-loadtest', lakeDir: '.sluice/loadtest-lake', seed: integer(flags.seed, '--seed', 0, 0xffffffff),
  };
}

export function registerLoadtestCommand(program: Command): void {
  program
    .command('loadtest')
    .description('drive the whole pipeline at a chosen load; report rate per stage, consumer lag and e2e latency over time (JSON + HTML chart), and scaling as consumers are added')
    .option('--devices <n>', 'simulated devices', '200')
    .option('--rate <n>', 'readings per second over the fleet', '2000')
    .option('--ramp <duration>', 'devices connect evenly over this time', '5s')
    .option('--duration <duration>', 'how long devices publish', '60s')
    .option('--partitions <n>', 'partitions (Kafka) or shards (Kinesis) per stream', '4')
    .option('--parallelization <n>', 'Kinesis ParallelizationFactor (1-10): concurrent batches per shard', '1')
    .option('--handler-latency <duration>', 'extra latency added to every invocation of every processor (a heavier handler)', '0ms')
    .option('--consumers <list>', 'consumers (runners per function) in each phase, e.g. 1,2,4: phases split the duration', '1')
    .option('--gateway', 'devices publish through 4 gateway connections (for high rates)')
    .option('--qos <0|1>', 'MQTT QoS of the devices', '1')
    .option('--kafka [brokers]', 'use Kafka (default 127.0.0.1:9092) instead of the embedded Kinesis')
    .option('--kinesis-endpoint <url>', 'use a running Kinesis endpoint')
    .option('--mqtt-url <url>', 'use this MQTT broker instead of the embedded aedes')
    .option('--redis-url <url>', 'Redis (default 127.0.0.1:6379 if it answers, else a child redis-server)')
    .option('--pg-url <url>', 'PostgreSQL (default postgres://postgres@127.0.0.1:5432/test if it answers)')
    .option('--no-pg', 'no PostgreSQL (storage to lake files)')
    .option('--seed <n>', 'simulator seed', '1')
    .option('--out <dir>', 'where loadtest-<time>.json and .html go', '.sluice/loadtests')
    .addHelpText('after', `
Example:
  sluice loadtest --devices 500 --rate 5000 --partitions 4 --parallelization 4 --handler-latency 10ms --duration 90s --consumers 1,2,4
Each run uses streams of its own (lt-<run>-*); on Kafka they stay after the run.`)
    .action(async (flags: LoadtestFlags) => {
      const options = loadtestOptionsFromFlags(flags);
      const interactive = process.stderr.isTTY === true;
      const result = await runLoadtest(options, path.resolve(__dirname, '../..'), (sample) => {
        const stages = Object.entries(sample.stagePerSecond).map(([name, rate]) => `${name.replace(/^lt-[^-]+-/, '')} ${rate}/s`).join(', ');
        const line = `t=${sample.t}s consumers=${sample.consumers} acked ${sample.ackedPerSecond}/s ingested ${sample.ingestedPerSecond}/s | ${stages} | p99 ${sample.latencyMs.p99} ms`;
        process.stderr.write(interactive ? `\r\x1b[2K${line}` : `${line}\n`);
      });
      if (interactive) process.stderr.write('\n');
      mkdirSync(flags.out, { recursive: true });
      const base = path.join(flags.out, `loadtest-${result.startedAt.replace(/[:.]/g, '-')}`);
      writeFileSync(`${base}.json`, JSON.stringify(result, null, 2));
      writeFileSync(`${base}.html`, loadtestHtml(result));
      console.log(JSON.stringify({ phases: result.phases, latencyMs: result.latencyMs, loss: { missing: result.loss.missing, expected: result.loss.expected }, report: { json: `${base}.json`, html: `${base}.html` } }, null, 2));
      process.exitCode = result.loss.missing === 0 ? 0 : 1;
    });
}
