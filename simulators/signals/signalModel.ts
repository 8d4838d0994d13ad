import type { GeoLocation } from '../../schemas/records';

/** What a device's sensors read at one instant, before anomalies and faults are applied. */
export interface SignalSample {
  metrics: Record<string, number>;
  location?: GeoLocation | null;
  battery?: number | null;
}

/**
 * A device type's physics. `next(eventTime)` is called once per reading with non-decreasing
 * times; the sample depends only on the seeded random stream and the times it was given, so
 * the same seed and the same times give the same samples.
 */
export interface SignalModel {
  readonly deviceType: DeviceType;
  /** The metric anomalies are injected into (the one an alert rule would watch). */
  readonly primaryMetric: string;
  /** A typical size of a real anomaly on the primary metric, in its own unit. */
  readonly anomalyScale: number;
  readonly firmware: string;
  next(eventTime: number): SignalSample;
}

export const DEVICE_TYPES = ['temperature-humidity', 'pump-vibration', 'smart-meter', 'gps-tracker'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

export const MS_PER_HOUR = 3_600_000;
export const MS_PER_DAY = 24 * MS_PER_HOUR;

/** Hour of the day in [0, 24) (UTC: simulated devices live in one time zone). */
export function hourOfDay(eventTime: number): number {
  return (((eventTime % MS_PER_DAY) + MS_PER_DAY) % MS_PER_DAY) / MS_PER_HOUR;
}

export function roundTo(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
