/**
 * Transitions that no reading causes: a heartbeat rule firing on silence and re-notifications
 * (both driven by the scheduled handler's clock), and an operator acknowledging or clearing an
 * alert. Pure functions on an EntityState, like the rule evaluations.
 */
import { acknowledgeAlert, clearAlert, renderMessage, renotifyAlert, renotifyDueAt } from './alertRecord';
import type { AlertRecord, Notification } from './alertRecord';
import { ruleStateOf, stepLifecycle } from './entityState';
import type { EntityState, LifecycleContext } from './entityState';
import { matchesDevice } from './ruleTypes';
import type { HeartbeatRule } from './ruleTypes';

export type HeartbeatOutcome = 'opened' | 'already-open' | 'cooldown' | 'heard' | 'not-matching';

/** A device last heard at `lastHeard` (arrival time); `now` is the scheduled handler's clock. */
export function checkHeartbeat(rule: HeartbeatRule, state: EntityState, deviceId: string, lastHeard: number, now: number, context: LifecycleContext): HeartbeatOutcome {
  const device = state.device;
  if (!device || !matchesDevice(rule.match, { deviceId, deviceType: device.deviceType, siteId: device.siteId })) return 'not-matching';
  const silentMs = now - lastHeard;
  if (silentMs < rule.afterMs) return 'heard';
  const ruleState = ruleStateOf(state, rule.id);
  if (ruleState.alert) return 'already-open';
  const before = context.notifications.length;
  stepLifecycle(rule, ruleState, true, false, now, context, () => {
    const value = Math.round(silentMs / 100) / 10;
    const threshold = rule.afterMs / 1000;
    return { value, threshold, metric: rule.metric ?? null, message: renderMessage(rule.message, { deviceId, ruleId: rule.id, metric: rule.metric ?? 'any', value, threshold, op: '>' }) };
  });
  return context.notifications.length > before ? 'opened' : 'cooldown';
}

/** The active alert with this id in the entity's state, and its rule id. */
export function activeAlert(state: EntityState, alertId: string): { ruleId: string; alert: AlertRecord } | undefined {
  for (const [ruleId, ruleState] of Object.entries(state.rules)) {
    if (ruleState.alert?.alertId === alertId) return { ruleId, alert: ruleState.alert };
  }
  return undefined;
}

/** Re-notifies the alert if it is still open and due at `now`. */
export function renotifyIfDue(state: EntityState, alertId: string, now: number): Notification | undefined {
  const found = activeAlert(state, alertId);
  if (!found) return undefined;
  const due = renotifyDueAt(found.alert);
  if (due === undefined || due > now) return undefined;
  const notification = renotifyAlert(found.alert, now);
  ruleStateOf(state, found.ruleId).alert = notification.alert;
  return notification;
}

export function acknowledgeInState(state: EntityState, alertId: string, now: number, by: string): Notification | undefined {
  const found = activeAlert(state, alertId);
  if (!found || found.alert.state !== 'open') return undefined;
  const notification = acknowledgeAlert(found.alert, now, by);
  ruleStateOf(state, found.ruleId).alert = notification.alert;
  return notification;
}

/**
 * An operator clears an alert. The cooldown then runs from the latest time the rule has seen in
 * its own domain: event time for readings, window end for aggregates, the clock for heartbeats.
 */
export function clearInState(state: EntityState, alertId: string, now: number, by: string): Notification | undefined {
  const found = activeAlert(state, alertId);
  if (!found) return undefined;
  const ruleState = ruleStateOf(state, found.ruleId);
  const family = found.alert.family;
  const ruleTime = family === 'heartbeat' ? now : family === 'aggregate' ? (ruleState.lastWindowEnd ?? now) : (state.lastEventTime ?? now);
  const notification = clearAlert(found.alert, now, by, now);
  delete ruleState.alert;
  ruleState.clearedAt = ruleTime;
  return notification;
}
