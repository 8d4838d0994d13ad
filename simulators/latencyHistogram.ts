import * as hdr from 'hdr-histogram-js';

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
  count: number;
}

/** Publish-to-ack latencies, recorded in microseconds (HdrHistogram, 3 significant digits), reported in ms. */
export class LatencyHistogram {
  private readonly histogram = hdr.build({ lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3, autoResize: true, useWebAssembly: false });

  recordMs(latencyMs: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(latencyMs * 1000)));
  }

  summary(): LatencySummary {
    const toMs = (micros: number): number => Math.round(micros) / 1000;
    const count = this.histogram.totalCount;
    if (count === 0) return { p50: 0, p95: 0, p99: 0, max: 0, mean: 0, count: 0 };
    return {
      p50: toMs(this.histogram.getValueAtPercentile(50)),
      p95: toMs(this.histogram.getValueAtPercentile(95)),
      p99: toMs(this.histogram.getValueAtPercentile(99)),
      max: toMs(this.histogram.maxValue),
      mean: toMs(this.histogram.mean),
      count,
    };
  }
}
