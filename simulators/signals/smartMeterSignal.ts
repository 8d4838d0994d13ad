import type { SeededRandom } from '../seededRandom';
import { MS_PER_HOUR, hourOfDay, roundTo } from './signalModel';
import type { SignalModel, SignalSample } from './signalModel';

/**
 * A household electricity meter: power follows a base load with morning and evening peaks and
 * appliances switching on and off; the energy register only ever counts up (it integrates
 * power over the time between readings, never backwards even if the clock is).
 */
export function createSmartMeterSignal(random: SeededRandom): SignalModel {
  const baseLoadW = random.between(120, 400);
  const peakLoadW = random.between(800, 2500);
  const nominalVoltage = random.pick([230, 230, 230, 240]);
  let energyWh = Math.round(random.between(100_000, 10_000_000));
  let previousTime: number | null = null;
  let applianceW = 0;

  return {
    deviceType: 'smart-meter',
    primaryMetric: 'powerW',
    anomalyScale: 3000,
    firmware: `sm-${random.integer(1, 2)}.${random.integer(0, 9)}.${random.integer(0, 20)}`,
    next(eventTime: number): SignalSample {
      const hour = hourOfDay(eventTime);
      const morningPeak = Math.exp(-((hour - 7.5) ** 2) / 2);
      const eveningPeak = Math.exp(-((hour - 19) ** 2) / 4);
      // An appliance (kettle, oven, washing machine) switches on or off now and then.
      if (random.chance(0.02)) applianceW = applianceW > 0 ? 0 : random.pick([700, 1200, 2000, 2200]);
      const powerW = Math.max(
        0,
        baseLoadW + peakLoadW * (0.6 * morningPeak + eveningPeak) + applianceW + random.normal(0, 15),
      );
      const elapsedMs = previousTime === null ? 0 : Math.max(0, eventTime - previousTime);
      previousTime = previousTime === null ? eventTime : Math.max(previousTime, eventTime);
      energyWh += (powerW * elapsedMs) / MS_PER_HOUR;
      return {
        metrics: {
          powerW: roundTo(powerW, 1),
          energyWh: roundTo(energyWh, 3),
          voltage: roundTo(nominalVoltage + random.normal(0, 1.5), 1),
        },
      };
    },
  };
}
