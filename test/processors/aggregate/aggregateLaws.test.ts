/**
 * The aggregate's laws, through the real processor and Redis, on inputs fast-check makes:
 * - any permutation of a window's in-grace readings, cut into any batches, gives the same
 *   closed windows (tumbling, hopping and session, per device and per site);
 * - duplicates anywhere (the same (deviceId, seq) at other positions) change nothing;
 * - replaying from an earlier checkpoint, with other batch boundaries, leaves Redis exactly as
 *   it was (every key, every byte).
 * Count, min, max, first, last and percentiles must match exactly; sum, mean and m2 to
 * floating-point rounding (partial aggregates add up in a different order).
 */
import fc from 'fast-check';
import { AggregateKeys } from '../../../processors/aggregate/aggregateKeys';
import type { AggregateProcessor } from '../../../processors/aggregate/aggregateProcessor';
import { aggregatesOf } from '../../../processors/aggregate/windowView';
import type { Aggregate, EnrichedReading } from '../../../schemas/records';
import { AggregateTestBed, T0, expectSameAggregates, kafkaEvent, naturalKey, reading, referenceAggregates, windowSettings } from './aggregateTestKit';

const bed = new AggregateTestBed();
const settings = windowSettings('tumbling:10s,hopping:30s/10s,session:5s', { graceMs: 3_600_000 });
const NOW = T0 + 200_000;
let runs = 0;

beforeAll(async () => {
  await bed.start();
});

afterAll(async () => {
  await bed.close();
});

/** Distinct readings: up to 3 devices on 2 sites, within two minutes, one or two metrics. */
const readingsArb = fc.uniqueArray(
  fc.record({
    device: fc.integer({ min: 0, max: 2 }),
    seq: fc.integer({ min: 0, max: 500 }),
    offset: fc.integer({ min: 0, max: 120_000 }),
    value: fc.double({ min: -500, max: 500, noNaN: true, noDefaultInfinity: true }).map((v) => (v === 0 ? 0 : v)),
    humidity: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
  }),
  { minLength: 1, maxLength: 30, selector: (r) => `${r.device}:${r.seq}` },
).map((items) => items.map((r) => reading(`dev-${r.device}`, r.seq, T0 + r.offset, r.humidity === undefined ? { temperature: r.value } : { temperature: r.value, humidity: r.humidity }, `site-${r.device % 2}`)));

const cutsArb = fc.array(fc.nat({ max: 100 }), { maxLength: 6 });

function batches<T>(items: readonly T[], cuts: readonly number[]): T[][] {
  const points = [...new Set(cuts.map((cut) => (items.length === 0 ? 0 : cut % items.length)))].filter((p) => p > 0).sort((a, b) => a - b);
  const out: T[][] = [];
  let from = 0;
  for (const point of [...points, items.length]) {
    if (point > from) out.push(items.slice(from, point));
    from = point;
  }
  return out;
}

interface Delivery {
  offset: number;
  reading: EnrichedReading;
}

async function deliver(processor: AggregateProcessor, deliveries: readonly Delivery[], cuts: readonly number[]): Promise<void> {
  for (const batch of batches(deliveries, cuts)) {
    const records = await Promise.all(batch.map(async (d) => ({ offset: d.offset, key: d.reading.deviceId, value: await bed.encode(d.reading) })));
    await processor.processEvent(kafkaEvent('enriched', 0, records), 'laws');
  }
}

/** Closes every window (wall clock far ahead) and returns the final aggregates by natural key. */
async function closedAggregates(processor: AggregateProcessor, prefix: string): Promise<Map<string, Aggregate>> {
  while ((await processor.store.closeDue(NOW + 86_400_000, 3_600_000, 500)).due === 500);
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await bed.redis.scan(cursor, 'MATCH', `${prefix}:agg:w:*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  const out = new Map<string, Aggregate>();
  for (const window of await processor.store.readWindows(keys)) {
    if (!window) continue;
    expect(window.status).toBe('closed');
    for (const aggregate of aggregatesOf(window, settings.quantiles)) {
      out.set(naturalKey(aggregate), aggregate);
    }
  }
  return out;
}

function freshPrefix(): string {
  runs += 1;
  return `${bed.prefix}-r${runs}`;
}

function processorAt(prefix: string): AggregateProcessor {
  return bed.processor(settings, () => NOW, prefix);
}

describe('aggregate laws', () => {
  it('any permutation of in-grace readings, in any batches, gives the same closed windows', async () => {
    await fc.assert(fc.asyncProperty(readingsArb, fc.array(fc.double({ noNaN: true }), { minLength: 30, maxLength: 30 }), cutsArb, cutsArb, async (readings, order, cutsA, cutsB) => {
      const permuted = readings.map((r, i) => ({ r, k: order[i] ?? 0 })).sort((a, b) => a.k - b.k).map((x) => x.r);
      const [a, b] = [freshPrefix(), freshPrefix()];
      try {
        const pa = processorAt(a);
        const pb = processorAt(b);
        await deliver(pa, readings.map((r, i) => ({ offset: i, reading: r })), cutsA);
        await deliver(pb, permuted.map((r, i) => ({ offset: i, reading: r })), cutsB);
        const [resultA, resultB] = [await closedAggregates(pa, a), await closedAggregates(pb, b)];
        expect(resultA.size).toBeGreaterThan(0);
        expectSameAggregates(resultB, resultA);
        expectSameAggregates(resultA, referenceAggregates(readings, settings));
      } finally {
        await bed.deletePrefix(a);
        await bed.deletePrefix(b);
      }
    }), { numRuns: 25 });
  });

  it('duplicates anywhere, at other positions, do not change the results', async () => {
    await fc.assert(fc.asyncProperty(readingsArb, fc.array(fc.record({ of: fc.nat(), at: fc.nat() }), { maxLength: 15 }), cutsArb, async (readings, copies, cuts) => {
      const withCopies: EnrichedReading[] = [...readings];
      for (const copy of copies) {
        const original = readings[copy.of % readings.length] as EnrichedReading;
        const index = withCopies.indexOf(original);
        withCopies.splice(index + 1 + (copy.at % (withCopies.length - index)), 0, { ...original, metrics: { ...original.metrics } });
      }
      const [a, b] = [freshPrefix(), freshPrefix()];
      try {
        const pa = processorAt(a);
        const pb = processorAt(b);
        await deliver(pa, readings.map((r, i) => ({ offset: i, reading: r })), []);
        await deliver(pb, withCopies.map((r, i) => ({ offset: i, reading: r })), cuts);
        const counters = await bed.redis.hgetall(new AggregateKeys(b).counters());
        expect(Number(counters.readings)).toBe(readings.length);
        expect(Number(counters.duplicates ?? 0)).toBe(copies.length);
        expectSameAggregates(await closedAggregates(pb, b), await closedAggregates(pa, a));
      } finally {
        await bed.deletePrefix(a);
        await bed.deletePrefix(b);
      }
    }), { numRuns: 25 });
  });

  it('replay from an earlier checkpoint, in other batches, leaves Redis exactly as it was', async () => {
    await fc.assert(fc.asyncProperty(readingsArb, fc.nat(), cutsArb, cutsArb, async (readings, from, cuts, replayCuts) => {
      const prefix = freshPrefix();
      try {
        const processor = processorAt(prefix);
        const deliveries = [...readings, ...readings.slice(0, 3)].map((r, i) => ({ offset: i, reading: r }));
        await deliver(processor, deliveries, cuts);
        const before = await bed.dump(prefix);
        await deliver(processor, deliveries.slice(from % deliveries.length), replayCuts);
        expect(await bed.dump(prefix)).toEqual(before);
      } finally {
        await bed.deletePrefix(prefix);
      }
    }), { numRuns: 25 });
  });
});
