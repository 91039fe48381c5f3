import type { Logger } from '../../src/index.ts';
import { applyActions, type Outcome } from './actions.ts';
import type { ContentFilterConfig } from './config.ts';
import { createScanner, type Scanner, type Way } from './scanner.ts';

/** Both directions' scanners, and the one operation on a text the plugin is made of. */
export interface Filter {
  readonly input: Scanner;
  readonly output: Scanner;
  /** Finds and applies the rules of `way` to `text`. Never throws for a blocked category: see `blocked`. */
  run(text: string, way: Way): Outcome;
}

/**
 * Builds the filter of a validated config.
 *
 * @example
 * ```ts
 * const filter = createFilter(contentFilterConfigSchema.parse({}));
 * filter.run('card 4111 1111 1111 1111', 'input').text; // 'card [card]'
 * ```
 */
export function createFilter(config: ContentFilterConfig): Filter {
  const input = createScanner(config, 'input');
  const output = createScanner(config, 'output');
  return {
    input,
    output,
    run(text, way) {
      const scanner = way === 'input' ? input : output;
      if (scanner.empty) return applyActions(text, [], scanner.rules);
      return applyActions(text, scanner.scan(text), scanner.rules);
    },
  };
}

/**
 * Logs what `flag` rules found: categories and counts, never the text (a log line is read by
 * more people than the message was meant for).
 */
export function logFlagged(logger: Logger, outcome: Outcome, way: Way, requestId: string | undefined): void {
  if (outcome.flagged.length === 0) return;
  const flagged: Record<string, number> = {};
  for (const category of outcome.flagged) flagged[category] = outcome.counts[category] ?? 0;
  logger.warn(
    { ...(requestId === undefined ? {} : { request_id: requestId }), direction: way, flagged },
    `content filter flagged ${outcome.flagged.join(', ')} in the ${way === 'input' ? 'message' : 'reply'}`,
  );
}
