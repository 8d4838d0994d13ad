import { ANOMALY_KINDS } from '../../simulators/anomalyInjector';
import type { AnomalyKind } from '../../simulators/anomalyInjector';
import { generateMessages, metricsOf } from './generateMessages';

const PRIMARY_METRIC: Record<string, string> = {
  'temperature-humidity': 'temperature',
  'pump-vibration': 'vibrationRms',
  'smart-meter': 'powerW',
  'gps-tracker': 'speedKmh',
};

describe('anomalies', () => {
  it('are absent at rate 0 and start at about the asked rate otherwise, every kind represented', () => {
    expect(generateMessages({ devices: 8, anomalyRate: 0 }, 500).messages.filter((m) => m.anomaly !== null)).toHaveLength(0);
    const rate = 0.005;
    const { devices, messages } = generateMessages({ devices: 20, anomalyRate: rate }, 2000);
    const episodes = devices.flatMap((device) => device.anomalyEpisodes);
    const byKind = Object.fromEntries(ANOMALY_KINDS.map((kind) => [kind, episodes.filter((e) => e.kind === kind).length]));
    for (const kind of ANOMALY_KINDS) expect(byKind[kind]).toBeGreaterThan(0);
    // a new anomaly can only start when none is in progress: the rate applies to the other readings
    const eligible = messages.filter((m) => m.anomaly === null).length + episodes.length;
    const expected = eligible * rate;
    expect(Math.abs(episodes.length - expected)).toBeLessThan(4.5 * Math.sqrt(expected));
    // the episodes and the readings flagged agree
    const flagged = messages.filter((m) => m.anomaly !== null).length;
    expect(flagged).toBe(episodes.reduce((sum, e) => sum + (e.toSeq - e.fromSeq + 1), 0));
  });

  it('repeat exactly for the same seed and differ for another', () => {
    const episodesFor = (seed: number) => generateMessages({ devices: 8, anomalyRate: 0.01, seed }, 1000).devices.flatMap((d) => d.anomalyEpisodes);
    expect(episodesFor(11)).toEqual(episodesFor(11));
    expect(episodesFor(11)).not.toEqual(episodesFor(12));
  });

  it('do not change the other readings: the same seed with and without anomalies differs only in flagged readings', () => {
    const clean = generateMessages({ devices: 8, anomalyRate: 0 }, 500).messages;
    const withAnomalies = generateMessages({ devices: 8, anomalyRate: 0.02 }, 500).messages;
    expect(withAnomalies).toHaveLength(clean.length);
    const changed = withAnomalies.filter((message, i) => !message.payload.equals(clean[i]?.payload ?? Buffer.alloc(0)));
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.every((message) => message.anomaly !== null)).toBe(true);
  });

  it.each(ANOMALY_KINDS)('%s looks like itself on the primary metric', (kind: AnomalyKind) => {
    const readings = 1500;
    const clean = generateMessages({ devices: 8, anomalyRate: 0 }, readings).messages;
    const { devices, messages } = generateMessages({ devices: 8, anomalyRate: 0.01, anomalyKinds: [kind] }, readings);
    const episodes = devices.flatMap((device) => device.anomalyEpisodes);
    expect(episodes.length).toBeGreaterThan(5);
    const indexOf = new Map(messages.map((m, i) => [`${m.deviceId}/${m.seq}`, i]));
    for (const episode of episodes) {
      const metric = PRIMARY_METRIC[devices.find((d) => d.deviceId === episode.deviceId)?.deviceType ?? ''] ?? '';
      expect(episode.metric).toBe(metric);
      const values: number[] = [];
      const normal: number[] = [];
      for (let seq = episode.fromSeq; seq <= episode.toSeq; seq += 1) {
        const index = indexOf.get(`${episode.deviceId}/${seq}`) ?? -1;
        values.push(metricsOf(messages[index] ?? messages[0]!)[metric] ?? Number.NaN);
        normal.push(metricsOf(clean[index] ?? clean[0]!)[metric] ?? Number.NaN);
      }
      const shift = values.map((value, i) => value - (normal[i] ?? 0));
      // an episode still running when the readings end is cut short
      const complete = episode.toSeq < readings - 1;
      switch (kind) {
        case 'spike':
          expect(values).toHaveLength(1);
          expect(shift[0]).toBeGreaterThan(10); // scale x 3..5, scales are >= 6 units
          break;
        case 'step':
          if (complete) expect(values.length).toBeGreaterThanOrEqual(20);
          // a constant offset over the whole episode
          expect(Math.max(...shift) - Math.min(...shift)).toBeLessThan(0.01);
          expect(Math.abs(shift[0] ?? 0)).toBeGreaterThan(5);
          break;
        case 'stuck':
          if (complete) expect(values.length).toBeGreaterThanOrEqual(10);
          expect(new Set(values).size).toBe(1);
          break;
        case 'flatline':
          if (complete) expect(values.length).toBeGreaterThanOrEqual(10);
          expect(values.every((value) => value === 0)).toBe(true);
          break;
      }
    }
  });
});
