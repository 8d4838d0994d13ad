/**
 * Reads the alert rules file ($SLUICE_ALERT_RULES, YAML; processors/alerts/README.md documents
 * the format). Every problem names the rule and the field, and all problems of a file are
 * reported at once in one ConfigError. The parsed file is cached by path and modification
 * time, so a warm worker re-reads the file only after it changed.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readProjectAsset } from '../../core/projectAssets';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError, errorMessage } from '../../core/errors';
import { AGGREGATE_SCOPES, WINDOW_KINDS } from '../../schemas/records';
import type { AlertSeverity } from '../../schemas/records';
import { FieldReader, isMap } from './ruleFields';
import type { YamlMap } from './ruleFields';
import { AGGREGATE_STATS } from './ruleTypes';
import type { AggregateRule, AggregateStat, AlertRule, ConditionPair, DeviceMatch, Gate, HeartbeatRule, ReadingRule, RuleCommon, RuleSet, Signal } from './ruleTypes';

export const DEFAULT_RULES_FILE = path.join(__dirname, 'default-rules.yaml');

export const RULE_KINDS = ['threshold', 'sustained', 'consecutive', 'rateOfChange', 'zscore', 'heartbeat', 'aggregate'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

const RULE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const METRIC = /^[A-Za-z][A-Za-z0-9_.-]*$/;

interface Defaults {
  severity: AlertSeverity;
  cooldownMs: number;
  renotifyMs: number;
}

const BUILT_IN_DEFAULTS: Defaults = { severity: 'warning', cooldownMs: 5 * 60_000, renotifyMs: 0 };

const DEFAULT_MESSAGES: Record<RuleKind, string> = {
  threshold: '{metric} {value} {op} {threshold}',
  sustained: '{metric} {value} {op} {threshold} (sustained)',
  consecutive: '{metric} {value} {op} {threshold} (consecutive readings)',
  rateOfChange: '{metric} changing at {value} {op} {threshold}',
  zscore: '{metric} z-score {value} {op} {threshold}',
  heartbeat: 'no data for {value} s (limit {threshold} s)',
  aggregate: '{stat} of {metric} {value} {op} {threshold}',
};

const COMMON_FIELDS = ['id', 'kind', 'severity', 'cooldown', 'renotifyEvery', 'message', 'match'];

function readMatch(reader: FieldReader): DeviceMatch {
  const map = reader.map('match');
  if (!map) return {};
  const inner = reader.nested(map, 'match.');
  const result: DeviceMatch = {};
  const types = inner.stringSet('deviceTypes');
  const devices = inner.stringSet('devices');
  const sites = inner.stringSet('sites');
  inner.rejectUnknown();
  if (types) result.types = types;
  if (devices) result.devices = devices;
  if (sites) result.sites = sites;
  return result;
}

function readCommon(reader: FieldReader, id: string, kind: RuleKind, defaults: Defaults): RuleCommon {
  return {
    id,
    kind,
    severity: reader.severity('severity', defaults.severity),
    cooldownMs: reader.duration('cooldown', defaults.cooldownMs, { allowZero: true }),
    renotifyMs: reader.duration('renotifyEvery', defaults.renotifyMs, { allowZero: true }),
    message: reader.string('message') ?? DEFAULT_MESSAGES[kind],
    match: readMatch(reader),
  };
}

function readPair(reader: FieldReader, metric: string | undefined, registryAllowed: boolean): ConditionPair | undefined {
  const when = reader.condition('when', { required: true, metric, registryAllowed });
  const clear = reader.condition('clear', { required: false, metric, registryAllowed });
  return when ? { when, clear } : undefined;
}

function readOverrides(reader: FieldReader, metric: string, registryAllowed: boolean): Map<string, ConditionPair> {
  const overrides = new Map<string, ConditionPair>();
  const map = reader.map('overrides');
  if (!map) return overrides;
  for (const [deviceId, value] of Object.entries(map)) {
    if (!isMap(value)) {
      reader.problem(`overrides.${deviceId}`, 'must be a mapping with when (and clear)');
      continue;
    }
    const inner = reader.nested(value, `overrides.${deviceId}.`);
    const pair = readPair(inner, metric, registryAllowed);
    inner.rejectUnknown();
    if (pair) overrides.set(deviceId, pair);
  }
  return overrides;
}

/** The gate of a reading rule: `for` (sustained), `count` (consecutive), or neither (immediate). */
function readGate(reader: FieldReader, kind: RuleKind): Gate {
  const hasFor = reader.has('for');
  const hasCount = reader.has('count');
  let gate: Gate['kind'];
  switch (kind) {
    case 'threshold':
      if (hasFor || hasCount) reader.problem(hasFor ? 'for' : 'count', 'a threshold rule fires on one reading; use kind sustained (for) or consecutive (count)');
      gate = 'immediate';
      break;
    case 'sustained':
      if (!hasFor) reader.problem('for', 'is required for a sustained rule (e.g. 2m)');
      if (hasCount) reader.problem('count', 'a sustained rule waits for a duration (for); use kind consecutive to count readings');
      gate = 'sustained';
      break;
    case 'consecutive':
      if (!hasCount) reader.problem('count', 'is required for a consecutive rule (e.g. 3)');
      if (hasFor) reader.problem('for', 'a consecutive rule counts readings (count); use kind sustained for a duration');
      gate = 'consecutive';
      break;
    default:
      if (hasFor && hasCount) reader.problem('count', 'use either for (sustained) or count (consecutive readings), not both');
      gate = hasFor ? 'sustained' : hasCount ? 'consecutive' : 'immediate';
  }
  reader.raw('for');
  reader.raw('count');
  if (gate === 'sustained') return { kind: 'sustained', forMs: reader.duration('for', 60_000), clearForMs: reader.duration('clearFor', 0, { allowZero: true }) };
  if (gate === 'consecutive') return { kind: 'consecutive', count: reader.integer('count', 1, 1, 100_000), clearCount: reader.integer('clearCount', 1, 1, 100_000) };
  return { kind: 'immediate' };
}

function readSignal(reader: FieldReader, kind: RuleKind): Signal {
  if (kind === 'rateOfChange') return { kind: 'rate', perMs: reader.duration('per', 1000), absolute: reader.boolean('absolute', false) };
  if (kind === 'zscore') {
    const window = reader.integer('window', 60, 2, 10_000);
    const minSamples = reader.integer('minSamples', Math.min(window, 20), 2, 10_000);
    if (minSamples > window) reader.problem('minSamples', `must not exceed window (${window}), got ${minSamples}`);
    return { kind: 'zscore', window, minSamples, absolute: reader.boolean('absolute', true) };
  }
  return { kind: 'value' };
}

function readReadingRule(reader: FieldReader, common: RuleCommon, kind: RuleKind): ReadingRule | undefined {
  const metric = reader.string('metric', { required: true, pattern: METRIC, patternText: 'a metric name' });
  const signal = readSignal(reader, kind);
  const gate = readGate(reader, kind);
  const registryAllowed = signal.kind === 'value';
  const pair = readPair(reader, metric, registryAllowed);
  const overrides = readOverrides(reader, metric, registryAllowed);
  return pair ? { ...common, ...pair, family: 'reading', metric, signal, gate, overrides } : undefined;
}

function readHeartbeatRule(reader: FieldReader, common: RuleCommon): HeartbeatRule {
  if (!reader.has('after')) reader.problem('after', 'is required for a heartbeat rule (e.g. 2m)');
  return { ...common, family: 'heartbeat', afterMs: reader.duration('after', 120_000), metric: reader.string('metric', { pattern: METRIC, patternText: 'a metric name' }) };
}

const REGISTRY_STATS = new Set(['mean', 'min', 'max', 'first', 'last']);

function readAggregateRule(reader: FieldReader, common: RuleCommon): AggregateRule | undefined {
  const metric = reader.string('metric', { required: true, pattern: METRIC, patternText: 'a metric name' });
  const statText = reader.string('stat', { required: true }) ?? '';
  let stat: AggregateStat = 'mean';
  if ((AGGREGATE_STATS as readonly string[]).includes(statText) || /^p\d{1,2}(\.\d+)?$/.test(statText)) stat = statText as AggregateStat;
  else if (statText !== '') reader.problem('stat', `must be one of ${AGGREGATE_STATS.join(', ')} or a percentile like p95, got ${JSON.stringify(statText)}`);
  const scope = reader.oneOf('scope', AGGREGATE_SCOPES, 'device');
  if (scope === 'site' && (common.match.types || common.match.devices)) reader.problem(common.match.types ? 'match.deviceTypes' : 'match.devices', 'a site aggregate is not about one device; match sites instead');
  const pair = readPair(reader, metric, REGISTRY_STATS.has(stat) || stat.startsWith('p'));
  const rule: AggregateRule | undefined = pair && {
    ...common,
    ...pair,
    family: 'aggregate',
    scope,
    metric,
    stat,
    windowKind: reader.optionalOneOf('windowKind', WINDOW_KINDS),
    windowMs: reader.has('windowSize') ? reader.duration('windowSize', 60_000) : (reader.raw('windowSize'), undefined),
    minCount: reader.integer('minCount', 1, 1),
    count: reader.integer('count', 1, 1, 10_000),
    clearCount: reader.integer('clearCount', 1, 1, 10_000),
  };
  return rule;
}

function readDefaults(document: YamlMap, problems: string[]): Defaults {
  const map = document.defaults;
  if (map === undefined || map === null) return BUILT_IN_DEFAULTS;
  if (!isMap(map)) {
    problems.push(`defaults: must be a mapping, got ${JSON.stringify(map)}`);
    return BUILT_IN_DEFAULTS;
  }
  const reader = new FieldReader(map, 'defaults', problems);
  const defaults = {
    severity: reader.severity('severity', BUILT_IN_DEFAULTS.severity),
    cooldownMs: reader.duration('cooldown', BUILT_IN_DEFAULTS.cooldownMs, { allowZero: true }),
    renotifyMs: reader.duration('renotifyEvery', BUILT_IN_DEFAULTS.renotifyMs, { allowZero: true }),
  };
  reader.rejectUnknown();
  return defaults;
}

/** Parses rules from YAML text; `source` names the file in errors. */
export function parseRuleSet(text: string, source: string): RuleSet {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ConfigError(source, `is not valid YAML: ${errorMessage(error)}`);
  }
  if (!isMap(document)) throw new ConfigError(source, 'must be a YAML mapping with a rules list');
  const problems: string[] = [];
  for (const key of Object.keys(document)) {
    if (!['version', 'defaults', 'rules'].includes(key)) problems.push(`${key}: is not a known top-level field (version, defaults, rules)`);
  }
  if (document.version !== undefined && document.version !== 1) problems.push(`version: must be 1, got ${JSON.stringify(document.version)}`);
  const defaults = readDefaults(document, problems);
  const list = document.rules;
  if (!Array.isArray(list)) throw new ConfigError(source, `rules: must be a list of rules${problems.length > 0 ? `; ${problems.join('; ')}` : ''}`);

  const rules: AlertRule[] = [];
  const seenIds = new Map<string, number>();
  list.forEach((item: unknown, index) => {
    if (!isMap(item)) {
      problems.push(`rules[${index}]: must be a mapping, got ${JSON.stringify(item)}`);
      return;
    }
    const idValue = item.id;
    const label = typeof idValue === 'string' ? `rule "${idValue}" (rules[${index}])` : `rules[${index}]`;
    const reader = new FieldReader(item, label, problems);
    const id = reader.string('id', { required: true, pattern: RULE_ID, patternText: 'letters, digits, _ . - (at most 100)' });
    const earlier = seenIds.get(id);
    if (id !== '' && earlier !== undefined) reader.problem('id', `repeats the id of rules[${earlier}]`);
    seenIds.set(id, index);
    const kind = reader.oneOf('kind', RULE_KINDS, 'threshold');
    if (!reader.has('kind')) reader.problem('kind', `is required (one of ${RULE_KINDS.join(', ')})`);
    const common = readCommon(reader, id, kind, defaults);
    let rule: AlertRule | undefined;
    if (kind === 'heartbeat') rule = readHeartbeatRule(reader, common);
    else if (kind === 'aggregate') rule = readAggregateRule(reader, common);
    else rule = readReadingRule(reader, common, kind);
    for (const field of COMMON_FIELDS) reader.raw(field);
    reader.rejectUnknown();
    if (rule) rules.push(rule);
  });
  if (problems.length > 0) throw new ConfigError(source, problems.length === 1 ? (problems[0] as string) : `${problems.length} problems:\n  ${problems.join('\n  ')}`);
  return {
    source,
    readingRules: rules.filter((rule): rule is ReadingRule => rule.family === 'reading'),
    heartbeatRules: rules.filter((rule): rule is HeartbeatRule => rule.family === 'heartbeat'),
    aggregateRules: rules.filter((rule): rule is AggregateRule => rule.family === 'aggregate'),
    byId: new Map(rules.map((rule) => [rule.id, rule])),
  };
}

const cache = new Map<string, { mtimeMs: number; size: number; rules: RuleSet }>();

/** The rules in `file`, parsed again only when the file changed. */
export function loadRuleSet(file: string): RuleSet {
  // the default rules ship with the code: inside a bundle they are embedded, not beside it
  if (file === DEFAULT_RULES_FILE && !existsSync(file)) return parseRuleSet(readProjectAsset('processors/alerts/default-rules.yaml'), file);
  let stats;
  try {
    stats = statSync(file);
  } catch (error) {
    throw new ConfigError('$SLUICE_ALERT_RULES', `cannot read ${file}: ${errorMessage(error)}`);
  }
  const cached = cache.get(file);
  if (cached && cached.mtimeMs === stats.mtimeMs && cached.size === stats.size) return cached.rules;
  const rules = parseRuleSet(readFileSync(file, 'utf8'), file);
  cache.set(file, { mtimeMs: stats.mtimeMs, size: stats.size, rules });
  return rules;
}
