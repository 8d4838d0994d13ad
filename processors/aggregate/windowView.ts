/**
 * A window as stored in Redis, read back: for the final Aggregate records of a closed window
 * (one per metric) and for queries of open and closed windows.
 */
import type { Aggregate, AggregateScope, WindowKind } from '../../schemas/records';
import { AGGREGATE_SCOPES, WINDOW_KINDS } from '../../schemas/records';
import type { MetricStats } from './metricStats';
import { statsFromBinary, stddevOf } from './metricStats';
import { percentilesOf } from './percentileSketch';

export interface MetricView {
  stats: MetricStats;
  buckets: Map<string, number>;
}

export interface WindowView {
  key: string;
  scope: AggregateScope;
  scopeId: string;
  kind: WindowKind;
  spec: string;
  start: number;
  end: number;
  closeAt: number;
  status: 'open' | 'closed';
  closedAt: number | null;
  relativeAccuracy: number;
  metrics: Map<string, MetricView>;
}

/** A metric's figures for people and dashboards: the Aggregate's plus stddev and percentiles. */
export interface MetricSummary {
  count: number;
  sum: number;
  min: number;
  max: number;
  mean: number;
  stddev: number;
  first: { value: number; time: number };
  last: { value: number; time: number };
  percentiles: Record<string, number>;
}

/** Parses HGETALL (as Buffers: stats are binary) of a window; undefined when it is not a complete window hash (gone). */
export function parseWindow(key: string, raw: Record<string, Buffer>): WindowView | undefined {
  const hash: Record<string, string> = {};
  for (const [field, value] of Object.entries(raw)) if (!field.startsWith('s:')) hash[field] = value.toString('utf8');
  const scope = hash.scope as AggregateScope;
  const kind = hash.kind as WindowKind;
  if (!AGGREGATE_SCOPES.includes(scope) || !WINDOW_KINDS.includes(kind) || hash.scopeId === undefined || hash.spec === undefined) return undefined;
  const status = hash.status === 'closed' ? 'closed' : 'open';
  const metrics = new Map<string, MetricView>();
  for (const [field, value] of Object.entries(raw)) {
    if (field.startsWith('s:')) {
      const stats = statsFromBinary(value);
      if (!stats) continue;
      const metric = field.slice(2);
      const known = metrics.get(metric);
      if (known) known.stats = stats;
      else metrics.set(metric, { stats, buckets: new Map() });
    }
  }
  for (const [field, value] of Object.entries(hash)) {
    if (!field.startsWith('b:')) continue;
    const colon = field.lastIndexOf(':');
    const metric = metrics.get(field.slice(2, colon));
    if (metric) metric.buckets.set(field.slice(colon + 1), Number(value));
  }
  return {
    key,
    scope,
    scopeId: hash.scopeId,
    kind,
    spec: hash.spec,
    start: Number(hash.start),
    end: Number(hash.end),
    closeAt: Number(hash.closeAt),
    status,
    closedAt: hash.closedAt === undefined ? null : Number(hash.closedAt),
    relativeAccuracy: Number(hash.acc ?? '0.01'),
    metrics,
  };
}

/** One Aggregate record per metric of a window. */
export function aggregatesOf(window: WindowView, quantiles: readonly number[]): Aggregate[] {
  return [...window.metrics.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([metric, { stats, buckets }]) => ({
    scope: window.scope,
    scopeId: window.scopeId,
    windowKind: window.kind,
    windowStart: window.start,
    windowEnd: window.end,
    metric,
    count: stats.count,
    sum: stats.sum,
    min: stats.min,
    max: stats.max,
    mean: stats.mean,
    m2: stats.m2,
    firstValue: stats.firstValue,
    firstTime: stats.firstTime,
    lastValue: stats.lastValue,
    lastTime: stats.lastTime,
    percentiles: percentilesOf(buckets, window.relativeAccuracy, quantiles, stats.min, stats.max),
  }));
}

export function summaryOf(metric: MetricView, relativeAccuracy: number, quantiles: readonly number[]): MetricSummary {
  const { stats } = metric;
  return {
    count: stats.count,
    sum: stats.sum,
    min: stats.min,
    max: stats.max,
    mean: stats.mean,
    stddev: stddevOf(stats),
    first: { value: stats.firstValue, time: stats.firstTime },
    last: { value: stats.lastValue, time: stats.lastTime },
    percentiles: percentilesOf(metric.buckets, relativeAccuracy, quantiles, stats.min, stats.max),
  };
}
