/**
 * Derived metrics against published reference values and the physics they must obey.
 */
import fc from 'fast-check';
import { absoluteHumidity, dewPoint, withDerivedMetrics } from '../../../processors/transform/derivedMetrics';

const temperature = fc.double({ min: -45, max: 60, noNaN: true });
const humidity = fc.double({ min: 1, max: 100, noNaN: true });

describe('derived metrics', () => {
  it.each([
    // (T °C, RH %) -> dew point °C and absolute humidity g/m³ from psychrometric tables (±0.1 °C, ±0.1 g/m³)
    [20, 50, 9.3, 8.6],
    [25, 60, 16.7, 13.8],
    [30, 80, 26.2, 24.3],
    [0, 100, 0, 4.8],
  ])('T %d °C, RH %d %% gives dew point ≈ %d °C and ≈ %d g/m³', (t, rh, expectedDewPoint, expectedAbsolute) => {
    const derived = withDerivedMetrics({ temperature: t, humidity: rh });
    expect(Math.abs((derived.dewPoint as number) - expectedDewPoint)).toBeLessThanOrEqual(0.1);
    expect(Math.abs((derived.absoluteHumidity as number) - expectedAbsolute)).toBeLessThanOrEqual(0.1);
  });

  it('dew point is at most the temperature, equal to it at saturation, and grows with humidity', () => {
    fc.assert(
      fc.property(temperature, humidity, humidity, (t, a, b) => {
        expect(dewPoint(t, a)).toBeLessThanOrEqual(t + 1e-9);
        expect(dewPoint(t, 100)).toBeCloseTo(t, 9);
        if (a < b) expect(dewPoint(t, a)).toBeLessThanOrEqual(dewPoint(t, b) + 1e-9);
        if (b - a >= 0.01) expect(dewPoint(t, a)).toBeLessThan(dewPoint(t, b));
        expect(absoluteHumidity(t, a)).toBeGreaterThan(0);
      }),
    );
  });

  it('derives nothing outside the formulas range, or without both inputs', () => {
    expect(withDerivedMetrics({ temperature: 70, humidity: 50 })).toEqual({ temperature: 70, humidity: 50 });
    expect(withDerivedMetrics({ temperature: 20, humidity: 0 })).toEqual({ temperature: 20, humidity: 0 });
    expect(withDerivedMetrics({ temperature: 20, humidity: 120 })).toEqual({ temperature: 20, humidity: 120 });
    expect(withDerivedMetrics({ temperature: 20 })).toEqual({ temperature: 20 });
    expect(withDerivedMetrics({ powerW: 500, energyWh: 1234, voltage: 230 })).toEqual({ powerW: 500, energyWh: 1234, voltage: 230 });
  });

  it('never overwrites a metric the device reported itself', () => {
    expect(withDerivedMetrics({ temperature: 20, humidity: 50, dewPoint: 3 })).toMatchObject({ dewPoint: 3 });
  });
});
