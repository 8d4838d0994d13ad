/**
 * End to end through the runtime's MappingRunner, once per stream kind: EnrichedReading Avro
 * records on a real stream, the alerts handler under an event source mapping (small batches,
 * so the alert opens in one invocation and clears in another), alerts on a real alerts stream.
 */
import path from 'node:path';
import { closeAlertsConnections } from '../../../processors/alerts/alertsContext';
import { listAlerts } from '../../../processors/alerts/handler';
import { NOTIFICATION_ID_HEADER, TRANSITION_HEADER } from '../../../processors/alerts/targets/streamTarget';
import { closeSharedResources } from '../../../processors/shared/processorResources';
import type { Alert } from '../../../schemas/records';
import { SUBJECTS } from '../../../schemas/sluiceSchemas';
import { uniqueName } from '../../support/servers';
import { RunnerTestBed, sourceAddress, waitFor } from '../../runtime/runner/runnerTestSupport';
import type { Kind } from '../../runtime/runner/runnerTestSupport';
import { alertsTestBed, processorEnvironment, reading } from './alertsTestSupport';
import type { AlertsTestBed } from './alertsTestSupport';

const HANDLER = `${path.resolve(__dirname, '../../../processors/alerts/handler.ts')}#handler`;
const RULES = `
rules:
  - { id: hot, kind: consecutive, metric: temperature, when: { op: ">", value: 30 }, count: 2, clear: { op: "<", value: 25 } }
`;

describe.each<Kind>(['kinesis', 'kafka'])('alerts handler under a mapping on %s', (kind) => {
  let runners: RunnerTestBed;
  let bed: AlertsTestBed;

  beforeAll(async () => {
    runners = new RunnerTestBed(kind);
    bed = await alertsTestBed();
  });

  afterAll(async () => {
    await runners.close();
    await bed.close();
    await closeAlertsConnections();
    await closeSharedResources();
  });

  it('opens and clears an alert from readings on the stream and puts both transitions on the alerts stream', async () => {
    const source = await runners.newStream(1);
    const alertsStream = await runners.newStream(1);
    bed.useEnvironment(processorEnvironment(bed, bed.writeRules(RULES), { SLUICE_ALERTS_STREAM: sourceAddress(kind, alertsStream) }));
    const device = uniqueName('dev-e2e');
    const values = [20, 31, 33, 35, 24, 20];
    await runners.client.produce(source, await Promise.all(values.map(async (temperature, seq) => ({
      key: device, value: await bed.codec.encode(SUBJECTS.enrichedReading, reading(device, seq, { temperature })),
    }))));

    const runner = runners.runner({ FunctionName: uniqueName('alerts-e2e'), Source: sourceAddress(kind, source), BatchSize: 2, Function: { Handler: HANDLER } });
    await runner.start();
    await waitFor(async () => (await runners.readAll(alertsStream)).length >= 2, 'two alert transitions on the alerts stream');

    const records = await runners.readAll(alertsStream);
    expect(records.map((r) => r.headers[TRANSITION_HEADER]?.toString())).toEqual(['opened', 'cleared']);
    const alerts = await Promise.all(records.map(async (r) => (await bed.codec.decode(r.value)) as Alert));
    expect(alerts.map((a) => [a.deviceId, a.ruleId, a.state, a.value])).toEqual([[device, 'hot', 'open', 33], [device, 'hot', 'cleared', 24]]);
    expect(alerts[0]?.alertId).toBe(alerts[1]?.alertId);
    expect(records.map((r) => r.headers[NOTIFICATION_ID_HEADER]?.toString())).toEqual([`${alerts[0]?.alertId}/1`, `${alerts[0]?.alertId}/2`]);
    expect(await listAlerts(bed.redis, bed.keys, { deviceId: device })).toEqual([expect.objectContaining({ state: 'cleared', version: 2 })]);
  });
});
