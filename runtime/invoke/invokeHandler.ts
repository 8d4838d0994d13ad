/**
 * Invokes a handler once, the way the Node.js Lambda runtime does:
 * - a handler returning a promise (async) resolves with it;
 * - otherwise it answers through the callback (3rd argument) or context.done/succeed/fail;
 * - a synchronous handler that neither returns a promise nor takes a callback answers null
 *   (Lambda ignores a plain return value of a non-async handler);
 * - a thrown error, a rejected promise or callback(error) is a function error;
 * - past the timeout the invocation fails ("Task timed out after 3.00 seconds") and whatever the
 *   handler does later is ignored.
 * The first answer wins, like the runtime.
 */
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import type { Context, Handler } from 'aws-lambda';
import { createLambdaContext } from './lambdaContext';

export type InvokeOutcome =
  | { kind: 'success'; response: unknown; durationMs: number; requestId: string }
  | { kind: 'error'; error: Error; durationMs: number; requestId: string }
  | { kind: 'timeout'; durationMs: number; requestId: string; message: string };

export interface InvokeOptions {
  functionName: string;
  memoryLimitInMB: number;
  timeoutMs: number;
  awsRequestId?: string;
  region?: string;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** Whatever a handler failed with, as an Error (Lambda reports non-Error values by their text too). */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string') {
    const error = new Error((value as { message: string }).message);
    const name = (value as { name?: unknown }).name;
    if (typeof name === 'string') error.name = name;
    return error;
  }
  return new Error(typeof value === 'string' ? value : JSON.stringify(value) ?? String(value));
}

export function timeoutMessage(timeoutMs: number): string {
  return `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`;
}

export function invokeHandler(handler: Handler, event: unknown, options: InvokeOptions): Promise<InvokeOutcome> {
  const requestId = options.awsRequestId ?? randomUUID();
  return new Promise<InvokeOutcome>((resolveOutcome) => {
    const started = performance.now();
    const elapsed = (): number => performance.now() - started;
    let settled = false;
    const finish = (outcome: InvokeOutcome): void => {
      if (settled) return; // a late answer (after the timeout or a first answer) is ignored
      settled = true;
      clearTimeout(timer);
      resolveOutcome(outcome);
    };
    const succeed = (response: unknown): void => finish({ kind: 'success', response, durationMs: elapsed(), requestId });
    const fail = (error: unknown): void => finish({ kind: 'error', error: toError(error), durationMs: elapsed(), requestId });
    // Like the Node.js runtime's callback: any error value other than null/undefined fails.
    const answer = (error: unknown, result?: unknown): void => (error !== null && error !== undefined ? fail(error) : succeed(result));

    const timer = setTimeout(() => finish({ kind: 'timeout', durationMs: elapsed(), requestId, message: timeoutMessage(options.timeoutMs) }), options.timeoutMs);
    const context: Context = createLambdaContext({ ...options, awsRequestId: requestId, onDone: answer });
    let returned: unknown;
    try {
      returned = handler(event, context, answer);
    } catch (error) {
      fail(error);
      return;
    }
    if (isThenable(returned)) {
      returned.then(succeed, fail);
    } else if (handler.length < 3) {
      // No promise, no callback parameter: Lambda answers null once the handler is done.
      setImmediate(() => succeed(null));
    }
  });
}
