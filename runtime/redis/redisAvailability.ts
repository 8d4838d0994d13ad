/**
 * How sluice's long-lived Redis connections behave when Redis goes away - a crash, a restart,
 * a failover - and how a command that met the outage is reported.
 *
 * A command issued while Redis is down waits in ioredis' offline queue for a reconnect; if
 * Redis is not back within about a second (`maxRetriesPerRequest` reconnect attempts), it
 * fails, which fails the batch, and the runtime retries the batch (AWS: a failed invocation is
 * retried until it succeeds or the records expire). It is never dropped without an error, and
 * the connection's 'error' events never crash the process: failures surface through the
 * commands. A command that was in flight when the connection broke is sent again after the
 * reconnect (`autoResendUnfulfilledCommands`): it may have run already, which is safe because
 * sluice's state changes are exactly-once scripts (a replayed batch is a duplicate) or
 * idempotent writes. The reconnect waits for Redis to finish loading its AOF
 * (`enableReadyCheck`: Redis answers LOADING until then).
 */
import type { RedisOptions } from 'ioredis';
import { SluiceError, errorMessage, isSluiceError } from '../../core/errors';

/** Reconnect attempts a command waits through before it fails: 50+100+...+250 ms, about a second. */
const COMMAND_RECONNECT_ATTEMPTS = 5;
/** A refused local connect costs nothing: try often, so a restarted Redis is used within half a second. */
const MAX_RECONNECT_DELAY_MS = 500;

/** Options for a pipeline connection (processors, the runtime's leases and windows, the CLI). */
export function resilientRedisOptions(overrides: RedisOptions = {}): RedisOptions {
  return {
    maxRetriesPerRequest: COMMAND_RECONNECT_ATTEMPTS,
    enableOfflineQueue: true,
    enableReadyCheck: true,
    autoResendUnfulfilledCommands: true,
    retryStrategy: (attempt: number) => Math.min(attempt * 50, MAX_RECONNECT_DELAY_MS),
    ...overrides,
  };
}

/** Registers the listener without which ioredis reports every connection error on the console. */
export function quietConnectionErrors<T extends { on(event: 'error', listener: (error: unknown) => void): unknown }>(redis: T): T {
  redis.on('error', () => undefined); // the commands that fail report it, with their context
  return redis;
}

// ioredis' own errors for a command that met a broken or absent connection
const UNAVAILABLE_NAMES = new Set(['MaxRetriesPerRequestError', 'AbortError']);
const UNAVAILABLE_MESSAGES = [/^Connection is closed/, /Stream isn't writeable/, /^LOADING /, /^TRYAGAIN /, /^CLUSTERDOWN /, /^MASTERDOWN /, /^READONLY /];
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTCONN']);

/** True when the error says Redis could not be reached (or is loading), not that it refused the command. */
export function isRedisUnavailable(error: unknown): boolean {
  if (isSluiceError(error)) return error.code === 'CONNECTION_FAILED';
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  return UNAVAILABLE_NAMES.has(error.name) || (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) || UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(error.message));
}

/**
 * Redis being unreachable as a retriable CONNECTION_FAILED naming what was attempted (so the
 * runtime, and retry loops such as lease checkpoints, retry it); any other error unchanged.
 */
export function redisCallError(error: unknown, what: string): unknown {
  if (isSluiceError(error) || !isRedisUnavailable(error)) return error;
  return new SluiceError('CONNECTION_FAILED', `${what}: Redis is unavailable (${errorMessage(error)})`, { cause: error });
}
