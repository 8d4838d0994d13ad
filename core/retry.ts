import { isSluiceError } from './errors';

export interface RetryOptions {
  /** attempts after the first one */
  retries: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** multiplier per attempt */
  factor: number;
  /** called before each wait; lets callers log or count retries */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** decides whether an error is worth another attempt; default: SluiceError.retriable */
  isRetriable?: (error: unknown) => boolean;
  signal?: AbortSignal;
}

export const DEFAULT_RETRY: RetryOptions = { retries: 5, initialDelayMs: 100, maxDelayMs: 5000, factor: 2 };

/**
 * "Full jitter" exponential backoff (AWS architecture blog): a random delay in [0, cap],
 * so many clients retrying the same throttled shard don't retry in lock step.
 */
export function backoffDelay(attempt: number, options: Pick<RetryOptions, 'initialDelayMs' | 'maxDelayMs' | 'factor'>, random = Math.random): number {
  const cap = Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** attempt);
  return Math.round(random() * cap);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const defaultIsRetriable = (error: unknown): boolean => isSluiceError(error) && error.retriable;

/** Runs `operation` until it succeeds, a non-retriable error occurs, or retries run out. */
export async function withRetry<T>(operation: (attempt: number) => Promise<T>, options: Partial<RetryOptions> = {}): Promise<T> {
  const settings: RetryOptions = { ...DEFAULT_RETRY, ...options };
  const isRetriable = settings.isRetriable ?? defaultIsRetriable;
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= settings.retries || !isRetriable(error)) throw error;
      const delay = backoffDelay(attempt, settings);
      settings.onRetry?.(error, attempt + 1, delay);
      await sleep(delay, settings.signal);
    }
  }
}

