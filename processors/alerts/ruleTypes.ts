/**
 * Alert rules as the processor uses them, after ruleFile.ts has read and checked the YAML.
 *
 * A reading rule is a SIGNAL (the metric's value, its rate of change, or its z-score over a
 * rolling window) compared with a CONDITION (`when`, and a separate `clear` for hysteresis),
 * through a GATE (fire on one reading, when sustained for a duration, or after N consecutive
 * readings). The YAML kinds (threshold, sustained, consecutive, rateOfChange, zscore) are
 * names for the common combinations. Heartbeat rules fire on silence (a timer), aggregate rules
 * on closed windows from the aggregate processor.
 */
import type { AggregateScope, AlertSeverity, WindowKind } from '../../schemas/records';

export type Comparison = '>' | '>=' | '<' | '<=';
export type RangeOp = 'between' | 'outside';

/** A bound: a number in the rules file, or the device's threshold from the registry (`<metric>_max`), with an optional fallback. */
export type Bound = { from: 'fixed'; value: number } | { from: 'registry'; key: string; fallback: number | undefined };

export type Condition = { op: Comparison; value: Bound } | { op: RangeOp; min: Bound; max: Bound };

/** A condition with its bounds filled in for one device. */
export type ResolvedCondition = { op: Comparison; value: number } | { op: RangeOp; min: number; max: number };

export function isRange<T extends { op: string }>(condition: T): condition is Extract<T, { op: RangeOp }> {
  return condition.op === 'between' || condition.op === 'outside';
}

/** Which devices a rule applies to; an absent list matches everything. */
export interface DeviceMatch {
  types?: ReadonlySet<string>;
  devices?: ReadonlySet<string>;
  sites?: ReadonlySet<string>;
}

export type Gate =
  | { kind: 'immediate' }
  /** `when` must hold on every in-order reading for `forMs` of event time; `clear` for `clearForMs` */
  | { kind: 'sustained'; forMs: number; clearForMs: number }
  /** `when` on `count` in-order readings in a row; `clear` on `clearCount` in a row */
  | { kind: 'consecutive'; count: number; clearCount: number };

export type Signal =
  | { kind: 'value' }
  /** change of the metric per `perMs` between consecutive in-order readings */
  | { kind: 'rate'; perMs: number; absolute: boolean }
  /** (value - mean) / standard deviation of the previous `window` values (at least `minSamples`) */
  | { kind: 'zscore'; window: number; minSamples: number; absolute: boolean };

export interface RuleCommon {
  id: string;
  /** the YAML kind, for messages and listings */
  kind: string;
  severity: AlertSeverity;
  /** after an alert clears, the same (device, rule) does not open again for this long */
  cooldownMs: number;
  /** while an alert stays open (not acknowledged), notify again this often; 0 = never */
  renotifyMs: number;
  /** message template: {deviceId} {ruleId} {metric} {value} {threshold} {op} */
  message: string;
  match: DeviceMatch;
}

export interface ConditionPair {
  when: Condition;
  /** undefined: the alert clears when `when` no longer holds (no hysteresis) */
  clear: Condition | undefined;
}

export interface ReadingRule extends RuleCommon, ConditionPair {
  family: 'reading';
  metric: string;
  signal: Signal;
  gate: Gate;
  /** per-device conditions that replace the rule's own */
  overrides: ReadonlyMap<string, ConditionPair>;
}

export interface HeartbeatRule extends RuleCommon {
  family: 'heartbeat';
  /** silence longer than this (by arrival time at the stream) opens an alert */
  afterMs: number;
  /** only readings carrying this metric count as heard; undefined: any reading */
  metric: string | undefined;
}

export const AGGREGATE_STATS = ['mean', 'min', 'max', 'sum', 'count', 'stddev', 'range', 'first', 'last', 'change'] as const;
export type AggregateStat = (typeof AGGREGATE_STATS)[number] | `p${number}`;

export interface AggregateRule extends RuleCommon, ConditionPair {
  family: 'aggregate';
  scope: AggregateScope;
  metric: string;
  stat: AggregateStat;
  windowKind: WindowKind | undefined;
  /** windowEnd - windowStart must equal this; undefined: any size */
  windowMs: number | undefined;
  /** windows with fewer readings are not evaluated */
  minCount: number;
  /** consecutive windows `when` must hold on (and `clear` on, to clear) */
  count: number;
  clearCount: number;
}

export type AlertRule = ReadingRule | HeartbeatRule | AggregateRule;

export interface RuleSet {
  /** the file the rules came from */
  source: string;
  readingRules: readonly ReadingRule[];
  heartbeatRules: readonly HeartbeatRule[];
  aggregateRules: readonly AggregateRule[];
  byId: ReadonlyMap<string, AlertRule>;
}

/** Whether a rule applies to a device (or a site, for site aggregates). */
export function matchesDevice(match: DeviceMatch, device: { deviceId: string; deviceType: string | undefined; siteId: string | undefined }): boolean {
  if (match.devices && !match.devices.has(device.deviceId)) return false;
  if (match.types && (device.deviceType === undefined || !match.types.has(device.deviceType))) return false;
  if (match.sites && (device.siteId === undefined || !match.sites.has(device.siteId))) return false;
  return true;
}
