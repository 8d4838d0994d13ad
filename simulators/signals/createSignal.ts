import type { SeededRandom } from '../seededRandom';
import { createGpsTrackerSignal } from './gpsTrackerSignal';
import { createPumpVibrationSignal } from './pumpVibrationSignal';
import type { DeviceType, SignalModel } from './signalModel';
import { createSmartMeterSignal } from './smartMeterSignal';
import { createTemperatureHumiditySignal } from './temperatureHumiditySignal';

const SIGNAL_FACTORIES: Record<DeviceType, (random: SeededRandom) => SignalModel> = {
  'temperature-humidity': createTemperatureHumiditySignal,
  'pump-vibration': createPumpVibrationSignal,
  'smart-meter': createSmartMeterSignal,
  'gps-tracker': createGpsTrackerSignal,
};

export function createSignal(deviceType: DeviceType, random: SeededRandom): SignalModel {
  return SIGNAL_FACTORIES[deviceType](random);
}
