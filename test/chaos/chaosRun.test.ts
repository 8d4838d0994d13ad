/**
 * The short chaos run of `npm test`: the real `sluice chaos` command, with its own Kafka broker,
 * Mosquitto, redis-server (AOF, appendfsync always) and a scratch PostgreSQL database, every
 * worker in its own process, under a steady simulated load with duplicates and malformed messages
 * mixed in. Six faults of the kinds a seed deals (a different mix each run; the seed is printed)
 * hit at random moments. Afterwards every acked reading is stored exactly once (PostgreSQL and
 * lake), the aggregates equal the reference from the distinct readings, no alert was raised twice,
 * every acked malformed message is dead-lettered with its reason, no worker died on its own, and
 * the pipeline recovered from each fault. `npm run chaos` runs the long version (every kind).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { ChaosReport } from '../../cli/chaos/chaosRun';
import { testServers } from '../support/servers';

const root = path.resolve(__dirname, '../..');
const SEED = Number(process.env.SLUICE_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));

function runChaos(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'bin/sluice.js'), 'chaos', ...args], { cwd: root, env: { ...process.env, SLUICE_PG_URL: testServers.postgresUrl } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

it(`loses nothing, counts nothing twice and recovers from every fault (seed ${SEED})`, async () => {
  const { code, stdout, stderr } = await runChaos(['--duration', '75', '--devices', '10', '--rate', '50', '--faults', '6', '--seed', String(SEED), '--json']);
  let report: ChaosReport;
  try {
    report = JSON.parse(stdout) as ChaosReport;
  } catch {
    throw new Error(`sluice chaos printed no report (exit ${String(code)}):\n${stderr.slice(-4000)}`);
  }
  const failed = report.checks.filter((check) => !check.ok).map((check) => `${check.name}: ${check.detail}`);
  expect({ seed: SEED, failed }).toEqual({ seed: SEED, failed: [] });
  expect(code).toBe(0);
  expect(report.faults).toHaveLength(6);
  expect(new Set(report.faults.map((fault) => fault.kind)).size).toBe(6);
  for (const fault of report.faults) expect({ kind: fault.kind, error: fault.error, recovered: fault.recoveryMs !== undefined }).toEqual({ kind: fault.kind, error: undefined, recovered: true });
  // the load really ran through the faults, with duplicates and malformed messages in it
  expect(report.readings.ackedValid).toBeGreaterThan(1000);
  expect(report.readings.ackedMalformed).toBeGreaterThan(0);
  expect(report.readings.storedDistinct).toBeGreaterThanOrEqual(report.readings.ackedValid);
  expect(report.readings.duplicatesAbsorbed).toBeGreaterThan(0);
}, 600_000);
