/**
 * Mergeable statistics of one metric over one window: count, sum, min, max, mean and m2 (the
 * sum of squared deviations from the mean, merged with Chan et al.'s parallel formula, which
 * stays accurate where sum-of-squares cancels), and the first and last value by event time.
 *
 * Merge is commutative bit for bit (every formula is symmetric in its two sides) and
 * associative up to floating-point rounding of sum, mean and m2; count, min, max, first and
 * last are exact in any order. First/last order by (event time, seq), so the order readings
 * arrive in never matters; the Lua twin in lua/aggregateCommon.lua must stay identical.
 */
export interface MetricStats {
  count: number;
  sum: number;
  min: number;
  max: number;
  mean: number;
  m2: number;
  firstTime: number;
  firstSeq: number;
  firstValue: number;
  lastTime: number;
  lastSeq: number;
  lastValue: number;
}

export function statsOfValue(value: number, eventTime: number, seq: number): MetricStats {
  return { count: 1, sum: value, min: value, max: value, mean: value, m2: 0, firstTime: eventTime, firstSeq: seq, firstValue: value, lastTime: eventTime, lastSeq: seq, lastValue: value };
}

/** -1, 0, 1 comparing (time, seq, value) tuples: a total order, so ties resolve the same way everywhere. */
function compareAt(timeA: number, seqA: number, valueA: number, timeB: number, seqB: number, valueB: number): number {
  if (timeA !== timeB) return timeA < timeB ? -1 : 1;
  if (seqA !== seqB) return seqA < seqB ? -1 : 1;
  if (valueA !== valueB) return valueA < valueB ? -1 : 1;
  return 0;
}

export function mergeStats(a: MetricStats, b: MetricStats): MetricStats {
  const count = a.count + b.count;
  // symmetric forms: merge(a, b) and merge(b, a) compute the same floats
  const mean = (a.count * a.mean + b.count * b.mean) / count;
  const delta = b.mean - a.mean;
  const m2 = a.m2 + b.m2 + ((delta * delta) * (a.count * b.count)) / count;
  const aFirst = compareAt(a.firstTime, a.firstSeq, a.firstValue, b.firstTime, b.firstSeq, b.firstValue) <= 0;
  const aLast = compareAt(a.lastTime, a.lastSeq, a.lastValue, b.lastTime, b.lastSeq, b.lastValue) >= 0;
  return {
    count,
    sum: a.sum + b.sum,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
    mean,
    m2,
    firstTime: aFirst ? a.firstTime : b.firstTime,
    firstSeq: aFirst ? a.firstSeq : b.firstSeq,
    firstValue: aFirst ? a.firstValue : b.firstValue,
    lastTime: aLast ? a.lastTime : b.lastTime,
    lastSeq: aLast ? a.lastSeq : b.lastSeq,
    lastValue: aLast ? a.lastValue : b.lastValue,
  };
}

/**
 * `mergeStats(stats, statsOfValue(value, eventTime, seq))` in place, without allocating: the
 * same operations with count 1, mean `value` and m2 0, so the same doubles come out.
 */
export function foldValue(stats: MetricStats, value: number, eventTime: number, seq: number): void {
  const count = stats.count + 1;
  const mean = (stats.count * stats.mean + value) / count;
  const delta = value - stats.mean;
  stats.m2 = stats.m2 + 0 + ((delta * delta) * stats.count) / count;
  stats.mean = mean;
  stats.count = count;
  stats.sum += value;
  stats.min = Math.min(stats.min, value);
  stats.max = Math.max(stats.max, value);
  if (compareAt(stats.firstTime, stats.firstSeq, stats.firstValue, eventTime, seq, value) > 0) {
    stats.firstTime = eventTime;
    stats.firstSeq = seq;
    stats.firstValue = value;
  }
  if (compareAt(stats.lastTime, stats.lastSeq, stats.lastValue, eventTime, seq, value) < 0) {
    stats.lastTime = eventTime;
    stats.lastSeq = seq;
    stats.lastValue = value;
  }
}

/** Population standard deviation (m2 / count), as the Aggregate schema defines variance. */
export function stddevOf(stats: MetricStats): number {
  return stats.count > 0 ? Math.sqrt(Math.max(0, stats.m2) / stats.count) : 0;
}

const FIELDS = ['count', 'sum', 'min', 'max', 'mean', 'm2', 'firstTime', 'firstSeq', 'firstValue', 'lastTime', 'lastSeq', 'lastValue'] as const;
const STORED_BYTES = FIELDS.length * 8;

/** The twelve numbers in FIELDS order: how partials travel to the batch script (JSON numbers read back exactly). */
export function statsToArray(stats: MetricStats): number[] {
  return FIELDS.map((field) => stats[field]);
}

export function statsFromArray(values: readonly number[]): MetricStats | undefined {
  if (values.length !== FIELDS.length || values.some((value) => !Number.isFinite(value))) return undefined;
  const stats = {} as Record<(typeof FIELDS)[number], number>;
  FIELDS.forEach((field, index) => (stats[field] = values[index] as number));
  return stats;
}

/**
 * The stored form in Redis: twelve little-endian doubles (96 bytes), what Lua's
 * `struct.pack('<dddddddddddd', ...)` writes: exact, and far cheaper for the script than text.
 */
export function statsToBinary(stats: MetricStats): Buffer {
  const out = Buffer.allocUnsafe(STORED_BYTES);
  FIELDS.forEach((field, index) => out.writeDoubleLE(stats[field], index * 8));
  return out;
}

export function statsFromBinary(bytes: Buffer): MetricStats | undefined {
  if (bytes.length !== STORED_BYTES) return undefined;
  return statsFromArray(FIELDS.map((_, index) => bytes.readDoubleLE(index * 8)));
}
