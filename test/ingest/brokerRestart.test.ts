/**
 * Ingest across a Mosquitto restart, with the broker's persistence on (as `sluice chaos` runs it).
 * Plain subscription: the broker restores ingest's session and subscription from its persistence
 * file, so readings devices publish after the restart and BEFORE ingest is back are queued for it
 * and nothing acked is lost. Shared subscription: Mosquitto 2.0.11 does not restore shared
 * subscriptions (measured), so only what is published after ingest subscribed again (mqtt.js does
 * on reconnect) is delivered; earlier publishes are acked to devices and dropped — why `sluice
 * chaos` runs one ingest with a plain subscription.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { IngestPipeline } from '../../ingest/ingestPipeline';
import { MqttIngest } from '../../ingest/mqttIngest';
import { downManagedProcess, upManagedProcess } from '../../infra/managedProcess';
import { mosquittoSpec } from '../../infra/mosquitto/mosquittoServer';
import { DEFAULT_CACHE_DIR } from '../../infra/paths';
import { findFreePort } from '../../infra/ports';
import { uniqueName } from '../support/servers';
import { createIngestStreams, decodeReadings, readStreamUntil } from './ingestTestSupport';
import type { IngestStreams } from './ingestTestSupport';

function reading(deviceId: string, seq: number): string {
  return JSON.stringify({ deviceId, deviceType: 'thermostat', seq, eventTime: new Date().toISOString(), metrics: { temperature: 20 + seq } });
}

async function publish(url: string, topicPrefix: string, deviceId: string, seqs: number[]): Promise<void> {
  const device = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0 });
  await new Promise<void>((resolve, reject) => {
    device.once('connect', () => resolve());
    device.once('error', reject);
  });
  for (const seq of seqs) await device.publishAsync(`${topicPrefix}/${deviceId}/telemetry`, reading(deviceId, seq), { qos: 1 });
  await device.endAsync();
}

describe.each([['shared', 'g1'], ['plain', null]] as const)('ingest across a Mosquitto restart (%s subscription)', (_label, sharedGroup) => {
  let streams: IngestStreams;
  let ingest: MqttIngest | undefined;
  let spec: ReturnType<typeof mosquittoSpec>;
  let dir: string;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-mq-restart-'));
    // Mosquitto started as root drops to its own user, which must reach the persistence dir
    fs.chmodSync(dir, 0o755);
    spec = mosquittoSpec({ mosquittoPort: await findFreePort(), cacheDir: DEFAULT_CACHE_DIR, startTimeoutMs: 30_000, stopTimeoutMs: 30_000, persistenceDir: path.join(dir, 'persist') });
    await upManagedProcess(spec);
    streams = await createIngestStreams('mqrestart', 1, 'kafka');
  });

  afterEach(async () => {
    await ingest?.stop();
    await downManagedProcess(spec);
    await streams.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('takes every reading published before and after the broker restarted', async () => {
    const url = spec.address;
    const topicPrefix = uniqueName('rs').replace(/[^a-z0-9]/gi, '');
    const pipeline = new IngestPipeline({ telemetry: { client: streams.client, stream: streams.telemetry }, deadLetter: { client: streams.client, stream: streams.deadLetter }, codec: streams.codec });
    ingest = await MqttIngest.start({ mqttUrl: url, pipeline, clientId: `${topicPrefix}-ingest`, sharedGroup, topicFilter: `${topicPrefix}/+/telemetry`, reconnectPeriodMs: 3000 });
    await publish(url, topicPrefix, 'dev1', [1, 2, 3]);
    await readStreamUntil(streams.client, streams.telemetry, (found) => found.length >= 3);

    await downManagedProcess(spec);
    await upManagedProcess(spec);
    if (sharedGroup === null) {
      // before ingest reconnects (it retries every 3 s): the restored session must queue these
      await publish(url, topicPrefix, 'dev1', [4, 5, 6]);
      expect(ingest.client.connected).toBe(false);
    } else {
      const deadline = Date.now() + 20_000;
      while (!ingest.client.connected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await publish(url, topicPrefix, 'dev1', [4, 5, 6]);
    }

    const records = await readStreamUntil(streams.client, streams.telemetry, (found) => found.length >= 6, 30_000);
    const seqs = new Set((await decodeReadings(streams.codec, records)).map(({ reading: r }) => r.seq));
    expect([...seqs].sort()).toEqual([1, 2, 3, 4, 5, 6]);
  }, 90_000);
});
