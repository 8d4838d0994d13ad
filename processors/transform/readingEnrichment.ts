/**
 * A TelemetryReading becomes an EnrichedReading: units normalized (unitNormalization.ts),
 * derived metrics added (derivedMetrics.ts), and the registry's view of the device: its type,
 * its site and its alert thresholds.
 *
 * A device the registry does not know keeps the type it reported, gets the site
 * `unassigned` and no thresholds (null; a registered device without thresholds gets {}).
 * Whether such a reading is emitted at all is the handler's choice (SLUICE_UNKNOWN_DEVICES).
 */
import type { RegisteredDevice } from '../registry/deviceRegistration';
import type { EnrichedReading, TelemetryReading } from '../../schemas/records';
import { withDerivedMetrics } from './derivedMetrics';
import { normalizeUnits } from './unitNormalization';

export const UNASSIGNED_SITE = 'unassigned';

export function enrichReading(reading: TelemetryReading, device: RegisteredDevice | null, transformTime: number): EnrichedReading {
  return {
    deviceId: reading.deviceId,
    deviceType: device?.deviceType ?? reading.deviceType,
    siteId: device?.siteId ?? UNASSIGNED_SITE,
    eventTime: reading.eventTime,
    seq: reading.seq,
    metrics: withDerivedMetrics(normalizeUnits(reading.metrics)),
    location: reading.location ?? null,
    battery: reading.battery ?? null,
    firmware: reading.firmware ?? null,
    ingestTime: reading.ingestTime ?? null,
    transformTime,
    thresholds: device ? { ...device.thresholds } : null,
  };
}
