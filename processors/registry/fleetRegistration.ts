/**
 * Registering a simulated fleet, so that `sluice up` starts with a registry that knows its
 * devices: each device gets a deterministic site and the thresholds of its type.
 *
 * Sites: the fleet (in index order) is dealt out to site-01..site-N in groups of T devices,
 * T being the number of device types: device i goes to site (floor(i / T) mod N) + 1. The
 * simulator gives device i type i mod T, so every group holds one device of each type and every
 * site gets an even mix. (Plain i mod N would give each site a single type whenever N = T; a
 * hash of the id spreads a small fleet unevenly.) A device's site depends only on its index, T
 * and N, so it stays put when the fleet grows.
 */
import type { Pool } from 'pg';
import { ConfigError } from '../../core/errors';
import { registerDevices } from './deviceImport';
import type { DeviceRegistration } from './deviceRegistration';
import type { UpsertCounts } from './deviceStore';

export interface FleetDeviceIdentity {
  deviceId: string;
  deviceType: string;
}

/**
 * Alert thresholds per simulated device type, in the normalized units of the metrics
 * (simulators/signals): comfort limits for a climate sensor, ISO 10816 zone C/D (7.1 mm/s)
 * for a pump's vibration, EN 50160's ±10 % around 230 V for a meter, a road speed limit.
 */
export const SIMULATED_TYPE_THRESHOLDS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  'temperature-humidity': { temperature_min: 5, temperature_max: 30, humidity_max: 80 },
  'pump-vibration': { vibrationRms_max: 7.1, bearingTemperature_max: 80 },
  'smart-meter': { powerW_max: 6000, voltage_min: 207, voltage_max: 253 },
  'gps-tracker': { speedKmh_max: 130 },
};

/** How many sites a fleet of `devices` gets by default: about five devices a site, 1..10 sites. */
export function defaultSiteCount(devices: number): number {
  return Math.max(1, Math.min(10, Math.ceil(devices / 5)));
}

/** `site-01` .. `site-<sites>` for the device at `index` of a fleet of `types` device types (see the header). */
export function fleetSiteId(index: number, types: number, sites: number): string {
  if (!Number.isInteger(sites) || sites < 1) throw new ConfigError('sites', `must be an integer >= 1, got ${String(sites)}`);
  const site = Math.floor(index / Math.max(1, types)) % sites;
  // zero-padded to at least two digits so site ids sort in order
  return `site-${String(site + 1).padStart(Math.max(2, String(sites).length), '0')}`;
}

export interface FleetRegistrationOptions {
  sites: number;
  /** thresholds by device type (default SIMULATED_TYPE_THRESHOLDS; an unknown type gets none) */
  thresholdsByType?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** Registrations of a fleet's devices, given in fleet index order. */
export function fleetRegistrations(devices: readonly FleetDeviceIdentity[], options: FleetRegistrationOptions): DeviceRegistration[] {
  const byType = options.thresholdsByType ?? SIMULATED_TYPE_THRESHOLDS;
  const types = new Set(devices.map((device) => device.deviceType)).size;
  return devices.map((device, index) => ({
    deviceId: device.deviceId,
    deviceType: device.deviceType,
    siteId: fleetSiteId(index, types, options.sites),
    thresholds: { ...byType[device.deviceType] },
  }));
}

/**
 * Registers the fleet's devices the registry does not know yet. Devices already registered are
 * left as they are (counted unchanged), so what a user imported for them survives `sluice up`;
 * running it again changes nothing.
 */
export async function registerFleetDevices(pool: Pool, devices: readonly FleetDeviceIdentity[], options: FleetRegistrationOptions): Promise<UpsertCounts> {
  return registerDevices(pool, fleetRegistrations(devices, options), 'keep');
}
