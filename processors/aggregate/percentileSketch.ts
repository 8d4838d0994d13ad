/**
 * Percentiles with DDSketch (@datadog/sketches-js): values fall into logarithmic buckets whose
 * width is a fixed fraction of their value (relative accuracy, default 1%), so a sketch is a
 * map bucket -> count. Merging two sketches adds counts: exact, associative and commutative,
 * which is what lets Redis merge them inside the atomic batch script with plain additions (the
 * library's own `merge` drops negative values in 2.1.1, so we rebuild sketches from counts).
 *
 * Bucket names: `p<key>` for positive values, `n<key>` for negative ones (key of |v|), `z` for
 * values too close to zero to tell apart from it.
 */
import { DDSketch } from '@datadog/sketches-js';

export const DEFAULT_RELATIVE_ACCURACY = 0.01;

const sketchByAccuracy = new Map<number, DDSketch>();

/** A sketch used only for its key mapping (the mapping is immutable). */
function mappingSketch(relativeAccuracy: number): DDSketch {
  let sketch = sketchByAccuracy.get(relativeAccuracy);
  if (!sketch) {
    sketch = new DDSketch({ relativeAccuracy });
    sketchByAccuracy.set(relativeAccuracy, sketch);
  }
  return sketch;
}

export function bucketOf(value: number, relativeAccuracy: number): string {
  const { mapping } = mappingSketch(relativeAccuracy);
  if (value > mapping.minPossible) return `p${mapping.key(value)}`;
  if (value < -mapping.minPossible) return `n${mapping.key(-value)}`;
  return 'z';
}

const BUCKET = /^(?:([pn])(-?\d+)|z)$/;

export function isBucketName(name: string): boolean {
  return BUCKET.test(name);
}

/** A DDSketch holding these bucket counts (unknown bucket names are ignored). */
export function sketchOf(buckets: ReadonlyMap<string, number>, relativeAccuracy: number): DDSketch {
  const sketch = new DDSketch({ relativeAccuracy });
  let count = 0;
  for (const [name, weight] of buckets) {
    const match = BUCKET.exec(name);
    if (!match || !(weight > 0)) continue;
    if (match[1] === 'p') sketch.store.add(Number(match[2]), weight);
    else if (match[1] === 'n') sketch.negativeStore.add(Number(match[2]), weight);
    else sketch.zeroCount += weight;
    count += weight;
  }
  sketch.count = count;
  return sketch;
}

/** `p50`, `p99.9` for 0.5, 0.999. */
export function percentileName(quantile: number): string {
  return `p${Number((quantile * 100).toFixed(6))}`;
}

/**
 * The values at `quantiles` (0..1), within the relative accuracy, clamped to the exact min and
 * max (a bucket's representative value can lie just outside what was seen).
 */
export function percentilesOf(buckets: ReadonlyMap<string, number>, relativeAccuracy: number, quantiles: readonly number[], min: number, max: number): Record<string, number> {
  const sketch = sketchOf(buckets, relativeAccuracy);
  const out: Record<string, number> = {};
  if (sketch.count === 0) return out;
  for (const quantile of quantiles) {
    const value = sketch.getValueAtQuantile(quantile);
    out[percentileName(quantile)] = Math.min(max, Math.max(min, value));
  }
  return out;
}
