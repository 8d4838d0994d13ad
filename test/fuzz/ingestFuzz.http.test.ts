/**
 * Fuzzed request bodies against the real HTTP front (`POST /v1/telemetry`) and Kafka. Per generated
 * batch of concurrent requests: each is answered 202, 400 or 413 exactly as the documented rules
 * say (never 500, never left hanging); a 202's readings are in the telemetry stream exactly once,
 * a 400 or 413 stored nothing (HTTP answers the reasons to the caller: nothing is dead-lettered);
 * and a valid request after the batch is still taken.
 */
import fc from 'fast-check';
import { startHttpIngest } from '../../ingest/httpIngest';
import type { HttpIngestServer } from '../../ingest/httpIngest';
import { IngestPipeline } from '../../ingest/ingestPipeline';
import type { TelemetryReading } from '../../schemas/records';
import { createIngestStreams } from '../ingest/ingestTestSupport';
import type { IngestStreams } from '../ingest/ingestTestSupport';
import type { Fragment, ReadingSpec, Utf8Damage } from './fuzzPayloads';
import { INVALID_UTF8, anyValue, batchOf, describeSpec, fragmentText, jsonPayloadBytes, plainReadingText, readingSpec, readingText, validReadingSpec } from './fuzzPayloads';
import { StreamTail } from './streamTail';
import type { HttpLimits, HttpVerdict } from './telemetryOracle';
import { judgeHttpBody, multisetDifference, readingKey, storedReading } from './telemetryOracle';

const LIMITS: HttpLimits = { maxBodyBytes: 256 * 1024, maxPayloadBytes: 8 * 1024, maxItems: 40 };
const RUNS = 25;

/** One item of a request: a reading (often wrong), any JSON value, or a valid reading padded to a size. */
type ItemSpec = { reading: ReadingSpec } | { value: Fragment } | { padded: number; deviceId: string };

type BodySpec =
  /** a JSON array of items, or the one item alone; maybe with bytes that are not UTF-8 */
  | { items: ItemSpec[]; alone: boolean; damage: Utf8Damage | null }
  | { raw: number[] }
  /** `count` small valid readings, around the per-request item limit */
  | { count: number }
  /** one valid reading padded to `bodyBytes`, around and far over the body limit */
  | { bodyBytes: number };

const deviceId = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);

const itemSpec: fc.Arbitrary<ItemSpec> = fc.oneof(
  { arbitrary: readingSpec.map((reading) => ({ reading })), weight: 12 },
  { arbitrary: anyValue.map((value) => ({ value })), weight: 1 },
  { arbitrary: fc.record({ padded: fc.integer({ min: LIMITS.maxPayloadBytes - 3, max: LIMITS.maxPayloadBytes + 3 }), deviceId }), weight: 1 },
);

const bodySpec: fc.Arbitrary<BodySpec> = fc.oneof(
  {
    arbitrary: fc.record({
      items: fc.array(itemSpec, { minLength: 1, maxLength: 12 }),
      alone: fc.boolean(),
      damage: fc.oneof({ arbitrary: fc.constant(null), weight: 12 }, { arbitrary: fc.record({ at: fc.nat(), bytes: fc.constantFrom(...INVALID_UTF8) }), weight: 1 }),
    }),
    weight: 10,
  },
  // Requests that are all valid but now and then for one item: the 202 path with many items.
  {
    arbitrary: fc.record({
      items: fc.array(fc.oneof({ arbitrary: validReadingSpec.map((reading): ItemSpec => ({ reading })), weight: 30 }, { arbitrary: itemSpec, weight: 1 }), { minLength: 1, maxLength: 12 }),
      alone: fc.boolean(),
      damage: fc.constant(null),
    }),
    weight: 8,
  },
  { arbitrary: fc.uint8Array({ maxLength: 40 }).map((bytes) => ({ raw: [...bytes] })), weight: 1 },
  { arbitrary: fc.integer({ min: LIMITS.maxItems - 1, max: LIMITS.maxItems + 1 }).map((count) => ({ count })), weight: 1 },
  { arbitrary: fc.oneof(fc.integer({ min: LIMITS.maxBodyBytes - 2, max: LIMITS.maxBodyBytes + 2 }), fc.integer({ min: 1_000_000, max: 1_500_000 })).map((bodyBytes) => ({ bodyBytes })), weight: 1 },
);

const READING = '"deviceId":"reg-device","deviceType":"meter","eventTime":1763000000000,"seq":1,"metrics":{"powerW":1}';

/** Bodies that broke the HTTP front before, sent every run. */
const REGRESSIONS: Buffer[] = [
  // JSON.stringify of the item overflowed the stack: 500.
  Buffer.from(`[{${READING},"diagnostics":${'['.repeat(5000)}${']'.repeat(5000)}}]`),
  // 1e400 parses as Infinity, which the re-serialized item carried as null: 202 with no battery / no altitude.
  Buffer.from(`[{${READING},"battery":1e400}]`),
  Buffer.from(`[{${READING},"location":{"lat":1,"lon":2,"alt":1e400}}]`),
  // Not UTF-8 (the bytes of a lone surrogate): read with U+FFFD in their place, and stored.
  Buffer.concat([Buffer.from(`[{${READING},"firmware":"1.0`), Buffer.from([0xed, 0xb3, 0xbf]), Buffer.from('"}]')]),
  // Passed validation, refused by the encoder: 202, then dead-lettered.
  Buffer.from('[{"deviceId":"reg-device","deviceType":"meter","eventTime":1,"seq":9007199254740991,"metrics":{}}]'),
  Buffer.from('[{"deviceId":"reg-device","deviceType":"meter","eventTime":-5000000000000000,"seq":1,"metrics":{}}]'),
  Buffer.from('[{"deviceId":"reg-device\\ud800","deviceType":"meter","eventTime":1,"seq":1,"metrics":{}}]'),
  // The same, and its dead letter quoted the name, which the Avro string refuses: 503.
  Buffer.from('[{"deviceId":"reg-device","deviceType":"meter","eventTime":1,"seq":1,"metrics":{"\\udfff":1}}]'),
  // A day February 2023 does not have: stored as March 1.
  Buffer.from('[{"deviceId":"reg-device","deviceType":"meter","eventTime":"2023-02-29T00:00:00Z","seq":1,"metrics":{}}]'),
];

function itemText(item: ItemSpec): string {
  if ('reading' in item) return readingText(item.reading);
  if ('value' in item) return fragmentText(item.value);
  return jsonPayloadBytes({ huge: item.padded, deviceId: item.deviceId }).toString();
}

function bodyBytes(spec: BodySpec): Buffer {
  if ('raw' in spec) return Buffer.from(spec.raw);
  if ('count' in spec) return Buffer.from(`[${Array.from({ length: spec.count }, (_, seq) => plainReadingText('many', seq)).join(',')}]`);
  if ('bodyBytes' in spec) return jsonPayloadBytes({ huge: spec.bodyBytes, deviceId: 'big-body' });
  const json = Buffer.from(spec.alone && spec.items.length === 1 ? itemText(spec.items[0]!) : `[${spec.items.map(itemText).join(',')}]`);
  if (spec.damage === null) return json;
  const at = spec.damage.at % (json.length + 1);
  return Buffer.concat([json.subarray(0, at), Buffer.from(spec.damage.bytes), json.subarray(at)]);
}

/** The answer in the terms of the oracle's verdict. */
function answerOf(status: number, body: unknown): unknown {
  const answer = body as { error?: string; accepted?: number; errors?: Array<{ index: number; reason: string }> };
  if (status === 202) return { status, accepted: answer.accepted };
  if (status === 413) return { status, error: answer.error };
  if (answer.error === 'invalid_items') return { status, error: answer.error, errors: answer.errors?.map(({ index, reason }) => ({ index, reason })) };
  return { status, error: answer.error };
}

function expectedAnswer(verdict: HttpVerdict): unknown {
  if (verdict.status === 202) return { status: 202, accepted: verdict.readings.length };
  if (verdict.status === 413) return { status: 413, error: 'too_large' };
  return verdict;
}


describe('HTTP ingest under fuzzed request bodies (POST /v1/telemetry -> Kafka)', () => {
  let streams: IngestStreams;
  let server: HttpIngestServer;
  let telemetryTail: StreamTail;
  let deadLetterTail: StreamTail;

  beforeAll(async () => {
    streams = await createIngestStreams('fuzzhttp', 1);
    const pipeline = new IngestPipeline({
      telemetry: { client: streams.client, stream: streams.telemetry },
      deadLetter: { client: streams.client, stream: streams.deadLetter },
      codec: streams.codec,
      sourceKind: 'http',
      maxPayloadBytes: LIMITS.maxPayloadBytes,
    });
    server = await startHttpIngest({ pipeline, port: 0, ...LIMITS });
    telemetryTail = await StreamTail.open(streams.client, streams.telemetry);
    deadLetterTail = await StreamTail.open(streams.client, streams.deadLetter);
  });

  afterAll(async () => {
    await server?.close();
    await telemetryTail?.close();
    await deadLetterTail?.close();
    await streams?.cleanup();
  });

  /** The answer, or what went wrong on the way: a hang ends as an abort after 30 s, not as a stuck suite. */
  async function post(body: Buffer): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${server.url}/v1/telemetry`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(30_000) });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { unparsable: text.slice(0, 200) };
    }
    return { status: response.status, body: parsed };
  }

  let run = 0;

  /** Sends a batch of requests at once, then a control request, and checks every answer and what landed. */
  async function postBatch(specs: BodySpec[]): Promise<void> {
    run += 1;
    const requests = specs.map((spec, index) => {
      const body = bodyBytes(spec);
      return { body, verdict: judgeHttpBody(body, LIMITS), label: `request #${index} ${'raw' in spec ? `raw ${describeSpec(Buffer.from(spec.raw).toString())}` : describeSpec(spec)}` };
    });
    const answers = await Promise.all(requests.map((request) => post(request.body)));
    requests.forEach((request, index) => {
      const answer = answers[index]!;
      expect({ request: request.label, answer: answerOf(answer.status, answer.body) }).toEqual({ request: request.label, answer: expectedAnswer(request.verdict) });
    });

    const control = { body: Buffer.from(`[${plainReadingText(`control-${run}`, run)}]`), label: 'control' };
    const controlVerdict = judgeHttpBody(control.body, LIMITS);
    expect(await post(control.body)).toEqual({ status: 202, body: { accepted: 1 } });

    const expected = [...requests, { ...control, verdict: controlVerdict }].flatMap((request) =>
      request.verdict.status === 202 ? request.verdict.readings.map((reading) => ({ reading, label: request.label })) : [],
    );
    const telemetry = await telemetryTail.next(expected.length);
    const stored = await Promise.all(telemetry.map(async (record) => ({ key: record.key, reading: (await streams.codec.decode(record.value)) as TelemetryReading })));
    const diff = multisetDifference(
      expected.map(({ reading, label }) => ({ key: `${reading.deviceId} ${readingKey(reading)}`, label })),
      stored.map(({ key, reading }) => ({ key: `${key} ${readingKey(storedReading(reading))}`, label: `stored ${key} ${describeSpec(reading)}` })),
    );
    expect(diff).toEqual({ missing: [], unexpected: [] });
    // The answers are the only report: nothing of a 400 or 413, and nothing of a 202, is dead-lettered.
    expect(await deadLetterTail.next(0)).toEqual([]);
  }

  it('answers the bodies that once got a 500, a 503 or a wrong 202 as the rules say', async () => {
    await postBatch(REGRESSIONS.map((bytes) => ({ raw: [...bytes] })));
  });

  it('answers each request as the rules say, stores the readings of each 202 exactly once and nothing else, and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(batchOf(bodySpec, { minLength: 3, maxLength: 8 }), postBatch),
      // No shrinking: the streams keep what a failed batch stored, so a shrunk re-run would not start from the same world.
      { numRuns: RUNS, endOnFailure: true },
    );
  }, 240_000);
});
