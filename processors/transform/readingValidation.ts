/**
 * What transform checks beyond the Avro schema. Ingest validates what devices send, but the
 * telemetry stream may have other writers, and Avro itself admits values no reading should
 * carry (NaN, a negative seq, a latitude of 1000). A reading that fails here is dead-lettered
 * as `invalid_reading` with the first problem, field path first.
 */
import type { TelemetryReading } from '../../schemas/records';

/** As in ingest: Kinesis partition keys are at most 256 characters, and deviceId is the key. */
const MAX_ID_LENGTH = 256;
/** The largest epoch ms a JS Date holds. */
const MAX_EPOCH_MS = 8.64e15;

const finite = (value: number): boolean => Number.isFinite(value);

/** The first problem of a decoded reading, or undefined when it is fine. */
export function readingProblem(reading: TelemetryReading): string | undefined {
  if (reading.deviceId === '' || reading.deviceId.length > MAX_ID_LENGTH) return `deviceId: must be 1..${MAX_ID_LENGTH} characters, got ${reading.deviceId.length}`;
  if (reading.deviceType === '' || reading.deviceType.length > MAX_ID_LENGTH) return `deviceType: must be 1..${MAX_ID_LENGTH} characters, got ${reading.deviceType.length}`;
  if (!Number.isSafeInteger(reading.seq) || reading.seq < 0) return `seq: must be an integer >= 0, got ${reading.seq}`;
  if (!Number.isSafeInteger(reading.eventTime) || Math.abs(reading.eventTime) > MAX_EPOCH_MS) return `eventTime: must be epoch ms within ±${MAX_EPOCH_MS}, got ${reading.eventTime}`;
  for (const [name, value] of Object.entries(reading.metrics)) {
    if (name === '') return 'metrics: a metric has an empty name';
    if (!finite(value)) return `metrics.${name}: must be a finite number, got ${value}`;
  }
  const location = reading.location;
  if (location) {
    if (!finite(location.lat) || location.lat < -90 || location.lat > 90) return `location.lat: must be in -90..90, got ${location.lat}`;
    if (!finite(location.lon) || location.lon < -180 || location.lon > 180) return `location.lon: must be in -180..180, got ${location.lon}`;
    if (location.alt !== undefined && location.alt !== null && !finite(location.alt)) return `location.alt: must be finite, got ${location.alt}`;
  }
  const battery = reading.battery;
  if (battery !== undefined && battery !== null && (!finite(battery) || battery < 0 || battery > 100)) return `battery: must be in 0..100, got ${battery}`;
  return undefined;
}
