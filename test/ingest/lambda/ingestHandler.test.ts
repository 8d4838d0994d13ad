/**
 * The ingest function as a Lambda handler, invoked with API Gateway HTTP API (payload 2.0) and
 * IoT rule events against real kinesalite and Kafka: what it answers, and what lands in the
 * telemetry and dead-letter streams.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fc, test as propertyTest } from '@fast-check/jest';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { handler } from '../../../ingest/lambda/ingestHandler';
import { closeIngestLambdaResources } from '../../../ingest/lambda/ingestLambdaResources';
import { IOT_TELEMETRY_RULE_SQL } from '../../../ingest/lambda/iotRuleEvent';
import { judgeTelemetryRequest } from '../../../ingest/lambda/telemetryRequest';
import { AvroCodec } from '../../../schemas/avroCodec';
import type { TelemetryReading } from '../../../schemas/records';
import { openStreamClient } from '../../../streams/openStreamClient';
import type { StreamClient } from '../../../streams/streamClient';
import { tempRegistry } from '../../schemas/tempRegistry';
import type { TempRegistry } from '../../schemas/tempRegistry';
import { testServers, uniqueName } from '../../support/servers';
import { decodeDeadLetters, decodeReadings, readWholeStream } from '../ingestTestSupport';

const API_GATEWAY_SAMPLE = JSON.parse(readFileSync(path.join(__dirname, '../../deploy/fixtures/http-api-v2-event.json'), 'utf8')) as APIGatewayProxyEventV2;

/** The AWS sample event with this request's own fields: POST /v1/telemetry and its body. */
function httpApiEvent(body: string, options: { method?: string; base64?: boolean } = {}): APIGatewayProxyEventV2 {
  const method = options.method ?? 'POST';
  return {
    ...API_GATEWAY_SAMPLE,
    routeKey: `${method} /v1/telemetry`,
    rawPath: '/v1/telemetry',
    rawQueryString: '',
    queryStringParameters: undefined,
    headers: { 'content-type': 'application/json' },
    requestContext: { ...API_GATEWAY_SAMPLE.requestContext, routeKey: `${method} /v1/telemetry`, http: { ...API_GATEWAY_SAMPLE.requestContext.http, method, path: '/v1/telemetry' } },
    body: options.base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: options.base64 === true,
  };
}

/** What `SELECT encode(*, 'base64') AS payload, topic() AS topic` hands the function for one MQTT message. */
const iotEvent = (topic: string, payload: string | Buffer): { payload: string; topic: string } => ({ payload: Buffer.from(payload).toString('base64'), topic });

const reading = (deviceId: string, seq: number): Record<string, unknown> => ({ deviceId, deviceType: 'smart-meter', seq, eventTime: 1_763_000_000_000 + seq, metrics: { powerW: 100 + seq } });

async function invokeHttp(event: APIGatewayProxyEventV2): Promise<{ status: number | undefined; body: Record<string, unknown> }> {
  const result = (await handler(event)) as APIGatewayProxyStructuredResultV2;
  expect(result.headers).toEqual({ 'content-type': 'application/json' });
  return { status: result.statusCode, body: JSON.parse(result.body ?? 'null') as Record<string, unknown> };
}

const ADDRESS_BASES = {
  kinesis: `kinesis://${testServers.kinesisEndpoint.replace(/^https?:\/\//, '')}`,
  kafka: `kafka://${testServers.kafkaBrokers.join(',')}`,
};

describe.each(['kinesis', 'kafka'] as const)('ingest Lambda on %s', (kind) => {
  let client: StreamClient;
  let registry: TempRegistry;
  let codec: AvroCodec;
  const telemetry = uniqueName('ingest-lambda-telemetry');
  const deadLetter = uniqueName('ingest-lambda-dlq');
  const savedEnvironment = { ...process.env };

  beforeAll(async () => {
    client = openStreamClient(`${ADDRESS_BASES[kind]}/${telemetry}`);
    await client.createStream(telemetry, 1);
    await client.createStream(deadLetter, 1);
    registry = tempRegistry();
    codec = new AvroCodec(registry.registry);
    // As the SAM template sets them on the function.
    process.env.SLUICE_TELEMETRY_STREAM = `${ADDRESS_BASES[kind]}/${telemetry}`;
    process.env.SLUICE_TELEMETRY_DEAD_LETTER = `${ADDRESS_BASES[kind]}/${deadLetter}`;
    process.env.SLUICE_SCHEMA_REGISTRY = registry.filePath;
    process.env.SLUICE_MAX_ITEMS = '50';
    process.env.SLUICE_LOG_LEVEL = 'silent';
  });

  afterAll(async () => {
    await closeIngestLambdaResources();
    process.env = savedEnvironment;
    await client.deleteStream(telemetry).catch(() => undefined);
    await client.deleteStream(deadLetter).catch(() => undefined);
    await client.close();
    await registry.cleanup();
  });

  // The handler answers once the records are durable, so one read that brings nothing more ends the stream.
  const storedReadings = async (): Promise<Array<{ key: string; reading: TelemetryReading }>> =>
    (await decodeReadings(codec, await readWholeStream(client, telemetry, 1))).map(({ record, reading: decoded }) => ({ key: record.key, reading: decoded }));

  it('answers 202 once the readings of a POST are in the telemetry stream, in order, keyed by device', async () => {
    const sent = [reading('lambda-a', 0), reading('lambda-a', 1), { ...reading('lambda-b', 0), eventTime: '2025-11-13T00:00:00Z' }];
    const answer = await invokeHttp(httpApiEvent(JSON.stringify(sent)));
    expect(answer).toEqual({ status: 202, body: { accepted: 3 } });
    // durable before the answer: the stream holds them at once
    const stored = await storedReadings();
    expect(stored.map(({ key, reading: r }) => ({ key, deviceId: r.deviceId, seq: r.seq, eventTime: r.eventTime, metrics: r.metrics }))).toEqual([
      { key: 'lambda-a', deviceId: 'lambda-a', seq: 0, eventTime: sent[0]?.eventTime, metrics: { powerW: 100 } },
      { key: 'lambda-a', deviceId: 'lambda-a', seq: 1, eventTime: sent[1]?.eventTime, metrics: { powerW: 101 } },
      { key: 'lambda-b', deviceId: 'lambda-b', seq: 0, eventTime: Date.UTC(2025, 10, 13), metrics: { powerW: 100 } },
    ]);
  });

  it('takes a base64 body, as API Gateway passes a body it does not treat as text', async () => {
    const before = (await storedReadings()).length;
    expect(await invokeHttp(httpApiEvent(JSON.stringify(reading('lambda-c', 7)), { base64: true }))).toEqual({ status: 202, body: { accepted: 1 } });
    const stored = await storedReadings();
    expect(stored.slice(before).map(({ reading: r }) => [r.deviceId, r.seq])).toEqual([['lambda-c', 7]]);
  });

  it('answers 400 with a reason per bad item and stores nothing of that request', async () => {
    const before = (await storedReadings()).length;
    const items = [reading('lambda-d', 0), { ...reading('lambda-d', 1), metrics: { powerW: 'high' } }, 42, { ...reading('lambda-d', 3), seq: -1 }];
    const answer = await invokeHttp(httpApiEvent(JSON.stringify(items)));
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_items');
    expect((answer.body.errors as Array<{ index: number; reason: string }>).map(({ index, reason }) => ({ index, reason }))).toEqual([
      { index: 1, reason: 'schema_violation' },
      { index: 2, reason: 'schema_violation' },
      { index: 3, reason: 'schema_violation' },
    ]);
    expect(await storedReadings()).toHaveLength(before);
    // the caller got the reasons: nothing goes to the dead-letter stream either
    expect(await readWholeStream(client, deadLetter, 1)).toHaveLength(0);
  });

  it('answers 400 bad_json, 400 for an empty list, 413 over the item limit and 405 for another method', async () => {
    expect(await invokeHttp(httpApiEvent('[{"deviceId":'))).toMatchObject({ status: 400, body: { error: 'bad_json' } });
    expect(await invokeHttp(httpApiEvent('[]'))).toMatchObject({ status: 400, body: { error: 'schema_violation' } });
    const tooMany = Array.from({ length: 51 }, (_, seq) => reading('lambda-e', seq));
    expect(await invokeHttp(httpApiEvent(JSON.stringify(tooMany)))).toMatchObject({ status: 413, body: { error: 'too_large' } });
    expect(await invokeHttp(httpApiEvent('', { method: 'GET' }))).toMatchObject({ status: 405, body: { error: 'method_not_allowed' } });
  });

  it('stores an IoT rule message as a reading of the device its topic names', async () => {
    const before = (await storedReadings()).length;
    await expect(handler(iotEvent('devices/iot-a/telemetry', JSON.stringify(reading('iot-a', 3))))).resolves.toBeUndefined();
    const stored = await storedReadings();
    expect(stored.slice(before).map(({ key, reading: r }) => [key, r.deviceId, r.seq])).toEqual([['iot-a', 'iot-a', 3]]);
  });

  it('dead-letters an IoT rule message with its reason: a device speaking for another, and bytes that are not JSON', async () => {
    const readingsBefore = (await storedReadings()).length;
    await handler(iotEvent('devices/iot-b/telemetry', JSON.stringify(reading('iot-someone-else', 0))));
    const notJson = Buffer.from([0xff, 0x00, 0x7b]);
    await handler(iotEvent('devices/iot-c/telemetry', notJson));
    expect(await storedReadings()).toHaveLength(readingsBefore);
    const deadLetters = await decodeDeadLetters(codec, await readWholeStream(client, deadLetter, 1));
    expect(deadLetters.map((letter) => ({ reason: letter.reasonCode, kind: letter.source.kind, topic: letter.source.address }))).toEqual([
      { reason: 'topic_mismatch', kind: 'iot', topic: 'devices/iot-b/telemetry' },
      { reason: 'bad_json', kind: 'iot', topic: 'devices/iot-c/telemetry' },
    ]);
    // the original bytes, exactly as the device sent them
    expect(Buffer.from(deadLetters[1]?.original ?? [])).toEqual(notJson);
  });

  it('takes the event of a plain SELECT * rule (the reading itself) too', async () => {
    const before = (await storedReadings()).length;
    await handler(reading('iot-d', 9));
    expect((await storedReadings()).slice(before).map(({ reading: r }) => [r.deviceId, r.seq])).toEqual([['iot-d', 9]]);
  });

  if (kind === 'kafka') {
    propertyTest.prop([fc.array(fc.boolean(), { minLength: 1, maxLength: 6 })], { numRuns: 6 })('a request is stored whole or not at all', async (validity) => {
      const before = (await storedReadings()).length;
      const items = validity.map((valid, seq) => (valid ? reading('lambda-prop', seq) : { ...reading('lambda-prop', seq), deviceId: '' }));
      const answer = await invokeHttp(httpApiEvent(JSON.stringify(items)));
      const stored = (await storedReadings()).length - before;
      if (validity.every(Boolean)) expect({ status: answer.status, stored }).toEqual({ status: 202, stored: items.length });
      else expect({ status: answer.status, stored }).toEqual({ status: 400, stored: 0 });
    });
  }
});

describe('judgeTelemetryRequest', () => {
  const validReading = fc.record({
    deviceId: fc.stringMatching(/^[A-Za-z0-9_-]{1,24}$/),
    deviceType: fc.constantFrom('smart-meter', 'pump', 'gps-tracker'),
    seq: fc.nat(),
    eventTime: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    metrics: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/), fc.double({ noNaN: true, noDefaultInfinity: true }), { maxKeys: 5 }),
  });
  const invalidItem = fc.oneof(
    fc.constant(42),
    fc.constant(null),
    validReading.map((item) => ({ ...item, deviceId: '' })),
    validReading.map((item) => ({ ...item, seq: -1 })),
    validReading.map((item) => ({ ...item, metrics: { value: 'high' } })),
  );
  const item = fc.oneof(validReading.map((value) => ({ valid: true, value })), invalidItem.map((value) => ({ valid: false, value: value as unknown })));

  propertyTest.prop([fc.array(item, { minLength: 1, maxLength: 20 })])('refuses a request naming exactly its invalid items, or keeps every reading as sent', (items) => {
    const outcome = judgeTelemetryRequest(Buffer.from(JSON.stringify(items.map(({ value }) => value))), 1_763_000_000_000);
    const invalid = items.flatMap(({ valid }, index) => (valid ? [] : [index]));
    if (invalid.length > 0) {
      expect(outcome.kind === 'refuse' && outcome.body.error === 'invalid_items' ? outcome.body.errors.map((error) => error.index) : outcome).toEqual(invalid);
    } else {
      expect(outcome.kind === 'store' ? outcome.payloads.map((payload) => JSON.parse(payload.toString()) as unknown) : outcome).toEqual(items.map(({ value }) => value));
    }
  });

  it('refuses a body over the byte limit before parsing it', () => {
    const outcome = judgeTelemetryRequest(Buffer.from(JSON.stringify([reading('big', 0)])), 0, { maxBodyBytes: 10, maxPayloadBytes: 1024, maxItems: 10 });
    expect(outcome).toMatchObject({ kind: 'refuse', status: 413, body: { error: 'too_large' } });
  });

  it('is what the deployed IoT rule selects', () => {
    expect(IOT_TELEMETRY_RULE_SQL).toBe("SELECT encode(*, 'base64') AS payload, topic() AS topic FROM 'devices/+/telemetry'");
  });
});
