/**
 * What a record's free text is cleaned of before it is written. Secrets always; personal data
 * as configured.
 *
 * The detectors are the content filter's: a first-party plugin importing another first-party
 * plugin's module is acceptable here (both ship together and are tested together), and it means
 * the log hides exactly what the filter would — one definition of "an e-mail", "a card", "an
 * API key" for the whole server.
 */
import { redactSecrets, redactText } from '../../src/index.ts';
import { type ContentFilterConfig, contentFilterConfigSchema } from '../content-filter/config.ts';
import { createFilter, type Filter } from '../content-filter/filter.ts';
import { PII_KINDS, type PiiKind } from './config.ts';

/**
 * Plugboard's own API keys (`pb_` and 43 base64url characters, made by the auth plugin), which
 * the content filter's detectors do not know: a user pasting their key into a message must not
 * find it in the log.
 */
const PLUGBOARD_KEY = /(?<![\w-])pb_[A-Za-z0-9_-]{20,}(?![\w-])/g;

/** Cleans text and whole records. */
export interface Redactor {
  /** `text` with secrets (always) and the configured personal data replaced by `[category]`. */
  text(text: string): string;
  /** A record with every secret-named field `[redacted]` and credentials in its strings hidden. */
  record<T>(record: T): T;
}

/**
 * Builds the redactor of a config: the content filter's `secret` detectors (secretlint's
 * recommended rules and well-known key prefixes) always, the PII detectors listed in `pii`,
 * then Plugboard's API keys (`pb_…`) and its text rules (`Bearer <token>`, URL passwords).
 *
 * @example
 * ```ts
 * const redactor = createRedactor(['email'], 'US');
 * redactor.text('mail a@b.io, key sk-proj-abcdefghijklmnopqrstuvwx1'); // 'mail [email], key [secret]'
 * ```
 */
export function createRedactor(pii: readonly PiiKind[], region: string): Redactor {
  const filter: Filter = createFilter(filterConfig(pii, region));
  return {
    text(text) {
      if (text === '') return text;
      // `input` or `output` makes no difference: every rule here applies to both directions.
      const filtered = filter.run(text, 'input').text;
      const withoutKeys = filtered.includes('pb_') ? filtered.replace(PLUGBOARD_KEY, '[secret]') : filtered;
      return redactText(withoutKeys);
    },
    record: (record) => redactSecrets(record),
  };
}

/** A content-filter config that redacts secrets and the listed kinds, and nothing else. */
function filterConfig(pii: readonly PiiKind[], region: string): ContentFilterConfig {
  const wanted = new Set(pii);
  const rule = (on: boolean) => ({ action: on ? ('redact' as const) : ('off' as const), direction: 'both' as const });
  const categories: Record<string, { action: 'redact' | 'off'; direction: 'both' }> = {
    secret: rule(true),
    profanity: rule(false),
  };
  for (const kind of PII_KINDS) categories[kind] = rule(wanted.has(kind));
  return contentFilterConfigSchema.parse({ categories, default_region: region });
}
