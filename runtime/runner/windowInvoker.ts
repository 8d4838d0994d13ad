/**
 * Tumbling windows (Kinesis TumblingWindowInSeconds), as Lambda runs them: every invocation of
 * a window gets the state the previous one returned, the response must carry `state`, and when
 * the window is over a final invocation (no records, isFinalInvokeForWindow) hands the handler
 * the finished state; it is retried until it succeeds, blocking the shard like on AWS.
 *
 * Beyond AWS: the stored state remembers the last record it covers, so records that are read
 * again after a crash (checkpoint not yet written) are not folded into the state twice.
 * State over 1 MB ends the window early (isWindowTerminatedEarly), then it goes on fresh.
 */
import type { StreamRecord } from '../../streams/streamClient';
import { sleep, backoffDelay } from '../../core/retry';
import type { BatchVerdict } from '../engine/batchProcessor';
import { buildTumblingWindowEvent, tumblingWindowOf } from '../events/kinesisEvent';
import type { KinesisEventSource } from '../events/kinesisEvent';
import { itemIdentifierOf } from '../events/itemIdentifier';
import { interpretWindowResponse, TUMBLING_WINDOW_STATE_MAX_BYTES } from '../invoke/batchResponse';
import { comparePositions } from '../redis/positionOrder';
import type { TumblingWindowStore } from '../windows/tumblingWindowStore';
import type { BatchInvokerDeps } from './batchInvoker';
import { describeFailure, invokeOnInstance } from './batchInvoker';

interface StoredWindowState {
  /** the handler's state */
  s: Record<string, unknown>;
  /** the last record folded into it */
  through: string;
}

export interface WindowInvokerDeps extends BatchInvokerDeps {
  store: TumblingWindowStore;
  leaseGroup: string;
}

export function createWindowInvoker(deps: WindowInvokerDeps): {
  invoke(records: StreamRecord[], shardId: string): Promise<BatchVerdict>;
  closeWindow(shardId: string, windowStart: number, signal: AbortSignal): Promise<void>;
} {
  const seconds = deps.mapping.TumblingWindowInSeconds;
  const reportItems = deps.mapping.FunctionResponseTypes.includes('ReportBatchItemFailures');
  const maybeSource = deps.source.kinesis;
  if (!maybeSource) throw new Error('tumbling windows need a Kinesis source');
  const source: KinesisEventSource = maybeSource;

  async function load(shardId: string, start: number): Promise<StoredWindowState | undefined> {
    const stored = await deps.store.get(deps.leaseGroup, shardId, start);
    return stored ? (stored.state as unknown as StoredWindowState) : undefined;
  }

  async function invokeFinal(shardId: string, window: { start: number; end: number }, state: Record<string, unknown>, terminatedEarly: boolean): Promise<boolean> {
    const event = buildTumblingWindowEvent([], source, { window, state, shardId, isFinalInvokeForWindow: true, isWindowTerminatedEarly: terminatedEarly });
    const outcome = await invokeOnInstance(deps, event);
    if (outcome.kind !== 'success') deps.logger.warn({ shardId, window: window.start, error: describeFailure(outcome) }, 'final window invocation failed; retrying');
    return outcome.kind === 'success';
  }

  return {
    async invoke(records, shardId) {
      const first = records[0];
      if (!first) return { kind: 'success' };
      const window = tumblingWindowOf(first.arrivalTime, seconds);
      const stored = await load(shardId, window.start);
      const fresh = stored ? records.filter((record) => comparePositions(record.position, stored.through) > 0) : records;
      if (fresh.length === 0) return { kind: 'success' };
      const event = buildTumblingWindowEvent(fresh, source, { window, state: stored?.s, shardId, isFinalInvokeForWindow: false, isWindowTerminatedEarly: false });
      const outcome = await invokeOnInstance(deps, event);
      if (outcome.kind !== 'success') return { kind: 'failed', reason: describeFailure(outcome) };
      const verdict = interpretWindowResponse(outcome.response, fresh.map((record) => itemIdentifierOf(record, 'kinesis')), reportItems);
      if (verdict.kind === 'failed') return verdict;
      const doneCount = verdict.kind === 'partial' ? verdict.firstFailedIndex : fresh.length;
      const through = doneCount > 0 ? (fresh[doneCount - 1] as StreamRecord).position : stored?.through;
      if (verdict.stateBytes > TUMBLING_WINDOW_STATE_MAX_BYTES) {
        // Like AWS: the window ends early; the handler sees the state as final, then the window goes on fresh.
        for (let attempt = 0; !(await invokeFinal(shardId, window, verdict.state, true)); attempt++) await sleep(backoffDelay(Math.min(attempt, 8), { initialDelayMs: 100, maxDelayMs: 5000, factor: 2 }));
        if (through !== undefined) await deps.store.put(deps.leaseGroup, shardId, window, { s: {}, through } as unknown as Record<string, unknown>);
      } else if (through !== undefined) {
        await deps.store.put(deps.leaseGroup, shardId, window, { s: verdict.state, through } as unknown as Record<string, unknown>);
      }
      if (verdict.kind === 'partial') {
        const failedAt = records.indexOf(fresh[verdict.firstFailedIndex] as StreamRecord);
        return { kind: 'partial', firstFailedIndex: failedAt };
      }
      return { kind: 'success' };
    },

    async closeWindow(shardId, windowStart, signal) {
      const stored = await load(shardId, windowStart);
      if (!stored) return;
      const window = { start: windowStart, end: windowStart + seconds * 1000 };
      for (let attempt = 0; ; attempt++) {
        signal.throwIfAborted();
        if (await invokeFinal(shardId, window, stored.s, false)) break;
        await sleep(backoffDelay(Math.min(attempt, 8), { initialDelayMs: 100, maxDelayMs: 5000, factor: 2 }), signal);
      }
      await deps.store.delete(deps.leaseGroup, shardId, windowStart);
    },
  };
}
