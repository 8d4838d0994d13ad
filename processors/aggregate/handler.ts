/**
 * The aggregate processor as Lambda handlers (deploys unchanged; `sluice up` runs them locally):
 *
 * - `handler`: reads EnrichedReadings from the enriched stream (Kinesis or Kafka event), counts
 *   each (deviceId, seq) once into tumbling, hopping and session windows per device and per site,
 *   keeps the live state in Redis (latest values, open windows) and emits closed windows to
 *   $SLUICE_AGGREGATES_STREAM, late readings to $SLUICE_LATE_STREAM, bad records to
 *   $SLUICE_PROCESSOR_DLQ. One Redis script call per partition per batch, exactly once.
 * - `closeWindows`: the scheduled timer (an EventBridge `rate(1 second)`... rule on AWS; `sluice up`
 *   calls it every second): closes windows whose end + grace passed on the wall clock, even
 *   when their devices went quiet, and flushes the outbox.
 *
 * Settings: processors/aggregate/README.md. Connections open once per instance, like a Lambda's
 * clients created outside the handler.
 */
import type { Context, ScheduledEvent } from 'aws-lambda';
import { createLogger } from '../../core/logger';
import type { ProcessorEvent } from '../shared/streamRecords';
import { sharedCodec, sharedRedis, sharedStream } from '../shared/processorResources';
import { AggregateKeys } from './aggregateKeys';
import { AggregateProcessor } from './aggregateProcessor';
import type { AggregateSettings } from './aggregateSettings';
import { aggregateSettingsFromEnv } from './aggregateSettings';

function processorFor(settings: AggregateSettings): AggregateProcessor {
  return new AggregateProcessor({
    redis: sharedRedis(settings.redisUrl),
    codec: sharedCodec(settings.schemaRegistry),
    keys: new AggregateKeys(settings.keyPrefix),
    settings,
    targets: {
      aggregates: sharedStream(settings.aggregatesStream),
      late: settings.lateStream === undefined ? undefined : sharedStream(settings.lateStream),
      dlq: settings.deadLetterStream === undefined ? undefined : sharedStream(settings.deadLetterStream),
    },
    logger: createLogger({ component: 'aggregate' }),
  });
}

let streamProcessor: AggregateProcessor | undefined;
let timerProcessor: AggregateProcessor | undefined;

export async function handler(event: ProcessorEvent, context: Pick<Context, 'functionName'>): Promise<{ batchItemFailures: [] }> {
  streamProcessor ??= processorFor(aggregateSettingsFromEnv(process.env, 'handler'));
  await streamProcessor.processEvent(event, context.functionName);
  return { batchItemFailures: [] };
}

export async function closeWindows(_event?: ScheduledEvent): Promise<{ closed: number; aggregates: number; late: number; dlq: number; dropped: number }> {
  timerProcessor ??= processorFor(aggregateSettingsFromEnv(process.env, 'timer'));
  return timerProcessor.closeWindows();
}
