/**
 * Webhooks against a real local HTTP server: every request is signed (the receiver checks it
 * with verifyWebhookSignature) and carries the notification id as idempotency key; failures
 * are retried with backoff; after the last attempt, or at once on a 4xx, the notification goes
 * to the dead-letter stream (a real Kinesis stream on kinesalite) and the batch succeeds.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeAlertsConnections } from '../../../processors/alerts/alertsContext';
import { handler, verifyWebhookSignature } from '../../../processors/alerts/handler';
import { closeSharedResources } from '../../../processors/shared/processorResources';
import type { DeadLetter } from '../../../schemas/records';
import { openStreamClient } from '../../../streams/openStreamClient';
import type { StreamClient } from '../../../streams/streamClient';
import { drainPartition } from '../../conformance/streamConformance';
import { testServers, uniqueName } from '../../support/servers';
import { alertsTestBed, encodeReadings, processorEnvironment, reading, streamEvent } from './alertsTestSupport';
import type { AlertsTestBed } from './alertsTestSupport';

const SECRET = 'test-webhook-secret-0123456789';
const RULES = `
rules:
  - { id: hot, kind: threshold, metric: temperature, when: { op: ">", value: 30 }, clear: { op: "<", value: 25 }, cooldown: 0 }
`;

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let bed: AlertsTestBed;
let server: Server;
let baseUrl: string;
let kinesis: StreamClient;
let dlq: string;
const received: Received[] = [];
/** per path: the statuses to answer, in order (then 200) */
const script = new Map<string, number[]>();

beforeAll(async () => {
  bed = await alertsTestBed();
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '/';
      received.push({ path, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      const statuses = script.get(path) ?? [];
      response.statusCode = statuses.shift() ?? 200;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  kinesis = openStreamClient(`kinesis://${testServers.kinesisEndpoint.replace(/^https?:\/\//, '')}/x`);
  dlq = uniqueName('alerts-dlq');
  await kinesis.createStream(dlq, 1);
});

afterAll(async () => {
  await kinesis.deleteStream(dlq).catch(() => undefined);
  await kinesis.close();
  await new Promise((resolve) => server.close(resolve));
  await bed.close();
  await closeAlertsConnections();
  await closeSharedResources();
});

function useWebhook(path: string, retries = 3): void {
  bed.useEnvironment(processorEnvironment(bed, bed.writeRules(RULES), {
    SLUICE_WEBHOOK_URLS: `${baseUrl}${path}`,
    SLUICE_WEBHOOK_SECRET: SECRET,
    SLUICE_WEBHOOK_RETRIES: String(retries),
    SLUICE_WEBHOOK_BACKOFF_MS: '5',
    SLUICE_WEBHOOK_MAX_BACKOFF_MS: '20',
    SLUICE_PROCESSOR_DLQ: `kinesis://${testServers.kinesisEndpoint.replace(/^https?:\/\//, '')}/${dlq}`,
  }));
}

async function raiseAlert(deviceId: string): Promise<void> {
  await handler(streamEvent('kinesis', 'enriched-webhooks', await encodeReadings(bed.codec, [reading(deviceId, 1, { temperature: 40 })])));
}

async function deadLetters(): Promise<DeadLetter[]> {
  const records = await drainPartition(kinesis, dlq, (await kinesis.listPartitions(dlq))[0]?.id ?? '');
  return Promise.all(records.map(async (record) => (await bed.codec.decode(record.value)) as DeadLetter));
}

describe('webhook fan-out', () => {
  it('POSTs the notification signed over timestamp and body, with the notification id as idempotency key', async () => {
    useWebhook('/ok');
    const device = uniqueName('dev-wh');
    await raiseAlert(device);
    const requests = received.filter((r) => r.path === '/ok');
    expect(requests).toHaveLength(1);
    const [request] = requests as [Received];
    const body = JSON.parse(request.body) as { id: string; transition: string; alert: { deviceId: string; ruleId: string; state: string; alertId: string; version: number } };
    expect(body).toMatchObject({ transition: 'opened', alert: { deviceId: device, ruleId: 'hot', state: 'open', version: 1 } });
    expect(body.id).toBe(`${body.alert.alertId}/1`);
    expect(request.headers['idempotency-key']).toBe(body.id);
    expect(request.headers['content-type']).toBe('application/json');
    expect(verifyWebhookSignature(SECRET, request.headers['x-sluice-signature'], request.body, 300, Date.now())).toMatchObject({ valid: true });
    expect(verifyWebhookSignature('another-secret-0123456789', request.headers['x-sluice-signature'], request.body, 300, Date.now())).toMatchObject({ valid: false });
  });

  it('retries a failing receiver with the same notification until it answers, and dead-letters nothing', async () => {
    useWebhook('/flaky');
    script.set('/flaky', [503, 500, 429]);
    const before = (await deadLetters()).length;
    await raiseAlert(uniqueName('dev-flaky'));
    const attempts = received.filter((r) => r.path === '/flaky');
    expect(attempts).toHaveLength(4);
    expect(new Set(attempts.map((a) => a.body)).size).toBe(1);
    expect(new Set(attempts.map((a) => a.headers['idempotency-key'])).size).toBe(1);
    for (const attempt of attempts) expect(verifyWebhookSignature(SECRET, attempt.headers['x-sluice-signature'], attempt.body, 300, Date.now())).toMatchObject({ valid: true });
    expect(await deadLetters()).toHaveLength(before);
  });

  it('dead-letters the notification after the last retry fails, and the batch still succeeds', async () => {
    useWebhook('/broken', 2);
    script.set('/broken', [500, 502, 503, 504]);
    const device = uniqueName('dev-broken');
    await raiseAlert(device);
    const attempts = received.filter((r) => r.path === '/broken');
    expect(attempts).toHaveLength(3);
    const letter = (await deadLetters()).find((l) => l.headers?.url?.endsWith('/broken'));
    expect(letter).toMatchObject({ reasonCode: 'webhook_failed', source: { kind: 'webhook' }, attempts: 3 });
    expect(letter?.headers?.status).toBe('503');
    expect(letter?.original.toString('utf8')).toBe(attempts[0]?.body);
    expect(letter?.headers?.notificationId).toBe(attempts[0]?.headers['idempotency-key']);
  });

  it('does not retry a 4xx answer: one attempt, then the dead-letter stream', async () => {
    useWebhook('/reject', 5);
    script.set('/reject', [400]);
    await raiseAlert(uniqueName('dev-reject'));
    expect(received.filter((r) => r.path === '/reject')).toHaveLength(1);
    const letter = (await deadLetters()).find((l) => l.headers?.url?.endsWith('/reject'));
    expect(letter).toMatchObject({ reasonCode: 'webhook_failed', attempts: 1, headers: expect.objectContaining({ status: '400' }) });
  });

  it('refuses to start without a secret long enough to sign with', async () => {
    useWebhook('/ok');
    bed.useEnvironment({ SLUICE_WEBHOOK_SECRET: 'short' });
    await expect(raiseAlert(uniqueName('dev-nosecret'))).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('$SLUICE_WEBHOOK_SECRET') });
  });
});
