import { z } from 'zod';

/**
 * The content_filter plugin's configuration: the zod schema of its `config` section.
 * Keys are snake_case and checked strictly (a misspelt key is an error, not ignored).
 */

/** The built-in categories, in the order overlapping findings are preferred (first wins a tie). */
export const BUILTIN_CATEGORIES = ['secret', 'card', 'iban', 'ssn', 'email', 'phone', 'ip', 'profanity'] as const;
export type BuiltinCategory = (typeof BUILTIN_CATEGORIES)[number];

/** What happens to a finding. `off` turns the category's detector off entirely. */
export const ACTIONS = ['redact', 'mask', 'block', 'flag', 'off'] as const;
export type Action = (typeof ACTIONS)[number];

/** Which messages a rule applies to: the user's (input), the model's (output), or both. */
export const DIRECTIONS = ['input', 'output', 'both'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** The action and direction of each built-in category when the config says nothing. */
export const CATEGORY_DEFAULTS: Readonly<Record<BuiltinCategory, { action: Action; direction: Direction }>> = {
  secret: { action: 'redact', direction: 'both' },
  card: { action: 'redact', direction: 'both' },
  iban: { action: 'redact', direction: 'both' },
  ssn: { action: 'redact', direction: 'both' },
  email: { action: 'redact', direction: 'both' },
  phone: { action: 'redact', direction: 'both' },
  ip: { action: 'flag', direction: 'both' },
  // Off by default: it costs a pass per message, obscenity has false positives on names, and
  // what counts as profane is a policy choice the operator makes (see README).
  profanity: { action: 'off', direction: 'both' },
};

/** A name usable as a placeholder (`[name]`), a metadata key and a log field. */
const NAME = /^[a-z][a-z0-9_-]{0,31}$/;

const rule = (category: BuiltinCategory) =>
  z
    .strictObject({
      action: z.enum(ACTIONS).default(CATEGORY_DEFAULTS[category].action),
      direction: z.enum(DIRECTIONS).default(CATEGORY_DEFAULTS[category].direction),
    })
    .default(CATEGORY_DEFAULTS[category]);

const customName = z
  .string()
  .regex(NAME, { error: 'expected lower-case letters, digits, "_" or "-", starting with a letter (≤ 32)' })
  .refine((name) => !(BUILTIN_CATEGORIES as readonly string[]).includes(name), {
    error: 'is a built-in category: configure it under categories instead',
  });

/** A regular expression from the config: it must compile and must not match the empty string. */
const customRule = z
  .strictObject({
    name: customName,
    pattern: z.string().min(1),
    /** RegExp flags besides `g` (added): `i`, `m`, `s`, `u`. */
    flags: z
      .string()
      .regex(/^[imsu]*$/, { error: 'only the flags i, m, s and u are allowed (g is added)' })
      .default(''),
    action: z.enum(ACTIONS).default('redact'),
    direction: z.enum(DIRECTIONS).default('both'),
  })
  .superRefine((entry, issues) => {
    let compiled: RegExp;
    try {
      compiled = new RegExp(entry.pattern, entry.flags);
    } catch (error) {
      issues.addIssue({
        code: 'custom',
        path: ['pattern'],
        message: `not a valid regular expression: ${String(error)}`,
      });
      return;
    }
    if (compiled.test('')) {
      issues.addIssue({ code: 'custom', path: ['pattern'], message: 'matches the empty string' });
    }
  });

const wordList = z.strictObject({
  name: customName,
  list: z.array(z.string().trim().min(1)).min(1),
  action: z.enum(ACTIONS).default('redact'),
  direction: z.enum(DIRECTIONS).default('both'),
});

/** The zod schema of the plugin's `config`. */
export const contentFilterConfigSchema = z
  .strictObject({
    categories: z
      .strictObject({
        secret: rule('secret'),
        card: rule('card'),
        iban: rule('iban'),
        ssn: rule('ssn'),
        email: rule('email'),
        phone: rule('phone'),
        ip: rule('ip'),
        profanity: rule('profanity'),
      })
      .default({
        secret: CATEGORY_DEFAULTS.secret,
        card: CATEGORY_DEFAULTS.card,
        iban: CATEGORY_DEFAULTS.iban,
        ssn: CATEGORY_DEFAULTS.ssn,
        email: CATEGORY_DEFAULTS.email,
        phone: CATEGORY_DEFAULTS.phone,
        ip: CATEGORY_DEFAULTS.ip,
        profanity: CATEGORY_DEFAULTS.profanity,
      }),
    /** ISO 3166 region for phone numbers written without `+country` (`US`, `DE`, `GB` …). */
    default_region: z
      .string()
      .regex(/^[A-Za-z]{2}$/, { error: 'expected a two-letter region code such as US, DE or GB' })
      .transform((region) => region.toUpperCase())
      .default('US'),
    custom: z.array(customRule).default([]),
    words: z.array(wordList).default([]),
    /**
     * Characters a streamed reply is held back at least (then to the previous whitespace), so
     * a value containing spaces (a card, an IBAN, a phone number) that is split across chunks
     * is still seen whole. Values without whitespace are held whole whatever their length.
     */
    window: z.number().int().min(16).max(4096).default(96),
  })
  .superRefine((config, issues) => {
    const names = [...config.custom, ...config.words].map((entry) => entry.name);
    for (const [index, name] of names.entries()) {
      if (names.indexOf(name) !== index) {
        issues.addIssue({ code: 'custom', path: ['custom'], message: `the name "${name}" is used twice` });
      }
    }
  });

/** The plugin's config as validated (defaults applied). */
export type ContentFilterConfig = z.output<typeof contentFilterConfigSchema>;

/** One rule in effect: a category (built-in or custom) with its action and direction. */
export interface CategoryRule {
  readonly category: string;
  readonly action: Exclude<Action, 'off'>;
  readonly direction: Direction;
}

/** True when a rule of `direction` applies to messages going `way`. */
export function appliesTo(direction: Direction, way: 'input' | 'output'): boolean {
  return direction === 'both' || direction === way;
}
