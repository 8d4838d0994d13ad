import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { startFleet } from '../../simulators/fleet';
import type { StreamRecord } from '../../streams/streamClient';
import type { Fleet } from '../../simulators/fleet';
import { testServers, uniqueName } from '../support/servers';
import { createIngestStreams, decodeReadings, endMqttSession, readStreamUntil } from './ingestTestSupport';
import type { IngestStreamKind, IngestStreams } from './ingestTestSupport';

const mqttUrl = testServers.mqttUrl;
const repoRoot = path.resolve(__dirname, '../..');

/** `sluice ingest` as a real child process; resolves once it has subscribed. */
async function startIngestProcess(args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/sluice.js'), 'ingest', ...args], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('Ctrl-C to drain')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`sluice ingest exited with ${String(code)} before subscribing: ${stderr}`)));
  });
  return child;
}

async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe.each<IngestStreamKind>(['kafka', 'kinesis'])('sluice ingest to %s killed with SIGKILL mid-stream (QoS 1, persistent session)', (kind) => {
  let streams: IngestStreams;
  let child: ChildProcess | undefined;
  let fleet: Fleet | undefined;
  let clientId: string;

  beforeEach(async () => {
    streams = await createIngestStreams('ingcrash', 2, kind);
  });

  afterEach(async () => {
    await fleet?.stop();
    if (child) await killHard(child);
    await endMqttSession(mqttUrl, clientId);
    await streams.cleanup();
  });

  it('after restarts, every reading the broker acked to a device is in the stream (duplicates allowed), none missing', async () => {
    const prefix = uniqueName('ingcrash');
    clientId = `${prefix}-ingest`;
    const args = [
      '--mqtt-url', mqttUrl,
      '--stream', streams.address(streams.telemetry),
      '--dead-letter', streams.address(streams.deadLetter),
      '--schema-registry', streams.temp.filePath,
      '--shared-group', prefix.replace(/[^a-z0-9]/gi, ''),
      '--topic-filter', `${prefix}/+/telemetry`,
      '--client-id', clientId,
      '--log-level', 'error',
    ];
    child = await startIngestProcess(args);
    fleet = startFleet({ mqttUrl, topicPrefix: prefix, deviceIdPrefix: prefix.replace(/[^a-z0-9]/gi, ''), devices: 5, rate: 800, readingsPerDevice: 600, qos: 1 });
    const finished = fleet.finished;

    // Kill at random moments while the fleet publishes; the broker queues for the dead session.
    let kills = 0;
    let fleetDone = false;
    void finished.then(() => {
      fleetDone = true;
    });
    while (!fleetDone && kills < 3) {
      await new Promise((resolve) => setTimeout(resolve, 200 + Math.floor(Math.random() * 600)));
      await killHard(child);
      kills += 1;
      child = await startIngestProcess(args);
    }
    const report = await finished;
    expect(kills).toBeGreaterThan(0);
    expect(report.failed).toBe(0);
    const accepted = [...fleet.ledger.acceptedReadings()];
    expect(accepted).toHaveLength(report.acked);

    const identities = async (found: StreamRecord[]) => new Set((await decodeReadings(streams.codec, found)).map(({ reading }) => `${reading.deviceId}/${reading.seq}`));
    const records = await readStreamUntil(streams.client, streams.telemetry, async (found) => (await identities(found)).size >= accepted.length, 40_000);
    const readings = await decodeReadings(streams.codec, records);
    const stored = await identities(records);
    const missing = accepted.filter(({ deviceId, seq }) => !stored.has(`${deviceId}/${seq}`));
    expect(missing).toEqual([]);
    // Redelivered after a kill: stored twice (counted here), never lost.
    const duplicates = readings.length - stored.size;
    process.stderr.write(`ingest crash test (${kind}): ${kills} kills, ${accepted.length} readings acked to devices, ${readings.length} records, ${duplicates} duplicates\n`);
  });
});
