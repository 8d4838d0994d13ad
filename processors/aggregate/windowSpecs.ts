/**
 * Window specifications (`SLUICE_WINDOWS="tumbling:10s,tumbling:1m,hopping:1m/10s,session:30s"`)
 * and the windows an event time falls into. Tumbling and hopping windows are aligned to the
 * epoch (UTC), so every worker computes the same bounds for the same event time; a window is
 * [start, end): start inclusive, end exclusive, like the Aggregate schema.
 */
import { ConfigError } from '../../core/errors';

export type WindowSpec =
  | { kind: 'tumbling'; label: string; sizeMs: number }
  | { kind: 'hopping'; label: string; sizeMs: number; hopMs: number }
  | { kind: 'session'; label: string; gapMs: number };

export interface WindowBounds {
  start: number;
  end: number;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+)(ms|s|m|h|d)$/;
/** a week: longer windows would keep dedupe entries and open state for too long to be useful */
const MAX_WINDOW_MS = 7 * 86_400_000;

/** `10s`, `1m`, `1h`, `250ms`, `1d` in milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? Number.NaN);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

function duration(variable: string, item: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new ConfigError(`$${variable}`, `"${item}": ${JSON.stringify(text)} is not a duration like 250ms, 10s, 1m, 1h, 1d`);
  if (ms > MAX_WINDOW_MS) throw new ConfigError(`$${variable}`, `"${item}": windows longer than 7d are not supported, got ${text}`);
  return ms;
}

/** Canonical short form of a duration for labels and keys (`60000` -> `1m`). */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit] as number;
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** Parses the window list; every problem is a ConfigError naming the variable and the item. */
export function parseWindowSpecs(text: string, variable = 'SLUICE_WINDOWS'): WindowSpec[] {
  const items = text.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
  if (items.length === 0) throw new ConfigError(`$${variable}`, 'names no window (e.g. "tumbling:1m,hopping:1m/10s,session:30s")');
  const specs: WindowSpec[] = [];
  for (const item of items) {
    const [kind, rest, extra] = item.split(':');
    if (rest === undefined || extra !== undefined) throw new ConfigError(`$${variable}`, `"${item}" is not kind:size (tumbling:1m, hopping:1m/10s, session:30s)`);
    let spec: WindowSpec;
    if (kind === 'tumbling') {
      const sizeMs = duration(variable, item, rest);
      spec = { kind, label: `tumbling:${formatDuration(sizeMs)}`, sizeMs };
    } else if (kind === 'hopping') {
      const [size, hop, more] = rest.split('/');
      if (size === undefined || hop === undefined || more !== undefined) throw new ConfigError(`$${variable}`, `"${item}": a hopping window is hopping:<size>/<hop>, e.g. hopping:1m/10s`);
      const sizeMs = duration(variable, item, size);
      const hopMs = duration(variable, item, hop);
      if (hopMs >= sizeMs) throw new ConfigError(`$${variable}`, `"${item}": the hop must be shorter than the size (use tumbling:${size} for hop = size)`);
      if (sizeMs / hopMs > 60) throw new ConfigError(`$${variable}`, `"${item}": at most 60 overlapping windows per reading (size / hop), got ${Math.ceil(sizeMs / hopMs)}`);
      spec = { kind, label: `hopping:${formatDuration(sizeMs)}/${formatDuration(hopMs)}`, sizeMs, hopMs };
    } else if (kind === 'session') {
      const gapMs = duration(variable, item, rest);
      spec = { kind, label: `session:${formatDuration(gapMs)}`, gapMs };
    } else {
      throw new ConfigError(`$${variable}`, `"${item}": unknown window kind ${JSON.stringify(kind)} (tumbling, hopping, session)`);
    }
    if (specs.some((known) => known.label === spec.label)) throw new ConfigError(`$${variable}`, `"${item}" is listed twice`);
    specs.push(spec);
  }
  return specs;
}

/** The time windows (tumbling, hopping) containing `eventTime`, earliest start first. */
export function windowsContaining(spec: Exclude<WindowSpec, { kind: 'session' }>, eventTime: number): WindowBounds[] {
  if (spec.kind === 'tumbling') {
    const start = Math.floor(eventTime / spec.sizeMs) * spec.sizeMs;
    return [{ start, end: start + spec.sizeMs }];
  }
  // every start k*hop with start <= t < start + size
  const last = Math.floor(eventTime / spec.hopMs) * spec.hopMs;
  const windows: WindowBounds[] = [];
  for (let start = last; start > eventTime - spec.sizeMs; start -= spec.hopMs) windows.unshift({ start, end: start + spec.sizeMs });
  return windows;
}

/** How far past its event time a reading can still change a window of this spec (its longest reach). */
export function specReachMs(spec: WindowSpec): number {
  return spec.kind === 'session' ? spec.gapMs : spec.sizeMs;
}
