import { createSeededRandom, hashSeed } from '../../simulators/seededRandom';
import type { DeviceType } from '../../simulators/signals/signalModel';
import { FIXED_START, generateMessages, metricsOf, parsePayload } from './generateMessages';
import type { ModelOptions } from './generateMessages';

const HOUR = 3_600_000;

/** One assertion over all values (thousands of expect() calls make jest crawl). */
function expectWithin(values: Array<number | undefined>, min: number, max: number): void {
  const numbers = values.map((value) => value ?? Number.NaN);
  expect(numbers.every((value) => Number.isFinite(value))).toBe(true);
  expect(Math.min(...numbers)).toBeGreaterThanOrEqual(min);
  expect(Math.max(...numbers)).toBeLessThanOrEqual(max);
}

function readingsOf(deviceType: DeviceType, options: ModelOptions = {}, count = 2 * 24 * 60) {
  const { messages } = generateMessages({ devices: 4, deviceTypes: [deviceType], ...options }, count);
  return messages.map((message) => ({ message, payload: parsePayload(message), metrics: metricsOf(message) }));
}

describe('seeded random', () => {
  it('repeats the same sequence for the same seed and a different one for another seed', () => {
    const draw = (seed: number) => {
      const random = createSeededRandom(seed);
      return Array.from({ length: 100 }, () => random.next());
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(42).every((value) => value >= 0 && value < 1)).toBe(true);
  });

  it('draws normals with about the asked mean and standard deviation', () => {
    const random = createSeededRandom(7);
    const values = Array.from({ length: 20_000 }, () => random.normal(10, 2));
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
    const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length;
    expect(Math.abs(mean - 10)).toBeLessThan(0.1);
    expect(Math.abs(Math.sqrt(variance) - 2)).toBeLessThan(0.1);
  });

  it('hashes (seed, index, purpose) into distinct stream seeds', () => {
    expect(hashSeed(1, 0, 'signal')).not.toBe(hashSeed(1, 1, 'signal'));
    expect(hashSeed(1, 0, 'signal')).not.toBe(hashSeed(1, 0, 'fault'));
    expect(hashSeed(1, 0, 'signal')).toBe(hashSeed(1, 0, 'signal'));
  });
});

describe('device signals', () => {
  it('produce byte-identical payloads for the same seed and different ones for another seed', () => {
    const run = (seed: number) => generateMessages({ devices: 8, seed }, 200).messages.map((m) => m.payload.toString('utf8'));
    expect(run(5)).toEqual(run(5));
    const other = run(6);
    const same = run(5).filter((payload, i) => payload === other[i]).length;
    expect(same).toBe(0);
  });

  it('give every reading deviceId, deviceType, seq from 0 counting up, eventTime, metrics and firmware', () => {
    const { messages } = generateMessages({ devices: 4 }, 50);
    const nextSeq = new Map<string, number>();
    for (const message of messages) {
      const payload = parsePayload(message);
      expect(payload.deviceId).toBe(message.deviceId);
      expect(payload.seq).toBe(nextSeq.get(message.deviceId) ?? 0);
      nextSeq.set(message.deviceId, (payload.seq as number) + 1);
      expect(payload.eventTime).toBe(message.eventTime);
      expect(typeof payload.deviceType).toBe('string');
      expect(typeof payload.firmware).toBe('string');
      expect(Object.values(payload.metrics as object).every((value) => typeof value === 'number' && Number.isFinite(value))).toBe(true);
      expect(message.topic).toBe(`devices/${message.deviceId}/telemetry`);
    }
    expect([...nextSeq.values()]).toEqual([50, 50, 50, 50]);
  });

  it('mixes the device types evenly over the fleet', () => {
    const { devices } = generateMessages({ devices: 8 }, 1);
    expect(devices.map((device) => device.deviceType)).toEqual([
      'temperature-humidity',
      'pump-vibration',
      'smart-meter',
      'gps-tracker',
      'temperature-humidity',
      'pump-vibration',
      'smart-meter',
      'gps-tracker',
    ]);
  });

  it('temperature/humidity: believable ranges, warmer in the afternoon than at night', () => {
    const readings = readingsOf('temperature-humidity');
    expectWithin(readings.map((r) => r.metrics.temperature), 5, 40);
    expectWithin(readings.map((r) => r.metrics.humidity), 0, 100);
    expectWithin(readings.map((r) => r.payload.battery as number), 0.01, 100);
    const hour = (time: number) => ((time - FIXED_START) % (24 * HOUR)) / HOUR;
    const meanAt = (from: number, to: number) => {
      const values = readings.filter(({ message }) => hour(message.eventTime) >= from && hour(message.eventTime) < to).map((r) => r.metrics.temperature ?? 0);
      return values.reduce((sum, value) => sum + value, 0) / values.length;
    };
    expect(meanAt(14, 16)).toBeGreaterThan(meanAt(2, 4) + 2);
  });

  it('temperature/humidity: drifts slowly away from where it started, a little each day', () => {
    const days = 60;
    const { devices, messages } = generateMessages({ devices: 20, deviceTypes: ['temperature-humidity'] }, days * 24, HOUR);
    const dailyMeans = new Map<string, number[]>();
    for (const message of messages) {
      const day = Math.floor((message.eventTime - FIXED_START) / (24 * HOUR));
      const means = dailyMeans.get(message.deviceId) ?? Array.from({ length: days }, () => 0);
      means[day] = (means[day] ?? 0) + (metricsOf(message).temperature ?? 0) / 24;
      dailyMeans.set(message.deviceId, means);
    }
    let totalDrift = 0;
    for (const device of devices) {
      const means = dailyMeans.get(device.deviceId) ?? [];
      for (let day = 1; day < days; day += 1) {
        // slow: a day's mean moves by well under a degree from the day before
        expect(Math.abs((means[day] ?? 0) - (means[day - 1] ?? 0))).toBeLessThan(1);
      }
      totalDrift += Math.abs((means[days - 1] ?? 0) - (means[0] ?? 0));
    }
    // but over two months the sensors have wandered off by degrees on average
    expect(totalDrift / devices.length).toBeGreaterThan(2);
  });

  it('pump vibration: a steady baseline with occasional bursts, all in range', () => {
    const readings = readingsOf('pump-vibration', { devices: 1 }, 20_000);
    const rms = readings.map(({ metrics }) => metrics.vibrationRms ?? 0);
    expectWithin(rms, 0.01, 15);
    expectWithin(readings.map((r) => r.metrics.rpm), 1400, 3000);
    expectWithin(readings.map((r) => r.metrics.bearingTemperature), 30, 90);
    const sorted = [...rms].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
    const bursts = rms.filter((value) => value > median * 1.6).length;
    expect(bursts).toBeGreaterThan(0);
    expect(bursts).toBeLessThan(rms.length * 0.1);
  });

  it('smart meter: the energy counter never goes down and grows by the integrated power', () => {
    const readings = readingsOf('smart-meter', { devices: 1 });
    const energy = readings.map((r) => r.metrics.energyWh ?? 0);
    expect(energy.every((value, i) => i === 0 || value >= (energy[i - 1] ?? 0))).toBe(true);
    expectWithin(readings.map((r) => r.metrics.powerW), 0, 8000);
    expectWithin(readings.map((r) => r.metrics.voltage), 220, 250);
    const first = readings[0]?.metrics.energyWh ?? 0;
    const last = readings.at(-1)?.metrics.energyWh ?? 0;
    // power readings are one minute apart: the counter's growth is their sum / 60 (Wh), give or take the first
    const integrated = readings.slice(1).reduce((sum, { metrics }) => sum + (metrics.powerW ?? 0) / 60, 0);
    expect(Math.abs(last - first - integrated)).toBeLessThan(integrated * 0.001 + 1);
  });

  it('gps tracker: moves along a path near its city with believable speed, and its battery drains', () => {
    const readings = readingsOf('gps-tracker', { devices: 1 }, 600);
    const start = readings[0]?.payload.location as { lat: number; lon: number };
    let moved = 0;
    let previous = start;
    let drains = 0;
    let previousBattery = (readings[0]?.payload.battery as number) + 1;
    for (const { metrics, payload } of readings) {
      const location = payload.location as { lat: number; lon: number; alt: number };
      expect(Math.abs(location.lat - start.lat)).toBeLessThan(0.2);
      expect(Math.abs(location.lon - start.lon)).toBeLessThan(0.3);
      expect(metrics.speedKmh).toBeGreaterThanOrEqual(0);
      expect(metrics.speedKmh).toBeLessThan(130);
      expect(metrics.headingDeg).toBeGreaterThanOrEqual(0);
      expect(metrics.headingDeg).toBeLessThan(360);
      moved += Math.hypot(location.lat - previous.lat, location.lon - previous.lon);
      previous = location;
      const battery = payload.battery as number;
      expect(battery).toBeGreaterThan(0);
      expect(battery).toBeLessThanOrEqual(100);
      if (battery < previousBattery) drains += 1;
      previousBattery = battery;
    }
    expect(moved).toBeGreaterThan(0.05);
    expect(drains).toBeGreaterThan(readings.length * 0.9);
  });
});
