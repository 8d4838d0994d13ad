import type { FleetOptions } from './fleetOptions';
import { encodeReadingJson } from './readingPayload';
import { SimulatedDevice } from './simulatedDevice';

/** `dev-0007`: zero-padded so ids sort in index order (at least 4 digits). */
export function deviceIdFor(prefix: string, index: number, devices: number): string {
  const width = Math.max(4, String(Math.max(0, devices - 1)).length);
  return `${prefix}-${String(index).padStart(width, '0')}`;
}

type DeviceModelOptions = Pick<
  FleetOptions,
  | 'devices'
  | 'seed'
  | 'deviceTypes'
  | 'deviceIdPrefix'
  | 'firstSeq'
  | 'topicPrefix'
  | 'anomalyRate'
  | 'anomalyKinds'
  | 'faults'
  | 'oversizeBytes'
  | 'clockSkewMaxMs'
  | 'offlineReadings'
> &
  Partial<Pick<FleetOptions, 'payload' | 'encodeReading'>>;

/**
 * The fleet's devices, without any connection: device i has type deviceTypes[i % n], so a fleet
 * is an even mix. Pure and deterministic for the seed; tests and dry runs use it directly.
 */
export function createFleetDevices(options: DeviceModelOptions): SimulatedDevice[] {
  const devices: SimulatedDevice[] = [];
  for (let index = 0; index < options.devices; index += 1) {
    const deviceId = deviceIdFor(options.deviceIdPrefix, index, options.devices);
    // wrong-topic publishes on the next device's topic (or a made-up one in a fleet of one).
    const impostorTargetId =
      options.devices > 1 ? deviceIdFor(options.deviceIdPrefix, (index + 1) % options.devices, options.devices) : `${deviceId}-other`;
    devices.push(
      new SimulatedDevice({
        seed: options.seed,
        index,
        deviceId,
        deviceType: options.deviceTypes[index % options.deviceTypes.length] ?? 'temperature-humidity',
        topicPrefix: options.topicPrefix,
        anomalies: { rate: options.anomalyRate, kinds: options.anomalyKinds },
        faults: options.faults,
        oversizeBytes: options.oversizeBytes,
        clockSkewMaxMs: options.clockSkewMaxMs,
        offlineReadings: options.offlineReadings,
        impostorTargetId,
        firstSeq: options.firstSeq,
        encode: options.payload === 'avro' && options.encodeReading ? options.encodeReading : encodeReadingJson,
      }),
    );
  }
  return devices;
}
