import { z } from 'zod';

/**
 * The logging plugin's `config`, checked strictly (a misspelt key is an error). Keys are
 * snake_case like the rest of the configuration file.
 */

/** Where records go: the server's logger (pino), a JSON-lines file, or the process's stdout. */
export const DESTINATIONS = ['log', 'file', 'stdout'] as const;
export type Destination = (typeof DESTINATIONS)[number];

/**
 * The kinds of personal data the record's free text (bodies, error messages) can be cleaned of,
 * named as the content filter's categories (their detectors are reused).
 */
export const PII_KINDS = ['email', 'phone', 'card', 'iban', 'ssn', 'ip'] as const;
export type PiiKind = (typeof PII_KINDS)[number];

// A number or boolean written as `${VAR}` in YAML is coerced by the configuration loader before
// this schema sees it: plain types here.
const flag = z.boolean();

/** The zod schema of the plugin's `config`. */
export const loggingConfigSchema = z
  .strictObject({
    destination: z.enum(DESTINATIONS).default('log'),
    file: z.string().min(1).optional(),
    sample_rate: z.number().min(0).max(1).default(1),
    always_log_errors: flag.default(true),
    redact_pii: z.array(z.enum(PII_KINDS)).default([...PII_KINDS]),
    default_region: z
      .string()
      .regex(/^[A-Za-z]{2}$/, { error: 'expected a two-letter region code such as US, DE or GB' })
      .transform((region) => region.toUpperCase())
      .default('US'),
    include_bodies: flag.default(false),
    max_body_chars: z.number().int().min(1).max(1_000_000).default(2000),
  })
  .refine((config) => config.destination !== 'file' || config.file !== undefined, {
    error: 'destination: file needs a file path (file: /var/log/plugboard/requests.jsonl)',
    path: ['file'],
  })
  .refine((config) => config.destination === 'file' || config.file === undefined, {
    error: 'file is only used with destination: file',
    path: ['file'],
  });

/** The plugin's config as validated, defaults applied. */
export type LoggingConfig = z.output<typeof loggingConfigSchema>;
