/**
 * Field readers for the rules file: each reads one field of a YAML mapping, checks it, and on a
 * problem records a message naming the rule and the field (`rule "temp-high" (rules[2]): when.op:
 * must be one of ...`) instead of throwing, so one run reports every problem of a file.
 */
import { ALERT_SEVERITIES } from '../../schemas/records';
import type { AlertSeverity } from '../../schemas/records';
import type { Bound, Comparison, Condition, RangeOp } from './ruleTypes';

export type YamlMap = Record<string, unknown>;

export function isMap(value: unknown): value is YamlMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

/** `250ms`, `30s`, `2m`, `1h`, `1d`, or a number of milliseconds; undefined when malformed. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = DURATION.exec(value.trim());
  if (!match) return undefined;
  const ms = Math.round(Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? Number.NaN));
  return Number.isSafeInteger(ms) ? ms : undefined;
}

const COMPARISONS: readonly string[] = ['>', '>=', '<', '<='];
const RANGES: readonly string[] = ['between', 'outside'];

/** Reads the fields of one mapping, collecting problems under a path prefix. */
export class FieldReader {
  private readonly seen = new Set<string>();

  constructor(
    private readonly fields: YamlMap,
    private readonly where: string,
    private readonly problems: string[],
    /** prepended to field names in messages (`match.`, `overrides.dev-1.`) */
    private readonly fieldPrefix = '',
  ) {}

  problem(field: string, message: string): void {
    this.problems.push(`${this.where}: ${this.fieldPrefix}${field}: ${message}`);
  }

  /** A reader of a mapping inside this one, reporting under the same rule. */
  nested(map: YamlMap, fieldPrefix: string): FieldReader {
    return new FieldReader(map, this.where, this.problems, `${this.fieldPrefix}${fieldPrefix}`);
  }

  has(field: string): boolean {
    return this.fields[field] !== undefined && this.fields[field] !== null;
  }

  raw(field: string): unknown {
    this.seen.add(field);
    return this.fields[field];
  }

  /** Fields present that nothing read: most likely typos. */
  rejectUnknown(): void {
    for (const field of Object.keys(this.fields)) {
      if (!this.seen.has(field)) this.problem(field, 'is not a known field here');
    }
  }

  string(field: string, options: { required: true; pattern?: RegExp; patternText?: string }): string;
  string(field: string, options?: { required?: boolean; pattern?: RegExp; patternText?: string }): string | undefined;
  string(field: string, options: { required?: boolean; pattern?: RegExp; patternText?: string } = {}): string | undefined {
    const value = this.raw(field);
    if (value === undefined || value === null) {
      if (options.required) this.problem(field, 'is required');
      return options.required ? '' : undefined;
    }
    if (typeof value !== 'string' || value.length === 0) {
      this.problem(field, `must be a non-empty string, got ${JSON.stringify(value)}`);
      return options.required ? '' : undefined;
    }
    if (options.pattern && !options.pattern.test(value)) this.problem(field, `must be ${options.patternText ?? `like ${String(options.pattern)}`}, got ${JSON.stringify(value)}`);
    return value;
  }

  oneOf<T extends string>(field: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(field);
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      this.problem(field, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
      return fallback;
    }
    return value as T;
  }

  optionalOneOf<T extends string>(field: string, allowed: readonly T[]): T | undefined {
    return this.has(field) ? this.oneOf(field, allowed, allowed[0] as T) : (this.raw(field), undefined);
  }

  severity(field: string, fallback: AlertSeverity): AlertSeverity {
    return this.oneOf(field, ALERT_SEVERITIES, fallback);
  }

  integer(field: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const value = this.raw(field);
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.problem(field, `must be an integer ${min}..${max}, got ${JSON.stringify(value)}`);
      return fallback;
    }
    return value;
  }

  boolean(field: string, fallback: boolean): boolean {
    const value = this.raw(field);
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') {
      this.problem(field, `must be true or false, got ${JSON.stringify(value)}`);
      return fallback;
    }
    return value;
  }

  /** A duration; `never` / 0 allowed when `allowZero`. */
  duration(field: string, fallback: number, options: { allowZero?: boolean } = {}): number {
    const value = this.raw(field);
    if (value === undefined || value === null) return fallback;
    if (options.allowZero && value === 'never') return 0;
    const ms = parseDuration(value);
    if (ms === undefined || (ms === 0 && !options.allowZero)) {
      this.problem(field, `must be a duration like 500ms, 30s, 2m, 1h, 1d${options.allowZero ? ' (or 0 / never)' : ' above 0'}, got ${JSON.stringify(value)}`);
      return fallback;
    }
    return ms;
  }

  /** A list of non-empty strings as a set; undefined when absent. */
  stringSet(field: string): ReadonlySet<string> | undefined {
    const value = this.raw(field);
    if (value === undefined || value === null) return undefined;
    const list = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(list) || list.length === 0 || !list.every((item) => typeof item === 'string' && item.length > 0)) {
      this.problem(field, `must be a non-empty list of names, got ${JSON.stringify(value)}`);
      return undefined;
    }
    return new Set(list as string[]);
  }

  map(field: string): YamlMap | undefined {
    const value = this.raw(field);
    if (value === undefined || value === null) return undefined;
    if (!isMap(value)) {
      this.problem(field, `must be a mapping, got ${JSON.stringify(value)}`);
      return undefined;
    }
    return value;
  }

  /**
   * A condition: `{ op: '>', value: 30 }`, `{ op: between, min: 10, max: 20 }`; a bound is a
   * number, `registry` (the device's `<metric>_max` for > and >=, `<metric>_min` for < and <=,
   * the min/max pair for ranges) or `{ registry: <key>, default: <number> }`.
   */
  condition(field: string, options: { required: boolean; metric: string | undefined; registryAllowed: boolean }): Condition | undefined {
    const value = this.raw(field);
    if (value === undefined || value === null) {
      if (options.required) this.problem(field, 'is required (e.g. { op: ">", value: 30 })');
      return undefined;
    }
    if (!isMap(value)) {
      this.problem(field, `must be a mapping like { op: ">", value: 30 }, got ${JSON.stringify(value)}`);
      return undefined;
    }
    const op = value.op;
    let condition: Condition | undefined;
    if (typeof op === 'string' && COMPARISONS.includes(op)) {
      const bound = this.bound(`${field}.value`, value.value, options, op === '>' || op === '>=' ? 'max' : 'min');
      if (bound) condition = { op: op as Comparison, value: bound };
    } else if (typeof op === 'string' && RANGES.includes(op)) {
      const min = this.bound(`${field}.min`, value.min, options, 'min');
      const max = this.bound(`${field}.max`, value.max, options, 'max');
      if (min && max) {
        if (min.from === 'fixed' && max.from === 'fixed' && min.value > max.value) this.problem(`${field}`, `min ${min.value} is above max ${max.value}`);
        else condition = { op: op as RangeOp, min, max };
      }
    } else {
      this.problem(`${field}.op`, `must be one of ${[...COMPARISONS, ...RANGES].join(', ')}, got ${JSON.stringify(op)}`);
    }
    for (const key of Object.keys(value)) {
      if (!['op', 'value', 'min', 'max'].includes(key)) this.problem(`${field}.${key}`, 'is not a known field here (op, value, min, max)');
    }
    return condition;
  }

  private bound(path: string, value: unknown, options: { metric: string | undefined; registryAllowed: boolean }, side: 'min' | 'max'): Bound | undefined {
    if (typeof value === 'number' && Number.isFinite(value)) return { from: 'fixed', value };
    if (value === 'registry' || isMap(value)) {
      if (!options.registryAllowed) {
        this.problem(path, 'registry thresholds are in the metric\'s unit and apply to value rules only, not to this signal');
        return undefined;
      }
      if (value === 'registry') {
        if (options.metric === undefined) {
          this.problem(path, '"registry" needs the rule\'s metric');
          return undefined;
        }
        return { from: 'registry', key: `${options.metric}_${side}`, fallback: undefined };
      }
      const key = value.registry;
      const fallback = value.default;
      const extra = Object.keys(value).filter((k) => k !== 'registry' && k !== 'default');
      if (typeof key !== 'string' || !/^[A-Za-z][A-Za-z0-9_]*_(min|max)$/.test(key)) {
        this.problem(`${path}.registry`, `must name a registry threshold like temperature_max, got ${JSON.stringify(key)}`);
        return undefined;
      }
      if (fallback !== undefined && (typeof fallback !== 'number' || !Number.isFinite(fallback))) {
        this.problem(`${path}.default`, `must be a number, got ${JSON.stringify(fallback)}`);
        return undefined;
      }
      if (extra.length > 0) {
        this.problem(`${path}.${extra[0] ?? ''}`, 'is not a known field here (registry, default)');
        return undefined;
      }
      return { from: 'registry', key, fallback: fallback as number | undefined };
    }
    this.problem(path, `must be a number, "registry" or { registry: <metric>_max, default: <number> }, got ${JSON.stringify(value)}`);
    return undefined;
  }
}
