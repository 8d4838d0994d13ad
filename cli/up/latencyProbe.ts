/**
 * End-to-end latency as a user sees it: from a reading's event time on the device to the moment
 * its value is visible in Redis (the aggregate processor's latest-values hash). The probe listens
 * on the aggregate's update channel and, after each applied batch, reads the devices' latest
 * values; each newly visible reading is one sample (the newest of its device in that batch, so
 * the figures lean to the fresh end of a batch).
 */
import type Redis from 'ioredis';
import { AggregateKeys } from '../../processors/aggregate/aggregateKeys';
import { LatencyHistogram } from '../../simulators/latencyHistogram';
import type { LatencySummary } from '../../simulators/latencyHistogram';

export type { LatencySummary };

/** The newest (seq, event time) in a latest-values hash whose fields hold "value,time,seq". */
export function newestOf(hash: Record<string, string>): { seq: number; time: number } | undefined {
  let newest: { seq: number; time: number } | undefined;
  for (const value of Object.values(hash)) {
    const parts = value.split(',');
    if (parts.length !== 3) continue;
    const time = Number(parts[1]);
    const seq = Number(parts[2]);
    if (!Number.isFinite(time) || !Number.isFinite(seq)) continue;
    if (!newest || seq > newest.seq) newest = { seq, time };
  }
  return newest;
}

export class LatencyProbe {
  private readonly histogram = new LatencyHistogram();
  private interval = new LatencyHistogram();
  private readonly lastSeq = new Map<string, number>();
  private readonly keys: AggregateKeys;
  private subscriber: Redis | undefined;
  private reading = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly redis: Redis, keyPrefix: string, private readonly deviceIds: readonly string[]) {
    this.keys = new AggregateKeys(keyPrefix);
  }

  start(): void {
    this.subscriber = this.redis.duplicate();
    this.subscriber.on('error', () => undefined);
    void this.subscriber.subscribe(this.keys.updatesChannel()).catch(() => undefined);
    this.subscriber.on('message', () => this.sample());
    // a safety net if no update message comes (e.g. a processor that publishes none)
    this.timer = setInterval(() => this.sample(), 500);
  }

  private sample(): void {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    void this.readLatest().finally(() => {
      this.reading = false;
      if (this.again) {
        this.again = false;
        this.sample();
      }
    });
  }

  private async readLatest(): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const deviceId of this.deviceIds) pipeline.hgetall(this.keys.latest(deviceId));
    const replies = (await pipeline.exec().catch(() => null)) ?? [];
    const now = Date.now();
    replies.forEach(([error, hash], index) => {
      const deviceId = this.deviceIds[index];
      if (error || !deviceId || !hash) return;
      const newest = newestOf(hash as Record<string, string>);
      if (!newest) return;
      const previous = this.lastSeq.get(deviceId);
      this.lastSeq.set(deviceId, newest.seq);
      // the first sight of a device may be a value from before the probe started: not a sample
      if (previous === undefined || newest.seq <= previous) return;
      const latency = Math.max(0, now - newest.time);
      this.histogram.recordMs(latency);
      this.interval.recordMs(latency);
    });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.subscriber?.disconnect();
  }

  summary(): LatencySummary {
    return this.histogram.summary();
  }

  /** The samples since the last call (a load test's latency over time). */
  takeInterval(): LatencySummary {
    const summary = this.interval.summary();
    this.interval = new LatencyHistogram();
    return summary;
  }
}
