/**
 * `sluice up` end to end, as a user runs it: a child process, real parts (embedded kinesalite
 * and aedes, or the Kafka and Mosquitto `sluice infra up` starts), the JSON summary checked
 * against the simulator's own ledger (loss = 0), and Ctrl-C draining to a clean exit.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findFreePort } from '../../infra/ports';
import { testServers } from '../support/servers';

const SLUICE = path.join(__dirname, '../../bin/sluice.js');


interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runSluice(args: string[], options: { interruptAfterMs?: number; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SLUICE, ...args], { env: { ...process.env, SLUICE_LOG_LEVEL: 'error' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const interrupt = options.interruptAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGINT'), options.interruptAfterMs);
    const timeout = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sluice ${args.join(' ')} did not finish; stderr:\n${stderr}`));
    }, options.timeoutMs ?? 150_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timeout);
      if (interrupt) clearTimeout(interrupt);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

interface Summary {
  ok: boolean;
  readings: { acked: number; ackedValid: number; ackedInvalid: number; ingested: number; deadLetteredAtIngest: Record<string, number>; stored: number; duplicatesAbsorbed: number };
  loss: { where: string; expected: number; stored: number; missing: number };
  figures: { aggregate: { readings: number } };
  latencyMs: { count: number };
  stages: Array<{ name: string; recordsRead: number; errors: number }>;
}

describe('sluice up', () => {
  let lakeDir: string;

  beforeEach(() => {
    lakeDir = mkdtempSync(path.join(os.tmpdir(), 'sluice-up-test-'));
  });

  afterEach(() => {
    rmSync(lakeDir, { recursive: true, force: true });
  });

  it('with nothing configured runs the whole pipeline on embedded parts: every acked valid reading is stored and counted once, bad ones dead-lettered by reason', async () => {
    const run = await runSluice(['up', '--duration', '6', '--devices', '10', '--rate', '60', '--json', '--no-dashboard', '--lake-dir', lakeDir, '--key-prefix', `sluice-up-test-${process.pid}`]);
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as Summary;
    expect(summary.ok).toBe(true);
    expect(summary.readings.ackedValid).toBeGreaterThan(200);
    expect(summary.loss).toMatchObject({ where: 'postgres', missing: 0, expected: summary.readings.ackedValid, stored: summary.readings.ackedValid });
    // the aggregate counted each distinct reading once, duplicates and all
    expect(summary.figures.aggregate.readings).toBe(summary.readings.ackedValid);
    const deadLettered = Object.values(summary.readings.deadLetteredAtIngest).reduce((sum, n) => sum + n, 0);
    expect(deadLettered).toBe(summary.readings.ackedInvalid);
    expect(summary.latencyMs.count).toBeGreaterThan(0);
    expect(summary.stages.map((stage) => stage.name)).toEqual(expect.arrayContaining(['sluice-transform', 'sluice-aggregate', 'sluice-store-readings', 'sluice-alerts']));
    for (const stage of summary.stages) expect(stage.errors).toBe(0);
  });

  it('runs on the real Kafka and Mosquitto, serves Prometheus metrics, and Ctrl-C drains: loss = 0 and a clean exit', async () => {
    const brokers = testServers.kafkaBrokers.join(',');
    const metricsPort = await findFreePort();
    let scraped = '';
    const scrape = setTimeout(() => {
      void fetch(`http://127.0.0.1:${metricsPort}/metrics`).then(async (response) => (scraped = await response.text())).catch(() => undefined);
    }, 9000);
    const run = await runSluice(['up', '--metrics-port', String(metricsPort), '--duration', '0', '--devices', '10', '--rate', '60', '--json', '--no-dashboard', '--kafka', brokers, '--mqtt-url', testServers.mqttUrl, '--lake-dir', lakeDir, '--key-prefix', `sluice-up-test-k-${process.pid}`, '--stream-prefix', `up-test-${process.pid}-${Date.now().toString(36)}-`], { interruptAfterMs: 12_000 });
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as Summary;
    expect(summary.readings.ackedValid).toBeGreaterThan(100);
    expect(summary.loss.missing).toBe(0);
    expect(summary.figures.aggregate.readings).toBe(summary.readings.ackedValid);
    clearTimeout(scrape);
    expect(scraped).toMatch(/sluice_ingest_readings_produced_total\{source="mqtt"\} [1-9]/);
    expect(scraped).toMatch(/sluice_runtime_records_read_total\{function="up-test-[^"]*sluice-aggregate",partition="\d+"\} [1-9]/);
  });

  it('refuses bad configuration before anything starts, naming the setting', async () => {
    const run = await runSluice(['up', '--devices', 'many']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/--devices: must be an integer/);
    const both = await runSluice(['up', '--kafka', '--kinesis-endpoint', 'http://127.0.0.1:4567']);
    expect(both.stderr).toMatch(/--kafka: choose one stream/);
    const redis = await runSluice(['up', '--redis-url', 'redis://127.0.0.1:1']);
    expect(redis.code).not.toBe(0);
    expect(redis.stderr).toMatch(/Redis at redis:\/\/127.0.0.1:1 does not answer/);
  });
});
