/**
 * The anthropic backend's `config` section: its zod schema (strict, snake_case, with the
 * defaults the README documents) and the settings it resolves to once the environment
 * variables are read.
 */
import { z } from 'zod';
import { redactUrl } from '../../src/index.ts';

/** The `anthropic-version` the 2026 SDK sends: sampling parameters are gone from it. */
export const SDK_API_VERSION = '2026-10-21';

/** Where the SDK sends requests when neither `base_url` nor ANTHROPIC_BASE_URL is set. */
export const DEFAULT_BASE_URL = 'https://api.anthropic.com';

export const anthropicConfigSchema = z.strictObject({
  /** API key; default: the ANTHROPIC_API_KEY environment variable. */
  api_key: z.string().min(1).optional(),
  /** Service address; default: ANTHROPIC_BASE_URL, else https://api.anthropic.com. */
  base_url: z.url({ protocol: /^https?$/ }).optional(),
  /** Model used when a request names none. */
  default_model: z.string().min(1).optional(),
  /** `max_tokens` of a request that does not set maxTokens (Anthropic requires one). */
  max_tokens: z.number().int().positive().default(1024),
  /** Models listed besides (or, when the Models API fails, instead of) the API's list. */
  models: z.array(z.string().min(1)).default([]),
  /** `anthropic-version` header; default the SDK's. Before 2026-10-21 sampling options are sent. */
  anthropic_version: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date such as 2023-06-01')
    .optional(),
  /** Extra headers on every request (e.g. `anthropic-beta`). */
  headers: z.record(z.string(), z.string()).default({}),
  /** How a request with `think` asks for thinking: by the model's capabilities, or always one way. */
  thinking: z.enum(['auto', 'adaptive', 'enabled']).default('auto'),
  /** `budget_tokens` when thinking is `enabled` (at least 1024, Anthropic's minimum). */
  thinking_budget_tokens: z.number().int().min(1024).default(2048),
  /** Send a SHA-256 hash of the authenticated principal's id as `metadata.user_id`. */
  send_user_id: z.boolean().default(true),
  /** Timeout of the health check's Models API call, in ms. */
  health_timeout_ms: z.number().int().positive().default(2000),
  /** The SDK's timeout of one request, in ms (the plugin's own call timeout applies too). */
  request_timeout_ms: z.number().int().positive().default(600_000),
  /** Retries the SDK makes on connection errors, 408/409/429 and 5xx. */
  max_retries: z.number().int().min(0).max(10).default(0),
});

/** The config as validated (defaults applied). */
export type AnthropicConfig = z.output<typeof anthropicConfigSchema>;

/** The config with the environment read: what the plugin runs on. */
export interface AnthropicSettings extends Omit<AnthropicConfig, 'api_key' | 'base_url'> {
  readonly apiKey: string;
  /** Where requests go, credentials included if given (`https://user:password@proxy`). */
  readonly baseUrl: string;
  /** The same with its password redacted (`https://user:***@proxy`): what messages and health show. */
  readonly address: string;
  /** True when requests carry temperature, top_p and top_k (API versions before 2026-10-21). */
  readonly sendsSampling: boolean;
}

/**
 * Reads the environment fallbacks of `config`.
 * @throws Error when no API key is configured (the plugin then stays in ERROR with this message).
 */
export function resolveSettings(config: AnthropicConfig, env: NodeJS.ProcessEnv = process.env): AnthropicSettings {
  const { api_key, base_url, ...rest } = config;
  const apiKey = api_key ?? nonEmpty(env.ANTHROPIC_API_KEY);
  if (apiKey === undefined) {
    throw new Error(
      'anthropic: no API key — set `api_key` in the plugin config or the ANTHROPIC_API_KEY environment variable',
    );
  }
  const baseUrl = (base_url ?? nonEmpty(env.ANTHROPIC_BASE_URL) ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
  const version = rest.anthropic_version ?? SDK_API_VERSION;
  return { ...rest, apiKey, baseUrl, address: redactUrl(baseUrl), sendsSampling: version < SDK_API_VERSION };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
