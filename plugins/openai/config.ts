import { z } from 'zod';
import { redactUrl } from '../../src/index.ts';

/**
 * The openai backend's configuration: the zod schema of its `config` section and the
 * settings resolved from it (environment fallbacks, `auto` choices).
 *
 * Values written as `${VAR}` references in YAML reach a plugin's schema as strings, so the
 * numeric and boolean keys also accept their text (`"5000"`, `"false"`), and an empty string
 * (`"${OPENAI_ORG_ID:}"`) counts as "not set".
 */

export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'] as const;

/** An optional string where `''` means "not set". */
const optionalText = z.preprocess((value) => (value === '' ? undefined : value), z.string().min(1).optional());

/** `true`/`false`, or their text. */
const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((value) => value === 'true')]);

/** A whole number, or its text. */
const whole = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .union([z.number(), z.string().regex(/^\d+$/, { error: 'expected a whole number' }).transform(Number)])
    .pipe(z.number().int().min(min).max(max));

const effort = z.enum(REASONING_EFFORTS).optional();

/** The zod schema of the plugin's `config` (strict: a misspelt key is an error, not ignored). */
export const openAiConfigSchema = z
  .strictObject({
    /** Where the OpenAI-compatible API lives, up to and including `/v1`. */
    base_url: z.preprocess(
      (value) => (value === '' ? undefined : value),
      z.url({ protocol: /^https?$/, error: 'expected an http(s) URL such as http://127.0.0.1:8000/v1' }).optional(),
    ),
    api_key: z.string().optional(),
    organization: optionalText,
    project: optionalText,
    default_model: optionalText,
    /** The spec's (§8.2) name for `default_model`. */
    model: optionalText,
    /** Longest wait for the upstream's answer (and between streamed chunks), in seconds; text accepted. */
    timeout: z
      .union([
        z.number(),
        z
          .string()
          .regex(/^\d+(\.\d+)?$/, { error: 'expected a number of seconds' })
          .transform(Number),
      ])
      .pipe(z.number().positive().max(3600))
      .optional(),
    headers: z.record(z.string(), z.string()).default({}),
    health_timeout_ms: whole(1, 600_000).default(1500),
    list_models: z.union([flag, z.array(z.string().min(1))]).default(true),
    max_retries: whole(0, 10).default(0),
    stream_usage: flag.default(true),
    max_tokens_field: z.enum(['auto', 'max_tokens', 'max_completion_tokens']).default('auto'),
    pass_extra: z.union([flag, z.array(z.string().min(1))]).default(true),
    think_effort: effort,
    no_think_effort: effort,
    json_schema_strict: flag.optional(),
  })
  .refine(
    (config) =>
      !(config.model !== undefined && config.default_model !== undefined && config.model !== config.default_model),
    {
      message: 'give either model or default_model (the same setting), not both',
      path: ['model'],
    },
  );

/** The plugin's config as validated (defaults applied). */
export type OpenAiConfig = z.output<typeof openAiConfigSchema>;

/** A reasoning effort the plugin may send. */
export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];

/** Everything the plugin needs at run time, with the environment and `auto` resolved. */
export interface OpenAiSettings {
  /** Where requests go, credentials included if given (`http://user:password@host/v1`). */
  readonly baseUrl: string;
  /** The same with its password redacted (`http://user:***@host/v1`): what messages, logs and health show. */
  readonly address: string;
  /** Empty: send no `Authorization` header (local servers without a key). */
  readonly apiKey: string;
  readonly organization: string | undefined;
  readonly project: string | undefined;
  readonly defaultModel: string | undefined;
  /** The client's request timeout (`timeout`), when set. */
  readonly requestTimeoutMs: number | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly healthTimeoutMs: number;
  /** `true`: ask `GET /models`; `false`: list only `default_model`; a list: exactly those. */
  readonly listModels: boolean | readonly string[];
  readonly maxRetries: number;
  readonly streamUsage: boolean;
  readonly maxTokensField: 'max_tokens' | 'max_completion_tokens';
  /** Which non-OpenAI parameters (`top_k`, `options.extra`) are sent: all, none, or those named. */
  readonly passExtra: boolean | readonly string[];
  readonly thinkEffort: ReasoningEffort | undefined;
  readonly noThinkEffort: ReasoningEffort | undefined;
  readonly jsonSchemaStrict: boolean | undefined;
}

/**
 * The run-time settings of a validated config.
 *
 * - `base_url`: the config, else `OPENAI_BASE_URL`, else OpenAI's own API.
 * - `api_key`: the config, else `OPENAI_API_KEY` — but only when `base_url` is not written in
 *   the config: a key from the environment is never sent to a server configured by hand
 *   (write `api_key: "${OPENAI_API_KEY}"` to do that on purpose).
 * - `max_tokens_field: auto`: `max_completion_tokens` for api.openai.com (its reasoning models
 *   refuse `max_tokens`), `max_tokens` elsewhere (what most compatible servers know).
 *
 * @example
 * ```ts
 * resolveSettings(openAiConfigSchema.parse({ base_url: 'http://127.0.0.1:8000/v1' }), process.env);
 * ```
 */
export function resolveSettings(config: OpenAiConfig, env: NodeJS.ProcessEnv = process.env): OpenAiSettings {
  const baseUrl = (config.base_url ?? nonEmpty(env.OPENAI_BASE_URL) ?? OPENAI_DEFAULT_BASE_URL).replace(/\/+$/, '');
  const apiKey = config.api_key ?? (config.base_url === undefined ? (env.OPENAI_API_KEY ?? '') : '');
  return {
    baseUrl,
    address: redactUrl(baseUrl),
    apiKey: apiKey.trim(),
    organization: config.organization,
    project: config.project,
    defaultModel: config.default_model ?? config.model,
    requestTimeoutMs: config.timeout === undefined ? undefined : config.timeout * 1000,
    headers: config.headers,
    healthTimeoutMs: config.health_timeout_ms,
    listModels: config.list_models,
    maxRetries: config.max_retries,
    streamUsage: config.stream_usage,
    maxTokensField:
      config.max_tokens_field === 'auto'
        ? isOpenAiItself(baseUrl)
          ? 'max_completion_tokens'
          : 'max_tokens'
        : config.max_tokens_field,
    passExtra: config.pass_extra,
    thinkEffort: config.think_effort,
    noThinkEffort: config.no_think_effort,
    jsonSchemaStrict: config.json_schema_strict,
  };
}

/** True for OpenAI's own API (not a compatible server). */
export function isOpenAiItself(baseUrl: string): boolean {
  try {
    return new URL(baseUrl).hostname === 'api.openai.com';
  } catch {
    return false;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
