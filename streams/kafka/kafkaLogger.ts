/**
 * Routes kafkajs' own logger into our pino logger, so nothing of kafkajs reaches the console.
 *
 * kafkajs logs at ERROR every failure it is about to retry ("Failed to send messages: ...")
 * and at INFO its connection chatter. The adapter turns real failures into SluiceErrors the
 * caller sees, so kafkajs' ERROR lines go to pino `warn`, INFO to `debug`, DEBUG to `trace`.
 */
import { logLevel } from 'kafkajs';
import type { LogEntry, logCreator } from 'kafkajs';
import type { Logger } from '../../core/logger';

type PinoLevel = 'warn' | 'debug' | 'trace';

const PINO_LEVEL: Record<number, PinoLevel> = {
  [logLevel.ERROR]: 'warn',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'debug',
  [logLevel.DEBUG]: 'trace',
};

/**
 * The kafkajs level to ask for: kafkajs skips building a log entry above it, which matters on
 * the hot path (it logs every request at DEBUG).
 */
export function kafkajsLogLevel(logger: Logger): logLevel {
  if (logger.isLevelEnabled('trace')) return logLevel.DEBUG;
  if (logger.isLevelEnabled('debug')) return logLevel.INFO;
  if (logger.isLevelEnabled('warn')) return logLevel.WARN;
  return logLevel.NOTHING;
}

/**
 * kafkajs warns on every idempotent producer with bounded retries. We bound them on purpose:
 * produce() must answer in bounded time and let the caller decide (at-least-once).
 */
const EXPECTED_WARNINGS = ['Limiting retries for the idempotent producer'];

export function kafkajsLogCreator(logger: Logger): logCreator {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const expected = level === logLevel.WARN && EXPECTED_WARNINGS.some((start) => log.message.startsWith(start));
      const pinoLevel = expected ? 'debug' : (PINO_LEVEL[level] ?? 'debug');
      // kafkajs repeats its own timestamp in every entry; pino has one already.
      const { message, timestamp: _timestamp, ...fields } = log;
      kafkaLogger[pinoLevel]({ ...fields, namespace }, message);
    };
}
