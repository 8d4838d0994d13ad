import type { SeededRandom } from '../seededRandom';
import { MS_PER_DAY, clamp, hourOfDay, roundTo } from './signalModel';
import type { SignalModel, SignalSample } from './signalModel';

/**
 * An indoor/outdoor climate sensor: temperature follows a daily cycle peaking mid-afternoon,
 * plus sensor noise and a slow per-device drift (ageing sensors drift by a fraction of a degree
 * a day); relative humidity moves against temperature, as it does in a closed volume of air.
 */
export function createTemperatureHumiditySignal(random: SeededRandom): SignalModel {
  const baseTemperature = random.between(16, 26);
  const dailyAmplitude = random.between(1.5, 6);
  const driftPerDay = random.normal(0, 0.3);
  const baseHumidity = random.between(35, 65);
  let firstTime: number | null = null;
  let battery = random.between(60, 100);

  return {
    deviceType: 'temperature-humidity',
    primaryMetric: 'temperature',
    anomalyScale: 8,
    firmware: `th-${random.integer(1, 3)}.${random.integer(0, 9)}.${random.integer(0, 20)}`,
    next(eventTime: number): SignalSample {
      firstTime ??= eventTime;
      const days = (eventTime - firstTime) / MS_PER_DAY;
      // Peak at 15:00, trough at 03:00.
      const cycle = dailyAmplitude * Math.sin((2 * Math.PI * (hourOfDay(eventTime) - 9)) / 24);
      const temperature = baseTemperature + cycle + driftPerDay * days + random.normal(0, 0.15);
      const humidity = clamp(baseHumidity - 2.5 * cycle + random.normal(0, 1), 0, 100);
      // A coin cell: about a percent a week, at one reading a minute.
      battery = Math.max(0, battery - 0.0001);
      return {
        metrics: { temperature: roundTo(temperature, 2), humidity: roundTo(humidity, 1) },
        battery: roundTo(battery, 2),
      };
    },
  };
}
