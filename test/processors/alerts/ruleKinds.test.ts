/**
 * Every rule kind through the real handlers on real Redis: it fires, does not fire again while
 * its alert is open, clears, stays quiet during the cooldown and fires again after it. Time is
 * the readings' event time (and the scheduled event's time for heartbeats): nothing sleeps.
 */
import { aggregatesHandler, checkHeartbeats, handler, listAlerts } from '../../../processors/alerts/handler';
import { closeAlertsConnections } from '../../../processors/alerts/alertsContext';
import type { AlertRecord } from '../../../processors/alerts/alertRecord';
import { closeSharedResources } from '../../../processors/shared/processorResources';
import type { EnrichedReading } from '../../../schemas/records';
import { uniqueName } from '../../support/servers';
import { BASE_TIME, aggregate, alertsTestBed, encodeAggregates, encodeReadings, processorEnvironment, reading, scheduledEvent, streamEvent } from './alertsTestSupport';
import type { AlertsTestBed, EventKind } from './alertsTestSupport';

const RULES = `
defaults:
  cooldown: 30s
rules:
  - id: t-high
    kind: threshold
    metric: temperature
    when: { op: ">", value: 30 }
    clear: { op: "<", value: 25 }
  - id: s-high
    kind: sustained
    metric: pressure
    when: { op: ">", value: 30 }
    for: 10s
    clearFor: 5s
  - id: c-high
    kind: consecutive
    metric: level
    when: { op: ">", value: 30 }
    count: 3
    clearCount: 2
  - id: r-fast
    kind: rateOfChange
    metric: flow
    per: 1s
    when: { op: ">", value: 5 }
    clear: { op: "<", value: 1 }
  - id: z-spike
    kind: zscore
    metric: noise
    window: 20
    minSamples: 10
    when: { op: ">", value: 4 }
    clear: { op: "<", value: 2 }
  - id: reg-high
    kind: threshold
    metric: humidity
    when: { op: ">", value: registry }
    overrides:
      dev-override: { when: { op: ">", value: 90 } }
  - id: range
    kind: threshold
    metric: voltage
    match: { deviceTypes: [smart-meter] }
    when: { op: outside, min: 207, max: 253 }
  - id: hb
    kind: heartbeat
    after: 60s
    cooldown: 100s
  - id: a-high
    kind: aggregate
    scope: device
    metric: vibration
    stat: mean
    when: { op: ">", value: 5 }
    clear: { op: "<", value: 3 }
    count: 2
    cooldown: 3m
  - id: site-hot
    kind: aggregate
    scope: site
    metric: temperature
    stat: max
    when: { op: ">", value: 40 }
`;

let bed: AlertsTestBed;

beforeAll(async () => {
  bed = await alertsTestBed();
  bed.useEnvironment(processorEnvironment(bed, bed.writeRules(RULES)));
});

afterAll(async () => {
  await bed.close();
  await closeAlertsConnections();
  await closeSharedResources();
});

/** Runs the readings handler on one batch (one partition of a fresh stream per device). */
async function feed(readings: EnrichedReading[], kind: EventKind = 'kinesis', stream = 'enriched-test'): Promise<void> {
  await handler(streamEvent(kind, stream, await encodeReadings(bed.codec, readings)));
}

/** Readings of `deviceId` with `metric` = values[i] at seq start+i (one per second of event time). */
function series(deviceId: string, metric: string, start: number, values: number[], overrides: Partial<EnrichedReading> = {}): EnrichedReading[] {
  return values.map((value, index) => reading(deviceId, start + index, { [metric]: value }, overrides));
}

async function alertsOf(deviceId: string, ruleId: string): Promise<AlertRecord[]> {
  const all = await listAlerts(bed.redis, bed.keys, { deviceId, limit: 1000 });
  return all.filter((alert) => alert.ruleId === ruleId).sort((a, b) => a.raisedAt - b.raisedAt);
}

function states(alerts: AlertRecord[]): string[] {
  return alerts.map((alert) => alert.state);
}

describe('threshold rule (with hysteresis)', () => {
  it('fires, does not fire again while open, clears only below the clear bound, stays quiet in the cooldown, fires again after it', async () => {
    const device = uniqueName('dev-t');
    await feed(series(device, 'temperature', 1, [31]));
    const [opened] = await alertsOf(device, 't-high');
    expect(opened).toMatchObject({ state: 'open', value: 31, threshold: 30, raisedAt: BASE_TIME + 1000, version: 1, severity: 'warning' });

    await feed(series(device, 'temperature', 2, [35, 27])); // still high; then between the bounds
    expect(await alertsOf(device, 't-high')).toEqual([opened]);

    await feed(series(device, 'temperature', 4, [24])); // below the clear bound at t = 4 s
    expect(states(await alertsOf(device, 't-high'))).toEqual(['cleared']);

    await feed(series(device, 'temperature', 5, [32, 33])); // within 30 s of the clear
    expect(states(await alertsOf(device, 't-high'))).toEqual(['cleared']);

    await feed(series(device, 'temperature', 34, [33])); // 30 s after the clear
    const again = await alertsOf(device, 't-high');
    expect(states(again)).toEqual(['cleared', 'open']);
    expect(again[1]?.alertId).not.toBe(opened?.alertId);
    expect(again[1]?.raisedAt).toBe(BASE_TIME + 34_000);
  });

  it('uses the device registry threshold, a per-device override, and skips devices without a threshold', async () => {
    const withThreshold = uniqueName('dev-reg');
    const without = uniqueName('dev-none');
    await feed([
      reading(withThreshold, 1, { humidity: 61 }, { thresholds: { humidity_max: 60 } }),
      reading(without, 1, { humidity: 99 }),
      reading('dev-override', 1, { humidity: 85 }, { thresholds: { humidity_max: 60 } }),
    ]);
    expect(await alertsOf(withThreshold, 'reg-high')).toEqual([expect.objectContaining({ state: 'open', threshold: 60, value: 61 })]);
    expect(await alertsOf(without, 'reg-high')).toEqual([]);
    expect(await alertsOf('dev-override', 'reg-high')).toEqual([]); // 85 is under its own bound of 90
    await feed([reading('dev-override', 2, { humidity: 91 })]);
    expect(await alertsOf('dev-override', 'reg-high')).toEqual([expect.objectContaining({ state: 'open', threshold: 90 })]);
  });

  it('fires on a range rule only for the matching device type', async () => {
    const meter = uniqueName('dev-meter');
    const other = uniqueName('dev-other');
    await feed([reading(meter, 1, { voltage: 260 }, { deviceType: 'smart-meter' }), reading(other, 1, { voltage: 260 })]);
    expect(await alertsOf(meter, 'range')).toEqual([expect.objectContaining({ state: 'open', threshold: 253 })]);
    expect(await alertsOf(other, 'range')).toEqual([]);
  });

  it('lets a late reading open an alert but never clear one', async () => {
    const device = uniqueName('dev-late');
    await feed(series(device, 'temperature', 10, [31]));
    await feed(series(device, 'temperature', 5, [10])); // late (event time 5 s < 10 s) and below the clear bound
    expect(states(await alertsOf(device, 't-high'))).toEqual(['open']);

    const other = uniqueName('dev-late-open');
    await feed(series(other, 'temperature', 10, [20]));
    await feed(series(other, 'temperature', 5, [40])); // late, but a violation in its own right
    expect(await alertsOf(other, 't-high')).toEqual([expect.objectContaining({ state: 'open', raisedAt: BASE_TIME + 5000 })]);
  });
});

describe('sustained rule', () => {
  it('fires once the condition held for the duration, clears after the clear duration, re-fires after the cooldown', async () => {
    const device = uniqueName('dev-s');
    await feed(series(device, 'pressure', 1, Array(10).fill(31))); // t = 1..10 s: held 9 s
    expect(await alertsOf(device, 's-high')).toEqual([]);
    await feed(series(device, 'pressure', 11, [31, 31])); // held 10 s at t = 11
    expect(await alertsOf(device, 's-high')).toEqual([expect.objectContaining({ state: 'open', raisedAt: BASE_TIME + 11_000 })]);

    await feed(series(device, 'pressure', 13, [20, 20, 20, 20, 20])); // clear held 4 s (t = 13..17)
    expect(states(await alertsOf(device, 's-high'))).toEqual(['open']);
    await feed(series(device, 'pressure', 18, [20])); // 5 s: clears at t = 18
    expect(states(await alertsOf(device, 's-high'))).toEqual(['cleared']);

    await feed(series(device, 'pressure', 19, Array(28).fill(31))); // held from 19 s; armed at 29 s, but the cooldown runs to 48 s
    expect(states(await alertsOf(device, 's-high'))).toEqual(['cleared']);
    await feed(series(device, 'pressure', 47, [31, 31]));
    const alerts = await alertsOf(device, 's-high');
    expect(states(alerts)).toEqual(['cleared', 'open']);
    expect(alerts[1]?.raisedAt).toBe(BASE_TIME + 48_000);
  });

  it('ignores late readings: a late low value does not break the sustained run', async () => {
    const device = uniqueName('dev-s-late');
    await feed(series(device, 'pressure', 20, [31, 31, 31, 31, 31, 31]));
    await feed(series(device, 'pressure', 3, [10])); // late
    await feed(series(device, 'pressure', 26, [31, 31, 31, 31, 31]));
    expect(await alertsOf(device, 's-high')).toEqual([expect.objectContaining({ state: 'open', raisedAt: BASE_TIME + 30_000 })]);
  });
});

describe('consecutive rule', () => {
  it('fires on the Nth reading in a row, clears after clearCount in a row, re-fires after the cooldown', async () => {
    const device = uniqueName('dev-c');
    await feed(series(device, 'level', 1, [31, 31]));
    expect(await alertsOf(device, 'c-high')).toEqual([]);
    await feed(series(device, 'level', 3, [31, 31, 31]));
    expect(await alertsOf(device, 'c-high')).toEqual([expect.objectContaining({ state: 'open', raisedAt: BASE_TIME + 3000 })]);
    await feed(series(device, 'level', 6, [20, 31, 20])); // the clear run is broken once
    expect(states(await alertsOf(device, 'c-high'))).toEqual(['open']);
    await feed(series(device, 'level', 9, [20])); // two in a row at t = 9
    expect(states(await alertsOf(device, 'c-high'))).toEqual(['cleared']);
    await feed(series(device, 'level', 10, [31, 31, 31, 31])); // a run of 4, in the cooldown (to 39 s)
    expect(states(await alertsOf(device, 'c-high'))).toEqual(['cleared']);
    await feed(series(device, 'level', 39, [31]));
    expect(states(await alertsOf(device, 'c-high'))).toEqual(['cleared', 'open']);
  });
});

describe('rate-of-change rule', () => {
  it('fires on a fast change between consecutive readings, clears when the rate falls, re-fires after the cooldown', async () => {
    const device = uniqueName('dev-r');
    await feed(series(device, 'flow', 1, [10, 12])); // 2 per second
    expect(await alertsOf(device, 'r-fast')).toEqual([]);
    await feed(series(device, 'flow', 3, [20])); // 8 per second
    expect(await alertsOf(device, 'r-fast')).toEqual([expect.objectContaining({ state: 'open', value: 8, threshold: 5 })]);
    await feed(series(device, 'flow', 4, [30])); // 10 per second: still open
    expect(await alertsOf(device, 'r-fast')).toHaveLength(1);
    await feed(series(device, 'flow', 5, [30])); // 0 per second
    expect(states(await alertsOf(device, 'r-fast'))).toEqual(['cleared']);
    await feed(series(device, 'flow', 6, [40])); // fast again, in the cooldown
    expect(states(await alertsOf(device, 'r-fast'))).toEqual(['cleared']);
    await feed(series(device, 'flow', 40, [40, 50]));
    expect(states(await alertsOf(device, 'r-fast'))).toEqual(['cleared', 'open']);
  });
});

describe('z-score rule', () => {
  it('fires on a value far outside the rolling window, clears on normal values, re-fires after the cooldown', async () => {
    const device = uniqueName('dev-z');
    const normal = (count: number): number[] => Array.from({ length: count }, (_, i) => (i % 2 === 0 ? 19.5 : 20.5));
    await feed(series(device, 'noise', 1, normal(20)));
    expect(await alertsOf(device, 'z-spike')).toEqual([]);
    await feed(series(device, 'noise', 21, [40]));
    const [opened] = await alertsOf(device, 'z-spike');
    expect(opened).toMatchObject({ state: 'open', threshold: 4 });
    expect(opened?.value).toBeGreaterThan(4);
    await feed(series(device, 'noise', 22, [20]));
    expect(states(await alertsOf(device, 'z-spike'))).toEqual(['cleared']);
    await feed(series(device, 'noise', 23, [100])); // in the cooldown
    expect(states(await alertsOf(device, 'z-spike'))).toEqual(['cleared']);
    await feed(series(device, 'noise', 24, normal(30)));
    await feed(series(device, 'noise', 54, [100]));
    expect(states(await alertsOf(device, 'z-spike'))).toEqual(['cleared', 'open']);
  });
});

describe('heartbeat rule', () => {
  it('fires from the timer with no incoming data, not again while open, clears on the next reading, re-fires after the cooldown', async () => {
    const device = uniqueName('dev-hb');
    const t0 = BASE_TIME + 1000 + 50; // arrival of the reading at seq 1
    await feed(series(device, 'other', 1, [1]));
    await checkHeartbeats(scheduledEvent(t0 + 30_000));
    expect(await alertsOf(device, 'hb')).toEqual([]);

    await checkHeartbeats(scheduledEvent(t0 + 61_000)); // silent for 61 s, no reading involved
    const [opened] = await alertsOf(device, 'hb');
    expect(opened).toMatchObject({ state: 'open', raisedAt: t0 + 61_000, value: 61, threshold: 60, family: 'heartbeat' });

    await checkHeartbeats(scheduledEvent(t0 + 120_000));
    expect(await alertsOf(device, 'hb')).toEqual([opened]);

    await feed(series(device, 'other', 130, [1])); // arrives at BASE + 130 s + 50 ms
    expect(states(await alertsOf(device, 'hb'))).toEqual(['cleared']);
    const heardAgain = BASE_TIME + 130_000 + 50;

    await checkHeartbeats(scheduledEvent(heardAgain + 80_000)); // silent 80 s, but the cooldown (100 s) runs
    expect(states(await alertsOf(device, 'hb'))).toEqual(['cleared']);
    await checkHeartbeats(scheduledEvent(heardAgain + 100_000));
    expect(states(await alertsOf(device, 'hb'))).toEqual(['cleared', 'open']);
  });
});

describe('aggregate rules', () => {
  async function feedAggregates(items: Parameters<typeof aggregate>[]): Promise<void> {
    await aggregatesHandler(streamEvent('kafka', 'aggregates-test', await encodeAggregates(bed.codec, items.map((args) => aggregate(...args)))));
  }

  it('fires after N windows in a row, ignores a repeated window, clears, and re-fires after the cooldown (in window time)', async () => {
    const device = uniqueName('dev-a');
    await feedAggregates([[device, 0, 'vibration', { mean: 6 }]]);
    expect(await alertsOf(device, 'a-high')).toEqual([]);
    await feedAggregates([[device, 1, 'vibration', { mean: 6 }], [device, 2, 'vibration', { mean: 7 }]]);
    const [opened] = await alertsOf(device, 'a-high');
    expect(opened).toMatchObject({ state: 'open', raisedAt: BASE_TIME + 2 * 60_000, value: 6 });
    await feedAggregates([[device, 1, 'vibration', { mean: 1 }]]); // an old window again: ignored
    expect(await alertsOf(device, 'a-high')).toEqual([opened]);
    await feedAggregates([[device, 3, 'vibration', { mean: 2 }]]); // clears at the end of window 3 (4 min)
    expect(states(await alertsOf(device, 'a-high'))).toEqual(['cleared']);
    await feedAggregates([[device, 4, 'vibration', { mean: 6 }], [device, 5, 'vibration', { mean: 6 }]]); // cooldown to 7 min
    expect(states(await alertsOf(device, 'a-high'))).toEqual(['cleared']);
    await feedAggregates([[device, 6, 'vibration', { mean: 6 }]]);
    expect(states(await alertsOf(device, 'a-high'))).toEqual(['cleared', 'open']);
  });

  it('raises site alerts on the site entity', async () => {
    const site = uniqueName('site');
    await feedAggregates([[site, 0, 'temperature', { scope: 'site', max: 45 }]]);
    expect(await alertsOf(`site:${site}`, 'site-hot')).toEqual([expect.objectContaining({ state: 'open', value: 45, deviceId: `site:${site}` })]);
  });
});
