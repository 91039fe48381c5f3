import type { StreamingSupport } from '../core/plugin/kinds.ts';

/** One rewrite rule: every match of `pattern` is replaced. */
export interface RewriteRule {
  readonly pattern: RegExp;
  /** Replacement text (`$1` etc. work) or function, as for String.prototype.replace. */
  readonly replace: string | ((match: string, ...groups: string[]) => string);
}

/** A text rewriter usable both on whole messages and on streams. */
export interface PatternRewriter {
  /** Applies every rule, in order, to the whole text. */
  rewrite(text: string): string;
  /** Windowed streaming support that yields exactly what `rewrite` gives on the whole text. */
  readonly streaming: StreamingSupport;
}

/**
 * Builds the windowed streaming API for regex-based processors (PII redaction, profanity
 * filters …). `window` is the longest match a rule can make. While streaming, it holds back
 * the last `window` characters (at most twice that, to keep a straddling match whole) and
 * never splits the text inside a match, so a pattern split across two chunks is still rewritten.
 *
 * The streamed result equals `rewrite(wholeText)` as long as no match is longer than
 * `window` characters, rules do not create matches for each other, and patterns look only at
 * the text they match: no `\b`, `^`, `$` or lookarounds, since `transform` sees each settled
 * piece alone (`/\b\d{3}-\d{4}\b/` would rewrite the start of `555-12345` cut after `1234`).
 *
 * @example
 * ```ts
 * const emails = createPatternRewriter({
 *   window: 64,
 *   rules: [{ pattern: /[\w.+-]+@[\w-]+\.[\w.]+/g, replace: '[email]' }],
 * });
 * export default defineMessageProcessor({
 *   metadata: { name: 'redact-emails', version: '1.0.0' },
 *   processMessage: (message) => withContent(message, emails.rewrite(message.content)),
 *   streaming: emails.streaming,
 * });
 * ```
 */
export function createPatternRewriter(options: { rules: readonly RewriteRule[]; window: number }): PatternRewriter {
  const rules = options.rules.map((rule) => ({
    pattern: new RegExp(
      rule.pattern.source,
      rule.pattern.flags.includes('g') ? rule.pattern.flags : `${rule.pattern.flags}g`,
    ),
    replace: rule.replace,
  }));
  const rewrite = (text: string) =>
    rules.reduce((current, rule) => current.replace(rule.pattern, rule.replace as (match: string) => string), text);
  return {
    rewrite,
    streaming: {
      // A match straddling the first cut may start up to `window` characters earlier.
      window: options.window * 2,
      holdBack(pending) {
        let cut = Math.max(0, pending.length - options.window);
        // Move the cut before any match that straddles it, until none does.
        for (let moved = true; moved && cut > 0; ) {
          moved = false;
          for (const { pattern } of rules) {
            for (const match of pending.matchAll(pattern)) {
              const start = match.index;
              if (start < cut && start + match[0].length > cut) {
                cut = start;
                moved = true;
              }
            }
          }
        }
        return pending.length - cut;
      },
      transform: (text) => rewrite(text),
    },
  };
}
