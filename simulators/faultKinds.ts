import { ConfigError } from '../core/errors';

/**
 * Faults a real fleet produces. Order matters: one uniform draw per reading walks these in this
 * order, so the same seed and rates always fault the same readings.
 */
export const FAULT_KINDS = [
  'offline',
  'duplicate',
  'clock-skew',
  'malformed-json',
  'wrong-types',
  'missing-fields',
  'oversized',
  'wrong-topic',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export type FaultRates = Partial<Record<FaultKind, number>>;

/**
 * Where each faulty message should end up downstream, so an end-to-end test can check it landed
 * there: late, out-of-order, duplicated and skewed readings are still valid data (the stream takes
 * them; windows and dedup downstream deal with them); the rest is rejected by ingest and goes to
 * the dead-letter stream with the reason code given here (the codes the ingest issue names).
 */
export const FAULT_OUTCOMES: Record<FaultKind, { lands: 'stream' | 'dead-letter'; deadLetterReason?: string; what: string }> = {
  offline: { lands: 'stream', what: 'buffered while offline, replayed late and out of order on reconnect' },
  duplicate: { lands: 'stream', what: 'the same reading (same seq) sent a second time' },
  'clock-skew': { lands: 'stream', what: "eventTime shifted by the device's wrong clock" },
  'malformed-json': { lands: 'dead-letter', deadLetterReason: 'bad_json', what: 'payload cut short: not parseable' },
  'wrong-types': { lands: 'dead-letter', deadLetterReason: 'schema_violation', what: 'a metric as a string or null, or metrics as a list' },
  'missing-fields': { lands: 'dead-letter', deadLetterReason: 'schema_violation', what: 'metrics or deviceType left out' },
  oversized: { lands: 'dead-letter', deadLetterReason: 'too_large', what: 'payload bigger than the size limit' },
  'wrong-topic': { lands: 'dead-letter', deadLetterReason: 'topic_mismatch', what: "published on another device's topic" },
};

export function isFaultKind(value: string): value is FaultKind {
  return (FAULT_KINDS as readonly string[]).includes(value);
}

/**
 * Parses `kind=rate` specs (the repeatable `--fault` flag). Rates are probabilities per reading;
 * together they must not exceed 1, since each reading gets at most one fault.
 */
export function parseFaultSpecs(specs: readonly string[], path = '--fault'): FaultRates {
  const rates: FaultRates = {};
  for (const spec of specs) {
    const match = /^\s*([a-z_-]+)\s*=\s*([0-9.eE+-]+)\s*$/.exec(spec);
    if (!match) throw new ConfigError(path, `expected <kind>=<rate>, e.g. duplicate=0.01, got "${spec}"`);
    const kind = (match[1] ?? '').replace(/_/g, '-');
    if (!isFaultKind(kind)) throw new ConfigError(path, `unknown fault kind "${match[1]}"; known: ${FAULT_KINDS.join(', ')}`);
    rates[kind] = Number(match[2]);
  }
  validateFaultRates(rates, path);
  return rates;
}

export function validateFaultRates(rates: FaultRates, path: string): void {
  let total = 0;
  for (const [kind, rate] of Object.entries(rates)) {
    if (!isFaultKind(kind)) throw new ConfigError(`${path}.${kind}`, `unknown fault kind; known: ${FAULT_KINDS.join(', ')}`);
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
      throw new ConfigError(`${path}.${kind}`, `rate must be a probability in 0..1, got ${String(rate)}`);
    }
    total += rate;
  }
  if (total > 1 + 1e-9) throw new ConfigError(path, `fault rates add up to ${total}; each reading gets at most one fault, so the sum must be <= 1`);
}
