/**
 * The sending half of the outbox: notifications committed with their state change wait in
 * `outbox:<owner>` until every target has them, then are removed. A writer drains its own
 * outbox after each commit (so a retried or replayed batch re-sends what its crashed
 * predecessor left), and the timer also drains every outbox's entries older than a grace
 * period (a scope whose worker died and that gets no new records). Sending twice is fine: the
 * targets dedupe on the notification id.
 */
import type { RedisConnection } from '../../runtime/redis/scriptLoader';
import type { Notification } from './alertRecord';
import type { AlertKeys } from './alertKeys';
import type { OutboxEntry } from './notificationWrites';
import type { Fanout } from './targets/notificationTarget';

/** Entries older than this are sent by the timer too. */
export const OUTBOX_GRACE_MS = 30_000;

/** Transitions of one alert go out in version order; alerts in the order their first pending change happened. */
function inOrder(entries: OutboxEntry[]): Notification[] {
  const notifications = entries.map((entry) => entry.notification);
  const firstAt = new Map<string, number>();
  for (const n of notifications) firstAt.set(n.alert.alertId, Math.min(firstAt.get(n.alert.alertId) ?? n.at, n.at));
  const startOf = (n: Notification): number => firstAt.get(n.alert.alertId) ?? n.at;
  return notifications.sort((a, b) => startOf(a) - startOf(b) || a.alert.alertId.localeCompare(b.alert.alertId) || a.alert.version - b.alert.version);
}

/**
 * Sends the pending notifications of `owner` (only those queued before `queuedBefore`, when
 * given) and removes them; returns how many were sent. Throws when a target failed: the entries
 * stay for the next attempt.
 */
export async function drainOutbox(redis: RedisConnection, keys: AlertKeys, fanout: Fanout, owner: string, queuedBefore?: number): Promise<number> {
  const key = keys.outbox(owner);
  const raw = await redis.hgetall(key);
  const entries: Array<{ field: string; entry: OutboxEntry }> = [];
  for (const [field, json] of Object.entries(raw)) {
    const entry = JSON.parse(json) as OutboxEntry;
    if (queuedBefore === undefined || entry.queuedAt < queuedBefore) entries.push({ field, entry });
  }
  if (entries.length === 0) return 0;
  // per alert, versions must arrive in order: send them in one ordered call per target
  await fanout.send(inOrder(entries.map((item) => item.entry)));
  await redis.hdel(key, ...entries.map((item) => item.field));
  return entries.length;
}

/** The timer's sweep: its own outbox, and everything left in any outbox for longer than the grace period. */
export async function drainStaleOutboxes(redis: RedisConnection, keys: AlertKeys, fanout: Fanout, ownOwner: string, now: number): Promise<number> {
  let sent = await drainOutbox(redis, keys, fanout, ownOwner);
  for (const owner of await redis.smembers(keys.outboxes())) {
    if (owner === ownOwner) continue;
    sent += await drainOutbox(redis, keys, fanout, owner, now - OUTBOX_GRACE_MS);
  }
  return sent;
}
