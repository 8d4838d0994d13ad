/**
 * What the aggregate must hold, computed the slow and obvious way: every window of every spec
 * folded straight from the DISTINCT readings, without Redis, batches or watermarks. The crash
 * tests and `sluice chaos` compare Redis against it after workers were killed mid-batch: equal
 * means each reading was counted once, whatever was replayed.
 */
import type Redis from 'ioredis';
import type { Aggregate, EnrichedReading } from '../../schemas/records';
import type { AggregateKeys } from './aggregateKeys';
import type { WindowSettings } from './aggregateSettings';
import type { MetricStats } from './metricStats';
import { mergeStats, statsOfValue } from './metricStats';
import { bucketOf } from './percentileSketch';
import { windowsContaining } from './windowSpecs';
import { aggregatesOf, parseWindow } from './windowView';

/** The natural key of an Aggregate: what storage is idempotent on. */
export function naturalKey(a: Aggregate): string {
  return `${a.scope}|${a.scopeId}|${a.windowKind}|${a.windowStart}|${a.windowEnd}|${a.metric}`;
}

/**
 * The aggregates of the DISTINCT readings computed directly, without Redis, batches or
 * watermarks: every window of every spec (sessions split where the gap between consecutive
 * event times reaches the gap), stats folded in event-time order, sketches from all values.
 */
export function referenceAggregates(readings: readonly EnrichedReading[], settings: WindowSettings): Map<string, Aggregate> {
  const distinct = new Map<string, EnrichedReading>();
  for (const r of readings) if (!distinct.has(`${r.deviceId}\u0000${r.seq}`)) distinct.set(`${r.deviceId}\u0000${r.seq}`, r);
  const sorted = [...distinct.values()].sort((a, b) => a.eventTime - b.eventTime || a.seq - b.seq);
  const windows = new Map<string, { scope: 'device' | 'site'; scopeId: string; kind: Aggregate['windowKind']; start: number; end: number; readings: EnrichedReading[] }>();
  const add = (scope: 'device' | 'site', scopeId: string, kind: Aggregate['windowKind'], start: number, end: number, r: EnrichedReading): void => {
    const id = `${scope}|${scopeId}|${kind}|${start}|${end}`;
    const window = windows.get(id) ?? { scope, scopeId, kind, start, end, readings: [] };
    window.readings.push(r);
    windows.set(id, window);
  };
  for (const spec of settings.specs) {
    if (spec.kind === 'session') {
      const byDevice = new Map<string, EnrichedReading[]>();
      for (const r of sorted) byDevice.set(r.deviceId, [...(byDevice.get(r.deviceId) ?? []), r]);
      for (const [deviceId, list] of byDevice) {
        let session: EnrichedReading[] = [];
        const flush = (): void => {
          const first = session[0];
          const last = session[session.length - 1];
          if (first && last) for (const r of session) add('device', deviceId, 'session', first.eventTime, last.eventTime + spec.gapMs, r);
          session = [];
        };
        for (const r of list) {
          const previous = session[session.length - 1];
          if (previous && r.eventTime - previous.eventTime >= spec.gapMs) flush();
          session.push(r);
        }
        flush();
      }
      continue;
    }
    for (const r of sorted) {
      for (const bounds of windowsContaining(spec, r.eventTime)) {
        add('device', r.deviceId, spec.kind, bounds.start, bounds.end, r);
        add('site', r.siteId, spec.kind, bounds.start, bounds.end, r);
      }
    }
  }
  const out = new Map<string, Aggregate>();
  for (const window of windows.values()) {
    const metrics = new Map<string, { stats: MetricStats; buckets: Map<string, number> }>();
    for (const r of window.readings) {
      for (const [metric, value] of Object.entries(r.metrics)) {
        const stats = statsOfValue(value, r.eventTime, r.seq);
        const bucket = bucketOf(value, settings.relativeAccuracy);
        const known = metrics.get(metric);
        if (!known) metrics.set(metric, { stats, buckets: new Map([[bucket, 1]]) });
        else {
          known.stats = mergeStats(known.stats, stats);
          known.buckets.set(bucket, (known.buckets.get(bucket) ?? 0) + 1);
        }
      }
    }
    const view = { key: '', scope: window.scope, scopeId: window.scopeId, kind: window.kind, spec: '', start: window.start, end: window.end, closeAt: 0, status: 'closed' as const, closedAt: 0, relativeAccuracy: settings.relativeAccuracy, metrics };
    for (const aggregate of aggregatesOf(view, settings.quantiles)) out.set(naturalKey(aggregate), aggregate);
  }
  return out;
}

/** Every window under a key prefix as Aggregate records, by natural key. */
export async function aggregatesInRedis(redis: Redis, keys: AggregateKeys, quantiles: readonly number[], status?: 'open' | 'closed'): Promise<Map<string, Aggregate>> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${keys.runtime.prefix}:agg:w:*`, 'COUNT', 1000);
    cursor = next;
    found.push(...batch);
  } while (cursor !== '0');
  const out = new Map<string, Aggregate>();
  for (const key of found) {
    const window = parseWindow(key, await redis.hgetallBuffer(key));
    if (!window || (status !== undefined && window.status !== status)) continue;
    for (const aggregate of aggregatesOf(window, quantiles)) out.set(naturalKey(aggregate), aggregate);
  }
  return out;
}

/**
 * Where `actual` differs from `expected`: windows missing or extra, and fields that differ (exact
 * for all but sum, mean and m2, whose last bits depend on the order of additions). Empty: equal.
 */
export function aggregateDifferences(actual: ReadonlyMap<string, Aggregate>, expected: ReadonlyMap<string, Aggregate>): string[] {
  const differences: string[] = [];
  for (const key of expected.keys()) if (!actual.has(key)) differences.push(`missing ${key}`);
  for (const key of actual.keys()) if (!expected.has(key)) differences.push(`unexpected ${key}`);
  for (const [key, want] of expected) {
    const got = actual.get(key);
    if (!got) continue;
    const { sum, mean, m2, ...exact } = got;
    const { sum: wantSum, mean: wantMean, m2: wantM2, ...wantExact } = want;
    if (JSON.stringify(exact) !== JSON.stringify(wantExact)) differences.push(`${key}: ${JSON.stringify(exact)} != ${JSON.stringify(wantExact)}`);
    const magnitude = Math.max(Math.abs(want.min), Math.abs(want.max));
    if (!closeTo(sum, wantSum, magnitude * want.count) || !closeTo(mean, wantMean, magnitude) || !closeTo(m2, wantM2, magnitude * magnitude * want.count)) {
      differences.push(`${key}: sum/mean/m2 ${sum}/${mean}/${m2} != ${wantSum}/${wantMean}/${wantM2}`);
    }
  }
  return differences;
}

/** |a - b| within a relative 1e-9 of the magnitudes involved: floating-point sums differ in their last bits with the order of additions. */
export function closeTo(actual: number, expected: number, scale = 1): boolean {
  return Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected), Math.abs(scale));
}
