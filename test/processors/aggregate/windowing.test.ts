/**
 * The pure parts of windowing: window specifications and settings from the environment (with
 * ConfigErrors naming the variable), which windows hold an event time, session merging, and
 * percentiles from mergeable DDSketch buckets.
 */
import fc from 'fast-check';
import { ConfigError } from '../../../core/errors';
import { aggregateSettingsFromEnv, longestReachMs, windowSettingsFromEnv } from '../../../processors/aggregate/aggregateSettings';
import { bucketOf, percentilesOf } from '../../../processors/aggregate/percentileSketch';
import type { SessionInfo } from '../../../processors/aggregate/sessionWindows';
import { packSession, placeInSession, unpackSession } from '../../../processors/aggregate/sessionWindows';
import { formatDuration, parseDuration, parseWindowSpecs, windowsContaining } from '../../../processors/aggregate/windowSpecs';

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('window specifications', () => {
  it('parses the issue\'s example and labels windows canonically', () => {
    expect(parseWindowSpecs('tumbling:10s, tumbling:60s,hopping:1m/10s,session:30s').map((spec) => spec.label)).toEqual(['tumbling:10s', 'tumbling:1m', 'hopping:1m/10s', 'session:30s']);
    expect(parseWindowSpecs('hopping:1h/15m')[0]).toEqual({ kind: 'hopping', label: 'hopping:1h/15m', sizeMs: 3_600_000, hopMs: 900_000 });
    expect([parseDuration('250ms'), parseDuration('1d'), parseDuration('10'), parseDuration('-1s'), parseDuration('0s')]).toEqual([250, 86_400_000, undefined, undefined, undefined]);
    expect(formatDuration(90_000)).toBe('90s');
  });

  it.each([
    ['', /names no window/],
    ['tumbling', /is not kind:size/],
    ['sliding:1m', /unknown window kind "sliding"/],
    ['tumbling:ten', /"ten" is not a duration/],
    ['hopping:1m', /hopping:<size>\/<hop>/],
    ['hopping:10s/1m', /hop must be shorter than the size/],
    ['hopping:1h/1s', /at most 60 overlapping windows/],
    ['tumbling:1m,tumbling:60s', /listed twice/],
    ['tumbling:8d', /longer than 7d/],
  ])('refuses %j with a ConfigError naming $SLUICE_WINDOWS', (text, problem) => {
    const error = configError(() => parseWindowSpecs(text));
    expect(error.path).toBe('$SLUICE_WINDOWS');
    expect(error.message).toMatch(problem);
  });

  it('puts an event time into exactly the windows that contain it', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 4e12 }), fc.integer({ min: 1, max: 600 }), fc.integer({ min: 1, max: 59 }), (time, hopSeconds, overlap) => {
      const hopMs = hopSeconds * 1000;
      const sizeMs = hopMs * (1 + (overlap % 6));
      const hopping = windowsContaining({ kind: 'hopping', label: '', sizeMs, hopMs }, time);
      expect(hopping).toHaveLength(sizeMs / hopMs);
      for (const window of hopping) {
        expect(window.start <= time && time < window.end).toBe(true);
        expect(window.start % hopMs === 0).toBe(true); // (-0 for windows before the epoch)
        expect(window.end - window.start).toBe(sizeMs);
      }
      const [tumbling, ...more] = windowsContaining({ kind: 'tumbling', label: '', sizeMs }, time);
      expect(more).toEqual([]);
      expect(tumbling && tumbling.start <= time && time < tumbling.end && tumbling.start % sizeMs === 0).toBe(true);
    }));
  });
});

describe('settings from the environment', () => {
  const complete = { SLUICE_SCHEMA_REGISTRY: '/tmp/r.json', SLUICE_AGGREGATES_STREAM: 'kafka://h:1/a', SLUICE_LATE_STREAM: 'kafka://h:1/l', SLUICE_PROCESSOR_DLQ: 'kafka://h:1/d' };

  it('has defaults for everything but the addresses', () => {
    const settings = aggregateSettingsFromEnv(complete);
    expect(settings.specs.map((spec) => spec.label)).toEqual(['tumbling:10s', 'tumbling:1m', 'hopping:1m/10s', 'session:30s']);
    expect([settings.graceMs, settings.keyPrefix, settings.redisUrl, settings.quantiles]).toEqual([10_000, 'sluice', 'redis://127.0.0.1:6379', [0.5, 0.9, 0.95, 0.99]]);
    expect(longestReachMs(settings)).toBe(70_000);
  });

  it.each([
    ['SLUICE_SCHEMA_REGISTRY', { ...complete, SLUICE_SCHEMA_REGISTRY: '' }, /is not set/],
    ['SLUICE_AGGREGATES_STREAM', { ...complete, SLUICE_AGGREGATES_STREAM: undefined }, /is not set/],
    ['SLUICE_LATE_STREAM', { ...complete, SLUICE_LATE_STREAM: undefined }, /is not set/],
    ['SLUICE_PROCESSOR_DLQ', { ...complete, SLUICE_PROCESSOR_DLQ: undefined }, /is not set/],
    ['SLUICE_GRACE_MS', { ...complete, SLUICE_GRACE_MS: '10s' }, /integer number of milliseconds/],
    ['SLUICE_WINDOW_RETENTION_MS', { ...complete, SLUICE_WINDOW_RETENTION_MS: '5' }, /1000\.\./],
    ['SLUICE_PERCENTILES', { ...complete, SLUICE_PERCENTILES: '50,101' }, /"101" is not a percentile/],
    ['SLUICE_SKETCH_ACCURACY', { ...complete, SLUICE_SKETCH_ACCURACY: '0.5' }, /relative accuracy/],
    ['SLUICE_WINDOWS', { ...complete, SLUICE_WINDOWS: 'tumbling:x' }, /not a duration/],
  ])('names $%s when it is wrong', (variable, env, problem) => {
    const error = configError(() => aggregateSettingsFromEnv(env));
    expect(error.path).toBe(`$${variable}`);
    expect(error.message).toMatch(problem);
  });

  it('lets the timer run without the late and dead-letter streams', () => {
    const settings = aggregateSettingsFromEnv({ SLUICE_SCHEMA_REGISTRY: '/tmp/r.json', SLUICE_AGGREGATES_STREAM: 'kafka://h:1/a' }, 'timer');
    expect([settings.lateStream, settings.deadLetterStream]).toEqual([undefined, undefined]);
    expect(windowSettingsFromEnv({ SLUICE_PERCENTILES: 'p50, p99.9' }).quantiles).toEqual([0.5, 0.999]);
  });
});

describe('session windows', () => {
  const never = (): boolean => false;

  it('merges the sessions a reading bridges into the earliest one', () => {
    const sessions: SessionInfo[] = [{ id: 'a', start: 0, last: 5, closed: false }, { id: 'b', start: 20, last: 30, closed: false }];
    const placed = placeInSession(sessions, 12, 1, 10, never);
    expect(placed).toEqual({ outcome: 'joined', session: { id: 'a', start: 0, last: 30, closed: false }, absorbed: [{ id: 'b', start: 20, last: 30, closed: false }] });
    expect(sessions).toHaveLength(1);
    expect(placeInSession(sessions, 50, 2, 10, never)).toMatchObject({ outcome: 'created', session: { id: '50-2', start: 50, last: 50 } });
    expect(placeInSession(sessions, 45, 3, 10, (session) => session.id === '50-2')).toMatchObject({ outcome: 'closed', session: { id: '50-2' } });
    // [40, 50) touches neither [0, 40) nor [50, 60): a session of its own
    expect(placeInSession(sessions, 40, 4, 10, never)).toMatchObject({ outcome: 'created', session: { id: '40-4' } });
  });

  it('ends with the same sessions whatever the arrival order', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 500 }), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 40 }), fc.array(fc.double({ noNaN: true }), { minLength: 30, maxLength: 30 }), (times, gap, order) => {
      const spans = (arrival: number[]): string[] => {
        const sessions: SessionInfo[] = [];
        arrival.forEach((time) => placeInSession(sessions, time, time, gap, never));
        return sessions.map((session) => `${session.start}-${session.last}`).sort();
      };
      const shuffled = times.map((time, i) => ({ time, k: order[i] ?? 0 })).sort((a, b) => a.k - b.k).map((x) => x.time);
      const sorted = [...times].sort((a, b) => a - b);
      const expected: string[] = [];
      let first = sorted[0] as number;
      for (let i = 1; i <= sorted.length; i += 1) {
        const previous = sorted[i - 1] as number;
        const next = sorted[i];
        if (next === undefined || next - previous >= gap) {
          expected.push(`${first}-${previous}`);
          if (next !== undefined) first = next;
        }
      }
      expect(spans(shuffled)).toEqual(expected.sort());
    }));
    expect(unpackSession('x', packSession({ id: 'x', start: 1, last: 2, closed: true }))).toEqual({ id: 'x', start: 1, last: 2, closed: true });
    expect(unpackSession('x', 'garbage')).toBeUndefined();
  });
});

describe('percentiles from DDSketch buckets', () => {
  it('are within the relative accuracy of the exact ones, for negative, zero and positive values', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 300 }), (values) => {
      const buckets = new Map<string, number>();
      for (const value of values) buckets.set(bucketOf(value, 0.01), (buckets.get(bucketOf(value, 0.01)) ?? 0) + 1);
      const sorted = [...values].sort((a, b) => a - b);
      const result = percentilesOf(buckets, 0.01, [0, 0.5, 0.99, 1], sorted[0] as number, sorted[sorted.length - 1] as number);
      // DDSketch's rank convention: the value at rank q * (n - 1), rounded down
      for (const [name, q] of [['p0', 0], ['p50', 0.5], ['p99', 0.99], ['p100', 1]] as const) {
        const exact = sorted[Math.floor(q * (sorted.length - 1))] as number;
        const got = result[name] as number;
        expect(Math.abs(got - exact)).toBeLessThanOrEqual(0.01 * Math.abs(exact) + 1e-9);
      }
    }));
  });
});
