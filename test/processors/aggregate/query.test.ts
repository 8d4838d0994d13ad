/**
 * Reading the live state back: `latest` and `windows` (the functions the dashboard serves) and
 * `sluice query latest|windows` (the command, parsed by commander as the CLI does), on state the
 * real processor wrote to the real Redis.
 */
import { Command } from 'commander';
import { ConfigError } from '../../../core/errors';
import { knownIds, latest, siteWindows, windows } from '../../../processors/aggregate/query';
import { parseQueryTime, registerQueryCommand } from '../../../cli/commands/query';
import { testServers } from '../../support/servers';
import { AggregateTestBed, T0, kafkaEvent, reading, windowSettings } from './aggregateTestKit';

const bed = new AggregateTestBed();
let now = T0;

beforeAll(async () => {
  await bed.start();
  const processor = bed.processor(windowSettings('tumbling:10s,session:5s', { graceMs: 2000 }), () => now);
  const readings = [
    reading('q1', 1, T0 + 1000, { temperature: 20, humidity: 50 }, 'site-q'),
    reading('q1', 2, T0 + 3000, { temperature: 24 }, 'site-q'),
    reading('q2', 1, T0 + 2000, { temperature: 30 }, 'site-q'),
    reading('q1', 3, T0 + 14_000, { temperature: 26 }, 'site-q'),
  ];
  now = T0 + 5000; // the wall clock; q1's first 10 s window closes by q1's watermark (T0 + 14 s >= T0 + 12 s)
  const records = await Promise.all(readings.map(async (r, i) => ({ offset: i, key: r.deviceId, value: await bed.encode(r) })));
  await processor.processEvent(kafkaEvent('enriched', 0, records), 'query');
});

afterAll(async () => {
  await bed.close();
});

describe('aggregate queries', () => {
  it('latest: each metric\'s latest value by event time, with the device\'s site and type', async () => {
    expect(await latest(bed.redis, 'q1', { keyPrefix: bed.prefix })).toEqual({
      deviceId: 'q1', siteId: 'site-q', deviceType: 'thermo', eventTime: T0 + 14_000, seq: 3, updatedAt: T0 + 5000,
      metrics: { temperature: { value: 26, time: T0 + 14_000, seq: 3 }, humidity: { value: 50, time: T0 + 1000, seq: 1 } },
    });
    expect(await latest(bed.redis, 'nobody', { keyPrefix: bed.prefix })).toBeNull();
    expect((await knownIds(bed.redis, 'device', { keyPrefix: bed.prefix })).map((entry) => entry.id)).toEqual(['q1', 'q2']);
  });

  it('windows: open and closed windows overlapping a range, with stats and percentiles', async () => {
    const found = await windows(bed.redis, 'q1', T0, T0 + 20_000, undefined, { keyPrefix: bed.prefix });
    expect(found.map((w) => `${w.spec}@${w.start - T0}-${w.end - T0}:${w.status}`)).toEqual(['tumbling:10s@0-10000:closed', 'session:5s@1000-8000:closed', 'tumbling:10s@10000-20000:open', 'session:5s@14000-19000:open']);
    const [first] = found;
    expect(first?.metrics.temperature).toMatchObject({ count: 2, sum: 44, min: 20, max: 24, mean: 22, stddev: 2, first: { value: 20, time: T0 + 1000 }, last: { value: 24, time: T0 + 3000 } });
    expect(first?.metrics.temperature?.percentiles.p50).toBeCloseTo(20, 0);
    expect(first?.metrics.humidity?.count).toBe(1);
    expect((await windows(bed.redis, 'q1', T0 + 10_000, T0 + 20_000, 'tumbling', { keyPrefix: bed.prefix })).map((w) => w.start - T0)).toEqual([10_000]);
    expect(await windows(bed.redis, 'q1', T0 + 60_000, T0 + 70_000, undefined, { keyPrefix: bed.prefix })).toEqual([]);
    const site = await siteWindows(bed.redis, 'site-q', T0, T0 + 10_000, undefined, { keyPrefix: bed.prefix });
    expect(site.map((w) => [w.scope, w.status, w.metrics.temperature?.count])).toEqual([['site', 'open', 3]]);
  });

  describe('sluice query', () => {
    async function run(...args: string[]): Promise<string> {
      const program = new Command().exitOverride();
      registerQueryCommand(program);
      const lines: string[] = [];
      const log = jest.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
      try {
        await program.parseAsync(['node', 'sluice', 'query', ...args, '--redis-url', testServers.redisUrl, '--key-prefix', bed.prefix]);
      } finally {
        log.mockRestore();
      }
      return lines.join('\n');
    }

    it('prints the latest values as a table, or JSON', async () => {
      const table = await run('latest', 'q1');
      expect(table).toMatch(/^q1 {2}site site-q {2}type thermo/);
      expect(table).toMatch(/temperature\s+26\s+2030-01-01T12:00:14\.000Z\s+3/);
      expect(JSON.parse(await run('latest', 'q2', '--json'))).toMatchObject({ deviceId: 'q2', metrics: { temperature: { value: 30 } } });
      expect(await run('latest', 'nobody')).toMatch(/no values for device "nobody"/);
    });

    it('prints windows in a time range, by kind, per device or per site', async () => {
      const table = await run('windows', 'q1', '--from', new Date(T0).toISOString(), '--to', String(T0 + 10_000), '--kind', 'tumbling');
      const [header, ...rows] = table.split('\n');
      expect(header).toMatch(/^window\s+start\s+end\s+status\s+metric\s+count\s+mean\s+min\s+max\s+stddev\s+p50\s+p90\s+p95\s+p99\s+first\s+last$/);
      expect(rows.map((row) => row.split(/\s+/).slice(0, 6).join(' '))).toEqual([
        'tumbling:10s 2030-01-01T12:00:00.000Z 2030-01-01T12:00:10.000Z closed humidity 1',
        'tumbling:10s 2030-01-01T12:00:00.000Z 2030-01-01T12:00:10.000Z closed temperature 2',
      ]);
      const site = JSON.parse(await run('windows', 'site-q', '--site', '--from', String(T0), '--to', String(T0 + 10_000), '--json')) as Array<{ scope: string }>;
      expect(site.map((w) => w.scope)).toEqual(['site']);
      await expect(run('windows', 'q1', '--from', 'yesterday-ish')).rejects.toThrow(/--from: must be now, -<duration>/);
    });

    it('reads times as now, relative durations, epoch ms or ISO', () => {
      expect(parseQueryTime('--from', 'now', 5000)).toBe(5000);
      expect(parseQueryTime('--from', '-2s', 5000)).toBe(3000);
      expect(parseQueryTime('--from', '1234', 5000)).toBe(1234);
      expect(parseQueryTime('--to', '1970-01-01T00:00:01Z', 5000)).toBe(1000);
      expect(() => parseQueryTime('--to', '-2x', 5000)).toThrow(ConfigError);
    });
  });
});
