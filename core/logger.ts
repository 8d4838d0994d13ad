import pino from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/**
 * Library code never writes to the console: it takes a logger. The CLI builds the root one
 * (level and destination); components get a child namespaced by `component`.
 */
export function createLogger(options: { level?: string; component?: string } = {}): Logger {
  const root = pino({ level: options.level ?? process.env.SLUICE_LOG_LEVEL ?? 'info' }, pino.destination(2));
  return options.component ? root.child({ component: options.component }) : root;
}

/** A logger that drops everything: the default for library objects nobody configured. */
export const silentLogger: Logger = pino({ level: 'silent' });
