/**
 * Metrics computed from one reading's own normalized metrics, nothing else: a processor that
 * keeps no state between invocations can only derive what a single reading determines.
 *
 * | metric             | from                              | formula                                                    |
 * |--------------------|-----------------------------------|------------------------------------------------------------|
 * | dewPoint (°C)      | temperature (°C), humidity (%)    | Magnus, Alduchov & Eskridge (1996): a = 17.625, b = 243.04 °C |
 * | absoluteHumidity (g/m³) | temperature (°C), humidity (%) | e = RH/100 · 6.1094 · exp(aT/(b+T)) hPa; ρ = 216.68 · e / (T + 273.15) |
 *
 * Both only for -45 °C <= temperature <= 60 °C (where those coefficients hold to ~0.35 °C) and
 * 0 % < humidity <= 100 %; outside it a reading gets no derived value rather than a wrong one.
 * A metric the device reports itself is never overwritten.
 *
 * Deliberately not derived, because one reading does not determine them: power from a meter's
 * energy counter (needs the previous reading; the aggregate's first/last values per window
 * give the average power: (lastValue − firstValue) / (lastTime − firstTime)), and speed from
 * GPS positions (needs the previous position; trackers report speedKmh themselves).
 */

const MAGNUS_A = 17.625;
const MAGNUS_B = 243.04;
const MAGNUS_E0_HPA = 6.1094;
/** 100 Pa/hPa · 1000 g/kg / R_v (461.5 J/(kg·K)) */
const VAPOUR_DENSITY_FACTOR = 216.68;

export const DERIVED_METRICS = ['dewPoint', 'absoluteHumidity'] as const;

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

function inMagnusRange(temperature: number | undefined, humidity: number | undefined): boolean {
  return temperature !== undefined && humidity !== undefined && temperature >= -45 && temperature <= 60 && humidity > 0 && humidity <= 100;
}

export function dewPoint(temperature: number, humidity: number): number {
  const gamma = Math.log(humidity / 100) + (MAGNUS_A * temperature) / (MAGNUS_B + temperature);
  return (MAGNUS_B * gamma) / (MAGNUS_A - gamma);
}

export function absoluteHumidity(temperature: number, humidity: number): number {
  const vapourPressure = (humidity / 100) * MAGNUS_E0_HPA * Math.exp((MAGNUS_A * temperature) / (MAGNUS_B + temperature));
  return (VAPOUR_DENSITY_FACTOR * vapourPressure) / (temperature + 273.15);
}

/** The metrics with the derived ones added (a new object). */
export function withDerivedMetrics(metrics: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = { ...metrics };
  const { temperature, humidity } = metrics;
  if (inMagnusRange(temperature, humidity)) {
    const t = temperature as number;
    const rh = humidity as number;
    if (!Object.hasOwn(out, 'dewPoint')) out.dewPoint = round(dewPoint(t, rh), 2);
    if (!Object.hasOwn(out, 'absoluteHumidity')) out.absoluteHumidity = round(absoluteHumidity(t, rh), 3);
  }
  return out;
}
