import { z } from 'zod';

/**
 * The web_search plugin's `config`, checked strictly (a misspelt key is an error), like every
 * first-party plugin's. A `${VAR}` reference (an API key in `headers`) is resolved by the
 * configuration loader before this schema sees it.
 */

/** The search providers there are. */
export const PROVIDERS = ['searxng'] as const;

/** The hard ceiling of `max_results`: each result goes into the model's context. */
export const MAX_RESULTS_CEILING = 20;

const httpUrl = z
  .string()
  .min(1)
  .superRefine((url, issues) => {
    let protocol: string;
    try {
      protocol = new URL(url).protocol;
    } catch {
      // The message never quotes the URL: it may hold credentials.
      issues.addIssue({ code: 'custom', message: 'not a valid URL (expected http(s)://host[:port][/path])' });
      return;
    }
    if (protocol !== 'http:' && protocol !== 'https:') {
      issues.addIssue({ code: 'custom', message: `expected an http:// or https:// URL, found scheme "${protocol}"` });
    }
  });

/** The zod schema of the plugin's `config`. */
export const webSearchConfigSchema = z.strictObject({
  provider: z.enum(PROVIDERS, { error: `expected one of ${PROVIDERS.join(', ')}` }).default('searxng'),
  /** The provider's base URL (SearXNG: the instance, `/search` is appended). */
  url: httpUrl,
  /** Results the model gets by default, and the most it may ask for. */
  max_results: z.number().int().min(1).max(MAX_RESULTS_CEILING).default(5),
  /** Longest wait for the provider's answer, in ms. */
  timeout_ms: z.number().int().min(100).max(120_000).default(10_000),
  /** Sent with every request to the provider (an API key, through `${ENV}`). */
  headers: z
    .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { error: 'expected an HTTP header name' }), z.string())
    .default({}),
  /** The provider's safe-search filter. */
  safe_search: z.enum(['off', 'moderate', 'strict']).default('moderate'),
  /** The language of the results (`en`, `fr-CA` …), or `all`. */
  language: z
    .string()
    .regex(/^(all|[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*)$/, {
      error: 'expected a language tag such as en or fr-CA, or all',
    })
    .default('all'),
  /** Longest snippet kept per result, in characters (longer ones are cut at a word). */
  snippet_chars: z.number().int().min(50).max(4000).default(400),
});

/** The plugin's config as validated, defaults applied. */
export type WebSearchConfig = z.output<typeof webSearchConfigSchema>;
