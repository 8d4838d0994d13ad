/**
 * Evaluation of aggregate rules on closed windows from the aggregate processor. Time is the
 * window end. A window that does not end after the last one evaluated for the (entity, rule) is
 * a duplicate or late and changes nothing, which also makes the same window delivered twice
 * count once. `count` consecutive windows must meet `when` (and `clearCount` meet `clear`).
 */
import type { Aggregate } from '../../schemas/records';
import { renderMessage } from './alertRecord';
import { clearHolds, messageFields, holds, resolvePair, thresholdOf } from './conditions';
import { ruleStateOf, stepLifecycle } from './entityState';
import type { DeviceInfo, EntityState, LifecycleContext } from './entityState';
import { matchesDevice } from './ruleTypes';
import type { AggregateRule, AggregateStat, RuleSet } from './ruleTypes';

/** The state entity of an aggregate: the device, or `site:<siteId>`. */
export function aggregateEntity(aggregate: Pick<Aggregate, 'scope' | 'scopeId'>): string {
  return aggregate.scope === 'site' ? `site:${aggregate.scopeId}` : aggregate.scopeId;
}

export function statOf(aggregate: Aggregate, stat: AggregateStat): number | undefined {
  let value: number | undefined;
  switch (stat) {
    case 'mean':
      value = aggregate.mean;
      break;
    case 'min':
      value = aggregate.min;
      break;
    case 'max':
      value = aggregate.max;
      break;
    case 'sum':
      value = aggregate.sum;
      break;
    case 'count':
      value = aggregate.count;
      break;
    case 'stddev':
      value = aggregate.count > 0 ? Math.sqrt(Math.max(0, aggregate.m2) / aggregate.count) : undefined;
      break;
    case 'range':
      value = aggregate.max - aggregate.min;
      break;
    case 'first':
      value = aggregate.firstValue;
      break;
    case 'last':
      value = aggregate.lastValue;
      break;
    case 'change':
      value = aggregate.lastValue - aggregate.firstValue;
      break;
    default:
      value = aggregate.percentiles?.[stat];
  }
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function applies(rule: AggregateRule, aggregate: Aggregate, device: DeviceInfo | undefined): boolean {
  if (rule.scope !== aggregate.scope || rule.metric !== aggregate.metric) return false;
  if (rule.windowKind !== undefined && rule.windowKind !== aggregate.windowKind) return false;
  if (rule.windowMs !== undefined && aggregate.windowEnd - aggregate.windowStart !== rule.windowMs) return false;
  if (aggregate.scope === 'site') return !rule.match.sites || rule.match.sites.has(aggregate.scopeId);
  return matchesDevice(rule.match, { deviceId: aggregate.scopeId, deviceType: device?.deviceType, siteId: device?.siteId });
}

/**
 * Evaluates one entity's aggregates (sorted by window end). `device` is what the reading
 * rules last learnt about the device (type, site, registry thresholds), for device matches and
 * registry bounds; undefined for sites and for devices no reading was seen of.
 */
export function evaluateEntityAggregates(rules: RuleSet, state: EntityState, aggregates: readonly Aggregate[], device: DeviceInfo | undefined, context: LifecycleContext): number {
  let evaluated = 0;
  const ordered = [...aggregates].sort((a, b) => a.windowEnd - b.windowEnd);
  for (const aggregate of ordered) {
    for (const rule of rules.aggregateRules) {
      if (!applies(rule, aggregate, device)) continue;
      const ruleState = ruleStateOf(state, rule.id);
      if (ruleState.lastWindowEnd !== undefined && aggregate.windowEnd <= ruleState.lastWindowEnd) continue;
      ruleState.lastWindowEnd = aggregate.windowEnd;
      if (aggregate.count < rule.minCount) continue;
      const value = statOf(aggregate, rule.stat);
      if (value === undefined) continue;
      const pair = resolvePair(rule, device?.thresholds);
      if (!pair) continue;
      evaluated += 1;
      ruleState.run = holds(pair.when, value) ? (ruleState.run ?? 0) + 1 : 0;
      ruleState.clearRun = clearHolds(pair, value) ? (ruleState.clearRun ?? 0) + 1 : 0;
      stepLifecycle(rule, ruleState, ruleState.run >= rule.count, ruleState.clearRun >= rule.clearCount, aggregate.windowEnd, context, () => {
        const threshold = thresholdOf(pair.when, value);
        return {
          value,
          threshold,
          metric: rule.metric,
          message: renderMessage(rule.message, { deviceId: context.entity, ruleId: rule.id, metric: rule.metric, stat: rule.stat, value, ...messageFields(pair.when) }),
        };
      });
    }
  }
  return evaluated;
}
