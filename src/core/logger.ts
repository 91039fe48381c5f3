import { pino } from 'pino';
import pretty from 'pino-pretty';

/** The logging interface the core uses: pino's, so a pino logger can be passed as is. */
export interface Logger {
  debug(object: Record<string, unknown>, message?: string): void;
  info(object: Record<string, unknown>, message?: string): void;
  warn(object: Record<string, unknown>, message?: string): void;
  error(object: Record<string, unknown>, message?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** How log lines are written: one JSON object per line, or coloured text for a terminal. */
export type LogFormat = 'json' | 'pretty';

/**
 * The logger used when the embedder gives none: structured logs on stdout with the field
 * names of the spec's structured log (§11.2: timestamp, level, plugin, operation,
 * duration_ms, success). `pretty` is for development at a terminal.
 */
export function createDefaultLogger(
  level = process.env.PLUGBOARD_LOG_LEVEL ?? 'warn',
  format: LogFormat = 'json',
): Logger {
  const options = {
    level,
    base: undefined,
    timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
    messageKey: 'message',
    formatters: { level: (label: string) => ({ level: label.toUpperCase() }) },
  };
  if (format === 'json') return pino(options);
  // Synchronous: no worker thread, and nothing lost when the process exits.
  return pino(
    { ...options, timestamp: pino.stdTimeFunctions.isoTime, formatters: {} },
    pretty({ sync: true, messageKey: 'message', translateTime: 'SYS:HH:MM:ss.l' }),
  );
}

/** A logger that drops everything (tests, benchmarks). */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
