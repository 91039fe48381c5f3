/**
 * The logging middleware: one structured, redacted record per client request (chat, generate,
 * embeddings, the model list and a model's facts), written in the background from the
 * `requestEnd` hook, so no request ever waits for its record. See README.md.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { definePlugin, type HealthReport, type Pluggable } from '../../src/index.ts';
import { type LoggingConfig, loggingConfigSchema } from './config.ts';
import { createSink, type RecordSink } from './destination.ts';
import { buildRecord, type RecordOptions } from './record.ts';
import { createRedactor } from './redaction.ts';
import { createSampler, type Sampler } from './sampling.ts';

/** What an embedder or a test may give the plugin besides its config. */
export interface LoggingPluginOptions {
  /** Where records go, instead of the configured `destination` (a test's recorder, an embedder's shipper). */
  readonly sink?: RecordSink;
  /** A number in [0, 1) per sampled request (default `Math.random`): makes `sample_rate` deterministic. */
  readonly random?: () => number;
}

/** What `initialize` builds from the config. */
interface Ready {
  readonly sink: RecordSink;
  readonly sample: Sampler;
  readonly record: RecordOptions;
}

/**
 * A fresh logging plugin (each instance — a reload makes a new one next to the running one —
 * has its own destination and counters).
 *
 * It handles one hook, `requestEnd`, at priority MONITORING: the runtime runs it after the
 * request has its answer, in the background, on a bounded queue, never awaited by the request.
 * The handler itself first yields to the event loop, so even building and redacting the record
 * happens after the response is on its way. Fail-open: a failure (a full disk, a bug) bypasses
 * the plugin and never fails a request.
 *
 * @example
 * ```ts
 * // plugins/config.yaml: middleware: { logging: { config: { destination: file, file: /var/log/plugboard/requests.jsonl } } }
 * const manager = await startManager([backend, [createLoggingPlugin, { config: { destination: 'stdout', sample_rate: 0.1 } }]]);
 * ```
 */
export function createLoggingPlugin(options: LoggingPluginOptions = {}): Pluggable<LoggingConfig> {
  let ready: Ready | undefined;
  /** Records being built or written: shutdown waits for them before closing the destination. */
  const pending = new Set<Promise<void>>();
  let written = 0;
  let failed = 0;
  let lastFailure: string | undefined;

  return definePlugin<LoggingConfig>({
    metadata: {
      name: 'logging',
      version: '1.0.0',
      description: 'Writes one structured, redacted record per request, in the background',
      configSchema: loggingConfigSchema,
      // A logging failure must never fail a request.
      failurePolicy: 'open',
      // Run after every other handler, in the background, never awaited: see createLoggingPlugin.
      priority: 'MONITORING',
    },
    initialize(config) {
      const settings = config.config;
      ready = {
        sink: options.sink ?? createSink(settings),
        sample: createSampler(settings.sample_rate, settings.always_log_errors, options.random),
        record: {
          redactor: createRedactor(settings.redact_pii, settings.default_region),
          includeBodies: settings.include_bodies,
          maxBodyChars: settings.max_body_chars,
        },
      };
    },
    onRequestEnd(payload, call) {
      const state = ready;
      if (state === undefined || !state.sample(payload.outcome)) return;
      const endedAt = Date.now();
      const logger = call.logger;
      const writing = nextTurn().then(() =>
        state.sink.write({ record: buildRecord(payload, state.record), endedAt }, logger),
      );
      const settle = (error?: unknown) => {
        pending.delete(tracked);
        if (error === undefined) {
          written++;
          lastFailure = undefined;
        } else {
          failed++;
          lastFailure = error instanceof Error ? error.message : String(error);
        }
      };
      // The runtime gets `writing` (and counts its failure against the plugin); `tracked` never rejects.
      const tracked: Promise<void> = writing.then(
        () => settle(),
        (error: unknown) => settle(error ?? 'failed'),
      );
      pending.add(tracked);
      return writing;
    },
    async shutdown() {
      // Records of the last requests are written before the destination closes.
      await Promise.all(pending);
      await ready?.sink.close();
    },
    healthCheck(): HealthReport {
      if (ready === undefined) return { status: 'unhealthy', message: 'not initialized' };
      const details = { written, failed, pending: pending.size };
      // Degraded while the latest write failed (a full disk, a removed folder); healthy again once one succeeds.
      if (lastFailure !== undefined) {
        return { status: 'degraded', message: `the last record could not be written: ${lastFailure}`, details };
      }
      return { status: 'healthy', details };
    },
  });
}

export default createLoggingPlugin;
