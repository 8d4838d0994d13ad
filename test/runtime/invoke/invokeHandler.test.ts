import type { Callback, Context, Handler } from 'aws-lambda';
import { createLambdaContext } from '../../../runtime/invoke/lambdaContext';
import { invokeHandler, timeoutMessage } from '../../../runtime/invoke/invokeHandler';

const options = { functionName: 'agg', memoryLimitInMB: 256, timeoutMs: 2000 };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const later = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('Lambda context', () => {
  it('carries the fields a Lambda context has', () => {
    const context = createLambdaContext({ functionName: 'agg', memoryLimitInMB: 512, timeoutMs: 3000, region: 'eu-west-1' });
    expect(context).toMatchObject({
      functionName: 'agg',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:eu-west-1:000000000000:function:agg',
      memoryLimitInMB: '512',
      logGroupName: '/aws/lambda/agg',
      callbackWaitsForEmptyEventLoop: true,
    });
    expect(context.awsRequestId).toMatch(UUID);
    expect(context.logStreamName).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
  });

  it('counts the remaining time down to the timeout and never below zero', () => {
    let clock = 1000;
    const context = createLambdaContext({ functionName: 'f', memoryLimitInMB: 128, timeoutMs: 3000, now: () => clock });
    expect(context.getRemainingTimeInMillis()).toBe(3000);
    clock = 2500;
    expect(context.getRemainingTimeInMillis()).toBe(1500);
    clock = 9000;
    expect(context.getRemainingTimeInMillis()).toBe(0);
  });

  it('keeps a given request id', () => {
    expect(createLambdaContext({ functionName: 'f', memoryLimitInMB: 128, timeoutMs: 1, awsRequestId: 'req-1' }).awsRequestId).toBe('req-1');
  });
});

describe('invoking handlers', () => {
  it('resolves an async handler with its response and hands it the event and context', async () => {
    let seen: { event?: unknown; context?: Context } = {};
    const handler: Handler = async (event, context) => {
      seen = { event, context };
      return { ok: true };
    };
    const outcome = await invokeHandler(handler, { Records: [] }, { ...options, awsRequestId: 'req-7' });
    expect(outcome).toMatchObject({ kind: 'success', response: { ok: true }, requestId: 'req-7' });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(0);
    expect(seen.event).toEqual({ Records: [] });
    expect(seen.context?.awsRequestId).toBe('req-7');
    expect(seen.context?.memoryLimitInMB).toBe('256');
  });

  it('gives each invocation a fresh request id', async () => {
    const handler: Handler = async () => undefined;
    const [a, b] = await Promise.all([invokeHandler(handler, {}, options), invokeHandler(handler, {}, options)]);
    expect(a?.requestId).toMatch(UUID);
    expect(a?.requestId).not.toBe(b?.requestId);
  });

  it('counts a rejected promise and a thrown error as function errors', async () => {
    const rejected = await invokeHandler(async () => { throw new TypeError('bad record'); }, {}, options);
    expect(rejected.kind).toBe('error');
    expect(rejected.kind === 'error' && rejected.error).toBeInstanceOf(TypeError);
    const thrown = await invokeHandler(() => { throw new Error('sync boom'); }, {}, options);
    expect(thrown.kind === 'error' && thrown.error.message).toBe('sync boom');
  });

  it('turns a thrown non-Error into an Error carrying its text', async () => {
    const outcome = await invokeHandler(async () => Promise.reject('plain string'), {}, options);
    expect(outcome.kind === 'error' && outcome.error.message).toBe('plain string');
  });

  it('answers through the callback of a callback-style handler', async () => {
    const ok = await invokeHandler((_event: unknown, _context: Context, callback: Callback) => {
      setTimeout(() => callback(null, { batchItemFailures: [] }), 5);
    }, {}, options);
    expect(ok).toMatchObject({ kind: 'success', response: { batchItemFailures: [] } });
    const failed = await invokeHandler((_event: unknown, _context: Context, callback: Callback) => callback(new Error('cb failed')), {}, options);
    expect(failed.kind === 'error' && failed.error.message).toBe('cb failed');
  });

  it('keeps the first answer and ignores later ones', async () => {
    const outcome = await invokeHandler((_event: unknown, _context: Context, callback: Callback) => {
      callback(null, 'first');
      callback(new Error('second'));
    }, {}, options);
    expect(outcome).toMatchObject({ kind: 'success', response: 'first' });
  });

  it('ends the invocation through the deprecated context.succeed and context.fail', async () => {
    const succeeded = await invokeHandler((_event: unknown, context: Context) => context.succeed({ via: 'succeed' }), {}, options);
    expect(succeeded).toMatchObject({ kind: 'success', response: { via: 'succeed' } });
    const failed = await invokeHandler((_event: unknown, context: Context) => context.fail('nope'), {}, options);
    expect(failed.kind === 'error' && failed.error.message).toBe('nope');
  });

  it('answers null for a synchronous handler without callback, ignoring its return value like Lambda', async () => {
    const outcome = await invokeHandler(((_event: unknown) => ({ batchItemFailures: [{ itemIdentifier: '1' }] })) as unknown as Handler, {}, options);
    expect(outcome).toMatchObject({ kind: 'success', response: null });
  });

  it('fails an invocation that passes its timeout, like "Task timed out after N seconds"', async () => {
    const outcome = await invokeHandler(() => new Promise(() => undefined), {}, { ...options, timeoutMs: 30 });
    expect(outcome).toMatchObject({ kind: 'timeout', message: 'Task timed out after 0.03 seconds' });
    expect(timeoutMessage(3000)).toBe('Task timed out after 3.00 seconds');
  });

  it('ignores what a timed-out handler does later, success or failure', async () => {
    let finishedLate = false;
    const late = await invokeHandler(async () => {
      await later(60);
      finishedLate = true;
      return 'too late';
    }, {}, { ...options, timeoutMs: 10 });
    const lateFailure = await invokeHandler(async () => {
      await later(60);
      throw new Error('late failure');
    }, {}, { ...options, timeoutMs: 10 });
    await later(80);
    expect(finishedLate).toBe(true);
    expect(late.kind).toBe('timeout');
    expect(lateFailure.kind).toBe('timeout');
  });

  it('lets a handler see its remaining time shrink below the timeout', async () => {
    const outcome = await invokeHandler(async (_event: unknown, context: Context) => {
      const first = context.getRemainingTimeInMillis();
      await later(20);
      return [first, context.getRemainingTimeInMillis()];
    }, {}, { ...options, timeoutMs: 5000 });
    const [first, second] = (outcome.kind === 'success' ? outcome.response : []) as number[];
    expect(first).toBeLessThanOrEqual(5000);
    expect(second).toBeLessThan(first ?? 0);
  });
});
