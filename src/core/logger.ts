import { createRequire } from 'node:module';
import { pino } from 'pino';
import type PinoPretty from 'pino-pretty';
import { redactSecrets, redactText } from './util/redact.ts';

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

/** Where log lines go: anything with `write(line)` (default: stdout). */
export interface LogDestination {
  write(line: string): unknown;
}

/**
 * The logger used when the embedder gives none: structured logs on stdout with the field
 * names of the spec's structured log (§11.2: timestamp, level, plugin, operation,
 * duration_ms, success). `pretty` is for development at a terminal. Secrets are redacted,
 * in the fields (see {@link redactLogFields}) and in the message (URL passwords, `Bearer` tokens).
 */
export function createDefaultLogger(
  level = process.env.PLUGBOARD_LOG_LEVEL ?? 'warn',
  format: LogFormat = 'json',
  destination?: LogDestination,
): Logger {
  // Every line's fields; not a child logger's bindings (pino serializes those once, as given).
  const redaction = { log: redactLogFields };
  const options = {
    level,
    base: undefined,
    timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
    messageKey: 'message',
    formatters: { level: (label: string) => ({ level: label.toUpperCase() }), ...redaction },
    hooks: { logMethod: redactMessage },
  };
  if (format === 'json') return destination === undefined ? pino(options) : pino(options, destination);
  // pino-pretty (a CommonJS package) loads only for this format: the JSON logs never need it.
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  const prettyOptions = { messageKey: 'message', translateTime: 'SYS:HH:MM:ss.l' };
  const pinoOptions = { ...options, timestamp: pino.stdTimeFunctions.isoTime, formatters: redaction };
  if (destination !== undefined) {
    const prettify = pretty.prettyFactory(prettyOptions);
    return pino(pinoOptions, { write: (line: string) => destination.write(prettify(line)) });
  }
  // Synchronous: no worker thread, and nothing lost when the process exits.
  return pino(pinoOptions, pretty({ ...prettyOptions, sync: true }));
}

/** How deep log objects are searched for secrets (`{ request: { headers: { authorization } } }` is 3). */
const REDACT_DEPTH = 6;

/** What a redacted value is replaced with. */
export { REDACTED } from './util/redact.ts';

/**
 * A log line's fields with secrets hidden by the one set of rules (see `util/redact.ts`):
 * values of secret-named fields (`authorization`, `cookie`, `api_key`, `apiKey`, `token`,
 * `admin_token`, `password`, `client_secret`, `accessKey`, `passphrase`, `auth`, `key` …)
 * become `[redacted]`, URL passwords `***`, `Bearer` tokens `[redacted]`, at any depth up to
 * {@link REDACT_DEPTH}, in plain objects and arrays (and errors whose message holds a
 * credential). `max_tokens`, `prompt_tokens` or `keep_alive` are not secrets and stay.
 * The object logged is never changed: what contains a secret is copied; an object without
 * one is returned as is, so most lines cost one walk over a few keys.
 *
 * Pino's own `redact` option was measured first: with wildcard paths (`*.authorization`,
 * `*.*.authorization` …) for these names it cost ~60–100 µs per line; this costs about 1 µs.
 *
 * @example
 * ```ts
 * redactLogFields({ headers: { authorization: 'Bearer x' } }); // { headers: { authorization: '[redacted]' } }
 * ```
 */
export function redactLogFields(object: Record<string, unknown>): Record<string, unknown> {
  return redactSecrets(object, { depth: REDACT_DEPTH });
}

/** A line's message without credentials (`http://user:***@host`, `Bearer [redacted]`); pino's `logMethod` hook. */
function redactMessage(this: unknown, args: unknown[], method: (...args: unknown[]) => void): void {
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    if (typeof arg === 'string') args[index] = redactText(arg);
  }
  method.apply(this, args);
}

/** A logger that drops everything (tests, benchmarks). */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
