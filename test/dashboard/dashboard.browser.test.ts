/**
 * The dashboard in real headless Chromium (Debian's, driven by playwright-core) against a real
 * running pipeline: a LocalPipeline on Kafka, Redis, PostgreSQL and Mosquitto with every
 * processor, fed by a small simulated fleet. One device is registered with a temperature
 * threshold its readings are always above, so an alert opens; one malformed MQTT message goes
 * to the ingest dead-letter stream. The page must draw the device's chart with data, show the
 * alert and acknowledge it, show the dead letter with its reason and replay it. The screenshot
 * is kept in test/artifacts/dashboard.png.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { connectAsync } from 'mqtt';
import { Pool } from 'pg';
import type { Page } from 'playwright-core';
import { LocalPipeline } from '../../cli/pipeline/localPipeline';
import { PIPELINE_STREAMS } from '../../cli/pipeline/pipelineSpec';
import { startDashboard } from '../../dashboard/server/dashboardServer';
import type { RunningDashboard } from '../../dashboard/server/dashboardServer';
import type { AlertView } from '../../dashboard/server/dashboardSources';
import { localPipelineSources } from '../../dashboard/server/localPipelineSources';
import { closeAlertsConnections } from '../../processors/alerts/alertsContext';
import { registerDevices } from '../../processors/registry/deviceImport';
import { startFleet } from '../../simulators';
import type { Fleet } from '../../simulators';
import { openStreamClient } from '../../streams/openStreamClient';
import { testServers, uniqueName } from '../support/servers';
import { launchChromium } from './support/chromium';
import type { LaunchedBrowser } from './support/chromium';
import { request } from './support/httpClient';
import { chartHasData, countChartPixels, replayAnswered, stagesAreLive } from './support/pageProbes';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
const SCREENSHOT = path.join(PROJECT_ROOT, 'test', 'artifacts', 'dashboard.png');
/** Long enough for a cold pipeline on a busy 2-core machine; a wait that runs out fails the test. */
const WAIT_MS = 90_000;

const run = uniqueName('dash').replace(/[^A-Za-z0-9]/g, '');
const devicePrefix = `${run}dev`;
// the fleet assigns types round robin: 0000 and 0002 measure temperature, 0001 is a GPS tracker
const hotDevice = `${devicePrefix}-0000`;
const trackerDevice = `${devicePrefix}-0001`;
const coolDevice = `${devicePrefix}-0002`;
const streamPrefix = `${run}-`;
const keyPrefix = `${run}p`;
const runtimeKeyPrefix = `${run}r`;
const streamBase = `kafka://${testServers.kafkaBrokers.join(',')}`;

let redis: Redis;
let pool: Pool;
let pipeline: LocalPipeline | undefined;
let dashboard: RunningDashboard | undefined;
let fleet: Fleet | undefined;
let browser: LaunchedBrowser | undefined;
let page: Page;
let workDir: string;

async function deleteKeys(pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}


/** Polls until `selector` matches `count` elements, or fails when WAIT_MS ran out. */
async function waitForCount(selector: string, count: number): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while ((await page.locator(selector).count()) !== count) {
    if (Date.now() > deadline) throw new Error(`${selector}: expected ${count} matches, found ${await page.locator(selector).count()}`);
    await page.waitForTimeout(250);
  }
}

beforeAll(async () => {
  // Chromium first: without it the test fails at once, naming the install script
  browser = await launchChromium();
  workDir = mkdtempSync(path.join(tmpdir(), 'sluice-dashboard-'));
  redis = new Redis(testServers.redisUrl);
  pool = new Pool({ connectionString: testServers.postgresUrl, max: 2 });
  await registerDevices(pool, [
    { deviceId: hotDevice, deviceType: 'temperature-humidity', siteId: `${run}-site`, thresholds: { temperature_max: -100 } },
    { deviceId: trackerDevice, deviceType: 'gps-tracker', siteId: `${run}-site`, thresholds: {} },
    { deviceId: coolDevice, deviceType: 'temperature-humidity', siteId: `${run}-site`, thresholds: { temperature_max: 100 } },
  ]);
  const rulesFile = path.join(workDir, 'rules.yaml');
  writeFileSync(rulesFile, [
    'version: 1',
    'rules:',
    '  - id: dashboard-test-hot',
    '    kind: threshold',
    `    match: { devices: [${hotDevice}, ${coolDevice}] }`,
    '    metric: temperature',
    '    when: { op: ">", value: { registry: temperature_max, default: 1000 } }',
    '    severity: critical',
    '    cooldown: 0s',
    '',
  ].join('\n'));
  pipeline = new LocalPipeline({
    streamBase, streamPrefix, partitions: 1,
    mqttUrl: testServers.mqttUrl,
    // a plain subscription: another test's pipeline in the shared group 'ingest' must not take this test's messages
    mqttBroker: 'aedes',
    redisUrl: testServers.redisUrl, pgUrl: testServers.postgresUrl,
    lakeDir: path.join(workDir, 'lake'),
    keyPrefix, runtimeKeyPrefix, projectRoot: PROJECT_ROOT,
    environment: { SLUICE_ALERT_RULES: rulesFile, SLUICE_WINDOWS: 'tumbling:5s', SLUICE_GRACE_MS: '1000' },
    ingestClientId: `${run}-ingest`,
  }, redis);
  await pipeline.start();
  dashboard = await startDashboard({ sources: await localPipelineSources(pipeline, { devicePrefix }), intervalMs: 1000 });
  fleet = startFleet({ mqttUrl: testServers.mqttUrl, devices: 3, rate: 9, deviceIdPrefix: devicePrefix, deviceTypes: ['temperature-humidity', 'gps-tracker'], seed: 11, clientIdPrefix: `${run}-sim-` });
  await fleet.ready();
  // a device that sends half a JSON document: ingest dead-letters it as bad_json
  const device = await connectAsync(testServers.mqttUrl, { clientId: `${run}-broken` });
  await device.publishAsync(`devices/${coolDevice}/telemetry`, Buffer.from(`{"deviceId":"${coolDevice}","seq":`), { qos: 1 });
  await device.endAsync();
  page = await browser.context.newPage();
  await page.goto(dashboard.url);
}, 180_000);

afterAll(async () => {
  if (page) {
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true }).catch(() => undefined);
  }
  await browser?.close();
  await fleet?.stop();
  await dashboard?.close();
  await pipeline?.stop();
  // the alerts processor's MQTT target is its own client, which LocalPipeline.stop leaves open
  await closeAlertsConnections();
  const streams = openStreamClient(`${streamBase}/${streamPrefix}telemetry`);
  for (const stream of Object.values(PIPELINE_STREAMS)) await streams.deleteStream(`${streamPrefix}${stream}`).catch(() => undefined);
  await streams.close();
  await deleteKeys(`${keyPrefix}:*`);
  await deleteKeys(`${runtimeKeyPrefix}:*`);
  for (const table of ['devices', 'readings']) await pool.query(`DELETE FROM ${table} WHERE starts_with(device_id, $1)`, [devicePrefix]).catch(() => undefined);
  await pool.end();
  redis.disconnect();
  rmSync(workDir, { recursive: true, force: true });
}, 120_000);

describe('dashboard in Chromium on a running pipeline', () => {
  it('shows the pipeline stages with live figures', async () => {
    await page.waitForFunction(stagesAreLive, 7, { timeout: WAIT_MS });
    const stages = await page.$$eval('#stages tbody tr[data-stage]', (rows) => rows.map((row) => row.getAttribute('data-stage')));
    expect(stages).toEqual(expect.arrayContaining(['ingest', `${streamPrefix}sluice-transform`, `${streamPrefix}sluice-aggregate`, `${streamPrefix}sluice-alerts`]));
    expect(await page.textContent('#connection')).toBe('live');
  }, WAIT_MS + 10_000);

  it('draws a device chart with its latest values and windowed aggregates', async () => {
    await page.click(`#fleet tr[data-device="${hotDevice}"]`, { timeout: WAIT_MS });
    await page.waitForSelector('#metric option[value="temperature"]', { state: 'attached', timeout: WAIT_MS });
    await page.selectOption('#metric', 'temperature');
    await page.waitForFunction(chartHasData, { metric: 'temperature', minPoints: 8, windowSeconds: 5 }, { timeout: WAIT_MS });
    expect(await page.textContent('#device-name')).toContain(hotDevice);
    // the latest-values series colour (SERIES_COLORS.latest, #1f6fd1) is on the canvas
    expect(await page.evaluate(countChartPixels, [0x1f, 0x6f, 0xd1] as [number, number, number])).toBeGreaterThan(100);
    const row = await page.textContent(`#fleet tr[data-device="${hotDevice}"]`);
    expect(row).toContain(`${run}-site`);
    expect(row).toMatch(/temperature -?\d/);
  }, WAIT_MS + 10_000);

  it('places the devices that report a location on the fleet map', async () => {
    // the tracker's location comes from its newest stored reading (storage processor, PostgreSQL)
    await page.waitForSelector(`#fleet-map circle:has(title:text-is("${trackerDevice}"))`, { state: 'attached', timeout: WAIT_MS });
    expect(await page.textContent(`#fleet tr[data-device="${trackerDevice}"] td:nth-child(6)`)).toMatch(/^-?\d+\.\d{4}, -?\d+\.\d{4}$/);
    expect(await page.locator('#fleet-map circle').count()).toBe(1);
  }, WAIT_MS + 10_000);

  it('shows the alert the hot device raised, and acknowledges it with the Ack button', async () => {
    const openRow = `#alerts tr[data-state="open"]:has(td:text-is("${hotDevice}"))`;
    await page.waitForSelector(openRow, { timeout: WAIT_MS });
    expect(await page.textContent(openRow)).toContain('dashboard-test-hot');
    const alertId = await page.getAttribute(openRow, 'data-alert');
    await page.click(`${openRow} button[data-action="ack"]`);
    await page.waitForSelector(`#alerts tr[data-alert="${alertId}"][data-state="acknowledged"]`, { timeout: WAIT_MS });
    // the alerts processor's state says so too, not only the page
    const alerts = (await request(`${dashboard?.url}api/alerts`)).json<AlertView[]>();
    expect(alerts.find((alert) => alert.alertId === alertId)).toMatchObject({ deviceId: hotDevice, ruleId: 'dashboard-test-hot', state: 'acknowledged', severity: 'critical' });
    expect(alerts.filter((alert) => alert.deviceId === coolDevice)).toEqual([]);
    // an alert is acknowledged once; the processor refuses a second time, and the API says so
    const again = await request(`${dashboard?.url}api/alerts/${alertId ?? ''}/ack`, { method: 'POST' });
    expect({ status: again.status, error: again.json<{ error: string }>().error }).toEqual({ status: 409, error: `alert ${alertId ?? ''} cannot be acknowledged: it is acknowledged` });
    expect((await request(`${dashboard?.url}api/alerts/alt_unknown/clear`, { method: 'POST' })).status).toBe(404);
    // Clear closes it: it leaves the list of open and acknowledged alerts
    await page.click(`#alerts tr[data-alert="${alertId}"] button[data-action="clear"]`);
    await waitForCount(`#alerts tr[data-alert="${alertId}"]`, 0);
    const after = (await request(`${dashboard?.url}api/alerts`)).json<AlertView[]>();
    expect(after.map((alert) => alert.alertId)).not.toContain(alertId);
  }, WAIT_MS + 10_000);

  it('shows the malformed message in the dead-letter browser with its reason, and replays it', async () => {
    const entry = `#dead-letters tr[data-reason="bad_json"]:has(td:text-is("mqtt devices/${coolDevice}/telemetry"))`;
    await page.waitForSelector(entry, { timeout: WAIT_MS });
    expect(await page.textContent(`${entry} .payload`)).toBe(`{"deviceId":"${coolDevice}","seq":`);
    await page.click(`${entry} button[data-replay]`);
    await page.waitForFunction(replayAnswered, undefined, { timeout: WAIT_MS });
    expect(await page.textContent('#dlq-result')).toMatch(new RegExp(`^replayed 1 record\\(s\\) of ${streamPrefix}telemetry-dlq/\\d+/\\d+ to mqtt devices/${coolDevice}/telemetry$`));
    // published again, it is rejected again: a second entry for the same topic
    await waitForCount(entry, 2);
    expect(await page.locator(entry).count()).toBe(2);
  }, WAIT_MS + 10_000);
});
