/**
 * Exactly-once alerting under at-least-once delivery, as a property on real Redis: whatever
 * the delivery sequence (batches of any size, rewinds to an earlier position after a "crash"
 * with different batch boundaries, the same batch twice, a reading the device sent twice
 * sitting at a later position), the alerts and the notifications sent equal those of one clean
 * delivery of the distinct readings, and no notification is sent twice.
 */
import { fc, test } from '@fast-check/jest';
import Redis from 'ioredis';
import { AlertKeys } from '../../../processors/alerts/alertKeys';
import type { AlertRecord, Notification } from '../../../processors/alerts/alertRecord';
import { listAlerts } from '../../../processors/alerts/alertActions';
import { applyReadings } from '../../../processors/alerts/alertsEngine';
import type { AlertsStore } from '../../../processors/alerts/alertsEngine';
import { drainOutbox } from '../../../processors/alerts/outbox';
import type { ReadingInput } from '../../../processors/alerts/readingEvaluation';
import { parseRuleSet } from '../../../processors/alerts/ruleFile';
import { Fanout } from '../../../processors/alerts/targets/notificationTarget';
import type { NotificationTarget } from '../../../processors/alerts/targets/notificationTarget';
import { testServers, uniqueName } from '../../support/servers';
import { reading } from './alertsTestSupport';

const RULES = parseRuleSet(`
defaults: { cooldown: 3s }
rules:
  - { id: high, kind: threshold, metric: v, when: { op: ">", value: 30 }, clear: { op: "<", value: 25 } }
  - { id: run, kind: consecutive, metric: v, when: { op: ">", value: 30 }, count: 2 }
  - { id: held, kind: sustained, metric: v, when: { op: ">", value: 30 }, for: 2s }
  - { id: jump, kind: rateOfChange, metric: v, when: { op: ">", value: 15 }, absolute: true }
`, 'replay-rules.yaml');

class RecordingTarget implements NotificationTarget {
  readonly name = 'recording';
  readonly sent: Notification[] = [];

  async send(notifications: readonly Notification[]): Promise<void> {
    this.sent.push(...notifications);
  }
}

let redis: Redis;
beforeAll(() => {
  redis = new Redis(testServers.redisUrl);
});
afterAll(() => redis.disconnect());

async function wipe(prefix: string): Promise<void> {
  for await (const batch of redis.scanStream({ match: `${prefix}:*`, count: 500 })) {
    const found = batch as string[];
    if (found.length > 0) await redis.del(...found);
  }
}

interface StreamRecordModel {
  position: string;
  input: ReadingInput;
}

/** Delivers records[from..to) as one batch and sends its outbox, like the handler. */
async function deliver(store: AlertsStore, fanout: Fanout, scope: string, records: readonly StreamRecordModel[]): Promise<void> {
  const last = records[records.length - 1];
  if (!last) return;
  await applyReadings(store, scope, last.position, records.map((record) => record.input));
  await drainOutbox(store.redis, store.keys, fanout, scope);
}

function summary(alerts: AlertRecord[]): Array<Pick<AlertRecord, 'alertId' | 'ruleId' | 'deviceId' | 'state' | 'version' | 'raisedAt' | 'updatedAt'>> {
  return alerts
    .map(({ alertId, ruleId, deviceId, state, version, raisedAt, updatedAt }) => ({ alertId, ruleId, deviceId, state, version, raisedAt, updatedAt }))
    .sort((a, b) => a.alertId.localeCompare(b.alertId));
}

// per device: values over time (one per second), from a few levels so rules fire and clear often
const deviceSeries = fc.array(fc.constantFrom(10, 20, 28, 31, 45), { minLength: 4, maxLength: 14 });
const streamModel = fc.record({
  series: fc.array(deviceSeries, { minLength: 1, maxLength: 3 }),
  // readings a device sent twice: [index into the stream, how far later the copy lands]
  duplicates: fc.array(fc.tuple(fc.nat(40), fc.integer({ min: 1, max: 8 })), { maxLength: 5 }),
  // the runtime's deliveries: batch sizes, and after some batches a rewind ("crash before the checkpoint")
  steps: fc.array(fc.record({ size: fc.integer({ min: 1, max: 7 }), rewind: fc.option(fc.integer({ min: 1, max: 12 }), { freq: 3 }) }), { minLength: 1, maxLength: 25 }),
});

describe('alerts under replays', () => {
  test.prop([streamModel], { numRuns: 40 })('give the same alerts and notifications as one clean delivery, with no notification sent twice', async ({ series, duplicates, steps }) => {
    const base = Date.UTC(2026, 0, 1);
    // the partition in order: each device's readings interleaved by time
    const distinct: ReadingInput[] = [];
    const longest = Math.max(...series.map((values) => values.length));
    for (let t = 0; t < longest; t++) {
      series.forEach((values, device) => {
        const value = values[t];
        if (value !== undefined) distinct.push({ reading: reading(`dev-${device}`, t, { v: value }, { eventTime: base + t * 1000 }), arrivalTime: base + t * 1000 + 20 });
      });
    }
    const withCopies = [...distinct];
    for (const [index, later] of duplicates) {
      const original = distinct[index % distinct.length] as ReadingInput;
      withCopies.splice(Math.min(withCopies.length, withCopies.indexOf(original) + later + 1), 0, original);
    }
    const stream: StreamRecordModel[] = withCopies.map((input, index) => ({ position: String(100 + index), input }));

    const cleanPrefix = uniqueName('replay-clean');
    const replayPrefix = uniqueName('replay-faulty');
    const scope = 'readings/kafka:enriched-0';
    try {
      const clean = new RecordingTarget();
      const cleanStore: AlertsStore = { redis, keys: new AlertKeys(cleanPrefix), rules: RULES };
      for (let index = 0; index < distinct.length; index++) {
        await deliver(cleanStore, new Fanout([clean]), scope, [{ position: String(index + 1), input: distinct[index] as ReadingInput }]);
      }

      const replayed = new RecordingTarget();
      const replayStore: AlertsStore = { redis, keys: new AlertKeys(replayPrefix), rules: RULES };
      const fanout = new Fanout([replayed]);
      let cursor = 0;
      for (const step of steps) {
        if (cursor >= stream.length) break;
        const batch = stream.slice(cursor, cursor + step.size);
        await deliver(replayStore, fanout, scope, batch);
        cursor += batch.length;
        if (step.rewind !== null) cursor = Math.max(0, cursor - step.rewind);
      }
      while (cursor < stream.length) {
        const batch = stream.slice(cursor, cursor + 5);
        await deliver(replayStore, fanout, scope, batch);
        cursor += batch.length;
      }

      const sentIds = replayed.sent.map((n) => n.id);
      expect(new Set(sentIds).size).toBe(sentIds.length);
      expect([...sentIds].sort()).toEqual(clean.sent.map((n) => n.id).sort());
      expect(replayed.sent.map((n) => n.alert).sort((a, b) => a.alertId.localeCompare(b.alertId) || a.version - b.version))
        .toEqual(clean.sent.map((n) => n.alert).sort((a, b) => a.alertId.localeCompare(b.alertId) || a.version - b.version));
      expect(summary(await listAlerts(redis, replayStore.keys, { limit: 10_000 }))).toEqual(summary(await listAlerts(redis, cleanStore.keys, { limit: 10_000 })));
    } finally {
      await wipe(cleanPrefix);
      await wipe(replayPrefix);
    }
  });
});
