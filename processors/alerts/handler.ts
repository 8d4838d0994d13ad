/**
 * The alerts processor: three plain Lambda handlers.
 *
 *   handler           enriched readings (Kinesis or Kafka event) -> reading and heartbeat-clear rules
 *   aggregatesHandler closed windows from the aggregates stream   -> aggregate rules
 *   checkHeartbeats   EventBridge ScheduledEvent (rate(...))       -> silent devices, re-notifications, stale outboxes
 *
 * Per stream scope: decode, evaluate and commit the rule state with the batch's last position
 * in one Redis script (a replayed batch changes nothing; a reading at two positions counts
 * once), dead-letter what cannot be used, then send the outbox. A failure that is not the
 * input's fault (Redis, PostgreSQL, the stream, MQTT) is thrown, so the runtime retries the
 * batch; the retry finds the state applied and only re-sends what is still pending.
 */
import type { Context, ScheduledEvent } from 'aws-lambda';
import { createLogger } from '../../core/logger';
import { recordsByScope, recordsOf } from '../shared/streamRecords';
import type { ProcessorEvent, ProcessorRecord } from '../shared/streamRecords';
import { alertsContext } from './alertsContext';
import type { AlertsContext } from './alertsContext';
import { applyAggregates, applyReadings, runTimers, TIMER_OWNER } from './alertsEngine';
import { decodeAggregates, decodeReadings } from './decodeInputs';
import { deadLetterRecords } from './deadLetters';
import { drainOutbox, drainStaleOutboxes } from './outbox';

export { verifyWebhookSignature, signWebhookBody, SIGNATURE_HEADER } from './webhookSignature';
export { listAlerts, countActiveAlerts, acknowledgeAlertById, clearAlertById, AlertNotFoundError } from './alertActions';
export { closeAlertsConnections } from './alertsContext';

const logger = createLogger({ component: 'alerts' });

function lastPosition(records: readonly ProcessorRecord[]): string {
  return (records[records.length - 1] as ProcessorRecord).position;
}

export async function handler(event: ProcessorEvent, _context?: Context): Promise<void> {
  const context = alertsContext();
  for (const [scope, records] of recordsByScope(recordsOf(event))) {
    const owner = `readings/${scope}`;
    const { good, bad } = await decodeReadings(context.codec, records);
    if (good.length > 0) {
      const inputs = good.map(({ record, value }) => ({ reading: value, arrivalTime: record.arrivalTime }));
      const result = await applyReadings(context.store, owner, lastPosition(records), inputs);
      if (result.stale > 0) logger.warn({ scope, stale: result.stale }, 'readings further back than the dedupe window were not evaluated');
    }
    await deadLetterRecords(context.deadLetters, 'alerts', bad);
    await drainOutbox(context.store.redis, context.keys, context.fanout, owner);
  }
}

export async function aggregatesHandler(event: ProcessorEvent, _context?: Context): Promise<void> {
  const context = alertsContext();
  for (const [scope, records] of recordsByScope(recordsOf(event))) {
    const owner = `aggregates/${scope}`;
    const { good, bad } = await decodeAggregates(context.codec, records);
    if (good.length > 0) await applyAggregates(context.store, owner, lastPosition(records), good.map((item) => item.value));
    await deadLetterRecords(context.deadLetters, 'alerts-aggregates', bad);
    await drainOutbox(context.store.redis, context.keys, context.fanout, owner);
  }
}

/** The scheduled event's time is the clock (EventBridge sets it; `sluice up` and tests too). */
function clockOf(event: Partial<ScheduledEvent> | undefined): number {
  const time = event?.time === undefined ? Number.NaN : Date.parse(event.time);
  return Number.isFinite(time) ? time : Date.now();
}

export interface TimerSummary {
  heartbeatsOpened: number;
  renotified: number;
  sent: number;
}

export async function checkTimers(context: AlertsContext, now: number): Promise<TimerSummary> {
  const result = await runTimers(context.store, now);
  const sent = await drainStaleOutboxes(context.store.redis, context.keys, context.fanout, TIMER_OWNER, now);
  return { heartbeatsOpened: result.heartbeatsOpened.length, renotified: result.renotified.length, sent };
}

export async function checkHeartbeats(event: ScheduledEvent, _context?: Context): Promise<TimerSummary> {
  return checkTimers(alertsContext(), clockOf(event));
}
