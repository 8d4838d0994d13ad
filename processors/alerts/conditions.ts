/**
 * Conditions of alert rules: bounds filled in from the device registry, then checked against
 * a signal. A registry bound the device does not have, and no fallback, leaves the condition
 * unresolved: the rule does not apply to that device (it has no threshold to check).
 */
import { formatNumber } from './alertRecord';
import { isRange } from './ruleTypes';
import type { Bound, Condition, ConditionPair, ResolvedCondition } from './ruleTypes';

function resolveBound(bound: Bound, thresholds: Readonly<Record<string, number>> | null | undefined): number | undefined {
  if (bound.from === 'fixed') return bound.value;
  const value = thresholds?.[bound.key];
  return typeof value === 'number' && Number.isFinite(value) ? value : bound.fallback;
}

export function resolveCondition(condition: Condition, thresholds: Readonly<Record<string, number>> | null | undefined): ResolvedCondition | undefined {
  if (isRange(condition)) {
    const min = resolveBound(condition.min, thresholds);
    const max = resolveBound(condition.max, thresholds);
    return min === undefined || max === undefined ? undefined : { op: condition.op, min, max };
  }
  const value = resolveBound(condition.value, thresholds);
  return value === undefined ? undefined : { op: condition.op, value };
}

export interface ResolvedPair {
  when: ResolvedCondition;
  /** undefined: clears when `when` no longer holds */
  clear: ResolvedCondition | undefined;
}

function usesRegistry(condition: Condition | undefined): boolean {
  if (!condition) return false;
  return isRange(condition) ? condition.min.from === 'registry' || condition.max.from === 'registry' : condition.value.from === 'registry';
}

/** Pairs whose bounds do not depend on the device resolve once (most rules): null = never applies. */
const fixedPairs = new WeakMap<ConditionPair, ResolvedPair | null>();

/** The device's conditions: its override if it has one, bounds from its registry thresholds. */
export function resolvePair(pair: ConditionPair, thresholds: Readonly<Record<string, number>> | null | undefined): ResolvedPair | undefined {
  const fixed = fixedPairs.get(pair);
  if (fixed !== undefined) return fixed ?? undefined;
  const independent = !usesRegistry(pair.when) && !usesRegistry(pair.clear);
  const resolved = resolveWith(pair, independent ? undefined : thresholds);
  if (independent) fixedPairs.set(pair, resolved ?? null);
  return resolved;
}

function resolveWith(pair: ConditionPair, thresholds: Readonly<Record<string, number>> | null | undefined): ResolvedPair | undefined {
  const when = resolveCondition(pair.when, thresholds);
  if (!when) return undefined;
  if (!pair.clear) return { when, clear: undefined };
  const clear = resolveCondition(pair.clear, thresholds);
  return clear ? { when, clear } : undefined;
}

export function holds(condition: ResolvedCondition, value: number): boolean {
  if (isRange(condition)) return condition.op === 'between' ? value >= condition.min && value <= condition.max : value < condition.min || value > condition.max;
  switch (condition.op) {
    case '>':
      return value > condition.value;
    case '>=':
      return value >= condition.value;
    case '<':
      return value < condition.value;
    case '<=':
      return value <= condition.value;
  }
}

/** Whether the clear side holds: the explicit clear condition, or `when` no longer holding. */
export function clearHolds(pair: ResolvedPair, value: number): boolean {
  return pair.clear ? holds(pair.clear, value) : !holds(pair.when, value);
}

/** The bound an alert reports as its threshold: for a range, the side the value is on. */
export function thresholdOf(condition: ResolvedCondition, value: number): number {
  if (!isRange(condition)) return condition.value;
  if (condition.op === 'between') return value - condition.min <= condition.max - value ? condition.min : condition.max;
  return value < condition.min ? condition.min : condition.max;
}

/** The `{op}` and `{threshold}` of a message: `> 30`, or `outside 207..253`. */
export function messageFields(condition: ResolvedCondition): { op: string; threshold: string } {
  return isRange(condition) ? { op: condition.op, threshold: `${formatNumber(condition.min)}..${formatNumber(condition.max)}` } : { op: condition.op, threshold: formatNumber(condition.value) };
}
