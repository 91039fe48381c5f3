import { pino } from 'pino';

/** The logging interface the core uses: pino's, so a pino logger can be passed as is. */
export interface Logger {
  debug(object: Record<string, unknown>, message?: string): void;
  info(object: Record<string, unknown>, message?: string): void;
  warn(object: Record<string, unknown>, message?: string): void;
  error(object: Record<string, unknown>, message?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/**
 * The logger used when the embedder gives none: structured JSON on stdout at `warn`,
 * with the field names of the spec's structured log (§11.2).
 */
export function createDefaultLogger(level = process.env.PLUGBOARD_LOG_LEVEL ?? 'warn'): Logger {
  return pino({
    level,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    messageKey: 'message',
    formatters: { level: (label) => ({ level: label.toUpperCase() }) },
  });
}

/** A logger that drops everything (tests, benchmarks). */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
