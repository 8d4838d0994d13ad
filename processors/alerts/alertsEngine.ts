/**
 * The alerts processor's read-evaluate-commit loops: readings and aggregates from a stream
 * scope (guarded by the scope's position: a replayed batch changes nothing), and the timer
 * (heartbeats, re-notifications). Each loop reads the entity states, evaluates the rules on
 * copies (pure code), and commits states, alert records and outbox entries in one script; when
 * another writer changed a state in between, it reads again and re-evaluates.
 */
import { SluiceError } from '../../core/errors';
import { sleep } from '../../core/retry';
import type { RedisConnection } from '../../runtime/redis/scriptLoader';
import type { Aggregate } from '../../schemas/records';
import { renotifyDueAt } from './alertRecord';
import type { AlertRecord, Notification } from './alertRecord';
import type { AlertKeys } from './alertKeys';
import { aggregateEntity, evaluateEntityAggregates } from './aggregateEvaluation';
import type { DeviceInfo } from './entityState';
import { queueNotifications } from './notificationWrites';
import { evaluateDeviceReadings } from './readingEvaluation';
import type { ReadingEffects, ReadingInput } from './readingEvaluation';
import type { RuleSet } from './ruleTypes';
import { CommitPlan, commitPlan, readDeviceInfos, readStates } from './stateStore';
import type { CommitOutcome } from './stateStore';
import { activeAlert, checkHeartbeat, renotifyIfDue } from './timedTransitions';

export interface AlertsStore {
  redis: RedisConnection;
  keys: AlertKeys;
  rules: RuleSet;
  /** wall clock for outbox bookkeeping (tests inject one) */
  now?: () => number;
}

export interface ApplyResult {
  outcome: Exclude<CommitOutcome, 'conflict'>;
  notifications: Notification[];
  evaluated: number;
  duplicates: number;
  stale: number;
}

const MAX_ATTEMPTS = 25;

/** Runs read-evaluate-commit until the commit is not a conflict. */
async function untilCommitted<T extends { outcome: CommitOutcome }>(what: string, attempt: () => Promise<T>): Promise<T & { outcome: Exclude<CommitOutcome, 'conflict'> }> {
  for (let tries = 1; ; tries++) {
    const result = await attempt();
    if (result.outcome !== 'conflict') return result as T & { outcome: Exclude<CommitOutcome, 'conflict'> };
    if (tries >= MAX_ATTEMPTS) throw new SluiceError('SERVICE_UNAVAILABLE', `${what}: alert state kept changing under ${MAX_ATTEMPTS} attempts; retrying the batch`);
    // another writer holds the same entities right now: let it finish
    await sleep(Math.round(Math.random() * 5 * tries));
  }
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

function wallClock(store: AlertsStore): number {
  return store.now ? store.now() : Date.now();
}

/**
 * Evaluates a stream scope's readings (in delivery order) and commits the result with the
 * batch's last `position`; `scope` names the stream scope (`readings/<record scope>`).
 */
export async function applyReadings(store: AlertsStore, scope: string, position: string, inputs: readonly ReadingInput[]): Promise<ApplyResult> {
  const byDevice = groupBy(inputs, (input) => input.reading.deviceId);
  const deviceIds = [...byDevice.keys()];
  return untilCommitted(`alerts ${scope}`, async () => {
    const stored = await readStates(store.redis, deviceIds.map((id) => store.keys.readingState(id)));
    const plan = new CommitPlan(store.keys.applied(scope));
    const result = { notifications: [] as Notification[], evaluated: 0, duplicates: 0, stale: 0 };
    const queuedAt = wallClock(store);
    stored.forEach((entity, index) => {
      const deviceId = deviceIds[index] as string;
      const readings = byDevice.get(deviceId) ?? [];
      const effects: ReadingEffects = { entity: deviceId, family: 'reading', clock: 0, notifications: [], heard: new Map(), evaluated: 0, duplicates: 0, stale: 0 };
      evaluateDeviceReadings(store.rules, entity.state, readings, effects);
      plan.state(entity, entity.state, entity.state.device);
      for (const [ruleId, heardAt] of effects.heard) plan.zaddGreater(store.keys.lastHeard(ruleId), heardAt, deviceId);
      queueNotifications(plan, store.keys, scope, effects.notifications, queuedAt);
      result.notifications.push(...effects.notifications);
      result.evaluated += effects.evaluated;
      result.duplicates += effects.duplicates;
      result.stale += effects.stale;
    });
    const outcome = await commitPlan(store.redis, plan, position);
    return { ...result, outcome, ...(outcome === 'applied' ? {} : { notifications: [] }) };
  });
}

/** Evaluates a stream scope's aggregates and commits the result with the batch's last `position`. */
export async function applyAggregates(store: AlertsStore, scope: string, position: string, aggregates: readonly Aggregate[]): Promise<ApplyResult> {
  const byEntity = groupBy(aggregates, aggregateEntity);
  const entities = [...byEntity.keys()];
  return untilCommitted(`alerts ${scope}`, async () => {
    const [stored, devices] = await Promise.all([
      readStates(store.redis, entities.map((entity) => store.keys.aggregateState(entity))),
      // device matches and registry bounds come from what the device's readings said
      readDeviceInfos(store.redis, entities.map((entity) => store.keys.readingState(entity))),
    ]);
    const plan = new CommitPlan(store.keys.applied(scope));
    const notifications: Notification[] = [];
    let evaluated = 0;
    const clock = wallClock(store);
    stored.forEach((entity, index) => {
      const name = entities[index] as string;
      const items = byEntity.get(name) ?? [];
      const device: DeviceInfo | undefined = items[0]?.scope === 'device' ? devices[index] : undefined;
      const context = { entity: name, family: 'aggregate' as const, clock, notifications: [] as Notification[] };
      evaluated += evaluateEntityAggregates(store.rules, entity.state, items, device, context);
      plan.state(entity, entity.state, undefined);
      queueNotifications(plan, store.keys, scope, context.notifications, clock);
      notifications.push(...context.notifications);
    });
    const outcome = await commitPlan(store.redis, plan, position);
    return { outcome, notifications: outcome === 'applied' ? notifications : [], evaluated, duplicates: 0, stale: 0 };
  });
}

export const TIMER_OWNER = 'timer';
/** silent devices and due re-notifications handled per tick (the rest wait for the next one) */
const TIMER_CHUNK = 5000;

export interface TimerResult {
  heartbeatsOpened: Notification[];
  renotified: Notification[];
}

/** Heartbeat rules: devices silent for longer than the rule allows at `now` get an alert. */
async function checkSilentDevices(store: AlertsStore, now: number, result: TimerResult): Promise<void> {
  for (const rule of store.rules.heartbeatRules) {
    const heardKey = store.keys.lastHeard(rule.id);
    const silent = await store.redis.zrangebyscore(heardKey, '-inf', String(now - rule.afterMs), 'LIMIT', 0, TIMER_CHUNK);
    for (const deviceId of silent) {
      await untilCommitted(`heartbeat ${rule.id} ${deviceId}`, async () => {
        // the state first, then the score: a reading committed in between changes the version and fails the commit
        const [entity] = await readStates(store.redis, [store.keys.readingState(deviceId)]);
        const score = await store.redis.zscore(heardKey, deviceId);
        if (!entity || score === null) return { outcome: 'duplicate' as const };
        const context = { entity: deviceId, family: 'heartbeat' as const, clock: now, notifications: [] as Notification[] };
        const outcome = checkHeartbeat(rule, entity.state, deviceId, Number(score), now, context);
        if (outcome === 'heard' || outcome === 'cooldown') return { outcome: 'duplicate' as const };
        const plan = new CommitPlan(undefined);
        // opened, or nothing to open (one is open already, the rule no longer matches the device)
        if (outcome === 'opened') plan.state(entity, entity.state, entity.state.device);
        else plan.expect(entity);
        // it stays out of the index until a reading is heard again (which clears the alert)
        plan.zrem(heardKey, deviceId);
        queueNotifications(plan, store.keys, TIMER_OWNER, context.notifications, wallClock(store));
        const committed = await commitPlan(store.redis, plan, undefined);
        if (committed === 'applied') result.heartbeatsOpened.push(...context.notifications);
        return { outcome: committed };
      });
    }
  }
}

/** Open alerts whose re-notification is due at `now`. */
async function renotifyDue(store: AlertsStore, now: number, result: TimerResult): Promise<void> {
  const due = await store.redis.zrangebyscore(store.keys.renotify(), '-inf', String(now), 'LIMIT', 0, TIMER_CHUNK);
  for (const alertId of due) {
    const json = await store.redis.get(store.keys.alert(alertId));
    const record = json ? (JSON.parse(json) as AlertRecord) : undefined;
    if (!record) {
      await store.redis.zrem(store.keys.renotify(), alertId);
      continue;
    }
    await untilCommitted(`renotify ${alertId}`, async () => {
      const [entity] = await readStates(store.redis, [store.keys.stateOf(record.family, record.entity)]);
      if (!entity) return { outcome: 'duplicate' as const };
      const found = activeAlert(entity.state, alertId);
      const due = found ? renotifyDueAt(found.alert) : undefined;
      if (due === undefined || due > now) {
        // cleared, acknowledged, or re-notified since it was scheduled: fix the schedule only
        if (due === undefined) await store.redis.zrem(store.keys.renotify(), alertId);
        else await store.redis.zadd(store.keys.renotify(), due, alertId);
        return { outcome: 'duplicate' as const };
      }
      const notification = renotifyIfDue(entity.state, alertId, now);
      const plan = new CommitPlan(undefined);
      plan.state(entity, entity.state, record.family === 'aggregate' ? undefined : entity.state.device);
      if (notification) queueNotifications(plan, store.keys, TIMER_OWNER, [notification], wallClock(store));
      const committed = await commitPlan(store.redis, plan, undefined);
      if (committed === 'applied' && notification) result.renotified.push(notification);
      return { outcome: committed };
    });
  }
}

/** The scheduled work at `now`: silent devices and due re-notifications. */
export async function runTimers(store: AlertsStore, now: number): Promise<TimerResult> {
  const result: TimerResult = { heartbeatsOpened: [], renotified: [] };
  await checkSilentDevices(store, now, result);
  await renotifyDue(store, now, result);
  return result;
}
