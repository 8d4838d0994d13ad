/**
 * What happens to one batch once it was read: invoke, and on failure retry, bisect, honour a
 * partial batch response, drop aged records, and finally hand what could not be processed to
 * the on-failure destination. It resolves only when every record of the batch is accounted
 * for (processed, or dispatched to the destination), reporting progress in order, so the
 * caller can move the checkpoint exactly as far as is safe - like Lambda's ESM, which blocks
 * the shard until the batch succeeds, expires or exhausts its retries.
 */
import type { StreamRecord } from '../../streams/streamClient';

/** How one invocation of the handler with a (sub-)batch ended, as the runtime sees it. */
export type BatchVerdict =
  | { kind: 'success' }
  /** the handler reported item failures: records before `firstFailedIndex` succeeded */
  | { kind: 'partial'; firstFailedIndex: number }
  /** thrown error, timeout, or a response that fails the whole batch */
  | { kind: 'failed'; reason: string };

export type FailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

export interface FailedBatch {
  records: StreamRecord[];
  condition: FailureCondition;
  /** 1 + retries done for these records (AWS approximateInvokeCount) */
  invokeCount: number;
  /** 'Unhandled' after a thrown error/timeout, null after a partial batch response, undefined for RecordAgeExceeded */
  functionError: 'Unhandled' | null | undefined;
  lastReason: string | undefined;
}

export interface BatchPolicy {
  /** -1 = retry until success or expiry (the AWS default) */
  maximumRetryAttempts: number;
  /** -1 = records never expire (the AWS default); else seconds */
  maximumRecordAgeInSeconds: number;
  bisectBatchOnFunctionError: boolean;
  /** wait before retry n (0-based) */
  retryDelayMs: (retry: number) => number;
}

export interface BatchProcessorDeps {
  invoke(records: StreamRecord[]): Promise<BatchVerdict>;
  /** deliver a failure record to the on-failure destination (or drop it with a log line when none is configured, like AWS) */
  dispatchFailure(failure: FailedBatch): Promise<void>;
  /** every record up to and including this one is accounted for: safe to checkpoint */
  progress(lastDone: StreamRecord): Promise<void> | void;
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

interface Segment {
  records: StreamRecord[];
  /** invocations these records already went through */
  invokeCount: number;
}

export interface BatchResult {
  invocations: number;
  retries: number;
  dispatchedFailures: number;
}

/**
 * Halves of a failed batch. AWS: "Splitting a batch does not count towards the retry quota",
 * so each half starts with its own MaximumRetryAttempts (its approximateInvokeCount counts its
 * own invocations). The work stays bounded: halving stops at one-record batches.
 */
function split(segment: Segment): [Segment, Segment] {
  const middle = Math.ceil(segment.records.length / 2);
  return [
    { records: segment.records.slice(0, middle), invokeCount: 0 },
    { records: segment.records.slice(middle), invokeCount: 0 },
  ];
}

/**
 * Processes `records` (in shard order) to the end. Rejects only when `signal` aborts (shutdown,
 * lease lost) or a dependency throws; progress reported before that stays valid.
 */
export async function processBatch(records: StreamRecord[], policy: BatchPolicy, deps: BatchProcessorDeps, signal?: AbortSignal): Promise<BatchResult> {
  const result: BatchResult = { invocations: 0, retries: 0, dispatchedFailures: 0 };
  // Segments are consecutive, in order; the head is always the next one to finish.
  const queue: Segment[] = [{ records, invokeCount: 0 }];
  let retriesOfHead = 0;
  while (queue.length > 0) {
    signal?.throwIfAborted();
    const head = queue[0] as Segment;

    if (policy.maximumRecordAgeInSeconds >= 0) {
      // Like Lambda: a record older than MaximumRecordAgeInSeconds when it is about to be sent
      // is not delivered; it goes to the failure destination, and fresh records behind it go on.
      const oldestAllowed = deps.now() - policy.maximumRecordAgeInSeconds * 1000;
      const expired = head.records.filter((record) => record.arrivalTime < oldestAllowed);
      if (expired.length > 0) {
        await deps.dispatchFailure({ records: expired, condition: 'RecordAgeExceeded', invokeCount: 1, functionError: undefined, lastReason: undefined });
        result.dispatchedFailures += 1;
        head.records = head.records.filter((record) => record.arrivalTime >= oldestAllowed);
        if (head.records.length === 0) {
          queue.shift();
          await deps.progress(expired[expired.length - 1] as StreamRecord);
          retriesOfHead = 0;
          continue;
        }
      }
    }

    const verdict = await deps.invoke(head.records);
    result.invocations += 1;
    head.invokeCount += 1;

    if (verdict.kind === 'success') {
      queue.shift();
      retriesOfHead = 0;
      await deps.progress(head.records[head.records.length - 1] as StreamRecord);
      continue;
    }

    let functionError: 'Unhandled' | null = 'Unhandled';
    let reason = verdict.kind === 'failed' ? verdict.reason : 'partial batch failure';
    if (verdict.kind === 'partial') {
      // Like Lambda: checkpoint up to (not including) the lowest failed record and retry from it.
      functionError = null;
      reason = `handler reported item failures from record ${verdict.firstFailedIndex}`;
      if (verdict.firstFailedIndex > 0) {
        await deps.progress(head.records[verdict.firstFailedIndex - 1] as StreamRecord);
        head.records = head.records.slice(verdict.firstFailedIndex);
      }
    }

    if (verdict.kind === 'failed' && policy.bisectBatchOnFunctionError && head.records.length > 1) {
      // Bisect: retry each half on its own, to isolate the bad record. The split is not a
      // retry of this batch (see split()), so it happens whatever retries are left.
      queue.splice(0, 1, ...split(head));
      result.retries += 1;
      await deps.sleep(policy.retryDelayMs(retriesOfHead), signal);
      retriesOfHead += 1;
      continue;
    }

    const retriesDone = head.invokeCount - 1;
    if (policy.maximumRetryAttempts >= 0 && retriesDone >= policy.maximumRetryAttempts) {
      queue.shift();
      retriesOfHead = 0;
      await deps.dispatchFailure({ records: head.records, condition: 'RetryAttemptsExhausted', invokeCount: head.invokeCount, functionError, lastReason: reason });
      result.dispatchedFailures += 1;
      await deps.progress(head.records[head.records.length - 1] as StreamRecord);
      continue;
    }

    result.retries += 1;
    await deps.sleep(policy.retryDelayMs(retriesOfHead), signal);
    retriesOfHead += 1;
  }
  return result;
}
