import type { SeededRandom } from '../seededRandom';
import { clamp, roundTo } from './signalModel';
import type { SignalModel, SignalSample } from './signalModel';

const EARTH_RADIUS_M = 6_371_000;
const DEG = Math.PI / 180;

interface Waypoint {
  lat: number;
  lon: number;
}

/** Metres between two nearby points (equirectangular: exact enough for a few kilometres). */
function distanceM(a: Waypoint, b: Waypoint): number {
  const x = (b.lon - a.lon) * DEG * Math.cos(((a.lat + b.lat) / 2) * DEG);
  const y = (b.lat - a.lat) * DEG;
  return Math.sqrt(x * x + y * y) * EARTH_RADIUS_M;
}

function bearingDeg(a: Waypoint, b: Waypoint): number {
  const x = (b.lon - a.lon) * Math.cos(((a.lat + b.lat) / 2) * DEG);
  const y = b.lat - a.lat;
  return (Math.atan2(x, y) / DEG + 360) % 360;
}

/** Starting areas: a few cities, so map views look plausible. */
const HOME_AREAS: readonly Waypoint[] = [
  { lat: 52.52, lon: 13.405 },
  { lat: 48.8566, lon: 2.3522 },
  { lat: 51.5072, lon: -0.1276 },
  { lat: 40.4168, lon: -3.7038 },
  { lat: 59.3293, lon: 18.0686 },
];

/**
 * A vehicle tracker driving a closed loop of waypoints around a city: speed eases towards a
 * target that changes (traffic, stops at lights), position advances by speed x time between
 * readings, and the battery drains (faster while moving) until it is plugged in again.
 */
export function createGpsTrackerSignal(random: SeededRandom): SignalModel {
  const home = random.pick(HOME_AREAS);
  const center: Waypoint = { lat: home.lat + random.normal(0, 0.03), lon: home.lon + random.normal(0, 0.05) };
  const waypoints: Waypoint[] = [];
  const waypointCount = random.integer(6, 14);
  for (let i = 0; i < waypointCount; i += 1) {
    const angle = (2 * Math.PI * i) / waypointCount + random.normal(0, 0.2);
    const radiusDeg = random.between(0.01, 0.05);
    waypoints.push({ lat: center.lat + radiusDeg * Math.cos(angle), lon: center.lon + 1.5 * radiusDeg * Math.sin(angle) });
  }
  const baseAltitude = random.between(20, 300);
  let segment = 0;
  let metresIntoSegment = 0;
  let speedMs = 0;
  let targetSpeedMs = random.between(5, 20);
  let battery = random.between(40, 100);
  let previousTime: number | null = null;

  const waypoint = (index: number): Waypoint => waypoints[index % waypoints.length] as Waypoint;

  return {
    deviceType: 'gps-tracker',
    primaryMetric: 'speedKmh',
    anomalyScale: 60,
    firmware: `gt-${random.integer(3, 5)}.${random.integer(0, 9)}.${random.integer(0, 20)}`,
    next(eventTime: number): SignalSample {
      const elapsedS = previousTime === null ? 0 : Math.max(0, eventTime - previousTime) / 1000;
      previousTime = previousTime === null ? eventTime : Math.max(previousTime, eventTime);
      if (random.chance(0.03)) targetSpeedMs = random.chance(0.25) ? 0 : random.between(4, 28);
      // Ease towards the target: vehicles do not jump between speeds.
      const ease = clamp(elapsedS / 10, 0.05, 1);
      speedMs = Math.max(0, speedMs + (targetSpeedMs - speedMs) * ease + random.normal(0, 0.2));
      metresIntoSegment += speedMs * elapsedS;
      let from = waypoint(segment);
      let to = waypoint(segment + 1);
      let segmentLength = distanceM(from, to);
      while (metresIntoSegment >= segmentLength) {
        metresIntoSegment -= segmentLength;
        segment = (segment + 1) % waypoints.length;
        from = waypoint(segment);
        to = waypoint(segment + 1);
        segmentLength = distanceM(from, to);
      }
      const fraction = segmentLength > 0 ? metresIntoSegment / segmentLength : 0;
      const lat = from.lat + (to.lat - from.lat) * fraction;
      const lon = from.lon + (to.lon - from.lon) * fraction;
      const moving = speedMs > 0.5;
      battery -= (elapsedS / 3600) * (moving ? 4 : 0.5) + 0.0005;
      if (battery < 5) battery = 100; // plugged in at the depot
      return {
        metrics: {
          speedKmh: roundTo(speedMs * 3.6, 1),
          headingDeg: roundTo(bearingDeg(from, to), 1),
          satellites: random.integer(moving ? 6 : 4, 12),
        },
        location: {
          lat: roundTo(lat + random.normal(0, 0.00002), 6),
          lon: roundTo(lon + random.normal(0, 0.00002), 6),
          alt: roundTo(baseAltitude + random.normal(0, 2), 1),
        },
        battery: roundTo(battery, 2),
      };
    },
  };
}

