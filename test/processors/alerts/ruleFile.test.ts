/**
 * The rules file: every problem named by rule and field, all at once; and the shipped default
 * rules judged against the simulator's own devices: quiet on normal behaviour, firing on the
 * anomalies the simulator injects.
 */
import type { Notification } from '../../../processors/alerts/alertRecord';
import { emptyEntityState } from '../../../processors/alerts/entityState';
import { evaluateDeviceReadings } from '../../../processors/alerts/readingEvaluation';
import type { ReadingEffects } from '../../../processors/alerts/readingEvaluation';
import { DEFAULT_RULES_FILE, loadRuleSet, parseRuleSet } from '../../../processors/alerts/ruleFile';
import type { EnrichedReading } from '../../../schemas/records';
import { ANOMALY_KINDS, AnomalyInjector } from '../../../simulators/anomalyInjector';
import { createSeededRandom, hashSeed } from '../../../simulators/seededRandom';
import { createSignal } from '../../../simulators/signals/createSignal';
import { DEVICE_TYPES } from '../../../simulators/signals/signalModel';
import type { DeviceType } from '../../../simulators/signals/signalModel';

function problemsOf(yaml: string): string {
  try {
    parseRuleSet(yaml, 'rules.yaml');
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the rules were accepted');
}

describe('rules file validation', () => {
  it('names the rule and the field of every problem, in one error', () => {
    const message = problemsOf(`
rules:
  - id: hot
    kind: sustained
    metric: temperature
    when: { op: "=>", value: 30 }
    clearFor: soon
  - id: hot
    kind: threshold
    metric: temperature
    for: 2m
    when: { op: between, min: 5, max: 1 }
    severity: urgent
    tpyo: 1
  - kind: zscore
    metric: x
    when: { op: ">", value: registry }
  - id: agg
    kind: aggregate
    scope: site
    match: { deviceTypes: [pump] }
    metric: m
    stat: median
    when: { op: ">", value: 1 }
`);
    expect(message.split('\n').slice(1).map((line) => line.trim())).toEqual([
      'rule "hot" (rules[0]): for: is required for a sustained rule (e.g. 2m)',
      'rule "hot" (rules[0]): clearFor: must be a duration like 500ms, 30s, 2m, 1h, 1d (or 0 / never), got "soon"',
      'rule "hot" (rules[0]): when.op: must be one of >, >=, <, <=, between, outside, got "=>"',
      'rule "hot" (rules[1]): id: repeats the id of rules[0]',
      'rule "hot" (rules[1]): severity: must be one of info, warning, critical, got "urgent"',
      'rule "hot" (rules[1]): for: a threshold rule fires on one reading; use kind sustained (for) or consecutive (count)',
      'rule "hot" (rules[1]): when: min 5 is above max 1',
      'rule "hot" (rules[1]): tpyo: is not a known field here',
      'rules[2]: id: is required',
      'rules[2]: when.value: registry thresholds are in the metric\'s unit and apply to value rules only, not to this signal',
      'rule "agg" (rules[3]): stat: must be one of mean, min, max, sum, count, stddev, range, first, last, change or a percentile like p95, got "median"',
      'rule "agg" (rules[3]): match.deviceTypes: a site aggregate is not about one device; match sites instead',
    ]);
    expect(message).toMatch(/^rules\.yaml: 12 problems:/);
  });

  it('refuses YAML that is not a rules file', () => {
    expect(problemsOf('rules: [')).toMatch(/^rules\.yaml: is not valid YAML/);
    expect(problemsOf('- a\n- b')).toBe('rules.yaml: must be a YAML mapping with a rules list');
    expect(problemsOf('rulez: []')).toMatch(/rules: must be a list of rules; rulez: is not a known top-level field/);
    expect(problemsOf('rules:\n  - { id: a, kind: heartbeat, after: -1m }')).toContain('rule "a" (rules[0]): after: must be a duration');
    expect(problemsOf('rules:\n  - { id: a, kind: threshold, metric: t, when: { op: ">", value: { registry: t_high } } }')).toContain('when.value.registry: must name a registry threshold like temperature_max');
  });

  it('reads durations, registry bounds and overrides', () => {
    const rules = parseRuleSet(`
defaults: { cooldown: 90s, renotifyEvery: never, severity: info }
rules:
  - id: r
    kind: rateOfChange
    metric: m
    per: 1m
    for: 30s
    when: { op: "<", value: 0 }
  - id: t
    kind: threshold
    metric: temperature
    when: { op: outside, min: registry, max: { registry: temperature_max, default: 40 } }
    overrides: { dev-9: { when: { op: ">", value: 50 }, clear: { op: "<", value: 45 } } }
`, 'x');
    const [rate, threshold] = rules.readingRules;
    expect(rate).toMatchObject({ cooldownMs: 90_000, renotifyMs: 0, severity: 'info', signal: { kind: 'rate', perMs: 60_000, absolute: false }, gate: { kind: 'sustained', forMs: 30_000, clearForMs: 0 } });
    expect(threshold?.when).toEqual({ op: 'outside', min: { from: 'registry', key: 'temperature_min', fallback: undefined }, max: { from: 'registry', key: 'temperature_max', fallback: 40 } });
    expect(threshold?.overrides.get('dev-9')).toEqual({ when: { op: '>', value: { from: 'fixed', value: 50 } }, clear: { op: '<', value: { from: 'fixed', value: 45 } } });
  });
});

describe('the default rules on the simulator\'s devices', () => {
  const rules = loadRuleSet(DEFAULT_RULES_FILE);
  const START = Date.UTC(2026, 0, 1, 10); // through the afternoon temperature peak
  const READINGS = 6000;
  const INTERVAL_MS = 2000;

  /** Every notification the default rules give for `devices` simulated devices of each type. */
  function run(anomalyRate: number, devicesPerType: number): Map<DeviceType, Notification[]> {
    const out = new Map<DeviceType, Notification[]>();
    DEVICE_TYPES.forEach((deviceType, typeIndex) => {
      const notifications: Notification[] = [];
      for (let d = 0; d < devicesPerType; d++) {
        const index = typeIndex * 100 + d;
        const signal = createSignal(deviceType, createSeededRandom(hashSeed(11, index, 'signal')));
        const anomalies = new AnomalyInjector(createSeededRandom(hashSeed(11, index, 'anomaly')), { rate: anomalyRate, kinds: ANOMALY_KINDS }, signal.primaryMetric, signal.anomalyScale);
        const deviceId = `${deviceType}-${d}`;
        const inputs = Array.from({ length: READINGS }, (_, seq) => {
          const eventTime = START + seq * INTERVAL_MS;
          const sample = signal.next(eventTime);
          anomalies.apply(sample.metrics);
          const reading: EnrichedReading = { deviceId, deviceType, siteId: 'site', eventTime, seq, metrics: sample.metrics, battery: sample.battery ?? null, transformTime: eventTime, thresholds: null };
          return { reading, arrivalTime: eventTime };
        });
        const effects: ReadingEffects = { entity: deviceId, family: 'reading', clock: 0, notifications, heard: new Map(), evaluated: 0, duplicates: 0, stale: 0 };
        evaluateDeviceReadings(rules, emptyEntityState(), inputs, effects);
      }
      out.set(deviceType, notifications);
    });
    return out;
  }

  const opened = (notifications: Notification[] | undefined): string[] => [...new Set((notifications ?? []).filter((n) => n.transition === 'opened').map((n) => n.alert.ruleId))].sort();

  it('stay quiet on normal behaviour (bursts, daily cycles, appliances, traffic)', () => {
    const normal = run(0, 3);
    for (const deviceType of DEVICE_TYPES) {
      // a tracker's battery running low on a long drive is worth an info alert, not an anomaly
      expect({ deviceType, rules: opened(normal.get(deviceType)).filter((rule) => rule !== 'battery-low') }).toEqual({ deviceType, rules: [] });
    }
  });

  it('catch the anomalies the simulator injects on each device type', () => {
    const anomalous = run(0.01, 2);
    expect(opened(anomalous.get('temperature-humidity'))).toEqual(expect.arrayContaining(['temperature-spike']));
    expect(opened(anomalous.get('pump-vibration'))).toEqual(expect.arrayContaining(['vibration-spike']));
    expect(opened(anomalous.get('smart-meter'))).toEqual(expect.arrayContaining(['power-spike', 'power-flatline']));
    expect(opened(anomalous.get('gps-tracker'))).toEqual(expect.arrayContaining(['overspeed', 'speed-jump']));
  });
});
