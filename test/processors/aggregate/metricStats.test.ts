/**
 * Laws of the mergeable statistics: merge is commutative bit for bit, associative (exactly for
 * count/min/max/first/last, to floating-point rounding for sum/mean/m2), agrees with a direct
 * two-pass computation, and the Lua twin the batch script uses computes the very same doubles.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import Redis from 'ioredis';
import type { MetricStats } from '../../../processors/aggregate/metricStats';
import { foldValue, mergeStats, statsFromArray, statsFromBinary, statsOfValue, statsToArray, statsToBinary, stddevOf } from '../../../processors/aggregate/metricStats';
import { testServers } from '../../support/servers';
import { closeTo } from './aggregateTestKit';

const value = fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }).map((v) => (v === 0 ? 0 : v));
const reading = fc.record({ value, time: fc.integer({ min: 0, max: 1000 }), seq: fc.integer({ min: 0, max: 50 }) });
const partial = fc.array(reading, { minLength: 1, maxLength: 8 }).map((readings) => readings.map((r) => statsOfValue(r.value, r.time, r.seq)).reduce(mergeStats));

const EXACT: Array<keyof MetricStats> = ['count', 'min', 'max', 'firstTime', 'firstSeq', 'firstValue', 'lastTime', 'lastSeq', 'lastValue'];

function expectEquivalent(actual: MetricStats, expected: MetricStats, magnitude: number): void {
  for (const field of EXACT) expect(actual[field]).toBe(expected[field]);
  expect(closeTo(actual.sum, expected.sum, magnitude * actual.count)).toBe(true);
  expect(closeTo(actual.mean, expected.mean, magnitude)).toBe(true);
  expect(closeTo(actual.m2, expected.m2, magnitude * magnitude * actual.count)).toBe(true);
}

function magnitudeOf(...stats: MetricStats[]): number {
  return Math.max(...stats.flatMap((s) => [Math.abs(s.min), Math.abs(s.max)]));
}

describe('mergeable metric statistics', () => {
  it('merge is commutative, bit for bit', () => {
    fc.assert(fc.property(partial, partial, (a, b) => {
      expect(mergeStats(a, b)).toEqual(mergeStats(b, a));
    }));
  });

  it('merge is associative (count, min, max, first, last exactly; sum, mean, m2 to rounding)', () => {
    fc.assert(fc.property(partial, partial, partial, (a, b, c) => {
      expectEquivalent(mergeStats(mergeStats(a, b), c), mergeStats(a, mergeStats(b, c)), magnitudeOf(a, b, c));
    }));
  });

  it('agrees with a direct two-pass computation of mean and m2, whatever the split into partials', () => {
    fc.assert(fc.property(fc.array(reading, { minLength: 1, maxLength: 40 }), fc.array(fc.nat(), { maxLength: 10 }), (readings, cuts) => {
      const points = [...new Set(cuts.map((cut) => cut % readings.length))].sort((x, y) => x - y);
      const groups: Array<typeof readings> = [];
      let from = 0;
      for (const point of [...points, readings.length]) {
        if (point > from) groups.push(readings.slice(from, point));
        from = Math.max(from, point);
      }
      const merged = groups.map((group) => group.map((r) => statsOfValue(r.value, r.time, r.seq)).reduce(mergeStats)).reduce(mergeStats);
      const mean = readings.reduce((sum, r) => sum + r.value, 0) / readings.length;
      const m2 = readings.reduce((sum, r) => sum + (r.value - mean) ** 2, 0);
      const magnitude = Math.max(...readings.map((r) => Math.abs(r.value)));
      expect(merged.count).toBe(readings.length);
      expect(merged.min).toBe(Math.min(...readings.map((r) => r.value)));
      expect(closeTo(merged.mean, mean, magnitude)).toBe(true);
      expect(closeTo(merged.m2, m2, magnitude * magnitude * readings.length)).toBe(true);
      expect(stddevOf(merged)).toBeGreaterThanOrEqual(0);
    }));
  });

  it('first and last follow event time, then seq, never arrival order', () => {
    fc.assert(fc.property(fc.array(reading, { minLength: 1, maxLength: 20 }), (readings) => {
      const stats = readings.map((r) => statsOfValue(r.value, r.time, r.seq));
      const forward = stats.reduce(mergeStats);
      const backward = [...stats].reverse().reduce(mergeStats);
      expect([forward.firstTime, forward.firstSeq, forward.firstValue]).toEqual([backward.firstTime, backward.firstSeq, backward.firstValue]);
      expect([forward.lastTime, forward.lastSeq, forward.lastValue]).toEqual([backward.lastTime, backward.lastSeq, backward.lastValue]);
      const earliest = Math.min(...readings.map((r) => r.time));
      expect(forward.firstTime).toBe(earliest);
    }));
  });

  it('folding one value in place computes the very same doubles as merging it', () => {
    fc.assert(fc.property(partial, reading, (stats, r) => {
      const folded = { ...stats };
      foldValue(folded, r.value, r.time, r.seq);
      expect(folded).toEqual(mergeStats(stats, statsOfValue(r.value, r.time, r.seq)));
    }));
  });

  it('goes to its stored and wire forms and back without losing a bit', () => {
    fc.assert(fc.property(partial, (stats) => {
      expect(statsFromBinary(statsToBinary(stats))).toEqual(stats);
      expect(statsFromArray(JSON.parse(JSON.stringify(statsToArray(stats))) as number[])).toEqual(stats);
    }));
    expect(statsFromBinary(Buffer.alloc(95))).toBeUndefined();
    expect(statsFromArray([1, 2, 3])).toBeUndefined();
  });

  describe('the Lua twin (lua/aggregateCommon.lua)', () => {
    let redis: Redis;
    const common = readFileSync(path.join(__dirname, '../../../processors/aggregate/lua/aggregateCommon.lua'), 'utf8');
    // partials arrive as the batch script gets them (JSON numbers) and leave as it stores them (binary)
    const driver = `${common}\nlocal acc = cjson.decode(ARGV[1])\nfor i = 2, #ARGV do acc = mergeStats(acc, cjson.decode(ARGV[i])) end\nreturn packStats(acc)`;

    beforeAll(() => {
      redis = new Redis(testServers.redisUrl);
    });

    afterAll(() => {
      redis.disconnect();
    });

    it('merges to the very same doubles as mergeStats', async () => {
      await fc.assert(fc.asyncProperty(fc.array(partial, { minLength: 2, maxLength: 6 }), async (partials) => {
        const viaLua = (await redis.callBuffer('EVAL', driver, 0, ...partials.map((p) => JSON.stringify(statsToArray(p))))) as Buffer;
        expect(statsFromBinary(viaLua)).toEqual(partials.reduce(mergeStats));
      }), { numRuns: 200 });
    });
  });
});
