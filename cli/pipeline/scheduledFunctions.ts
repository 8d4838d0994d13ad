/**
 * The scheduled functions of pipelineSpec (window closing, lake compaction, heartbeat checks) on
 * timers, each with an EventBridge-shaped event, one run at a time each (EventBridge would not
 * overlap them either with reserved concurrency 1). `sluice up` runs them beside the stream
 * functions; `sluice chaos` runs them in its own process while the stream functions run in theirs.
 */
import type { Handler } from 'aws-lambda';
import type { Logger } from 'pino';
import { errorMessage } from '../../core/errors';
import { loadHandler } from '../../runtime/invoke/loadHandler';
import { SCHEDULED_FUNCTIONS } from './pipelineSpec';

export type ScheduleStats = Record<string, { runs: number; failures: number; lastError?: string }>;

export class ScheduledFunctions {
  readonly stats: ScheduleStats = {};
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly runs = new Set<Promise<void>>();

  constructor(private readonly projectRoot: string, private readonly logger: Logger, private readonly without: readonly string[] = []) {}

  start(): void {
    for (const scheduled of SCHEDULED_FUNCTIONS) {
      if (this.without.includes(scheduled.name)) continue;
      const stats: ScheduleStats[string] = { runs: 0, failures: 0 };
      this.stats[scheduled.name] = stats;
      let handler: Handler | undefined;
      let running = false;
      const tick = (): void => {
        if (running) return;
        running = true;
        const run = (async () => {
          try {
            handler ??= loadHandler(`${this.projectRoot}/${scheduled.handler}`, this.projectRoot).handler;
            const event = { version: '0', id: `${scheduled.name}-${Date.now()}`, 'detail-type': 'Scheduled Event', source: 'aws.events', account: '000000000000', time: new Date().toISOString(), region: 'local', resources: [`arn:aws:events:local:000000000000:rule/${scheduled.name}`], detail: {} };
            await (handler as (event: unknown, context: unknown) => Promise<unknown>)(event, { functionName: scheduled.name, awsRequestId: event.id, getRemainingTimeInMillis: () => 30_000 });
            stats.runs += 1;
          } catch (error) {
            stats.failures += 1;
            stats.lastError = errorMessage(error);
            this.logger.warn({ function: scheduled.name, err: stats.lastError }, 'scheduled function failed');
          } finally {
            running = false;
          }
        })();
        this.runs.add(run);
        void run.finally(() => this.runs.delete(run));
      };
      this.timers.push(setInterval(tick, scheduled.rateSeconds * 1000));
    }
  }

  /** Stops the timers and waits for runs in progress. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers.length = 0;
    await Promise.allSettled([...this.runs]);
  }
}
