/**
 * What a transition writes besides the entity state, in the same commit: the alert record and
 * its indexes (active, cleared, re-notify schedule), and the notification in the outbox of the
 * writer (the outbox pattern: recorded atomically with the state change, sent afterwards,
 * removed once every target has it; whatever a crash leaves behind is sent by the next drain).
 */
import type { Notification } from './alertRecord';
import { renotifyDueAt } from './alertRecord';
import type { AlertKeys } from './alertKeys';
import type { CommitPlan } from './stateStore';

/** How long cleared alerts stay listed in Redis (PostgreSQL keeps the full history). */
export const CLEARED_RETENTION_MS = 7 * 86_400_000;

export interface OutboxEntry {
  /** wall-clock time it was queued: the timer sends entries left behind longer than a grace period */
  queuedAt: number;
  notification: Notification;
}

export function queueNotifications(plan: CommitPlan, keys: AlertKeys, owner: string, notifications: readonly Notification[], queuedAt: number): void {
  if (notifications.length === 0) return;
  for (const notification of notifications) {
    const { alert } = notification;
    const id = alert.alertId;
    if (alert.state === 'cleared') {
      plan.set(keys.alert(id), JSON.stringify(alert), CLEARED_RETENTION_MS);
      plan.zrem(keys.active(), id);
      plan.zrem(keys.renotify(), id);
      plan.zadd(keys.cleared(), queuedAt, id);
    } else {
      plan.set(keys.alert(id), JSON.stringify(alert));
      plan.zadd(keys.active(), alert.raisedAt, id);
      const due = renotifyDueAt(alert);
      if (due === undefined) plan.zrem(keys.renotify(), id);
      else plan.zadd(keys.renotify(), due, id);
    }
    const entry: OutboxEntry = { queuedAt, notification };
    plan.hset(keys.outbox(owner), notification.id, JSON.stringify(entry));
  }
  plan.zremRangeByScore(keys.cleared(), '-inf', `(${queuedAt - CLEARED_RETENTION_MS}`);
  plan.sadd(keys.outboxes(), owner);
}
