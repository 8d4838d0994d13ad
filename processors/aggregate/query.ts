/**
 * Reads of the aggregate's live state in Redis, for `sluice query` and the dashboard's HTTP
 * server: a device's latest values, and the windows (open and closed, per device or per site)
 * overlapping a time range. Read-only; closed windows stay readable for the retention period
 * (SLUICE_WINDOW_RETENTION_MS).
 */
import type { RedisConnection } from '../../runtime/redis/scriptLoader';
import type { AggregateScope, WindowKind } from '../../schemas/records';
import { AggregateKeys } from './aggregateKeys';
import { DEFAULT_QUANTILES } from './aggregateSettings';
import type { MetricSummary } from './windowView';
import { parseWindow, summaryOf } from './windowView';

export interface QueryOptions {
  /** Redis key prefix (default `sluice`) */
  keyPrefix?: string;
  /** percentiles to report, as quantiles 0..1 (default p50, p90, p95, p99) */
  quantiles?: readonly number[];
}

export interface LatestValues {
  deviceId: string;
  siteId: string | null;
  deviceType: string | null;
  /** event time and seq of the device's latest reading */
  eventTime: number | null;
  seq: number | null;
  /** when the processor last wrote (its wall clock, epoch ms) */
  updatedAt: number | null;
  metrics: Record<string, { value: number; time: number; seq: number }>;
}

export interface WindowSummary {
  scope: AggregateScope;
  scopeId: string;
  kind: WindowKind;
  /** e.g. tumbling:1m, hopping:1m/10s, session:30s */
  spec: string;
  start: number;
  end: number;
  status: 'open' | 'closed';
  /** end + grace: when it closes (or closed) on the wall clock at the latest */
  closeAt: number;
  closedAt: number | null;
  metrics: Record<string, MetricSummary>;
}

function numberOrNull(text: string | undefined): number | null {
  return text === undefined ? null : Number(text);
}

/** The latest value of each metric of a device, or null when the device is unknown (or expired). */
export async function latest(redis: RedisConnection, deviceId: string, options: QueryOptions = {}): Promise<LatestValues | null> {
  const hash = await redis.hgetall(new AggregateKeys(options.keyPrefix).latest(deviceId));
  if (Object.keys(hash).length === 0) return null;
  const metrics: LatestValues['metrics'] = {};
  for (const [field, text] of Object.entries(hash)) {
    if (!field.startsWith('m:')) continue;
    const [value, time, seq] = text.split(',').map(Number);
    metrics[field.slice(2)] = { value: value as number, time: time as number, seq: seq as number };
  }
  return {
    deviceId, siteId: hash.siteId ?? null, deviceType: hash.deviceType ?? null, eventTime: numberOrNull(hash.time), seq: numberOrNull(hash.seq), updatedAt: numberOrNull(hash.updatedAt), metrics,
  };
}

/** Windows of one device or site overlapping [from, to) (epoch ms), earliest first. */
export async function windowsOf(redis: RedisConnection, scope: AggregateScope, scopeId: string, from: number, to: number, kind?: WindowKind, options: QueryOptions = {}): Promise<WindowSummary[]> {
  const keys = new AggregateKeys(options.keyPrefix);
  const quantiles = options.quantiles ?? DEFAULT_QUANTILES;
  // the index scores windows by end: those ending after `from`, then filtered by start
  const candidates = await redis.zrangebyscore(keys.windowIndex(scope, scopeId), `(${from}`, '+inf');
  if (candidates.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const key of candidates) pipeline.hgetallBuffer(key);
  const replies = (await pipeline.exec()) ?? [];
  const out: WindowSummary[] = [];
  replies.forEach(([error, hash], i) => {
    if (error) throw error;
    const window = parseWindow(candidates[i] as string, hash as Record<string, Buffer>);
    if (!window || window.start >= to || window.end <= from || (kind !== undefined && window.kind !== kind)) return;
    const metrics: Record<string, MetricSummary> = {};
    for (const [metric, view] of [...window.metrics].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) metrics[metric] = summaryOf(view, window.relativeAccuracy, quantiles);
    out.push({ scope: window.scope, scopeId: window.scopeId, kind: window.kind, spec: window.spec, start: window.start, end: window.end, status: window.status, closeAt: window.closeAt, closedAt: window.closedAt, metrics });
  });
  return out.sort((a, b) => a.start - b.start || a.end - b.end || (a.spec < b.spec ? -1 : a.spec > b.spec ? 1 : 0));
}

/** A device's windows overlapping [from, to). */
export async function windows(redis: RedisConnection, deviceId: string, from: number, to: number, kind?: WindowKind, options: QueryOptions = {}): Promise<WindowSummary[]> {
  return windowsOf(redis, 'device', deviceId, from, to, kind, options);
}

/** A site's windows overlapping [from, to). */
export async function siteWindows(redis: RedisConnection, siteId: string, from: number, to: number, kind?: WindowKind, options: QueryOptions = {}): Promise<WindowSummary[]> {
  return windowsOf(redis, 'site', siteId, from, to, kind, options);
}

/** Devices (or sites) with their latest event time, most recent first. */
export async function knownIds(redis: RedisConnection, scope: AggregateScope, options: QueryOptions & { limit?: number } = {}): Promise<Array<{ id: string; latestEventTime: number }>> {
  const keys = new AggregateKeys(options.keyPrefix);
  const flat = await redis.zrevrange(scope === 'device' ? keys.devices() : keys.sites(), 0, (options.limit ?? 1000) - 1, 'WITHSCORES');
  const out: Array<{ id: string; latestEventTime: number }> = [];
  for (let i = 0; i < flat.length; i += 2) out.push({ id: flat[i] as string, latestEventTime: Number(flat[i + 1]) });
  return out;
}
