/**
 * Evaluation of reading rules, one device's readings at a time, in delivery order. Pure: it
 * changes the EntityState it is given and lists the notifications; stateStore.ts makes the
 * result durable atomically with the batch's position.
 *
 * Late readings (event time before the newest one evaluated for the device), as the README
 * explains: they may OPEN an alert on rules that judge one reading alone (threshold, and
 * z-score, immediate gate), subject to the cooldown measured at their own event time, but they
 * never CLEAR one (newer data decided the current state) and they never move time-based or
 * sequence-based state (sustained-since, consecutive runs, the previous reading of a rate).
 * Z-score windows take them in: the window is "the last N values received".
 */
import type { EnrichedReading } from '../../schemas/records';
import { clearAlert, renderMessage } from './alertRecord';
import { clearHolds, messageFields, holds, resolvePair, thresholdOf } from './conditions';
import type { ResolvedPair } from './conditions';
import { ruleStateOf, stepLifecycle } from './entityState';
import type { EntityState, LifecycleContext, RuleState } from './entityState';
import { matchesDevice } from './ruleTypes';
import type { HeartbeatRule, ReadingRule, RuleSet } from './ruleTypes';
import { SeqWindow } from './seqWindow';

export interface ReadingInput {
  reading: EnrichedReading;
  /** when the stream accepted it (epoch ms): the clock of heartbeats and re-notifications */
  arrivalTime: number;
}

export interface ReadingEffects extends LifecycleContext {
  /** heartbeat rule id -> newest arrival time heard for this device */
  heard: Map<string, number>;
  evaluated: number;
  duplicates: number;
  stale: number;
}

/** A metric's value in a reading; `battery` falls back to the reading's battery field. */
export function metricValue(reading: EnrichedReading, metric: string): number | undefined {
  const value = reading.metrics[metric] ?? (metric === 'battery' ? reading.battery : undefined);
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function meanAndDeviation(values: readonly number[]): { mean: number; deviation: number } {
  let mean = 0;
  for (const value of values) mean += value;
  mean /= values.length;
  let squares = 0;
  for (const value of values) squares += (value - mean) ** 2;
  return { mean, deviation: Math.sqrt(squares / (values.length - 1)) };
}

/** The rule's signal for this reading (undefined: nothing to judge yet), updating the signal's own state. */
function signalOf(rule: ReadingRule, state: RuleState, value: number, eventTime: number, late: boolean): number | undefined {
  const signal = rule.signal;
  switch (signal.kind) {
    case 'value':
      return value;
    case 'rate': {
      if (late) return undefined;
      const previous = state.prev;
      state.prev = [eventTime, value];
      if (!previous || eventTime <= previous[0]) return undefined;
      const rate = ((value - previous[1]) * signal.perMs) / (eventTime - previous[0]);
      return signal.absolute ? Math.abs(rate) : rate;
    }
    case 'zscore': {
      const window = state.window ?? [];
      let z: number | undefined;
      if (window.length >= signal.minSamples) {
        const { mean, deviation } = meanAndDeviation(window);
        // a constant window has no spread to measure against: no z-score
        if (deviation > 0) z = (value - mean) / deviation;
      }
      window.push(value);
      if (window.length > signal.window) window.splice(0, window.length - signal.window);
      state.window = window;
      return z === undefined ? undefined : signal.absolute ? Math.abs(z) : z;
    }
  }
}

function evaluateRule(rule: ReadingRule, pair: ResolvedPair, state: RuleState, value: number, eventTime: number, late: boolean, context: LifecycleContext, deviceId: string): void {
  const signal = signalOf(rule, state, value, eventTime, late);
  if (signal === undefined) return;
  const fireNow = holds(pair.when, signal);
  const clearNow = clearHolds(pair, signal);
  let armed: boolean;
  let clearReady: boolean;
  const gate = rule.gate;
  switch (gate.kind) {
    case 'immediate':
      armed = fireNow;
      clearReady = clearNow && !late;
      break;
    case 'sustained':
      if (late) return;
      if (fireNow) state.since ??= eventTime;
      else delete state.since;
      if (clearNow) state.clearSince ??= eventTime;
      else delete state.clearSince;
      armed = state.since !== undefined && eventTime - state.since >= gate.forMs;
      clearReady = state.clearSince !== undefined && eventTime - state.clearSince >= gate.clearForMs;
      break;
    case 'consecutive':
      if (late) return;
      state.run = fireNow ? (state.run ?? 0) + 1 : 0;
      state.clearRun = clearNow ? (state.clearRun ?? 0) + 1 : 0;
      armed = state.run >= gate.count;
      clearReady = state.clearRun >= gate.clearCount;
      break;
  }
  stepLifecycle(rule, state, armed, clearReady, eventTime, context, () => {
    const threshold = thresholdOf(pair.when, signal);
    return {
      value: signal,
      threshold,
      metric: rule.metric,
      message: renderMessage(rule.message, { deviceId, ruleId: rule.id, metric: rule.metric, value: signal, ...messageFields(pair.when) }),
    };
  });
}

function heartbeatHeard(rule: HeartbeatRule, reading: EnrichedReading, arrivalTime: number, state: EntityState, effects: ReadingEffects): void {
  if (rule.metric !== undefined && metricValue(reading, rule.metric) === undefined) return;
  effects.heard.set(rule.id, Math.max(effects.heard.get(rule.id) ?? arrivalTime, arrivalTime));
  const ruleState = state.rules[rule.id];
  if (!ruleState?.alert) return;
  // the device spoke again: the silence is over (at the time the stream got the reading)
  effects.notifications.push(clearAlert(ruleState.alert, arrivalTime, 'condition', effects.clock));
  delete ruleState.alert;
  ruleState.clearedAt = arrivalTime;
}

interface ApplicableRules {
  heartbeat: HeartbeatRule[];
  reading: ReadingRule[];
}

/** Per rule set, the rules that apply to a (device, type, site): matched once per device, not per reading. */
const applicableCache = new WeakMap<RuleSet, Map<string, ApplicableRules>>();

function applicableRules(rules: RuleSet, device: { deviceId: string; deviceType: string; siteId: string }): ApplicableRules {
  let byDevice = applicableCache.get(rules);
  if (!byDevice) {
    byDevice = new Map();
    applicableCache.set(rules, byDevice);
  }
  const key = `${device.deviceId}\u0000${device.deviceType}\u0000${device.siteId}`;
  let found = byDevice.get(key);
  if (!found) {
    found = { heartbeat: rules.heartbeatRules.filter((rule) => matchesDevice(rule.match, device)), reading: rules.readingRules.filter((rule) => matchesDevice(rule.match, device)) };
    byDevice.set(key, found);
  }
  return found;
}

/** Evaluates one reading of the entity `state` belongs to; `seqs` is that state's dedupe window. */
export function evaluateReading(rules: RuleSet, state: EntityState, seqs: SeqWindow, input: ReadingInput, effects: ReadingEffects, known?: ApplicableRules): void {
  const { reading, arrivalTime } = input;
  const last = state.lastEventTime;
  const late = last !== undefined && reading.eventTime < last;
  const verdict = seqs.observe(reading.seq, last === undefined || reading.eventTime > last);
  if (verdict === 'duplicate') {
    effects.duplicates += 1;
    return;
  }
  if (verdict === 'stale') {
    effects.stale += 1;
    return;
  }
  effects.evaluated += 1;
  if (!late) state.device = { deviceType: reading.deviceType, siteId: reading.siteId, thresholds: reading.thresholds ?? null };
  effects.clock = Math.max(effects.clock, arrivalTime);

  const applicable = known ?? applicableRules(rules, reading);
  for (const rule of applicable.heartbeat) heartbeatHeard(rule, reading, arrivalTime, state, effects);
  for (const rule of applicable.reading) {
    const value = metricValue(reading, rule.metric);
    if (value === undefined) continue;
    const pair = resolvePair(rule.overrides.get(reading.deviceId) ?? rule, reading.thresholds);
    if (!pair) continue;
    evaluateRule(rule, pair, ruleStateOf(state, rule.id), value, reading.eventTime, late, effects, reading.deviceId);
  }
  if (!late) state.lastEventTime = reading.eventTime;
}

/** Evaluates one device's readings of a batch in order. */
export function evaluateDeviceReadings(rules: RuleSet, state: EntityState, inputs: readonly ReadingInput[], effects: ReadingEffects): void {
  const seqs = new SeqWindow(state.seqs ?? null);
  let applicable: ApplicableRules | undefined;
  let matchedFor: EnrichedReading | undefined;
  for (const input of inputs) {
    const { reading } = input;
    // a device's type and site rarely change between its readings: match rules once for the run
    if (!applicable || !matchedFor || matchedFor.deviceType !== reading.deviceType || matchedFor.siteId !== reading.siteId) {
      applicable = applicableRules(rules, reading);
      matchedFor = reading;
    }
    evaluateReading(rules, state, seqs, input, effects, applicable);
  }
  state.seqs = seqs.toJSON();
}
