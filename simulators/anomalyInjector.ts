import type { SeededRandom } from './seededRandom';
import { roundTo } from './signals/signalModel';

export const ANOMALY_KINDS = ['spike', 'step', 'stuck', 'flatline'] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

export interface AnomalyOptions {
  /** Probability, per reading without an anomaly in progress, that one starts. */
  rate: number;
  kinds: readonly AnomalyKind[];
}

interface ActiveAnomaly {
  kind: AnomalyKind;
  readingsLeft: number;
  /** step: offset added; stuck: the frozen value. */
  value: number;
}

/**
 * Puts the faults of real sensors on a device's primary metric, so alert rules have something
 * to find: a spike (one wild reading), a step change (the level shifts and stays shifted for a
 * while, e.g. a recalibration or a blocked pipe), a stuck value (the last reading repeated, a
 * frozen ADC), a flatline (zeros, a disconnected probe).
 */
export class AnomalyInjector {
  private active: ActiveAnomaly | null = null;
  private lastValue: number | null = null;

  constructor(
    private readonly random: SeededRandom,
    private readonly options: AnomalyOptions,
    private readonly metric: string,
    private readonly scale: number,
  ) {}

  /** Changes `metrics[metric]` in place when an anomaly is in progress; returns which one. */
  apply(metrics: Record<string, number>): { kind: AnomalyKind; started: boolean } | null {
    const original = metrics[this.metric];
    if (original === undefined) return null;
    let started = false;
    if (this.active === null && this.options.kinds.length > 0 && this.random.chance(this.options.rate)) {
      this.active = this.start(this.random.pick(this.options.kinds), original);
      started = true;
    }
    const active = this.active;
    if (active === null) {
      this.lastValue = original;
      return null;
    }
    let value: number;
    switch (active.kind) {
      case 'spike':
      case 'step':
        value = original + active.value;
        break;
      case 'stuck':
        value = active.value;
        break;
      case 'flatline':
        value = 0;
        break;
    }
    metrics[this.metric] = roundTo(value, 3);
    this.lastValue = metrics[this.metric] ?? value;
    active.readingsLeft -= 1;
    if (active.readingsLeft <= 0) this.active = null;
    return { kind: active.kind, started };
  }

  private start(kind: AnomalyKind, current: number): ActiveAnomaly {
    switch (kind) {
      case 'spike':
        return { kind, readingsLeft: 1, value: this.scale * this.random.between(3, 5) };
      case 'step':
        return { kind, readingsLeft: this.random.integer(20, 60), value: this.random.sign() * this.scale * this.random.between(1, 2) };
      case 'stuck':
        return { kind, readingsLeft: this.random.integer(10, 30), value: this.lastValue ?? current };
      case 'flatline':
        return { kind, readingsLeft: this.random.integer(10, 30), value: 0 };
    }
  }
}
