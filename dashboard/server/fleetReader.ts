/**
 * The fleet as the dashboard shows it: the devices of the registry (PostgreSQL, processors/
 * registry) and the devices the aggregate processor has seen (Redis; a device may send before
 * anyone registers it), each with its latest values (processors/aggregate/query.ts) and the
 * location of its newest stored reading (the storage processor's `readings` table, one index
 * probe per device; absent when storage does not run).
 */
import type { Pool } from 'pg';
import { latest, knownIds, windows } from '../../processors/aggregate/query';
import type { LatestValues } from '../../processors/aggregate/query';
import { listDevices } from '../../processors/registry/deviceStore';
import type { RegisteredDevice } from '../../processors/registry/deviceRegistration';
import type { RedisConnection } from '../../runtime/redis/scriptLoader';
import type { DeviceSummary, GeoPoint, LatestReading, WindowAggregateView } from './dashboardSources';

export interface FleetReaderOptions {
  redis: RedisConnection;
  /** undefined: no registry, the fleet is what the aggregate has seen */
  pool: Pool | undefined;
  keyPrefix: string;
  devicePrefix?: string;
}

/** How many ids the aggregate's device index is asked for: enough to fill a page after the prefix filter. */
const SEEN_SCAN_LIMIT = 10_000;

/** PostgreSQL's "relation does not exist": the table belongs to a processor that has not run here. */
function isMissingTable(error: unknown): boolean {
  return (error as { code?: string }).code === '42P01';
}

export class FleetReader {
  constructor(private readonly options: FleetReaderOptions) {}

  async devices(limit: number): Promise<{ devices: DeviceSummary[]; total: number }> {
    const { redis, pool, keyPrefix, devicePrefix } = this.options;
    const [registered, seen] = await Promise.all([
      pool ? listDevices(pool, { prefix: devicePrefix, limit }).catch((error: unknown) => (isMissingTable(error) ? [] : Promise.reject(error))) : Promise.resolve([] as RegisteredDevice[]),
      knownIds(redis, 'device', { keyPrefix, limit: SEEN_SCAN_LIMIT }),
    ]);
    const byId = new Map<string, RegisteredDevice | undefined>(registered.map((device) => [device.deviceId, device]));
    for (const { id } of seen) if ((devicePrefix === undefined || id.startsWith(devicePrefix)) && !byId.has(id)) byId.set(id, undefined);
    const ids = [...byId.keys()].sort().slice(0, limit);
    const [latestValues, locations] = await Promise.all([Promise.all(ids.map((id) => latest(redis, id, { keyPrefix }))), this.locations(ids)]);
    const devices = ids.map((deviceId, index): DeviceSummary => {
      const values = latestValues[index] ?? null;
      const device = byId.get(deviceId);
      return {
        deviceId,
        deviceType: device?.deviceType ?? values?.deviceType ?? '?',
        siteId: device?.siteId ?? values?.siteId ?? 'unassigned',
        lastSeen: values?.eventTime ?? null,
        latest: valuesOf(values),
        location: locations.get(deviceId) ?? null,
      };
    });
    return { devices, total: byId.size };
  }

  async latest(deviceId: string): Promise<LatestReading | null> {
    const values = await latest(this.options.redis, deviceId, { keyPrefix: this.options.keyPrefix });
    if (!values || values.eventTime === null) return null;
    return { deviceId, eventTime: values.eventTime, metrics: valuesOf(values) };
  }

  /** Device windows overlapping [from, to), one entry per window and metric. */
  async windows(deviceId: string, from: number, to: number): Promise<WindowAggregateView[]> {
    const summaries = await windows(this.options.redis, deviceId, from, to, undefined, { keyPrefix: this.options.keyPrefix });
    return summaries
      // session windows vary in length and overlap nothing in particular: the chart shows time windows
      .filter((window) => window.kind !== 'session')
      .flatMap((window) => Object.entries(window.metrics).map(([metric, summary]) => ({
        metric,
        windowStart: window.start,
        windowEnd: window.end,
        count: summary.count,
        mean: summary.mean,
        min: summary.min,
        max: summary.max,
      })));
  }

  private async locations(ids: readonly string[]): Promise<Map<string, GeoPoint>> {
    const found = new Map<string, GeoPoint>();
    if (!this.options.pool || ids.length === 0) return found;
    try {
      const result = await this.options.pool.query<{ device_id: string; lat: number | null; lon: number | null }>(
        `SELECT d.id AS device_id, r.lat, r.lon
           FROM unnest($1::text[]) AS d(id)
           CROSS JOIN LATERAL (SELECT lat, lon FROM readings WHERE device_id = d.id ORDER BY seq DESC LIMIT 1) AS r`,
        [ids],
      );
      for (const row of result.rows) if (row.lat !== null && row.lon !== null) found.set(row.device_id, { lat: row.lat, lon: row.lon });
    } catch (error) {
      if (!isMissingTable(error)) throw error;
    }
    return found;
  }
}

function valuesOf(values: LatestValues | null): Record<string, number> {
  return Object.fromEntries(Object.entries(values?.metrics ?? {}).map(([metric, entry]) => [metric, entry.value]));
}
