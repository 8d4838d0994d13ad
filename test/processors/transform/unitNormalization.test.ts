/**
 * Unit normalization: the rule table converts what it names, leaves everything else alone, and
 * the simulated fleet's own metrics (already canonical) pass unchanged.
 */
import fc from 'fast-check';
import { normalizeUnits, unitConversionOf } from '../../../processors/transform/unitNormalization';
import { createFleetDevices } from '../../../simulators/fleetDevices';
import { FLEET_DEFAULTS } from '../../../simulators/fleetOptions';

const finiteValue = fc.double({ min: -1e6, max: 1e6, noNaN: true });

describe('normalizeUnits', () => {
  it('leaves every metric of the simulated fleet unchanged (they are in canonical units already)', () => {
    const devices = createFleetDevices({ ...FLEET_DEFAULTS, devices: 8, seed: 3 });
    let readings = 0;
    for (const device of devices) {
      for (let i = 0; i < 20; i += 1) {
        for (const message of device.read(1_700_000_000_000 + i * 60_000)) {
          const metrics = (JSON.parse(message.payload.toString('utf8')) as { metrics: Record<string, number> }).metrics;
          expect(normalizeUnits(metrics)).toEqual(metrics);
          readings += 1;
        }
      }
    }
    expect(readings).toBeGreaterThanOrEqual(8 * 20);
  });

  it.each([
    ['temperatureF', 212, 'temperature', 100],
    ['temperatureF', 69.8, 'temperature', 21],
    ['bearingTemperatureFahrenheit', 32, 'bearingTemperature', 0],
    ['outdoor_temp_f', -40, 'outdoor_temp', -40],
    ['temperatureK', 273.15, 'temperature', 0],
    ['temp_kelvin', 300, 'temp', 26.85],
    ['energyKwh', 1.5, 'energyWh', 1500],
    ['energy_kwh', 2, 'energy_wh', 2000],
    ['energyMWh', 0.25, 'energyWh', 250_000],
    ['powerKw', 2.2, 'powerW', 2200],
    ['power_kw', 0.5, 'power_w', 500],
    ['speedMph', 60, 'speedKmh', 96.56064],
    ['speedMps', 10, 'speedKmh', 36],
    ['speed_knots', 10, 'speed_kmh', 18.52],
    ['vibrationRmsIps', 0.1, 'vibrationRms', 2.54],
  ])('converts %s = %d to %s = %d', (name, value, canonical, expected) => {
    expect(normalizeUnits({ [name]: value })).toEqual({ [canonical]: expected });
  });

  it.each(['temperature', 'rpmK', 'powerW', 'energyWh', 'speedKmh', 'satellites', 'headingDeg', 'F', 'TF', 'statusFlag_f', 'k_f'])('leaves %s alone', (name) => {
    expect(unitConversionOf(name)).toBeUndefined();
    expect(normalizeUnits({ [name]: 7 })).toEqual({ [name]: 7 });
  });

  it('keeps the value the device reported in the canonical unit when it also sent a convertible one', () => {
    expect(normalizeUnits({ temperature: 20, temperatureF: 100, humidity: 40 })).toEqual({ temperature: 20, humidity: 40 });
    expect(normalizeUnits({ temperatureF: 100, temperature: 20 })).toEqual({ temperature: 20 });
  });

  it('°F to °C and back gives the value it started from (to the 12 significant digits kept), for any temperature', () => {
    fc.assert(
      fc.property(finiteValue, (fahrenheit) => {
        const celsius = normalizeUnits({ temperatureF: fahrenheit }).temperature as number;
        expect(Math.abs((celsius * 9) / 5 + 32 - fahrenheit)).toBeLessThanOrEqual(1e-10 * Math.max(1, Math.abs(fahrenheit)));
      }),
    );
  });

  it('is idempotent: normalized metrics normalize to themselves', () => {
    const base = fc.constantFrom('temperature', 'bearingTemperature', 'temp_outdoor', 'energy', 'power', 'speed', 'vibrationRms', 'humidity');
    const suffix = fc.constantFrom('', 'F', '_f', 'K', 'Kelvin', 'Kwh', '_kwh', 'Kw', 'Mph', 'Mps', '_knots', 'Ips', 'Wh', 'W', 'Kmh');
    const metrics = fc.dictionary(fc.tuple(base, suffix).map(([b, s]) => b + s), finiteValue, { maxKeys: 6 });
    fc.assert(
      fc.property(metrics, (input) => {
        const once = normalizeUnits(input);
        expect(normalizeUnits(once)).toEqual(once);
        for (const name of Object.keys(once)) expect(unitConversionOf(name)).toBeUndefined();
      }),
    );
  });

  it('never drops a metric that has no canonical twin in the same reading', () => {
    const names = fc.constantFrom('temperatureF', 'humidity', 'energyKwh', 'powerW', 'speedMph', 'rpm');
    fc.assert(
      fc.property(fc.dictionary(names, finiteValue, { maxKeys: 6 }), (input) => {
        expect(Object.keys(normalizeUnits(input)).length).toBe(Object.keys(input).length);
      }),
    );
  });
});
