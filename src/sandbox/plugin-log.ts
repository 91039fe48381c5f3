import type { Logger } from '../core/logger.ts';
import { LogBudget } from './log-budget.ts';
import type { ChildMessage } from './protocol.ts';

/** Levels a plugin's log line may have; anything else is logged at info. */
const LOG_LEVELS = new Set(['debug', 'info', 'warn', 'error'] as const);
/** Fields the server writes itself: a plugin's line cannot pass for another plugin's or the server's. */
const RESERVED_LOG_FIELDS = new Set(['plugin', 'level', 'time', 'timestamp', 'msg', 'message', 'sandboxed', 'sandbox']);
const MAX_LOG_MESSAGE = 2000;
const MAX_LOG_FIELDS = 16_384;

/**
 * A sandboxed plugin's lines in the server's log (its `call.logger`, its stderr, what the server
 * logs on its behalf): at a level it may use, its fields without those that would pass for the
 * server's own, its size bounded, and within its budget (100 lines a second, bursts of 200; what
 * was dropped is said in one line once it may log again).
 *
 * @example
 * ```ts
 * const log = new PluginLog(() => logger);
 * log.line({ t: 'log', level: 'info', fields: { seen: 1 }, msg: 'hello' });
 * if (log.mayLog()) logger.warn({}, 'said on the plugin's behalf');
 * ```
 */
export class PluginLog {
  readonly #budget = new LogBudget(100, 200);

  constructor(private readonly logger: () => Logger) {}

  /** One line the plugin logged through its PluginCall's logger. */
  line(message: Extract<ChildMessage, { t: 'log' }>): void {
    const level = LOG_LEVELS.has(message.level) ? message.level : 'info';
    if (!this.mayLog()) return;
    const fields: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(message.fields)) if (!RESERVED_LOG_FIELDS.has(key)) fields[key] = value;
    const text = message.msg.slice(0, MAX_LOG_MESSAGE);
    let size: number;
    try {
      size = JSON.stringify(fields).length;
    } catch {
      size = Number.POSITIVE_INFINITY; // too deep or cyclic to even measure: dropped
    }
    const safe = size > MAX_LOG_FIELDS ? { truncated: `fields of ${size} characters dropped` } : fields;
    this.logger()[level]({ ...safe, sandboxed: true }, text);
  }

  /** Spends one line of the budget; after a flood, says how many lines were dropped. */
  mayLog(): boolean {
    if (!this.#budget.take()) return false;
    const dropped = this.#budget.dropped();
    if (dropped > 0) {
      this.logger().warn(
        { sandbox: { dropped_log_lines: dropped } },
        `sandboxed plugin logged too fast: ${dropped} lines dropped`,
      );
    }
    return true;
  }
}
