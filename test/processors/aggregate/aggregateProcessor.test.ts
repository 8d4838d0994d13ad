/**
 * The aggregate processor against the real Redis and Kafka, driven with Lambda events and a
 * clock the test moves: windows, watermark closing, wall-clock closing, late data, duplicates
 * at other positions, replays, dead letters, the outbox.
 */
import { AggregateKeys } from '../../../processors/aggregate/aggregateKeys';
import { readingId } from '../../../processors/aggregate/batchPlanner';
import type { MetricStats } from '../../../processors/aggregate/metricStats';
import { statsFromBinary } from '../../../processors/aggregate/metricStats';
import type { Aggregate } from '../../../schemas/records';
import type { KafkaRecordSpec } from './aggregateTestKit';
import { AggregateTestBed, T0, kafkaEvent, reading, windowSettings } from './aggregateTestKit';

const bed = new AggregateTestBed();
let now = T0;
const clock = (): number => now;

beforeAll(async () => {
  await bed.start();
});

afterAll(async () => {
  await bed.close();
});

beforeEach(async () => {
  await bed.deletePrefix();
  now = T0;
});

async function records(specs: Array<{ offset: number; device: string; seq: number; time: number; value: number; site?: string }>): Promise<KafkaRecordSpec[]> {
  return Promise.all(specs.map(async (spec) => ({ offset: spec.offset, key: spec.device, value: await bed.encode(reading(spec.device, spec.seq, spec.time, { temperature: spec.value }, spec.site)) })));
}

async function statsOf(key: string, metric = 'temperature'): Promise<MetricStats | undefined> {
  const bytes = await bed.redis.hgetBuffer(key, `s:${metric}`);
  return bytes ? statsFromBinary(bytes) : undefined;
}

function finalOf(aggregates: Aggregate[], scope: 'device' | 'site', scopeId: string, start: number, end: number): Aggregate[] {
  return aggregates.filter((a) => a.scope === scope && a.scopeId === scopeId && a.windowStart === start && a.windowEnd === end);
}

describe('aggregate processor', () => {
  it('counts a tumbling window per device and per site and closes it when the watermark passes end + grace', async () => {
    const processor = bed.processor(windowSettings('tumbling:10s', { graceMs: 2000 }), clock);
    now = T0 + 1000;
    const first = await records([
      { offset: 0, device: 'd1', seq: 1, time: T0 + 1000, value: 20 },
      { offset: 1, device: 'd1', seq: 2, time: T0 + 4000, value: 22 },
      { offset: 2, device: 'd2', seq: 1, time: T0 + 5000, value: 30 },
    ]);
    await processor.processEvent(kafkaEvent('enriched', 0, first), 'agg');
    const key = bed.keys.window('device', 'd1', 'tumbling:10s', T0);
    expect(await bed.redis.hget(key, 'status')).toBe('open');
    // the watermark reaches T0 + 12000 = end + grace: the first window closes
    const second = await records([{ offset: 3, device: 'd1', seq: 3, time: T0 + 12_000, value: 25 }]);
    await processor.processEvent(kafkaEvent('enriched', 0, second), 'agg');
    expect(await bed.redis.hget(key, 'status')).toBe('closed');
    const produced = await bed.aggregatesProduced();
    const [device] = finalOf(produced, 'device', 'd1', T0, T0 + 10_000);
    expect(device).toMatchObject({ metric: 'temperature', windowKind: 'tumbling', count: 2, sum: 42, min: 20, max: 22, mean: 21, m2: 2, firstValue: 20, firstTime: T0 + 1000, lastValue: 22, lastTime: T0 + 4000 });
    // the site's window waits for the wall clock: its devices live in other partitions too
    expect(finalOf(produced, 'site', 'site-a', T0, T0 + 10_000)).toEqual([]);
    now = T0 + 12_000;
    await processor.closeWindows();
    const [site] = finalOf(await bed.aggregatesProduced(), 'site', 'site-a', T0, T0 + 10_000);
    expect(site).toMatchObject({ count: 3, sum: 72, min: 20, max: 30 });
    expect(site?.percentiles?.p50).toBeCloseTo(22, 0);
    // the outbox is empty once produced
    expect(await bed.redis.zcard(bed.keys.outbox('aggregates'))).toBe(0);
  });

  it('counts a reading once when it arrives again at another position, and a replayed batch changes nothing', async () => {
    const processor = bed.processor(windowSettings('tumbling:1m,hopping:1m/20s,session:30s'), clock);
    now = T0 + 2000;
    const batch = await records([
      { offset: 10, device: 'd1', seq: 1, time: T0 + 1000, value: 1 },
      { offset: 11, device: 'd1', seq: 2, time: T0 + 2000, value: 2 },
    ]);
    await processor.processEvent(kafkaEvent('enriched', 0, batch), 'agg');
    const before = await bed.dump();
    await processor.processEvent(kafkaEvent('enriched', 0, batch), 'agg');
    expect(await bed.dump()).toEqual(before);
    // the same readings re-produced upstream: new offsets, same (deviceId, seq)
    const again = await records([
      { offset: 12, device: 'd1', seq: 2, time: T0 + 2000, value: 2 },
      { offset: 13, device: 'd1', seq: 3, time: T0 + 3000, value: 3 },
      { offset: 14, device: 'd1', seq: 3, time: T0 + 3000, value: 3 },
    ]);
    await processor.processEvent(kafkaEvent('enriched', 0, again), 'agg');
    const stats = await statsOf(bed.keys.window('device', 'd1', 'tumbling:1m', T0));
    expect([stats?.count, stats?.sum]).toEqual([3, 6]);
    const scope = bed.keys.scopeState('agg/kafka:enriched-0');
    expect(await bed.redis.hmget(scope, 'readings', 'duplicates')).toEqual(['3', '2']);
  });

  it('sends readings later than the grace period to the late stream, naming the windows they missed', async () => {
    const processor = bed.processor(windowSettings('tumbling:10s', { graceMs: 1000 }), clock);
    now = T0 + 30_000;
    const batch = await records([
      { offset: 0, device: 'd1', seq: 1, time: T0 + 25_000, value: 5 },
      { offset: 1, device: 'd1', seq: 2, time: T0 + 3000, value: 7 }, // window [T0, T0+10s) closed by the watermark (and the wall clock)
    ]);
    await processor.processEvent(kafkaEvent('enriched', 0, batch), 'agg');
    const late = (await bed.deadLettersIn('late')).filter((d) => d.headers?.deviceId === 'd1');
    expect(late).toHaveLength(1);
    expect(late[0]?.reasonCode).toBe('after_grace');
    expect(late[0]?.headers?.seq).toBe('2');
    expect(JSON.parse(late[0]?.headers?.missed ?? '[]')).toHaveLength(2);
    expect(await bed.codec.decode(late[0]?.original ?? Buffer.alloc(0))).toMatchObject({ deviceId: 'd1', seq: 2 });
    expect(await bed.redis.hget(bed.keys.counters(), 'late')).toBe('1');
    expect(await bed.redis.exists(bed.keys.window('device', 'd1', 'tumbling:10s', T0))).toBe(0);
  });

  it('closes windows on the wall clock when their devices went quiet', async () => {
    const processor = bed.processor(windowSettings('tumbling:10s', { graceMs: 2000 }), clock);
    now = T0 + 1000;
    await processor.processEvent(kafkaEvent('enriched', 0, await records([{ offset: 0, device: 'quiet', seq: 1, time: T0 + 500, value: 9, site: 'site-quiet' }])), 'agg');
    now = T0 + 11_999;
    expect((await processor.closeWindows()).closed).toBe(0);
    now = T0 + 12_000;
    const result = await processor.closeWindows();
    expect(result.closed).toBe(2);
    expect(result.aggregates).toBe(2);
    const produced = (await bed.aggregatesProduced()).filter((a) => a.scopeId.includes('quiet'));
    expect(produced.map((a) => `${a.scope}:${a.scopeId}:${a.count}`).sort()).toEqual(['device:quiet:1', 'site:site-quiet:1']);
    // a reading for the closed window that comes now is late, not counted
    await processor.processEvent(kafkaEvent('enriched', 0, await records([{ offset: 1, device: 'quiet', seq: 2, time: T0 + 600, value: 1, site: 'site-quiet' }])), 'agg');
    expect((await bed.deadLettersIn('late')).filter((d) => d.headers?.deviceId === 'quiet')).toHaveLength(1);
  });

  it('dead-letters records that are not EnrichedReadings, with the reason, and goes on', async () => {
    const processor = bed.processor(windowSettings('tumbling:10s'), clock);
    now = T0 + 1000;
    const good = await records([{ offset: 1, device: 'd1', seq: 1, time: T0 + 500, value: 3 }]);
    const notAvro = { offset: 0, key: 'd1', value: Buffer.from('{"deviceId":"d1"}') };
    const nan = { offset: 2, key: 'd1', value: await bed.encode(reading('d1', 2, T0 + 600, { temperature: Number.NaN })) };
    await processor.processEvent(kafkaEvent('enriched', 0, [notAvro, ...good, nan]), 'agg');
    const dlq = await bed.deadLettersIn('dlq');
    expect(dlq.map((d) => d.reasonCode).sort()).toEqual(['bad_magic', 'non_finite_metric']);
    expect(dlq.find((d) => d.reasonCode === 'bad_magic')?.original.toString()).toBe('{"deviceId":"d1"}');
    expect((await statsOf(bed.keys.window('device', 'd1', 'tumbling:10s', T0)))?.count).toBe(1);
  });

  it('merges sessions when a reading bridges them, in any arrival order', async () => {
    const processor = bed.processor(windowSettings('session:10s', { graceMs: 60_000 }), clock);
    now = T0 + 20_000;
    await processor.processEvent(kafkaEvent('enriched', 0, await records([
      { offset: 0, device: 's', seq: 1, time: T0 + 1000, value: 1 },
      { offset: 1, device: 's', seq: 3, time: T0 + 19_000, value: 3 },
    ])), 'agg');
    const index = bed.keys.sessions('s', 'session:10s');
    expect(Object.keys(await bed.redis.hgetall(index)).filter((f) => f !== 'v')).toHaveLength(2);
    await processor.processEvent(kafkaEvent('enriched', 0, await records([{ offset: 2, device: 's', seq: 2, time: T0 + 10_000, value: 2 }])), 'agg');
    const sessions = Object.entries(await bed.redis.hgetall(index)).filter(([f]) => f !== 'v');
    expect(sessions).toEqual([[`${T0 + 1000}-1`, `${T0 + 1000},${T0 + 19_000},open`]]);
    const key = bed.keys.window('device', 's', 'session:10s', `${T0 + 1000}-1`);
    const window = await bed.redis.hgetall(key);
    const stats = await statsOf(key);
    expect([stats?.count, stats?.sum, stats?.min, stats?.max]).toEqual([3, 6, 1, 3]);
    expect([window.start, window.end]).toEqual([String(T0 + 1000), String(T0 + 29_000)]);
    expect(await bed.redis.exists(bed.keys.window('device', 's', 'session:10s', `${T0 + 19_000}-3`))).toBe(0);
  });

  it('keeps the latest value of each metric per device by event time, whatever the arrival order', async () => {
    const processor = bed.processor(windowSettings('tumbling:1m'), clock);
    now = T0 + 5000;
    await processor.processEvent(kafkaEvent('enriched', 0, await records([
      { offset: 0, device: 'd1', seq: 5, time: T0 + 4000, value: 40 },
      { offset: 1, device: 'd1', seq: 4, time: T0 + 3000, value: 30 },
    ])), 'agg');
    const latest = await bed.redis.hgetall(bed.keys.latest('d1'));
    expect(latest['m:temperature']).toBe(`40,${T0 + 4000},5`);
    expect(latest.siteId).toBe('site-a');
    expect(readingId('d1', 5)).not.toBe(readingId('d15', 5));
    expect(new AggregateKeys(bed.prefix).latest('d1')).toBe(bed.keys.latest('d1'));
  });
});
