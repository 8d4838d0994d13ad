/**
 * Small value checks for mapping validation. Each returns the problem as text (or undefined
 * when the value is fine), so the caller names the path once, in one ConfigError.
 */
import type { MappingOptionSpec } from './mappingOptions';

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function rangeProblem(spec: MappingOptionSpec, value: number): string | undefined {
  if (spec.special !== undefined && value === spec.special) return undefined;
  const tooLow = spec.min !== undefined && value < spec.min;
  const tooHigh = spec.max !== undefined && value > spec.max;
  if (!tooLow && !tooHigh) return undefined;
  const range = spec.max === undefined ? `>= ${spec.min}` : `${spec.min}..${spec.max}`;
  return `must be ${spec.special === undefined ? '' : `${spec.special} or `}${range}, got ${value}`;
}

/** Checks a number/integer/boolean/string/enum value against its spec; lists, addresses and filters are checked by the caller. */
export function scalarProblem(spec: MappingOptionSpec, value: unknown): string | undefined {
  switch (spec.type) {
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return `must be an integer, got ${describeValue(value)}`;
      return rangeProblem(spec, value);
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return `must be a number, got ${describeValue(value)}`;
      return rangeProblem(spec, value);
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `must be true or false, got ${describeValue(value)}`;
    case 'enum':
      return typeof value === 'string' && spec.choices?.includes(value) ? undefined : `must be one of ${spec.choices?.join(', ')}, got ${describeValue(value)}`;
    case 'string':
    case 'address':
      return typeof value === 'string' && value.trim() !== '' ? undefined : `must be a non-empty string, got ${describeValue(value)}`;
    default:
      return undefined;
  }
}

function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    let diagonal = previous[0] ?? 0;
    previous[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const above = previous[j] ?? 0;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      previous[j] = Math.min(above + 1, (previous[j - 1] ?? 0) + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return previous[b.length] ?? 0;
}

const squash = (name: string): string => name.toLowerCase().replace(/[-_\s]/g, '');

/** The known name closest to `name` (case, dashes and small typos forgiven), if any is close. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const exact = known.find((candidate) => squash(candidate) === squash(name));
  if (exact) return exact;
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(squash(name), squash(candidate));
    if (!best || distance < best.distance) best = { candidate, distance };
  }
  if (!best) return undefined;
  return best.distance <= Math.max(2, Math.floor(squash(name).length / 4)) ? best.candidate : undefined;
}

export function unknownKeyProblem(key: string, known: readonly string[]): string {
  const suggestion = closestName(key, known);
  return `unknown setting${suggestion ? `; did you mean "${suggestion}"?` : ''} (known: ${known.join(', ')})`;
}
