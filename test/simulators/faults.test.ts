import { createHash } from 'node:crypto';
import { ConfigError } from '../../core/errors';
import { FAULT_KINDS, parseFaultSpecs } from '../../simulators/faultKinds';
import type { FaultKind } from '../../simulators/faultKinds';
import type { SimulatedMessage } from '../../simulators/simulatedDevice';
import { generateMessages, parsePayload } from './generateMessages';

const ONE_MESSAGE_FAULTS = FAULT_KINDS.filter((kind) => kind !== 'offline');

function countByFault(messages: SimulatedMessage[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const message of messages) if (message.fault !== null) counts[message.fault] = (counts[message.fault] ?? 0) + 1;
  return counts;
}

/** One hash over every message's identity, fault, topic and bytes, in order. */
function digest(messages: SimulatedMessage[]): string {
  const hash = createHash('sha256');
  for (const m of messages) hash.update(`${m.deviceId}|${m.seq}|${m.eventTime}|${String(m.fault)}|${m.topic}|`).update(m.payload);
  return hash.digest('hex');
}

function isJson(message: SimulatedMessage): boolean {
  try {
    JSON.parse(message.payload.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

/** deviceId and seq read from the raw bytes: they lead every payload, even a truncated one. */
function identityOf(message: SimulatedMessage): string | undefined {
  const match = /^\{"deviceId":"([^"]+)","seq":(\d+),/.exec(message.payload.toString('utf8', 0, 200));
  return match ? `${match[1]}/${match[2]}` : undefined;
}

describe('faults', () => {
  const readingsPerDevice = 2500;
  const devices = 8;
  const rate = 0.02;
  const faults = Object.fromEntries(ONE_MESSAGE_FAULTS.map((kind) => [kind, rate]));
  const run = () => generateMessages({ devices, faults, oversizeBytes: 4096 }, readingsPerDevice);

  it('each kind appears at about its rate, with exactly the same messages for the same seed', () => {
    const first = run();
    const counts = countByFault(first.messages);
    const readings = devices * readingsPerDevice;
    for (const kind of ONE_MESSAGE_FAULTS) {
      const expected = readings * rate;
      // binomial: well within 4.5 standard deviations
      expect(Math.abs((counts[kind] ?? 0) - expected)).toBeLessThan(4.5 * Math.sqrt(expected * (1 - rate)));
    }
    const second = run();
    expect(digest(second.messages)).toBe(digest(first.messages));
    const otherSeed = generateMessages({ devices, faults, oversizeBytes: 4096, seed: 99 }, readingsPerDevice).messages;
    expect(otherSeed.filter((m) => m.fault !== null).map((m) => `${m.deviceId}/${m.seq}`)).not.toEqual(
      first.messages.filter((m) => m.fault !== null).map((m) => `${m.deviceId}/${m.seq}`),
    );
  });

  it('leave the device signals untouched (separate random streams)', () => {
    const clean = new Map(generateMessages({ devices: 4 }, 300).messages.map((m) => [`${m.deviceId}/${m.seq}`, m.payload.toString()]));
    const faulty = generateMessages({ devices: 4, faults: { duplicate: 0.1, 'wrong-topic': 0.1 } }, 300).messages;
    expect(faulty.filter((m) => m.fault !== null).length).toBeGreaterThan(100);
    // wrong-topic keeps the payload, only the topic is wrong: every payload is the one the clean run measured
    expect(faulty.filter((m) => m.payload.toString() !== clean.get(`${m.deviceId}/${m.seq}`))).toEqual([]);
  });

  it('make payloads that are really broken the way they say, each still identifying its reading', () => {
    const { messages } = run();
    const byKind = (kind: FaultKind) => messages.filter((m) => m.fault === kind);
    expect(messages.filter((m) => identityOf(m) !== `${m.deviceId}/${m.seq}`)).toEqual([]);

    expect(byKind('malformed-json').every((m) => !isJson(m))).toBe(true);
    expect(messages.filter((m) => m.fault !== 'malformed-json').every(isJson)).toBe(true);

    const wrongTypeVariants = new Set<string>();
    for (const message of byKind('wrong-types')) {
      const payload = parsePayload(message);
      expect(typeof payload.eventTime).toBe('number');
      const metrics = payload.metrics as unknown;
      const variant = Array.isArray(metrics)
        ? 'list'
        : Object.values(metrics as object).find((value) => typeof value !== 'number') === null
          ? 'null'
          : typeof Object.values(metrics as object).find((value) => typeof value !== 'number');
      wrongTypeVariants.add(variant);
    }
    expect([...wrongTypeVariants].sort()).toEqual(['list', 'null', 'string']);
    for (const message of byKind('missing-fields')) {
      const payload = parsePayload(message);
      expect(payload.metrics === undefined || payload.deviceType === undefined).toBe(true);
    }
    expect(byKind('oversized').every((m) => m.payload.length > 4096 && m.payload.length <= 4096 + 4096)).toBe(true);
    expect(messages.filter((m) => m.fault !== 'oversized').every((m) => m.payload.length < 4096)).toBe(true);

    for (const message of byKind('wrong-topic')) {
      expect(message.topic).toMatch(/^devices\/dev-\d{4}\/telemetry$/);
      expect(message.topic).not.toBe(`devices/${message.deviceId}/telemetry`);
      expect(parsePayload(message).deviceId).toBe(message.deviceId);
    }
    expect(messages.filter((m) => m.fault !== 'wrong-topic' && m.topic !== `devices/${m.deviceId}/telemetry`)).toEqual([]);

    expect(byKind('duplicate').length).toBeGreaterThan(0);
    for (const [index, copy] of messages.entries()) {
      if (copy.fault !== 'duplicate') continue;
      const original = messages[index - 1];
      expect(original?.fault).toBeNull();
      expect(original?.seq).toBe(copy.seq);
      expect(original?.payload.equals(copy.payload)).toBe(true);
    }

    const scheduled = (m: SimulatedMessage) => Date.UTC(2024, 2, 1) + m.seq * 60_000;
    const skewsByDevice = new Map<string, Set<number>>();
    for (const message of byKind('clock-skew')) {
      expect(message.eventTime).not.toBe(scheduled(message));
      expect(parsePayload(message).eventTime).toBe(message.eventTime);
      skewsByDevice.set(message.deviceId, (skewsByDevice.get(message.deviceId) ?? new Set()).add(message.eventTime - scheduled(message)));
    }
    // a device's clock is wrong by the same amount each time
    expect(skewsByDevice.size).toBe(devices);
    for (const skews of skewsByDevice.values()) expect(skews.size).toBe(1);
  });

  it('offline: readings are held back and replayed late and out of order, none lost, at about the asked rate', () => {
    const offlineRate = 0.005;
    const { devices: fleet, messages, flushed } = generateMessages({ devices, faults: { offline: offlineRate } }, readingsPerDevice);
    const replayed = messages.filter((m) => m.fault === 'offline');
    expect(replayed.length).toBeGreaterThan(0);
    // nothing lost: every device's seqs 0..n-1 are there exactly once
    for (const device of fleet) {
      const seqs = messages.filter((m) => m.deviceId === device.deviceId).map((m) => m.seq).sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: readingsPerDevice }, (_, i) => i));
    }
    // out of order and late: each replayed reading comes after a newer reading of its device
    // (except a spell still running when the readings end: flushed at the end, late but in order)
    const newestSeen = new Map<string, number>();
    for (const message of messages.slice(0, messages.length - flushed.length)) {
      const newest = newestSeen.get(message.deviceId) ?? -1;
      if (message.fault === 'offline') expect(message.seq).toBeLessThan(newest);
      else expect(message.seq).toBeGreaterThan(newest);
      newestSeen.set(message.deviceId, Math.max(newest, message.seq));
    }
    const episodes = fleet.reduce((sum, device) => sum + device.offlineEpisodes, 0);
    // spells last 5..30 readings; a new one can only start while online
    const eligible = messages.filter((m) => m.fault === null).length;
    const expected = eligible * offlineRate;
    expect(Math.abs(episodes - expected)).toBeLessThan(4.5 * Math.sqrt(expected));
    expect(replayed.length).toBeGreaterThanOrEqual(episodes * 5);
    expect(replayed.length).toBeLessThanOrEqual(episodes * 30);
  });

  it('parses --fault specs and rejects bad ones with an error naming the flag', () => {
    expect(parseFaultSpecs(['duplicate=0.01', 'clock_skew=0.2', ' oversized = 1e-3 '])).toEqual({
      duplicate: 0.01,
      'clock-skew': 0.2,
      oversized: 0.001,
    });
    for (const [spec, problem] of [
      ['duplicate', /expected <kind>=<rate>/],
      ['teleport=0.1', /unknown fault kind "teleport"/],
      ['duplicate=1.5', /must be a probability in 0..1, got 1.5/],
    ] as const) {
      expect(() => parseFaultSpecs([spec])).toThrow(ConfigError);
      expect(() => parseFaultSpecs([spec])).toThrow(problem);
    }
    expect(() => parseFaultSpecs(['duplicate=0.6', 'offline=0.6'])).toThrow(/--fault: fault rates add up to 1.2/);
  });
});
