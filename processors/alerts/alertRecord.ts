/**
 * One alert and its lifecycle: open -> (acknowledged) -> cleared, with re-notifications while
 * open. Every change bumps the alert's version and yields a Notification whose id,
 * `<alertId>/<version>`, is the same however often the change is sent: the fan-out targets
 * dedupe on it (PostgreSQL primary key, webhook idempotency header, the id in stream and MQTT
 * messages).
 *
 * Alert ids are derived from what raised the alert (entity, rule, episode number, raise time),
 * never from a random source, so a replay that re-evaluates the same readings would derive the
 * same id (the exactly-once guard means it does not even get that far).
 */
import { createHash } from 'node:crypto';
import type { Alert, AlertSeverity } from '../../schemas/records';

export type AlertFamily = 'reading' | 'heartbeat' | 'aggregate';

export const TRANSITIONS = ['opened', 'renotified', 'acknowledged', 'cleared'] as const;
export type Transition = (typeof TRANSITIONS)[number];

export interface AlertRecord extends Alert {
  /** 1 when opened, +1 per transition */
  version: number;
  family: AlertFamily;
  /** the state entity it belongs to: the deviceId, or `site:<siteId>` for site aggregates (also `deviceId`) */
  entity: string;
  /** the metric the rule watches (null for heartbeats on any reading) */
  metric: string | null;
  /** the rule's kind when it opened (threshold, zscore, heartbeat, ...) */
  kind: string;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  clearedAt: number | null;
  /** `condition` when the rule's clear condition held, or who cleared it */
  clearedBy: string | null;
  /** wall-clock time of the last notification: re-notify is due `renotifyMs` after it */
  notifiedAt: number;
  renotifyMs: number;
  /** notifications sent for this alert so far (opened counts as the first) */
  notifications: number;
}

export interface Notification {
  /** `<alertId>/<version>`: the dedupe id every fan-out target carries */
  id: string;
  transition: Transition;
  /** when the transition happened (the alert's updatedAt) */
  at: number;
  alert: AlertRecord;
}

export function notificationId(alert: Pick<AlertRecord, 'alertId' | 'version'>): string {
  return `${alert.alertId}/${alert.version}`;
}

export function alertIdFor(entity: string, ruleId: string, episode: number, raisedAt: number): string {
  const digest = createHash('sha256').update(`${entity}\u0000${ruleId}\u0000${episode}\u0000${raisedAt}`).digest('hex');
  return `alt_${digest.slice(0, 20)}`;
}

/** Numbers in messages: up to 6 significant digits, no float noise. */
export function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}

export function renderMessage(template: string, fields: Record<string, string | number>): string {
  return template.replace(/\{([A-Za-z]+)\}/g, (whole, name: string) => {
    const value = fields[name];
    if (value === undefined) return whole;
    return typeof value === 'number' ? formatNumber(value) : value;
  });
}

export interface OpenRequest {
  entity: string;
  family: AlertFamily;
  ruleId: string;
  kind: string;
  severity: AlertSeverity;
  metric: string | null;
  value: number;
  threshold: number;
  message: string;
  /** in the rule's time domain (event time, window end, or wall clock for heartbeats) */
  raisedAt: number;
  /** wall clock (re-notify schedule) */
  clock: number;
  episode: number;
  renotifyMs: number;
}

export function openAlert(request: OpenRequest): Notification {
  const alert: AlertRecord = {
    alertId: alertIdFor(request.entity, request.ruleId, request.episode, request.raisedAt),
    deviceId: request.entity,
    ruleId: request.ruleId,
    severity: request.severity,
    state: 'open',
    value: request.value,
    threshold: request.threshold,
    message: request.message,
    raisedAt: request.raisedAt,
    updatedAt: request.raisedAt,
    version: 1,
    family: request.family,
    entity: request.entity,
    metric: request.metric,
    kind: request.kind,
    acknowledgedAt: null,
    acknowledgedBy: null,
    clearedAt: null,
    clearedBy: null,
    notifiedAt: request.clock,
    renotifyMs: request.renotifyMs,
    notifications: 1,
  };
  return { id: notificationId(alert), transition: 'opened', at: alert.updatedAt, alert };
}

function next(alert: AlertRecord, transition: Transition, at: number, changes: Partial<AlertRecord>): Notification {
  const updated: AlertRecord = { ...alert, ...changes, version: alert.version + 1, updatedAt: at, notifications: alert.notifications + 1 };
  return { id: notificationId(updated), transition, at, alert: updated };
}

export function clearAlert(alert: AlertRecord, at: number, by: string, clock: number, value?: number): Notification {
  return next(alert, 'cleared', at, { state: 'cleared', clearedAt: at, clearedBy: by, notifiedAt: clock, ...(value === undefined ? {} : { value }) });
}

export function acknowledgeAlert(alert: AlertRecord, at: number, by: string): Notification {
  return next(alert, 'acknowledged', at, { state: 'acknowledged', acknowledgedAt: at, acknowledgedBy: by, notifiedAt: at });
}

export function renotifyAlert(alert: AlertRecord, at: number): Notification {
  return next(alert, 'renotified', at, { notifiedAt: at });
}

/** When the next re-notification is due, or undefined when none is (acknowledged, cleared, or re-notify off). */
export function renotifyDueAt(alert: AlertRecord): number | undefined {
  return alert.state === 'open' && alert.renotifyMs > 0 ? alert.notifiedAt + alert.renotifyMs : undefined;
}

/** The Avro Alert record (schemas/avro/Alert.avsc) of an alert. */
export function avroAlert(alert: AlertRecord): Alert {
  return {
    alertId: alert.alertId,
    deviceId: alert.deviceId,
    ruleId: alert.ruleId,
    severity: alert.severity,
    state: alert.state,
    value: alert.value,
    threshold: alert.threshold,
    message: alert.message,
    raisedAt: alert.raisedAt,
    updatedAt: alert.updatedAt,
  };
}
