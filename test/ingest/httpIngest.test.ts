import { startHttpIngest } from '../../ingest/httpIngest';
import type { HttpIngestServer } from '../../ingest/httpIngest';
import { IngestPipeline } from '../../ingest/ingestPipeline';
import { createIngestStreams, decodeReadings, readWholeStream } from './ingestTestSupport';
import type { IngestStreams } from './ingestTestSupport';

const reading = (deviceId: string, seq: number) => ({ deviceId, seq, eventTime: 1_763_000_000_000 + seq, deviceType: 'smart-meter', metrics: { powerW: 100 + seq } });

describe('HTTP ingest gateway -> Kafka', () => {
  let streams: IngestStreams;
  let server: HttpIngestServer;

  beforeAll(async () => {
    streams = await createIngestStreams('inghttp', 1);
    const pipeline = new IngestPipeline({
      telemetry: { client: streams.client, stream: streams.telemetry },
      deadLetter: { client: streams.client, stream: streams.deadLetter },
      codec: streams.codec,
      sourceKind: 'http',
      maxPayloadBytes: 2048,
    });
    server = await startHttpIngest({ pipeline, port: 0, maxBodyBytes: 64 * 1024, maxPayloadBytes: 2048 });
  });

  afterAll(async () => {
    await server.close();
    await streams.cleanup();
  });

  const post = (body: string) => fetch(`${server.url}/v1/telemetry`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });

  it('answers 202 once the readings are in the stream, decoded equal, in order', async () => {
    const sent = [reading('http-a', 0), reading('http-a', 1), { ...reading('http-b', 0), eventTime: '2025-11-13T00:00:00Z' }];
    const response = await post(JSON.stringify(sent));
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ accepted: 3 });
    // durable before the answer: the stream holds them at once
    const readings = (await decodeReadings(streams.codec, await readWholeStream(streams.client, streams.telemetry))).map((r) => r.reading);
    expect(readings.map(({ deviceId, seq, eventTime, metrics }) => ({ deviceId, seq, eventTime, metrics }))).toEqual([
      { deviceId: 'http-a', seq: 0, eventTime: sent[0]!.eventTime, metrics: { powerW: 100 } },
      { deviceId: 'http-a', seq: 1, eventTime: sent[1]!.eventTime, metrics: { powerW: 101 } },
      { deviceId: 'http-b', seq: 0, eventTime: Date.UTC(2025, 10, 13), metrics: { powerW: 100 } },
    ]);
  });

  it('answers 400 with a reason per bad item and stores nothing of that request', async () => {
    const before = (await readWholeStream(streams.client, streams.telemetry)).length;
    const items = [reading('http-c', 0), { ...reading('http-c', 1), metrics: { powerW: 'high' } }, { ...reading('http-c', 2), diagnostics: 'x'.repeat(3000) }, 42];
    const response = await post(JSON.stringify(items));
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: Array<{ index: number; reason: string }> };
    expect(body.errors.map(({ index, reason }) => ({ index, reason }))).toEqual([
      { index: 1, reason: 'schema_violation' },
      { index: 2, reason: 'too_large' },
      { index: 3, reason: 'schema_violation' },
    ]);
    const after = await readWholeStream(streams.client, streams.telemetry);
    expect(after).toHaveLength(before);
  });

  it('answers 400 bad_json for a body that is not JSON, 413 for a body over the limit, 404/405 elsewhere', async () => {
    const badJson = await post('[{"deviceId":');
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toMatchObject({ error: 'bad_json' });
    const tooLarge = await post(JSON.stringify(Array.from({ length: 1000 }, (_, i) => reading('http-d', i))));
    expect(tooLarge.status).toBe(413);
    expect(await tooLarge.json()).toMatchObject({ error: 'too_large' });
    expect((await fetch(`${server.url}/v1/other`, { method: 'POST', body: '[]' })).status).toBe(404);
    expect((await fetch(`${server.url}/v1/telemetry`)).status).toBe(405);
  });
});
