/**
 * The ollama backend's configuration: the zod schema of its `config` section and the
 * settings resolved from it (the host normalized as Ollama's own clients do, `OLLAMA_HOST`).
 */
import { z } from 'zod';
import { redactUrl } from '../../src/index.ts';

/** Where Ollama listens unless told otherwise. */
export const DEFAULT_HOST = 'http://127.0.0.1:11434';
const DEFAULT_PORT = '11434';
export const DEFAULT_HEALTH_TIMEOUT_MS = 2000;

// Go's time.ParseDuration syntax, which Ollama uses for `keep_alive` strings ("5m", "1h30m").
const GO_DURATION = /^[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;
const NUMBER_TEXT = /^\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)\s*$/;

/**
 * Values from `${VAR}` references reach a plugin's config as text (the loader does not know
 * the plugin's types): numbers written as text are read as numbers.
 */
const fromNumberText = (value: unknown): unknown =>
  typeof value === 'string' && NUMBER_TEXT.test(value) ? Number(value) : value;

const keepAliveSchema = z.preprocess(
  fromNumberText,
  z.union([z.number(), z.string().trim().regex(GO_DURATION)], {
    error: 'must be a duration such as "5m" or "1h30m", or a number of seconds (0 unloads at once, -1 never)',
  }),
);

const hostSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .refine((value) => tryNormalizeHost(value) !== undefined, {
    error: 'must be an http(s) URL or host[:port], e.g. http://127.0.0.1:11434 or gpu-box:11434',
  });

/**
 * The `config` section of the ollama backend. Keys are snake_case, unknown keys are errors.
 * Call timeouts are the core's (`timeout` on the plugin entry), not repeated here.
 */
export const ollamaConfigSchema = z.strictObject({
  /** Ollama's address. Default: `OLLAMA_HOST`, else http://127.0.0.1:11434. */
  host: hostSchema.optional(),
  /** `keep_alive` sent when a request gives none (Ollama's own default is 5m). */
  keep_alive: keepAliveSchema.optional(),
  /** Extra HTTP headers on every request (e.g. for an authenticating proxy). */
  headers: z.record(z.string(), z.string()).default({}),
  /** How long a health check waits for `/api/version`, in ms. */
  health_timeout_ms: z.preprocess(fromNumberText, z.number().int().positive()).default(DEFAULT_HEALTH_TIMEOUT_MS),
  /** Model used when a request names none. */
  default_model: z.string().trim().min(1, 'must not be empty').optional(),
});

/** The validated `config` section. */
export type OllamaConfig = z.output<typeof ollamaConfigSchema>;

/** What the backend works with once configured. */
export interface OllamaSettings {
  /** Normalized base URL, credentials included if given: what requests go to. */
  readonly host: string;
  /** The same with its password redacted (`http://user:***@host:port`): what messages, logs and health show. */
  readonly address: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly keepAlive: string | number | undefined;
  readonly healthTimeoutMs: number;
  readonly defaultModel: string | undefined;
}

/**
 * Settings from the validated config and the environment: `host`, else `OLLAMA_HOST`, else
 * the default.
 *
 * @throws Error when `OLLAMA_HOST` is not a usable address (the config's `host` was checked by the schema).
 */
export function resolveSettings(config: OllamaConfig, env: NodeJS.ProcessEnv = process.env): OllamaSettings {
  const fromEnv = env.OLLAMA_HOST?.trim();
  const given = config.host ?? (fromEnv ? fromEnv : undefined);
  const host = given === undefined ? DEFAULT_HOST : tryNormalizeHost(given);
  if (host === undefined) {
    throw new Error(
      `OLLAMA_HOST=${JSON.stringify(redactUrl(given ?? ''))} is not an http(s) URL or host[:port]; fix it, or set \`host\` in the ollama plugin's config`,
    );
  }
  return {
    host,
    address: redactUrl(host),
    headers: config.headers,
    keepAlive: config.keep_alive,
    healthTimeoutMs: config.health_timeout_ms,
    defaultModel: config.default_model,
  };
}

/**
 * An address as Ollama's clients read `OLLAMA_HOST`: a scheme-less `host[:port]` is http with
 * port 11434 by default, `:port` is 127.0.0.1, an explicit scheme defaults to port 80/443.
 * `0.0.0.0` (a listening address, often copied from the server's own `OLLAMA_HOST`) becomes
 * 127.0.0.1. No trailing slash.
 *
 * @example
 * ```ts
 * normalizeHost('gpu-box'); // 'http://gpu-box:11434'
 * normalizeHost(':8080'); // 'http://127.0.0.1:8080'
 * normalizeHost('https://ollama.example.com/'); // 'https://ollama.example.com:443'
 * ```
 * @throws Error when the text is not an http(s) address.
 */
export function normalizeHost(given: string): string {
  const host = tryNormalizeHost(given);
  if (host === undefined) throw new Error(`not an http(s) URL or host[:port]: ${JSON.stringify(redactUrl(given))}`);
  return host;
}

function tryNormalizeHost(given: string): string | undefined {
  let text = given.trim();
  if (text === '') return undefined;
  let explicit = text.includes('://');
  if (text.startsWith(':')) {
    text = `http://127.0.0.1${text}`;
    explicit = true;
  }
  if (!explicit) text = `http://${text}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') return undefined;
  const port = url.port || (explicit ? (url.protocol === 'https:' ? '443' : '80') : DEFAULT_PORT);
  const hostname = url.hostname === '0.0.0.0' ? '127.0.0.1' : url.hostname === '[::]' ? '[::1]' : url.hostname;
  const auth = url.username ? `${url.username}${url.password ? `:${url.password}` : ''}@` : '';
  return `${url.protocol}//${auth}${hostname}:${port}${url.pathname.replace(/\/+$/, '')}`;
}
