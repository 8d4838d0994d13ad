/**
 * `npm run bench -- ingest` (once registered in bench/index.ts) or `node bin/run-ts.js bench/ingest/index.ts`:
 * raw Mosquitto pass-through (publishers -> subscriber, no processing) vs simulator -> Mosquitto ->
 * ingest -> Kafka, QoS 0 and QoS 1, in one run on the same broker. Targets (issue 5): ingest QoS 0
 * >= 40 % of raw QoS 0 msg/s, QoS 1 >= 70 % of raw QoS 1; peak RSS reported (bounded memory).
 *
 * The baseline's publishers and subscriber share this process; ingest runs as `sluice ingest` in a
 * child process, as deployed (measured: with the fleet, ingest and kafkajs on one event loop, the CPU
 * of that one loop is the limit, ~14k msg/s QoS 0 here, not ingest).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { startFleet } from '../../simulators/fleet';
import { openStreamClient } from '../../streams/openStreamClient';
import type { BenchSuite } from '../index';
import { benchRawMosquittoPassThrough } from './rawPassThrough';
import type { RawPassThroughResult } from './rawPassThrough';

const mqttUrl = process.env.SLUICE_MQTT_URL ?? 'mqtt://127.0.0.1:1884';
const brokers = process.env.SLUICE_KAFKA_BROKERS ?? '127.0.0.1:9092';
const messages = Number(process.env.SLUICE_BENCH_MESSAGES ?? 50_000);
/**
 * Raw/ingest pairs per QoS level. The machine is shared and noisy (one pair's ratio moved between
 * 0.3 and 0.73 here from run to run), so the suite reports the median of several pairs, each pair
 * measured back to back.
 */
const repeat = Math.max(1, Number(process.env.SLUICE_BENCH_REPEAT ?? 3));
const connections = 4;
/** `SLUICE_BENCH_QOS=0` runs one case only (while iterating on one); both by default. */
const qosLevels = (process.env.SLUICE_BENCH_QOS ?? '0,1').split(',').map(Number).filter((qos): qos is 0 | 1 => qos === 0 || qos === 1);
/**
 * Extra node flags for the ingest child, e.g. `--cpu-prof --cpu-prof-dir=/tmp/ingest-prof` to
 * profile the process being measured (the profile is written when it exits after SIGTERM).
 */
const ingestNodeArgs = (process.env.SLUICE_BENCH_INGEST_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
/**
 * Other builds or settings of `sluice ingest` to measure in the same rounds, for before/after
 * comparisons on a noisy machine: `SLUICE_BENCH_INGEST_VARIANTS=name=bin[|node flags[|ingest flags]],...`,
 * e.g. `before=/tmp/sluice-before/bin/sluice.js` (a copy of the tree with the old ingest/, node_modules
 * linked in) or `batch2000=bin/sluice.js||--max-batch 2000`. Each round runs raw, then every variant.
 */
interface IngestVariant {
  name: string;
  bin: string;
  nodeArgs: string[];
  ingestArgs: string[];
}
const words = (text: string | undefined): string[] => (text ?? '').split(' ').filter((word) => word !== '');
const variants: IngestVariant[] = [
  { name: 'current', bin: path.join(__dirname, '../../bin/sluice.js'), nodeArgs: ingestNodeArgs, ingestArgs: [] },
  ...(process.env.SLUICE_BENCH_INGEST_VARIANTS ?? '')
    .split(',')
    .filter((spec) => spec.includes('='))
    .map((spec) => {
      const [bin = '', nodeArgs, ingestArgs] = spec.slice(spec.indexOf('=') + 1).split('|');
      return { name: spec.slice(0, spec.indexOf('=')), bin: path.resolve(bin), nodeArgs: [...ingestNodeArgs, ...words(nodeArgs)], ingestArgs: words(ingestArgs) };
    }),
];

interface IngestRunResult {
  qos: 0 | 1;
  sentByFleet: number;
  ackedToFleet: number;
  produced: number;
  deadLettered: number;
  /** From the fleet's start to the last reading produced (the fleet's gateway connections open in a few ms). */
  durationMs: number;
  msgPerSec: number;
  fleetSkippedForBackpressure: number;
  /** Peak RSS of the ingest process (bounded memory under overload: the fleet publishes as fast as it can). */
  peakIngestRssMiB: number;
  /** CPU time (user + system) the ingest process spent per message produced: the cost of the hot path, less noisy than msg/s on a shared machine. */
  ingestCpuMicrosPerMessage: number;
  /** CPU time of this process (the fleet) per message, for comparison. */
  fleetCpuMicrosPerMessage: number;
  /** Messages per produced batch, on average (sluice_ingest_batch_size). */
  meanBatchSize: number;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Sums a counter's samples from Prometheus text. */
async function scrapeCounter(metricsUrl: string, name: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

/** `sluice ingest` in its own process, as deployed: the fleet and the ingest function do not share one event loop. */
async function startIngestProcess(variant: IngestVariant, args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...variant.nodeArgs, variant.bin, 'ingest', ...args, ...variant.ingestArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('Ctrl-C to drain')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`sluice ingest exited with ${String(code)}: ${stderr}`)));
  });
  return child;
}

/** Peak RSS of a process from /proc (Linux), in bytes; 0 where there is no /proc. */
function rssOf(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU time (user + system) a process has used, in µs, from /proc (Linux); 0 where there is no /proc. */
function cpuMicrosOf(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
    // fields after the parenthesised command name: state is field 3, utime 14, stime 15 (clock ticks, 100 per second on Linux)
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return 0;
  }
}

async function benchIngest(qos: 0 | 1, variant: IngestVariant): Promise<IngestRunResult> {
  const tag = `bench-ingest-${process.pid}-${Date.now().toString(36)}-q${qos}`;
  const client = openStreamClient(`kafka://${brokers}/unused`, { clientId: 'sluice-bench-ingest' });
  const telemetry = `${tag}-telemetry`;
  const deadLetter = `${tag}-dlq`;
  await client.createStream(telemetry, 3);
  await client.createStream(deadLetter, 1);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-ingest-'));
  const metricsPort = await freePort();
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const clientId = `${tag}-ingest`;
  const child = await startIngestProcess(variant, [
    '--mqtt-url', mqttUrl, '--stream', `kafka://${brokers}/${telemetry}`, '--dead-letter', `kafka://${brokers}/${deadLetter}`,
    '--schema-registry', path.join(dir, 'registry.json'), '--shared-group', tag.replace(/[^a-z0-9]/gi, ''), '--topic-filter', `${tag}/+/telemetry`,
    '--client-id', clientId, '--metrics-port', String(metricsPort), '--log-level', 'error',
  ]);
  let peakIngestRss = rssOf(child.pid);
  const rssSampler = setInterval(() => {
    peakIngestRss = Math.max(peakIngestRss, rssOf(child.pid));
  }, 100);
  try {
    const devices = 100;
    const ingestCpuAtStart = cpuMicrosOf(child.pid);
    const fleetCpuAtStart = process.cpuUsage();
    const startedAt = performance.now();
    const fleet = startFleet({
      mqttUrl, qos, devices, topicPrefix: tag, deviceIdPrefix: tag.replace(/[^a-z0-9]/gi, ''),
      rate: 1_000_000, readingsPerDevice: Math.ceil(messages / devices), gateway: true, gatewayConnections: connections, maxLagMs: 3_600_000,
    });
    const report = await fleet.finished;
    // Wait until ingest has produced what the broker took (QoS 0 may lose some: stop when idle).
    let produced = 0;
    let lastChangeAt = performance.now();
    let lastProducedAt = startedAt;
    while (produced < report.acked && performance.now() - lastChangeAt < 5000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const now = await scrapeCounter(metricsUrl, 'sluice_ingest_readings_produced_total');
      if (now !== produced) {
        produced = now;
        lastChangeAt = performance.now();
        lastProducedAt = lastChangeAt;
      }
    }
    const durationMs = lastProducedAt - startedAt;
    const ingestCpuMicros = cpuMicrosOf(child.pid) - ingestCpuAtStart;
    const fleetCpu = process.cpuUsage(fleetCpuAtStart);
    return {
      qos,
      sentByFleet: report.sent,
      ackedToFleet: report.acked,
      produced,
      deadLettered: await scrapeCounter(metricsUrl, 'sluice_ingest_rejected_total'),
      durationMs: Math.round(durationMs),
      msgPerSec: Math.round(produced / Math.max(1e-3, durationMs / 1000)),
      fleetSkippedForBackpressure: report.skipped.backpressure,
      peakIngestRssMiB: Math.round(peakIngestRss / 2 ** 20),
      ingestCpuMicrosPerMessage: Math.round((ingestCpuMicros / Math.max(1, produced)) * 10) / 10,
      fleetCpuMicrosPerMessage: Math.round(((fleetCpu.user + fleetCpu.system) / Math.max(1, report.sent)) * 10) / 10,
      meanBatchSize: Math.round(
        (await scrapeCounter(metricsUrl, 'sluice_ingest_batch_size_sum')) / Math.max(1, await scrapeCounter(metricsUrl, 'sluice_ingest_batch_size_count')),
      ),
    };
  } finally {
    clearInterval(rssSampler);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    const session = await mqtt.connectAsync(mqttUrl, { clientId, clean: true, protocolVersion: 5, reconnectPeriod: 0 });
    await session.endAsync();
    await client.deleteStream(telemetry).catch(() => undefined);
    await client.deleteStream(deadLetter).catch(() => undefined);
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const ingestBench: BenchSuite = {
  name: 'ingest',
  description: `raw Mosquitto pass-through vs simulator -> Mosquitto -> ingest -> Kafka, QoS 0 and 1 (${messages} messages per case)`,
  async run() {
    const result: Record<string, unknown> = { mqttUrl, brokers, messages, connections, repeat, variants };
    for (const qos of qosLevels) {
      const rounds: Array<{ raw: RawPassThroughResult; ingest: Record<string, IngestRunResult & { ratio: number }> }> = [];
      for (let round = 0; round < repeat; round += 1) {
        const raw = await benchRawMosquittoPassThrough({ url: mqttUrl, messages, qos, publishers: connections });
        const ingest: Record<string, IngestRunResult & { ratio: number }> = {};
        for (const variant of variants) {
          const measured = await benchIngest(qos, variant);
          ingest[variant.name] = { ...measured, ratio: Math.round((measured.msgPerSec / Math.max(1, raw.msgPerSec)) * 100) / 100 };
        }
        rounds.push({ raw, ingest });
      }
      const summary: Record<string, unknown> = { target: qos === 0 ? 0.4 : 0.7, rawMsgPerSec: median(rounds.map((round) => round.raw.msgPerSec)) };
      for (const variant of variants) {
        const runs = rounds.map((round) => round.ingest[variant.name] as IngestRunResult & { ratio: number });
        summary[variant.name] = {
          ratio: median(runs.map((run) => run.ratio)),
          ratios: runs.map((run) => run.ratio),
          msgPerSec: median(runs.map((run) => run.msgPerSec)),
          cpuMicrosPerMessage: median(runs.map((run) => run.ingestCpuMicrosPerMessage)),
          meanBatchSize: median(runs.map((run) => run.meanBatchSize)),
          peakRssMiB: Math.max(...runs.map((run) => run.peakIngestRssMiB)),
        };
      }
      result[`qos${qos}`] = { ...summary, rounds };
    }
    return result;
  },
};

// Run directly (bin/run-ts.js sets argv[1] to this file) rather than through bench/index.ts.
if (path.resolve(process.argv[1] ?? '') === __filename) {
  ingestBench.run().then(
    (result) => console.log(JSON.stringify(result, null, 2)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
