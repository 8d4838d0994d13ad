/**
 * The alerts processor under `sluice run` workers that are SIGKILLed while alerting (at moments
 * fast-check picks) and restarted, on both stream kinds. Afterwards there is no duplicate
 * alert: Redis and PostgreSQL hold exactly the alerts and transitions a clean evaluation of the
 * readings gives, and every notification reached the alerts stream and the webhook at least
 * once (copies carry the same id), with nothing left in any outbox.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import fc from 'fast-check';
import { Pool } from 'pg';
import { listAlerts } from '../../../processors/alerts/alertActions';
import type { Notification } from '../../../processors/alerts/alertRecord';
import { emptyEntityState } from '../../../processors/alerts/entityState';
import { evaluateDeviceReadings } from '../../../processors/alerts/readingEvaluation';
import type { ReadingEffects } from '../../../processors/alerts/readingEvaluation';
import { parseRuleSet } from '../../../processors/alerts/ruleFile';
import { NOTIFICATION_ID_HEADER } from '../../../processors/alerts/targets/streamTarget';
import type { EnrichedReading } from '../../../schemas/records';
import { SUBJECTS } from '../../../schemas/sluiceSchemas';
import { openStreamClient } from '../../../streams/openStreamClient';
import type { StreamClient } from '../../../streams/streamClient';
import { drainPartition } from '../../conformance/streamConformance';
import { testServers, uniqueName } from '../../support/servers';
import { sourceAddress } from '../../runtime/runner/runnerTestSupport';
import type { Kind } from '../../runtime/runner/runnerTestSupport';
import { alertsTestBed, reading } from './alertsTestSupport';
import type { AlertsTestBed } from './alertsTestSupport';

const root = path.resolve(__dirname, '../../..');
const HANDLER = `${path.join(root, 'processors/alerts/handler.ts')}#handler`;
const RULES = `
rules:
  - { id: hot, kind: threshold, metric: temperature, when: { op: ">", value: 30 }, clear: { op: "<", value: 25 }, cooldown: 0 }
  - { id: run, kind: consecutive, metric: temperature, when: { op: ">", value: 30 }, count: 2, cooldown: 0 }
`;
const DEVICES = 8;
const READINGS_PER_DEVICE = 50;
const SECRET = 'crash-test-webhook-secret-123';

function startWorker(env: NodeJS.ProcessEnv, kind: Kind, stream: string, functionName: string, workerId: string): ChildProcess {
  const child = spawn(process.execPath, [path.join(root, 'bin/sluice.js'), 'run', '--handler', HANDLER, '--source', sourceAddress(kind, stream), '--function-name', functionName,
    '--starting-position', 'TRIM_HORIZON', '--batch-size', '10', '--worker-id', workerId, '--log-level', 'warn', '--redis-url', testServers.redisUrl, '--lease-duration-ms', '2000'], {
    cwd: root, stdio: ['ignore', 'ignore', 'pipe'], env,
  });
  child.stderr?.resume();
  return child;
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What a clean, single evaluation of the readings notifies: ids in order per alert. */
function expectedNotifications(readings: Map<string, EnrichedReading[]>): Notification[] {
  const rules = parseRuleSet(RULES, 'crash-rules');
  const out: Notification[] = [];
  for (const [deviceId, list] of readings) {
    const effects: ReadingEffects = { entity: deviceId, family: 'reading', clock: 0, notifications: [], heard: new Map(), evaluated: 0, duplicates: 0, stale: 0 };
    evaluateDeviceReadings(rules, emptyEntityState(), list.map((r) => ({ reading: r, arrivalTime: r.eventTime })), effects);
    out.push(...effects.notifications);
  }
  return out;
}

describe.each<Kind>(['kinesis', 'kafka'])('alerts workers SIGKILLed on %s', (kind) => {
  let bed: AlertsTestBed;
  let client: StreamClient;
  let pool: Pool;
  let server: Server;
  let webhookUrl: string;
  const webhookIds = new Map<string, number>();

  beforeAll(async () => {
    bed = await alertsTestBed();
    client = openStreamClient(sourceAddress(kind, 'x'));
    pool = new Pool({ connectionString: testServers.postgresUrl, max: 2 });
    server = createServer((request, response) => {
      const id = String(request.headers['idempotency-key']);
      request.resume();
      request.on('end', () => {
        webhookIds.set(id, (webhookIds.get(id) ?? 0) + 1);
        // a slow receiver keeps notifications in flight, where a kill leaves them in the outbox
        setTimeout(() => response.end(), 3);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    webhookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });

  afterAll(async () => {
    await client.close();
    await pool.end();
    await new Promise((resolve) => server.close(resolve));
    await bed.close();
  });

  it('leaves no duplicate alert and loses no notification', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ worker: fc.nat(1), atFraction: fc.double({ min: 0.1, max: 0.8, noNaN: true }), extraMs: fc.integer({ min: 0, max: 200 }) }), { minLength: 2, maxLength: 2 })
        .map((kills) => [...kills].sort((a, b) => a.atFraction - b.atFraction)),
      async (kills) => {
        const stream = uniqueName(`alerts-crash-${kind}`);
        const alertsStream = uniqueName(`alerts-out-${kind}`);
        const functionName = uniqueName('alerts-crash').replace(/[^A-Za-z0-9_-]/g, '-');
        await client.createStream(stream, 2);
        await client.createStream(alertsStream, 1);
        webhookIds.clear();
        const env: NodeJS.ProcessEnv = {
          ...process.env,
          SLUICE_REDIS_URL: testServers.redisUrl, SLUICE_SCHEMA_REGISTRY: bed.registryFile, SLUICE_KEY_PREFIX: bed.prefix,
          SLUICE_ALERT_RULES: bed.writeRules(RULES), SLUICE_PG_URL: testServers.postgresUrl, SLUICE_ALERTS_STREAM: sourceAddress(kind, alertsStream),
          SLUICE_WEBHOOK_URLS: webhookUrl, SLUICE_WEBHOOK_SECRET: SECRET, SLUICE_MQTT_URL: '', SLUICE_PROCESSOR_DLQ: '',
        };
        const workers: ChildProcess[] = [];
        try {
          // readings that open and clear alerts all the time: hot, hot, cold, ... per device
          const byDevice = new Map<string, EnrichedReading[]>();
          const pattern = [35, 36, 20, 31, 20, 20, 40, 41, 42, 22];
          for (let d = 0; d < DEVICES; d++) {
            const deviceId = uniqueName(`crash-dev${d}`);
            byDevice.set(deviceId, Array.from({ length: READINGS_PER_DEVICE }, (_, seq) => reading(deviceId, seq, { temperature: pattern[(seq + d) % pattern.length] as number })));
          }
          const interleaved = Array.from({ length: READINGS_PER_DEVICE }, (_, seq) => [...byDevice.values()].map((list) => list[seq] as EnrichedReading)).flat();
          await client.produce(stream, await Promise.all(interleaved.map(async (r) => ({ key: r.deviceId, value: await bed.codec.encode(SUBJECTS.enrichedReading, r) }))));
          const expected = expectedNotifications(byDevice);
          const expectedIds = new Set(expected.map((n) => n.id));

          workers.push(startWorker(env, kind, stream, functionName, 'w0'), startWorker(env, kind, stream, functionName, 'w1'));
          for (const kill of kills) {
            const target = Math.floor(kill.atFraction * expectedIds.size);
            const waitUntil = Date.now() + 60_000;
            while (webhookIds.size < target && Date.now() < waitUntil) await sleep(20);
            await sleep(kill.extraMs);
            await killed(workers[kill.worker] as ChildProcess);
            workers[kill.worker] = startWorker(env, kind, stream, functionName, `w${kill.worker}`);
          }
          const outboxesEmpty = async (): Promise<boolean> => {
            for (const owner of await bed.redis.smembers(bed.keys.outboxes())) if ((await bed.redis.hlen(bed.keys.outbox(owner))) > 0) return false;
            return true;
          };
          const deadline = Date.now() + 90_000;
          while ((webhookIds.size < expectedIds.size || !(await outboxesEmpty())) && Date.now() < deadline) await sleep(200);

          // Redis: exactly the expected alerts, each in its expected final state
          const finalVersion = new Map<string, Notification>();
          for (const n of expected) finalVersion.set(n.alert.alertId, n);
          const alerts = (await listAlerts(bed.redis, bed.keys, { limit: 100_000 })).filter((a) => byDevice.has(a.deviceId));
          expect(alerts.map((a) => [a.alertId, a.state, a.version]).sort()).toEqual([...finalVersion.values()].map((n) => [n.alert.alertId, n.alert.state, n.alert.version]).sort());

          // PostgreSQL: exactly the expected transitions
          const rows = await pool.query<{ alert_id: string; version: number; transition: string }>('SELECT alert_id, version, transition FROM alert_transitions WHERE alert_id = ANY($1)', [[...finalVersion.keys()]]);
          expect(rows.rows.map((r) => `${r.alert_id}/${r.version} ${r.transition}`).sort()).toEqual(expected.map((n) => `${n.id} ${n.transition}`).sort());
          const alertRows = await pool.query<{ n: string }>('SELECT count(*) AS n FROM alerts WHERE device_id = ANY($1)', [[...byDevice.keys()]]);
          expect(Number(alertRows.rows[0]?.n)).toBe(finalVersion.size);

          // the alerts stream and the webhook: every notification at least once, nothing else
          const onStream = await drainPartition(client, alertsStream, (await client.listPartitions(alertsStream))[0]?.id ?? '');
          expect(new Set(onStream.map((r) => r.headers[NOTIFICATION_ID_HEADER]?.toString()))).toEqual(expectedIds);
          expect(new Set(webhookIds.keys())).toEqual(expectedIds);
          expect(await outboxesEmpty()).toBe(true);
          const copies = onStream.length - expectedIds.size;
          console.log(`alerts crash ${kind}: ${kills.length} kills, ${expectedIds.size} notifications, ${copies} stream copies, ${[...webhookIds.values()].filter((n) => n > 1).length} webhook copies`);
        } finally {
          await Promise.all(workers.map(killed));
          await client.deleteStream(stream).catch(() => undefined);
          await client.deleteStream(alertsStream).catch(() => undefined);
        }
      }), { numRuns: 1 });
  }, 300_000);
});
