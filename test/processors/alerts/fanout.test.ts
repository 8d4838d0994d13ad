/**
 * Fan-out to the real targets: the alerts stream (Avro Alert records with the notification id
 * in a header), MQTT `alerts/<deviceId>` to a real subscriber on the project's Mosquitto, and
 * PostgreSQL (alerts + alert_transitions). A failed send leaves the notification in the outbox;
 * the retried batch (a duplicate for the state) sends it, once. Bad input is dead-lettered.
 */
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { Pool } from 'pg';
import { alertsContext, closeAlertsConnections } from '../../../processors/alerts/alertsContext';
import { acknowledgeAlertById, checkTimers, handler, listAlerts } from '../../../processors/alerts/handler';
import { alertTopic } from '../../../processors/alerts/targets/mqttTarget';
import { NOTIFICATION_ID_HEADER, TRANSITION_HEADER } from '../../../processors/alerts/targets/streamTarget';
import { closeSharedResources } from '../../../processors/shared/processorResources';
import type { Alert, DeadLetter } from '../../../schemas/records';
import { openStreamClient } from '../../../streams/openStreamClient';
import type { StreamClient } from '../../../streams/streamClient';
import { drainPartition } from '../../conformance/streamConformance';
import { testServers, uniqueName } from '../../support/servers';
import { alertsTestBed, encodeReadings, processorEnvironment, reading, streamEvent } from './alertsTestSupport';
import type { AlertsTestBed } from './alertsTestSupport';

const RULES = `
rules:
  - { id: hot, kind: threshold, metric: temperature, when: { op: ">", value: 30 }, clear: { op: "<", value: 25 }, cooldown: 0 }
`;

let bed: AlertsTestBed;
let kinesis: StreamClient;
let pool: Pool;
let subscriber: MqttClient;
const streams: string[] = [];
const mqttMessages: Array<{ topic: string; payload: string }> = [];
const kinesisBase = `kinesis://${testServers.kinesisEndpoint.replace(/^https?:\/\//, '')}`;

beforeAll(async () => {
  bed = await alertsTestBed();
  kinesis = openStreamClient(`${kinesisBase}/x`);
  pool = new Pool({ connectionString: testServers.postgresUrl, max: 2 });
  subscriber = await mqtt.connectAsync(testServers.mqttUrl, { clientId: uniqueName('alerts-sub'), clean: true });
  subscriber.on('message', (topic, payload) => mqttMessages.push({ topic, payload: payload.toString('utf8') }));
  await subscriber.subscribeAsync('alerts/#', { qos: 1 });
});

afterAll(async () => {
  for (const stream of streams) await kinesis.deleteStream(stream).catch(() => undefined);
  await kinesis.close();
  await subscriber.endAsync();
  await pool.end();
  await bed.close();
  await closeAlertsConnections();
  await closeSharedResources();
});

async function newStream(name: string): Promise<string> {
  const stream = uniqueName(name);
  await kinesis.createStream(stream, 1);
  streams.push(stream);
  return stream;
}

async function readAll(stream: string): Promise<Awaited<ReturnType<typeof drainPartition>>> {
  const [partition] = await kinesis.listPartitions(stream);
  return drainPartition(kinesis, stream, partition?.id ?? '');
}

async function waitForMessages(topic: string, count: number): Promise<Array<{ topic: string; payload: string }>> {
  const deadline = Date.now() + 10_000;
  while (mqttMessages.filter((m) => m.topic === topic).length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return mqttMessages.filter((m) => m.topic === topic);
}

describe('alert fan-out', () => {
  it('sends each transition to the stream, MQTT and PostgreSQL; a failed send is re-sent by the retried batch, once', async () => {
    const alertsStream = uniqueName('alerts-out'); // not created yet: the first send fails
    bed.useEnvironment(processorEnvironment(bed, bed.writeRules(RULES), {
      SLUICE_ALERTS_STREAM: `${kinesisBase}/${alertsStream}`,
      SLUICE_MQTT_URL: testServers.mqttUrl,
      SLUICE_PG_URL: testServers.postgresUrl,
    }));
    const device = `${bed.prefix}-dev/a+b`; // characters MQTT gives a meaning in topics
    const event = streamEvent('kinesis', 'enriched-fanout', await encodeReadings(bed.codec, [reading(device, 1, { temperature: 41 })]));

    await expect(handler(event)).rejects.toThrow();
    const [alert] = await listAlerts(bed.redis, bed.keys, { deviceId: device });
    expect(alert).toMatchObject({ state: 'open', version: 1 }); // the state change is durable; its notification waits in the outbox
    expect(await bed.redis.hlen(bed.keys.outbox('readings/kinesis:enriched-fanout/shardId-000000000000'))).toBe(1);

    await kinesis.createStream(alertsStream, 1);
    streams.push(alertsStream);
    await handler(event); // the runtime's retry of the same batch
    await handler(event); // and a replay after that: nothing left to send
    expect(await bed.redis.hlen(bed.keys.outbox('readings/kinesis:enriched-fanout/shardId-000000000000'))).toBe(0);

    const onStream = await readAll(alertsStream);
    expect(onStream).toHaveLength(1);
    const record = onStream[0]!;
    expect(record.key).toBe(device);
    expect(record.headers[NOTIFICATION_ID_HEADER]?.toString()).toBe(`${alert!.alertId}/1`);
    expect(record.headers[TRANSITION_HEADER]?.toString()).toBe('opened');
    expect((await bed.codec.decode(record.value)) as Alert).toEqual({
      alertId: alert!.alertId, deviceId: device, ruleId: 'hot', severity: 'warning', state: 'open', value: 41, threshold: 30,
      message: 'temperature 41 > 30', raisedAt: alert!.raisedAt, updatedAt: alert!.raisedAt,
    });

    const topic = alertTopic(device);
    expect(topic).toBe(`alerts/${bed.prefix}-dev%2Fa%2Bb`);
    const [message] = await waitForMessages(topic, 1);
    expect(JSON.parse(message!.payload)).toMatchObject({ id: `${alert!.alertId}/1`, transition: 'opened', alert: { deviceId: device, state: 'open' } });

    const rows = await pool.query('SELECT state, version, value FROM alerts WHERE alert_id = $1', [alert!.alertId]);
    expect(rows.rows).toEqual([{ state: 'open', version: 1, value: 41 }]);
    const history = await pool.query('SELECT transition, version FROM alert_transitions WHERE alert_id = $1 ORDER BY version', [alert!.alertId]);
    expect(history.rows).toEqual([{ transition: 'opened', version: 1 }]);

    // an operator's acknowledgement and the clearing reading follow the same path
    await acknowledgeAlertById({ redis: bed.redis, keys: bed.keys, by: 'alice' }, alert!.alertId);
    await handler(streamEvent('kinesis', 'enriched-fanout', await encodeReadings(bed.codec, [reading(device, 2, { temperature: 20 })])));
    await checkTimers(alertsContext(), Date.now() + 60_000); // the operator outbox is sent by the timer
    const after = await pool.query('SELECT state, version, acknowledged_by, cleared_by FROM alerts WHERE alert_id = $1', [alert!.alertId]);
    expect(after.rows).toEqual([{ state: 'cleared', version: 3, acknowledged_by: 'alice', cleared_by: 'condition' }]);
    const transitions = await pool.query('SELECT transition FROM alert_transitions WHERE alert_id = $1 ORDER BY version', [alert!.alertId]);
    expect(transitions.rows.map((row: { transition: string }) => row.transition)).toEqual(['opened', 'acknowledged', 'cleared']);
    // MQTT got `opened` in the failed first attempt as well (at-least-once): the copies share the id to dedupe on
    const messages = (await waitForMessages(topic, 4)).map((m) => JSON.parse(m.payload) as { id: string; transition: string });
    expect(messages.filter((m) => m.transition === 'opened').map((m) => m.id)).toEqual([`${alert!.alertId}/1`, `${alert!.alertId}/1`]);
    expect([...new Map(messages.map((m) => [m.id, m.transition])).entries()].sort()).toEqual([
      [`${alert!.alertId}/1`, 'opened'], [`${alert!.alertId}/2`, 'acknowledged'], [`${alert!.alertId}/3`, 'cleared'],
    ]);
  });

  it('dead-letters records it cannot use, with a reason, and still evaluates the good ones', async () => {
    const dlq = await newStream('alerts-dlq');
    bed.useEnvironment(processorEnvironment(bed, bed.writeRules(RULES), { SLUICE_PROCESSOR_DLQ: `${kinesisBase}/${dlq}` }));
    const device = uniqueName('dev-bad');
    const [good] = await encodeReadings(bed.codec, [reading(device, 1, { temperature: 35 })]);
    const [nan] = await encodeReadings(bed.codec, [reading(device, 2, { temperature: Number.NaN })]);
    const garbage = { ...good!, position: good!.position + 1, value: Buffer.from('not avro at all') };
    await handler(streamEvent('kafka', 'enriched-bad', [good!, garbage, { ...nan!, position: good!.position + 2 }]));
    expect(await listAlerts(bed.redis, bed.keys, { deviceId: device })).toEqual([expect.objectContaining({ state: 'open', value: 35 })]);
    const letters = await Promise.all((await readAll(dlq)).map(async (record) => (await bed.codec.decode(record.value)) as DeadLetter));
    expect(letters.map((l) => l.reasonCode).sort()).toEqual(['bad_magic', 'invalid_reading']);
    expect(letters.find((l) => l.reasonCode === 'invalid_reading')?.message).toContain('metrics.temperature');
    expect(letters.find((l) => l.reasonCode === 'bad_magic')?.original.toString()).toBe('not avro at all');
    expect(letters[0]?.source).toEqual({ kind: 'kafka', address: 'kafka:enriched-bad-0' });
  });

  it('fails the batch when a record is bad and no dead-letter stream is set: never a silent drop', async () => {
    bed.useEnvironment(processorEnvironment(bed, bed.writeRules(RULES)));
    const [good] = await encodeReadings(bed.codec, [reading(uniqueName('dev'), 1, { temperature: 1 })]);
    await expect(handler(streamEvent('kinesis', 'enriched-nodlq', [{ ...good!, value: Buffer.from([0, 0, 0, 0]) }]))).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('$SLUICE_PROCESSOR_DLQ') });
  });

  it('names the rule and the field when the rules file is wrong', async () => {
    bed.useEnvironment(processorEnvironment(bed, bed.writeRules('rules:\n  - { id: x, kind: consecutive, metric: t, when: { op: ">", value: 1 } }\n')));
    const [good] = await encodeReadings(bed.codec, [reading(uniqueName('dev'), 1, { t: 1 })]);
    await expect(handler(streamEvent('kinesis', 'enriched-badrules', [good!]))).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('rule "x" (rules[0]): count: is required') });
  });
});
