/**
 * What a handler's response means for its batch (ESM.md "Partial batch response", "What counts
 * as success", "What fails the whole batch"; Lambda developer guide, "Success and failure
 * conditions"). `identifiers` are itemIdentifierOf(record) for the batch, in batch order.
 *
 * With ReportBatchItemFailures on:
 * - success: nothing, null, {}, [], { batchItemFailures: [] } or { batchItemFailures: null };
 *   also any other value that is not an object with batchItemFailures (a string, a number):
 *   there is nothing to report, as with [] (our reading; AWS documents only the cases above);
 * - partial: every item names a record of the batch; the batch is checkpointed up to (not
 *   including) the lowest one and retried from there;
 * - failed (like a thrown error): an item whose itemIdentifier is missing, null, empty or not a
 *   record of the batch, an item that is not an object, or batchItemFailures that is not a list.
 * With ReportBatchItemFailures off, any response is success: Lambda does not read it.
 */
import { itemIdentifierKey } from '../events/itemIdentifier';

export type BatchResponseVerdict = { kind: 'success' } | { kind: 'partial'; firstFailedIndex: number } | { kind: 'failed'; reason: string };

export type WindowResponseVerdict =
  | { kind: 'success'; state: Record<string, unknown>; stateBytes: number }
  | { kind: 'partial'; firstFailedIndex: number; state: Record<string, unknown>; stateBytes: number }
  | { kind: 'failed'; reason: string };

/** Tumbling-window state cap per shard; AWS ends the window early when the state passes it. */
export const TUMBLING_WINDOW_STATE_MAX_BYTES = 1024 * 1024;

const show = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

export function interpretBatchResponse(response: unknown, identifiers: string[], reportBatchItemFailures: boolean): BatchResponseVerdict {
  if (!reportBatchItemFailures) return { kind: 'success' };
  if (typeof response !== 'object' || response === null || Array.isArray(response)) return { kind: 'success' };
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { kind: 'success' };
  if (!Array.isArray(failures)) return { kind: 'failed', reason: `batchItemFailures is not a list: ${show(failures)}` };
  if (failures.length === 0) return { kind: 'success' };
  const indexOf = new Map<string, number>();
  identifiers.forEach((identifier, index) => {
    if (!indexOf.has(identifier)) indexOf.set(identifier, index);
  });
  let firstFailedIndex = Number.POSITIVE_INFINITY;
  for (const [position, item] of failures.entries()) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return { kind: 'failed', reason: `batchItemFailures[${position}] is not an object: ${show(item)}` };
    if (!('itemIdentifier' in item)) return { kind: 'failed', reason: `batchItemFailures[${position}] has no itemIdentifier: ${show(item)}` };
    const raw = (item as { itemIdentifier: unknown }).itemIdentifier;
    const key = itemIdentifierKey(raw);
    if (key === undefined) return { kind: 'failed', reason: `batchItemFailures[${position}].itemIdentifier is missing, empty or malformed: ${show(raw)}` };
    const index = indexOf.get(key);
    if (index === undefined) return { kind: 'failed', reason: `batchItemFailures[${position}].itemIdentifier ${show(raw)} is not a record of this batch` };
    firstFailedIndex = Math.min(firstFailedIndex, index);
  }
  return { kind: 'partial', firstFailedIndex };
}

/**
 * A tumbling-window response: like interpretBatchResponse, and it must carry `state` (an
 * object); a response without state counts as a failed invocation (AWS). `stateBytes` lets the
 * caller apply the 1 MB cap (TUMBLING_WINDOW_STATE_MAX_BYTES).
 */
export function interpretWindowResponse(response: unknown, identifiers: string[], reportBatchItemFailures: boolean): WindowResponseVerdict {
  if (typeof response !== 'object' || response === null || Array.isArray(response) || !('state' in response)) {
    return { kind: 'failed', reason: `a tumbling-window response must carry state, got ${show(response)}` };
  }
  const state = (response as { state: unknown }).state;
  if (typeof state !== 'object' || state === null || Array.isArray(state)) return { kind: 'failed', reason: `state must be an object, got ${show(state)}` };
  const stateBytes = Buffer.byteLength(JSON.stringify(state), 'utf8');
  const verdict = interpretBatchResponse(response, identifiers, reportBatchItemFailures);
  if (verdict.kind === 'failed') return verdict;
  return { ...verdict, state: state as Record<string, unknown>, stateBytes };
}
