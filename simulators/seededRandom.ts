/**
 * A seeded pseudo-random generator of our own (mulberry32), so a fleet run with the same seed
 * produces exactly the same readings, anomalies and faults on any machine and Node version
 * (Math.random cannot be seeded). Each device gets independent streams derived from
 * (seed, device index, purpose), so adding a fault does not change the signal values.
 */
export interface SeededRandom {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [min, max). */
  between(min: number, max: number): number;
  /** Integer uniform in [min, max] (both inclusive). */
  integer(min: number, max: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** Normal with the given mean and standard deviation (Box-Muller). */
  normal(mean?: number, stdDev?: number): number;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** +1 or -1 with equal probability. */
  sign(): 1 | -1;
}

/** FNV-1a over the text form of the parts: turns (seed, index, purpose) into a 32-bit seed. */
export function hashSeed(...parts: Array<string | number>): number {
  let hash = 0x811c9dc5;
  const text = parts.join('\u0000');
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function createSeededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  // mulberry32: small, fast, passes the usual statistical batteries well enough for simulation.
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spareNormal: number | null = null;
  const random: SeededRandom = {
    next,
    between: (min, max) => min + (max - min) * next(),
    integer: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => p > 0 && next() < p,
    normal: (mean = 0, stdDev = 1) => {
      if (spareNormal !== null) {
        const value = spareNormal;
        spareNormal = null;
        return mean + stdDev * value;
      }
      // 1 - next() is in (0, 1], so the log is finite.
      const radius = Math.sqrt(-2 * Math.log(1 - next()));
      const angle = 2 * Math.PI * next();
      spareNormal = radius * Math.sin(angle);
      return mean + stdDev * radius * Math.cos(angle);
    },
    pick: <T>(items: readonly T[]): T => {
      const item = items[Math.floor(next() * items.length)];
      if (item === undefined) throw new RangeError('pick() needs a non-empty array');
      return item;
    },
    sign: () => (next() < 0.5 ? -1 : 1),
  };
  return random;
}

/** The independent stream for one purpose of one device of a seeded run. */
export function deviceRandom(seed: number, deviceIndex: number, purpose: string): SeededRandom {
  return createSeededRandom(hashSeed(seed, deviceIndex, purpose));
}
