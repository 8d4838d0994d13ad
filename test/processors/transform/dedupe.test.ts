/**
 * Duplicate detection under at-least-once delivery, on the real Redis (window), PostgreSQL
 * (registry lookups) and the real codec; produce targets record what they get, and can be told
 * to fail before or after storing (a crash around the produce).
 *
 * The law: whatever the interleaving of device duplicates (the same reading at several
 * positions), retries and redeliveries (the same positions again, in other batch boundaries),
 * every (deviceId, seq) of the stream is emitted at least once, and only ever from the first
 * position it appeared at: a copy at a later position is dropped (within the window).
 */
import fc from 'fast-check';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { DeviceLookup } from '../../../processors/registry/deviceLookup';
import { REGISTRY_MIGRATIONS } from '../../../processors/registry/registryMigrations';
import { applyMigrations } from '../../../processors/shared/migrations';
import { dedupeVerdicts } from '../../../processors/transform/dedupeVerdicts';
import { DedupeWindow, claimOf } from '../../../processors/transform/dedupeWindow';
import { createTransformHandler } from '../../../processors/transform/transformHandler';
import type { TransformHandler } from '../../../processors/transform/transformHandler';
import type { EnrichedReading } from '../../../schemas/records';
import type { StreamRecord } from '../../../streams/streamClient';
import { testServers, uniqueName } from '../../support/servers';
import type { CodecBed } from './transformTestSupport';
import { RecordingSink, codecBed, encodeReading, kafkaEvent, reading, streamRecord } from './transformTestSupport';

const KEY_PREFIX = uniqueName('sluice-test-dedupe');

let bed: CodecBed;
let redis: Redis;
let pool: Pool;

beforeAll(async () => {
  bed = await codecBed();
  redis = new Redis(testServers.redisUrl);
  pool = new Pool({ connectionString: testServers.postgresUrl, max: 2 });
  await applyMigrations(pool, REGISTRY_MIGRATIONS);
});

afterAll(async () => {
  const keys = await redis.keys(`${KEY_PREFIX}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  await pool.end();
  await bed.temp.cleanup();
});

interface Bed {
  handler: TransformHandler;
  window: DedupeWindow;
  enriched: RecordingSink;
  deadLetters: RecordingSink;
}

function transformBed(maxSeqs = 128): Bed {
  const window = new DedupeWindow(redis, { keyPrefix: KEY_PREFIX, maxSeqs, ttlMs: 60_000 });
  const enriched = new RecordingSink();
  const deadLetters = new RecordingSink();
  const handler = createTransformHandler({
    codec: bed.codec, window, devices: new DeviceLookup(pool), unknownDevices: 'pass',
    enriched: { client: enriched, stream: 'enriched' }, deadLetters: { client: deadLetters, stream: 'dlq' },
  });
  return { handler, window, enriched, deadLetters };
}

async function decodedOf(sink: RecordingSink): Promise<EnrichedReading[]> {
  return Promise.all(sink.records.map(async (record) => (await bed.codec.decode(record.value)) as EnrichedReading));
}

/** A record of `topic` partition 0 at offset `position` carrying (deviceId, seq); the metric `origin` says where it was first written. */
async function telemetryRecord(topic: string, position: number, deviceId: string, seq: number, origin = position): Promise<StreamRecord> {
  return streamRecord(topic, '0', position, deviceId, await encodeReading(bed.codec, reading(deviceId, seq, { temperature: 20, humidity: 50, origin })));
}

describe('dedupeVerdicts', () => {
  it('emits a record whose identity is new or whose own position was emitted, drops a copy from another position', () => {
    const candidates = [
      { deviceId: 'a', seq: 1, claim: 'p1' },
      { deviceId: 'a', seq: 2, claim: 'p2' },
      { deviceId: 'a', seq: 3, claim: 'p3' },
      { deviceId: 'a', seq: 1, claim: 'p4' },
      { deviceId: 'b', seq: 1, claim: 'p5' },
    ];
    expect(dedupeVerdicts(candidates, [null, 'p2', 'p0', null, null])).toEqual(['new', 'redelivery', 'duplicate', 'duplicate', 'new']);
  });

  it('lets the first record of an identity in a batch win, whatever the window says about the others', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'b'), fc.integer({ min: 0, max: 3 })), { maxLength: 12 }), (identities) => {
        const candidates = identities.map(([deviceId, seq], index) => ({ deviceId, seq, claim: `p${index}` }));
        const verdicts = dedupeVerdicts(candidates, candidates.map(() => null));
        const firsts = new Set<string>();
        verdicts.forEach((verdict, index) => {
          const identity = `${candidates[index]?.deviceId}/${candidates[index]?.seq}`;
          expect(verdict).toBe(firsts.has(identity) ? 'duplicate' : 'new');
          firsts.add(identity);
        });
      }),
    );
  });
});

describe('transform duplicates under at-least-once delivery', () => {
  it('emits every (deviceId, seq) at least once and only from its first position, for any interleaving of duplicates, crashes and redeliveries', async () => {
    const crash = fc.constantFrom('none', 'none', 'before-produce', 'after-produce', 'before-checkpoint');
    const scenario = fc.record({
      stream: fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 6 })), { minLength: 1, maxLength: 25 }),
      attempts: fc.array(fc.tuple(fc.integer({ min: 1, max: 6 }), crash), { maxLength: 40 }),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ stream, attempts }) => {
        const run = uniqueName('dd');
        const topic = `telemetry-${run}`;
        const records = await Promise.all(stream.map(([device, seq], position) => telemetryRecord(topic, position, `${run}-d${device}`, seq)));
        const firstPosition = new Map<string, number>();
        stream.forEach(([device, seq], position) => {
          if (!firstPosition.has(`${run}-d${device}/${seq}`)) firstPosition.set(`${run}-d${device}/${seq}`, position);
        });
        const { handler, enriched } = transformBed();

        // The runtime's loop: a batch from the checkpoint; a crash means the same records come again.
        let checkpoint = 0;
        let attempt = 0;
        while (checkpoint < records.length) {
          const [size, failure] = attempts[attempt] ?? [3, 'none'];
          attempt += 1;
          const batch = records.slice(checkpoint, checkpoint + size);
          if (failure === 'before-produce' || failure === 'after-produce') {
            enriched.failNext = failure;
            const error = await handler(kafkaEvent(batch)).then(() => undefined, (thrown: unknown) => thrown);
            // A batch of duplicates only produces nothing, so nothing could fail: the crash then hits before the checkpoint.
            if (error === undefined) expect(enriched.failNext).toBe(failure);
            else expect(error).toEqual(new Error(`simulated crash ${failure === 'before-produce' ? 'before the produce' : 'after the produce, before it was acknowledged'}`));
            enriched.failNext = undefined;
            continue;
          }
          await handler(kafkaEvent(batch));
          if (failure === 'none') checkpoint += batch.length; // 'before-checkpoint': done, but delivered again
        }

        const emitted = await decodedOf(enriched);
        const emittedIdentities = new Set(emitted.map((r) => `${r.deviceId}/${r.seq}`));
        expect([...emittedIdentities].sort()).toEqual([...firstPosition.keys()].sort());
        for (const r of emitted) expect({ identity: `${r.deviceId}/${r.seq}`, origin: r.metrics.origin }).toEqual({ identity: `${r.deviceId}/${r.seq}`, origin: firstPosition.get(`${r.deviceId}/${r.seq}`) });
      }),
      { numRuns: 60 },
    );
  });

  it('re-emits a record replayed after it was marked and the invocation died before producing', async () => {
    const { handler, window, enriched } = transformBed();
    const topic = uniqueName('telemetry');
    const deviceId = uniqueName('dev');
    const record = await telemetryRecord(topic, 7, deviceId, 42);
    // As if an earlier attempt had recorded the reading and then crashed before its produce.
    await window.markEmitted([{ deviceId, seq: 42, claim: claimOf(`kafka:${topic}-0`, '7') }]);
    const result = await handler(kafkaEvent([record]));
    expect(result).toMatchObject({ emitted: 1, redelivered: 1, duplicatesDropped: 0 });
    expect((await decodedOf(enriched)).map((r) => [r.deviceId, r.seq])).toEqual([[deviceId, 42]]);
  });

  it('marks nothing when the produce fails, so the retry emits; a later copy at another position is then dropped', async () => {
    const { handler, window, enriched } = transformBed();
    const topic = uniqueName('telemetry');
    const deviceId = uniqueName('dev');
    const record = await telemetryRecord(topic, 0, deviceId, 5);
    enriched.failNext = 'before-produce';
    await expect(handler(kafkaEvent([record]))).rejects.toThrow('simulated crash');
    expect(await window.emittedClaims([{ deviceId, seq: 5 }])).toEqual([null]);
    expect(enriched.records).toHaveLength(0);

    await expect(handler(kafkaEvent([record]))).resolves.toMatchObject({ emitted: 1, redelivered: 0 });
    expect(await window.emittedClaims([{ deviceId, seq: 5 }])).toEqual([claimOf(`kafka:${topic}-0`, '0')]);
    const copy = await telemetryRecord(topic, 1, deviceId, 5, 0);
    await expect(handler(kafkaEvent([copy]))).resolves.toMatchObject({ emitted: 0, duplicatesDropped: 1 });
    expect(enriched.records).toHaveLength(1);
  });

  it('emits again when the produce went through but the invocation failed before marking', async () => {
    const { handler, enriched } = transformBed();
    const topic = uniqueName('telemetry');
    const deviceId = uniqueName('dev');
    const record = await telemetryRecord(topic, 3, deviceId, 9);
    enriched.failNext = 'after-produce';
    await expect(handler(kafkaEvent([record]))).rejects.toThrow('simulated crash');
    await expect(handler(kafkaEvent([record]))).resolves.toMatchObject({ emitted: 1 });
    expect((await decodedOf(enriched)).map((r) => r.seq)).toEqual([9, 9]);
  });

  it('keeps a bounded window: a copy older than the window passes through, a copy within it is dropped', async () => {
    const maxSeqs = 4;
    const { handler, window, enriched } = transformBed(maxSeqs);
    const topic = uniqueName('telemetry');
    const deviceId = uniqueName('dev');
    const originals = await Promise.all(Array.from({ length: 10 }, (_, seq) => telemetryRecord(topic, seq, deviceId, seq)));
    await handler(kafkaEvent(originals));
    expect(await redis.zcard(window.keyOf(deviceId))).toBe(maxSeqs);
    const ttl = await redis.pttl(window.keyOf(deviceId));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);

    const oldCopy = await telemetryRecord(topic, 10, deviceId, 2);
    const recentCopy = await telemetryRecord(topic, 11, deviceId, 8);
    const result = await handler(kafkaEvent([oldCopy, recentCopy]));
    expect(result).toMatchObject({ emitted: 1, duplicatesDropped: 1 });
    expect((await decodedOf(enriched)).map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 2]);
  });
});
