/**
 * The alert lifecycle an operator drives (list, acknowledge, clear) through the exported
 * functions and through `sluice alerts`, and re-notification of open alerts by the timer.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { alertTable } from '../../../cli/commands/alerts';
import { closeAlertsConnections } from '../../../processors/alerts/alertsContext';
import { AlertNotFoundError, acknowledgeAlertById, checkHeartbeats, clearAlertById, handler, listAlerts } from '../../../processors/alerts/handler';
import type { AlertRecord } from '../../../processors/alerts/alertRecord';
import { closeSharedResources } from '../../../processors/shared/processorResources';
import { testServers, uniqueName } from '../../support/servers';
import { alertsTestBed, encodeReadings, processorEnvironment, reading, scheduledEvent, streamEvent } from './alertsTestSupport';
import type { AlertsTestBed } from './alertsTestSupport';

const RULES = `
rules:
  - { id: hot, kind: threshold, metric: temperature, when: { op: ">", value: 30 }, clear: { op: "<", value: 25 }, cooldown: 1m, renotifyEvery: 10m, severity: critical }
`;

const root = path.resolve(__dirname, '../../..');
const run = promisify(execFile);

let bed: AlertsTestBed;

beforeAll(async () => {
  bed = await alertsTestBed();
  bed.useEnvironment(processorEnvironment(bed, bed.writeRules(RULES)));
});

afterAll(async () => {
  await bed.close();
  await closeAlertsConnections();
  await closeSharedResources();
});

async function raise(deviceId: string, seq: number, temperature: number): Promise<void> {
  await handler(streamEvent('kinesis', 'enriched-actions', await encodeReadings(bed.codec, [reading(deviceId, seq, { temperature })])));
}

async function only(deviceId: string): Promise<AlertRecord[]> {
  return listAlerts(bed.redis, bed.keys, { deviceId });
}

function sluice(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [path.join(root, 'bin/sluice.js'), 'alerts', ...args, '--redis-url', testServers.redisUrl, '--key-prefix', bed.prefix], {
    cwd: root, env: { ...process.env, SLUICE_PG_URL: 'none', SLUICE_MQTT_URL: '', SLUICE_ALERTS_STREAM: '', SLUICE_WEBHOOK_URLS: '' },
  });
}

describe('operator actions', () => {
  it('acknowledges an open alert once, refuses to acknowledge it again, clears it, and refuses to clear it again', async () => {
    const device = uniqueName('dev-ops');
    await raise(device, 1, 35);
    const [alert] = await only(device);
    const ackTime = Date.now();
    const action = { redis: bed.redis, keys: bed.keys, by: 'alice', now: ackTime };

    const acked = await acknowledgeAlertById(action, alert!.alertId);
    expect(acked).toMatchObject({ transition: 'acknowledged', alert: { state: 'acknowledged', acknowledgedBy: 'alice', acknowledgedAt: ackTime, version: 2 } });
    await expect(acknowledgeAlertById(action, alert!.alertId)).rejects.toThrow(`alert ${alert!.alertId} cannot be acknowledged: it is acknowledged`);

    await raise(device, 2, 40); // still hot: the acknowledged alert stays the one alert
    expect(await only(device)).toEqual([expect.objectContaining({ alertId: alert!.alertId, state: 'acknowledged' })]);

    const cleared = await clearAlertById({ ...action, by: 'bob' }, alert!.alertId);
    expect(cleared.alert).toMatchObject({ state: 'cleared', clearedBy: 'bob', version: 3 });
    await expect(clearAlertById(action, alert!.alertId)).rejects.toThrow(`alert ${alert!.alertId} cannot be cleared: it is cleared`);
    await expect(acknowledgeAlertById(action, alert!.alertId)).rejects.toThrow('it is cleared');

    // the cooldown runs from the newest reading's time (t = 2 s): still hot at 30 s is quiet, at 62 s a new alert opens
    await raise(device, 30, 40);
    expect((await only(device)).map((a) => a.state)).toEqual(['cleared']);
    await raise(device, 62, 40);
    expect((await only(device)).map((a) => a.state).sort()).toEqual(['cleared', 'open']);
  });

  it('refuses unknown alert ids with an error that names them', async () => {
    const action = { redis: bed.redis, keys: bed.keys };
    await expect(acknowledgeAlertById(action, 'alt_nope')).rejects.toBeInstanceOf(AlertNotFoundError);
    await expect(clearAlertById(action, 'alt_nope')).rejects.toThrow('no alert with id "alt_nope"');
  });

  it('lists by device and state, newest first', async () => {
    const a = uniqueName('dev-list-a');
    const b = uniqueName('dev-list-b');
    await raise(a, 1, 35);
    await raise(b, 1, 35);
    await raise(b, 2, 20);
    expect((await listAlerts(bed.redis, bed.keys, { deviceId: b })).map((x) => x.state)).toEqual(['cleared']);
    const open = await listAlerts(bed.redis, bed.keys, { state: 'open', limit: 1000 });
    expect(open.every((x) => x.state === 'open')).toBe(true);
    expect(open.map((x) => x.deviceId)).toContain(a);
    expect(open.map((x) => x.deviceId)).not.toContain(b);
  });

  it('re-notifies an open alert on the timer until it is acknowledged', async () => {
    const device = uniqueName('dev-renotify');
    await raise(device, 1, 35);
    const [alert] = await only(device);
    const notified = alert!.notifiedAt;
    await checkHeartbeats(scheduledEvent(notified + 9 * 60_000));
    expect((await only(device))[0]).toMatchObject({ version: 1, notifications: 1 });
    await checkHeartbeats(scheduledEvent(notified + 10 * 60_000));
    expect((await only(device))[0]).toMatchObject({ version: 2, notifications: 2, notifiedAt: notified + 10 * 60_000, state: 'open' });
    await checkHeartbeats(scheduledEvent(notified + 15 * 60_000));
    expect((await only(device))[0]).toMatchObject({ version: 2 });
    await acknowledgeAlertById({ redis: bed.redis, keys: bed.keys }, alert!.alertId);
    await checkHeartbeats(scheduledEvent(notified + 60 * 60_000));
    expect((await only(device))[0]).toMatchObject({ version: 3, state: 'acknowledged' });
  });
});

describe('sluice alerts', () => {
  it('lists, acknowledges and clears from the command line, and says clearly when an id is unknown', async () => {
    const device = uniqueName('dev-cli');
    await raise(device, 1, 36);
    const listed = JSON.parse((await sluice('list', '--device', device, '--state', 'open', '--json')).stdout) as AlertRecord[];
    expect(listed).toEqual([expect.objectContaining({ deviceId: device, state: 'open', severity: 'critical' })]);
    const id = listed[0]!.alertId;

    const table = alertTable(listed);
    expect(table.split('\n')[0]).toMatch(/^ALERT\s+STATE\s+SEVERITY\s+DEVICE\s+RULE/);
    expect(table.split('\n')[1]).toMatch(new RegExp(`^${id}\\s+open\\s+critical\\s+${device}\\s+hot`));

    expect((await sluice('ack', id, '--by', 'carol')).stdout).toContain(`${id} acknowledged`);
    const cleared = JSON.parse((await sluice('clear', id, '--json')).stdout) as { alert: AlertRecord; transition: string; notifyError?: string };
    expect(cleared).toMatchObject({ transition: 'cleared', alert: { alertId: id, state: 'cleared', acknowledgedBy: 'carol' } });
    expect(cleared.notifyError).toBeUndefined();

    const failure = await sluice('ack', 'alt_unknown').then(() => undefined, (error: { code: number; stderr: string }) => error);
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain('no alert with id "alt_unknown"');
  }, 60_000);
});
