import { createFleetDevices } from '../../simulators/fleetDevices';
import { FLEET_DEFAULTS } from '../../simulators/fleetOptions';
import type { FleetOptions } from '../../simulators/fleetOptions';
import type { SimulatedDevice, SimulatedMessage } from '../../simulators/simulatedDevice';

export type ModelOptions = Partial<Omit<FleetOptions, 'mqttUrl'>>;

/** 2024-03-01T00:00:00Z: a fixed start, so readings do not depend on when the test runs. */
export const FIXED_START = Date.UTC(2024, 2, 1);

/**
 * Runs the device models without MQTT: every device reads `readingsPerDevice` times, one reading
 * every `intervalMs` of simulated time, devices interleaved as the fleet does it.
 */
export function generateMessages(
  options: ModelOptions,
  readingsPerDevice: number,
  intervalMs = 60_000,
): { devices: SimulatedDevice[]; messages: SimulatedMessage[]; flushed: SimulatedMessage[] } {
  const devices = createFleetDevices({ ...FLEET_DEFAULTS, ...options });
  const messages: SimulatedMessage[] = [];
  for (let k = 0; k < readingsPerDevice; k += 1) {
    for (const device of devices) messages.push(...device.read(FIXED_START + k * intervalMs));
  }
  // Devices still offline at the end come back: their backlog is last (as the fleet does at stop).
  const flushed = devices.flatMap((device) => device.flushBacklog());
  messages.push(...flushed);
  return { devices, messages, flushed };
}

export function parsePayload(message: SimulatedMessage): Record<string, unknown> {
  return JSON.parse(message.payload.toString('utf8')) as Record<string, unknown>;
}

export function metricsOf(message: SimulatedMessage): Record<string, number> {
  return parsePayload(message).metrics as Record<string, number>;
}
