/**
 * The alert state of one entity (a device, or a site for site aggregates), kept in Redis as one
 * JSON document per entity and family (readings + heartbeats; aggregates), with a version
 * number that every write bumps (optimistic concurrency: see stateStore.ts).
 *
 * Per rule it holds the gate's progress (sustained-since, consecutive run, the previous reading
 * for rates, the rolling window for z-scores, the last aggregate window), the active alert
 * (open or acknowledged: at most one per entity and rule) and when the last one cleared, for the
 * cooldown.
 */
import type { AlertRecord, Notification } from './alertRecord';
import { openAlert, clearAlert } from './alertRecord';
import type { RuleCommon } from './ruleTypes';
import type { SeqWindowJson } from './seqWindow';

export interface RuleState {
  /** sustained: event time since which `when` held on every in-order reading */
  since?: number;
  clearSince?: number;
  /** consecutive: readings (or windows) in a row on which `when` / `clear` held */
  run?: number;
  clearRun?: number;
  /** rate of change: the previous in-order reading, [eventTime, value] */
  prev?: [number, number];
  /** z-score: the previous values, oldest first */
  window?: number[];
  /** aggregates: windowEnd of the last window evaluated */
  lastWindowEnd?: number;
  /** the open or acknowledged alert */
  alert?: AlertRecord;
  /** when the last alert cleared, in the rule's time domain (cooldown) */
  clearedAt?: number;
  /** alerts opened so far (part of the alert id) */
  episodes?: number;
}

/** What the registry said about a device, as its latest reading carried it. */
export interface DeviceInfo {
  deviceType: string;
  siteId: string;
  thresholds: Record<string, number> | null;
}

export interface EntityState {
  device?: DeviceInfo;
  /** the newest event time evaluated: readings older than this are late */
  lastEventTime?: number;
  seqs?: SeqWindowJson;
  rules: Record<string, RuleState>;
}

export function emptyEntityState(): EntityState {
  return { rules: {} };
}

export function ruleStateOf(state: EntityState, ruleId: string): RuleState {
  let rule = state.rules[ruleId];
  if (!rule) {
    rule = {};
    state.rules[ruleId] = rule;
  }
  return rule;
}

/** Where a rule's evaluation puts its results. */
export interface LifecycleContext {
  entity: string;
  family: AlertRecord['family'];
  /** wall clock of the evaluation (re-notify schedule) */
  clock: number;
  notifications: Notification[];
}

export interface Firing {
  value: number;
  threshold: number;
  metric: string | null;
  message: string;
}

/**
 * One evaluation step of a rule's lifecycle at time `at` (the rule's time domain): an active
 * alert clears when `clearReady`; otherwise none is opened while one is active, nor within the
 * cooldown after the last one cleared.
 */
export function stepLifecycle(rule: RuleCommon, state: RuleState, armed: boolean, clearReady: boolean, at: number, context: LifecycleContext, firing: () => Firing): void {
  if (state.alert) {
    if (!clearReady) return;
    context.notifications.push(clearAlert(state.alert, at, 'condition', context.clock, firing().value));
    delete state.alert;
    state.clearedAt = at;
    return;
  }
  if (!armed) return;
  if (state.clearedAt !== undefined && at < state.clearedAt + rule.cooldownMs) return;
  const fired = firing();
  state.episodes = (state.episodes ?? 0) + 1;
  const notification = openAlert({
    entity: context.entity,
    family: context.family,
    ruleId: rule.id,
    kind: rule.kind,
    severity: rule.severity,
    metric: fired.metric,
    value: fired.value,
    threshold: fired.threshold,
    message: fired.message,
    raisedAt: at,
    clock: context.clock,
    episode: state.episodes,
    renotifyMs: rule.renotifyMs,
  });
  state.alert = notification.alert;
  context.notifications.push(notification);
}
