/**
 * What the device registry knows about one device, and the rules its fields follow. The CSV
 * import, the fleet registration and the database reader all check against these, so a row
 * that one of them accepts is a row the others accept.
 */

export interface DeviceRegistration {
  deviceId: string;
  deviceType: string;
  siteId: string;
  /** per-device alert thresholds: `<metric>_min` / `<metric>_max` to a finite number, in the metric's normalized unit */
  thresholds: Record<string, number>;
}

export interface RegisteredDevice extends DeviceRegistration {
  registeredAt: Date;
  updatedAt: Date;
}

/** Same bound as ingest's deviceId (Kinesis partition keys are at most 256 characters, and deviceId is the key). */
export const MAX_ID_LENGTH = 256;

/**
 * `temperature_max`, `bearing_temperature_min`, `vibrationRms_max`: a metric name, then the bound.
 * Alerts read the bound from the suffix, so a column without one would be a threshold nobody checks.
 */
const THRESHOLD_KEY = /^([A-Za-z][A-Za-z0-9_]*)_(min|max)$/;

export interface ThresholdKey {
  metric: string;
  bound: 'min' | 'max';
}

export function parseThresholdKey(key: string): ThresholdKey | undefined {
  const match = THRESHOLD_KEY.exec(key);
  if (!match) return undefined;
  return { metric: match[1] as string, bound: match[2] as 'min' | 'max' };
}

/** A problem with one identifier field, or undefined when it is fine. */
export function idProblem(field: string, value: string): string | undefined {
  if (value === '') return `${field} is empty`;
  if (value.length > MAX_ID_LENGTH) return `${field} is ${value.length} characters, at most ${MAX_ID_LENGTH} allowed`;
  if (/\p{Cc}/u.test(value)) return `${field} contains a control character`;
  return undefined;
}

/** Problems of a thresholds map: bad keys, non-finite values, a min above its max. */
export function thresholdProblems(thresholds: Record<string, number>): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(thresholds)) {
    if (!parseThresholdKey(key)) problems.push(`threshold "${key}" is not named <metric>_min or <metric>_max`);
    if (typeof value !== 'number' || !Number.isFinite(value)) problems.push(`threshold ${key} must be a finite number, got ${String(value)}`);
  }
  for (const [key, max] of Object.entries(thresholds)) {
    const parsed = parseThresholdKey(key);
    if (parsed?.bound !== 'max') continue;
    const min = thresholds[`${parsed.metric}_min`];
    if (min !== undefined && Number.isFinite(min) && Number.isFinite(max) && min > max) {
      problems.push(`${parsed.metric}_min ${min} is above ${parsed.metric}_max ${max}`);
    }
  }
  return problems;
}

/** Every problem of a registration (empty when it can be stored). */
export function registrationProblems(device: DeviceRegistration): string[] {
  const problems: string[] = [];
  for (const [field, value] of [['device_id', device.deviceId], ['device_type', device.deviceType], ['site_id', device.siteId]] as const) {
    const problem = idProblem(field, value);
    if (problem) problems.push(problem);
  }
  return [...problems, ...thresholdProblems(device.thresholds)];
}
