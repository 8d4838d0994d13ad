/**
 * A Lambda-like `context` (Context from @types/aws-lambda) for one invocation: a fresh
 * awsRequestId, the function's ARN under the local account, memoryLimitInMB as a string,
 * log group/stream names shaped like Lambda's, and getRemainingTimeInMillis counting down to
 * the timeout. The deprecated done/fail/succeed end the invocation like the callback does.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { DEFAULT_REGION, lambdaFunctionArn } from '../events/arns';

export interface LambdaContextOptions {
  functionName: string;
  memoryLimitInMB: number;
  timeoutMs: number;
  awsRequestId?: string;
  region?: string;
  /** clock for getRemainingTimeInMillis (default Date.now) */
  now?: () => number;
  /** when the invocation started (default now()) */
  startedAt?: number;
  /** called by context.done/succeed/fail: (error, result) */
  onDone?: (error: unknown, result?: unknown) => void;
}

function logStreamName(startedAt: number): string {
  const day = new Date(startedAt).toISOString().slice(0, 10).replace(/-/g, '/');
  return `${day}/[$LATEST]${randomBytes(16).toString('hex')}`;
}

export function createLambdaContext(options: LambdaContextOptions): Context {
  const now = options.now ?? Date.now;
  const startedAt = options.startedAt ?? now();
  const deadline = startedAt + options.timeoutMs;
  const onDone = options.onDone ?? (() => undefined);
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: options.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: lambdaFunctionArn(options.region ?? DEFAULT_REGION, options.functionName),
    memoryLimitInMB: String(options.memoryLimitInMB),
    awsRequestId: options.awsRequestId ?? randomUUID(),
    logGroupName: `/aws/lambda/${options.functionName}`,
    logStreamName: logStreamName(startedAt),
    getRemainingTimeInMillis: () => Math.max(0, deadline - now()),
    done: (error?: Error, result?: unknown) => onDone(error ?? null, result),
    fail: (error: Error | string) => onDone(error ?? new Error('context.fail called')),
    succeed: (messageOrObject: unknown) => onDone(null, messageOrObject),
  };
}
