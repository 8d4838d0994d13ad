import fc from 'fast-check';
import { SluiceError } from '../../core/errors';
import { backoffDelay, withRetry } from '../../core/retry';

const fast = { initialDelayMs: 1, maxDelayMs: 2, factor: 2 };

describe('retry', () => {
  it('retries retriable errors until the operation succeeds', async () => {
    let calls = 0;
    const result = await withRetry(async () => {
      calls += 1;
      if (calls < 3) throw new SluiceError('THROUGHPUT_EXCEEDED', 'slow down');
      return 'done';
    }, { ...fast, retries: 5 });
    expect(result).toBe('done');
    expect(calls).toBe(3);
  });

  it('does not retry a non-retriable error', async () => {
    let calls = 0;
    await expect(withRetry(async () => {
      calls += 1;
      throw new SluiceError('RECORD_TOO_LARGE', 'too big');
    }, { ...fast, retries: 5 })).rejects.toMatchObject({ code: 'RECORD_TOO_LARGE' });
    expect(calls).toBe(1);
  });

  it('gives up after the configured number of retries with the last error', async () => {
    let calls = 0;
    const onRetry = jest.fn();
    await expect(withRetry(async () => {
      calls += 1;
      throw new SluiceError('CONNECTION_FAILED', `attempt ${calls}`);
    }, { ...fast, retries: 2, onRetry })).rejects.toThrow('attempt 3');
    expect(calls).toBe(3);
    expect(onRetry).toHaveBeenCalledTimes(2);
  });

  it('keeps every backoff delay within [0, min(max, initial * factor^attempt)]', () => {
    fc.assert(fc.property(fc.nat(30), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
      const options = { initialDelayMs: 100, maxDelayMs: 5000, factor: 2 };
      const delay = backoffDelay(attempt, options, () => r);
      return delay >= 0 && delay <= Math.min(5000, 100 * 2 ** attempt);
    }));
  });
});
