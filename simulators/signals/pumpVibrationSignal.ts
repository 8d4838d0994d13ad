import type { SeededRandom } from '../seededRandom';
import { roundTo } from './signalModel';
import type { SignalModel, SignalSample } from './signalModel';

/**
 * An accelerometer on a centrifugal pump: a steady RMS vibration baseline (ISO 10816 "good" is
 * below ~2.8 mm/s for such machines) with short bursts when the pump starts, cavitates or a
 * valve slams; the bearing warms with the vibration.
 */
export function createPumpVibrationSignal(random: SeededRandom): SignalModel {
  const baselineRms = random.between(1.2, 2.6);
  const nominalRpm = random.pick([1450, 1475, 2900, 2950]);
  const ambientBearing = random.between(38, 50);
  // Bursts are normal operation, not anomalies: a few per thousand readings, a few readings long.
  const burstProbability = 0.004;
  let burstLeft = 0;
  let burstGain = 1;

  return {
    deviceType: 'pump-vibration',
    primaryMetric: 'vibrationRms',
    anomalyScale: 6,
    firmware: `pv-${random.integer(2, 4)}.${random.integer(0, 9)}.${random.integer(0, 20)}`,
    next(_eventTime: number): SignalSample {
      if (burstLeft === 0 && random.chance(burstProbability)) {
        burstLeft = random.integer(3, 15);
        burstGain = random.between(1.8, 3.5);
      }
      const gain = burstLeft > 0 ? burstGain : 1;
      if (burstLeft > 0) burstLeft -= 1;
      const vibrationRms = Math.max(0.05, baselineRms * gain + random.normal(0, 0.08));
      const peakAcceleration = Math.max(0.01, vibrationRms * 0.35 + random.normal(0, 0.05));
      const rpm = nominalRpm + random.normal(0, 4);
      const bearingTemperature = ambientBearing + 2.5 * vibrationRms + random.normal(0, 0.2);
      return {
        metrics: {
          vibrationRms: roundTo(vibrationRms, 3),
          peakAcceleration: roundTo(peakAcceleration, 3),
          rpm: roundTo(rpm, 1),
          bearingTemperature: roundTo(bearingTemperature, 2),
        },
      };
    },
  };
}
