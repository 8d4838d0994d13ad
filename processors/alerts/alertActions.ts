/**
 * What an operator does with alerts: list them, acknowledge one (it stays active but stops
 * re-notifying), clear one (it closes now; the rule's cooldown starts). `sluice alerts` and the
 * dashboard call these. Acknowledge and clear change the entity state with the same version
 * check as the processor (so they never race a batch into an inconsistent state) and queue the
 * transition in the `operator` outbox; the caller then fans it out (drainOutbox), and the timer
 * sends it later if that fails.
 */
import { SluiceError } from '../../core/errors';
import type { RedisConnection } from '../../runtime/redis/scriptLoader';
import type { AlertState } from '../../schemas/records';
import type { AlertRecord, Notification } from './alertRecord';
import type { AlertKeys } from './alertKeys';
import type { EntityState } from './entityState';
import { queueNotifications } from './notificationWrites';
import { CommitPlan, commitPlan, readStates } from './stateStore';
import { acknowledgeInState, activeAlert, clearInState } from './timedTransitions';

export const OPERATOR_OWNER = 'operator';

/** An alert id that Redis does not know (never raised, or cleared longer ago than the retention). */
export class AlertNotFoundError extends SluiceError {
  constructor(readonly alertId: string) {
    super('OPERATION_INVALID', `no alert with id ${JSON.stringify(alertId)} (unknown, or cleared more than 7 days ago); \`sluice alerts list\` shows the known ones`);
    this.name = 'AlertNotFoundError';
  }
}

export interface AlertFilter {
  deviceId?: string;
  state?: AlertState;
  /** newest first, at most this many (default 100) */
  limit?: number;
}

async function readRecords(redis: RedisConnection, keys: AlertKeys, ids: readonly string[]): Promise<AlertRecord[]> {
  if (ids.length === 0) return [];
  const values = await redis.mget(...ids.map((id) => keys.alert(id)));
  return values.filter((value): value is string => value !== null).map((value) => JSON.parse(value) as AlertRecord);
}

/** Alerts in Redis (active ones, and cleared ones within the retention), newest first. */
export async function listAlerts(redis: RedisConnection, keys: AlertKeys, filter: AlertFilter = {}): Promise<AlertRecord[]> {
  const wantActive = filter.state === undefined || filter.state !== 'cleared';
  const wantCleared = filter.state === undefined || filter.state === 'cleared';
  const ids = [
    ...(wantActive ? await redis.zrevrange(keys.active(), 0, -1) : []),
    ...(wantCleared ? await redis.zrevrange(keys.cleared(), 0, -1) : []),
  ];
  const records = await readRecords(redis, keys, [...new Set(ids)]);
  return records
    .filter((alert) => (filter.deviceId === undefined || alert.deviceId === filter.deviceId) && (filter.state === undefined || alert.state === filter.state))
    .sort((a, b) => b.updatedAt - a.updatedAt || a.alertId.localeCompare(b.alertId))
    .slice(0, filter.limit ?? 100);
}

export async function getAlert(redis: RedisConnection, keys: AlertKeys, alertId: string): Promise<AlertRecord> {
  const [record] = await readRecords(redis, keys, [alertId]);
  if (!record) throw new AlertNotFoundError(alertId);
  return record;
}

export interface OperatorAction {
  redis: RedisConnection;
  keys: AlertKeys;
  /** who does it (shown in the alert); default `operator` */
  by?: string;
  now?: number;
}

type Change = (state: EntityState, alertId: string, now: number) => Notification | undefined;

async function changeAlert(action: OperatorAction, alertId: string, verb: string, change: Change): Promise<Notification> {
  const now = action.now ?? Date.now();
  for (let attempt = 0; attempt < 25; attempt++) {
    const record = await getAlert(action.redis, action.keys, alertId);
    const [entity] = await readStates(action.redis, [action.keys.stateOf(record.family, record.entity)]);
    const found = entity ? activeAlert(entity.state, alertId) : undefined;
    if (!entity || !found) throw new SluiceError('OPERATION_INVALID', `alert ${alertId} cannot be ${verb}: it is ${record.state}`);
    const notification = change(entity.state, alertId, now);
    if (!notification) throw new SluiceError('OPERATION_INVALID', `alert ${alertId} cannot be ${verb}: it is ${found.alert.state}`);
    const plan = new CommitPlan(undefined);
    plan.state(entity, entity.state, record.family === 'aggregate' ? undefined : entity.state.device);
    queueNotifications(plan, action.keys, OPERATOR_OWNER, [notification], now);
    if ((await commitPlan(action.redis, plan, undefined)) === 'applied') return notification;
  }
  throw new SluiceError('SERVICE_UNAVAILABLE', `alert ${alertId}: its state kept changing; try again`);
}

/** Acknowledges an open alert; refuses acknowledged, cleared and unknown ones with a clear error. */
export function acknowledgeAlertById(action: OperatorAction, alertId: string): Promise<Notification> {
  return changeAlert(action, alertId, 'acknowledged', (state, id, now) => acknowledgeInState(state, id, now, action.by ?? OPERATOR_OWNER));
}

/** Clears an open or acknowledged alert; refuses cleared and unknown ones with a clear error. */
export function clearAlertById(action: OperatorAction, alertId: string): Promise<Notification> {
  return changeAlert(action, alertId, 'cleared', (state, id, now) => clearInState(state, id, now, action.by ?? OPERATOR_OWNER));
}

/** How many alerts are active (open or acknowledged): one ZCARD, for status lines. */
export async function countActiveAlerts(redis: RedisConnection, keys: AlertKeys): Promise<number> {
  return redis.zcard(keys.active());
}
