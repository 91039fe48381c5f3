import { z } from 'zod';
import { connectionsSchema } from '../connections/schema.ts';
import { PRIORITIES } from '../core/plugin/priority.ts';

/*
 * The configuration file's schema: the structure of spec §8.1 with its snake_case keys,
 * plus the keys later features need, each documented in docs/CONFIGURATION.md.
 * Every object is strict: an unknown key is an error (with a "did you mean"), never ignored.
 * Times are in seconds, as in the spec.
 */

const seconds = z.number().positive();

/** Deployment modes (spec §13.2); each presets defaults, see presets.ts. */
export const MODES = ['development', 'staging', 'production'] as const;
export type Mode = (typeof MODES)[number];

/** A plugin's own sandbox limits (`sandbox: { … }` on its entry); unset keys take security.plugin_sandboxing's. */
export const sandboxEntrySchema = z.strictObject({
  /** Resident memory of the plugin's process, in MB. */
  memory_mb: z.number().int().min(64).optional(),
  /** CPU, in percent of one core. */
  cpu_percent: z.number().int().min(1).max(100).optional(),
  /** Imports this plugin may make (replaces security.allowed_imports for it). */
  allowed_imports: z.array(z.string().min(1)).optional(),
  /** Imports denied to this plugin, on top of security.denied_imports. */
  denied_imports: z.array(z.string().min(1)).optional(),
  network: z
    .strictObject({
      /** Hosts its fetch may reach, through the server: `api.example.com`, `*.example.com`, `localhost:8080`. */
      allow_hosts: z
        .array(z.string().regex(/^(\*\.)?[a-z0-9.-]+(:\d+)?$/i, 'a host name, *.domain or host:port'))
        .default([]),
    })
    .optional(),
});

/** One plugin's entry under backends / message_processors / features / middleware. */
export const pluginEntrySchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Path of the plugin module, relative to the config file (omit it for a built-in plugin). */
    plugin_file: z.string().min(1).optional(),
    /** Or an npm package exporting the plugin. */
    package: z.string().min(1).optional(),
    priority: z.enum(PRIORITIES).optional(),
    failure_policy: z.enum(['open', 'closed']).optional(),
    /** Per-call timeout in seconds (default: plugin_manager.default_timeout). */
    timeout: seconds.optional(),
    /** Backends only: the backend that takes over when this one cannot answer. */
    fallback: z.string().min(1).optional(),
    /** Backends only: extra attempts after a retryable failure. */
    retries: z.number().int().min(0).max(10).optional(),
    /** Backends only: first backoff delay in seconds (doubled each attempt, with jitter). */
    retry_delay: seconds.optional(),
    /** Backends only: most calls in flight at once (a stream holds its slot until it ends). */
    max_concurrent: z.number().int().positive().optional(),
    /** Backends only: calls that may wait for a slot before the backend is reported busy. */
    max_queued: z.number().int().nonnegative().optional(),
    /**
     * Which plugin provides each service this one consumes, by service id, when several could:
     * `{ plugboard.kv-store: redis-store }`.
     */
    services: z.record(z.string().min(1), z.string().regex(/^[a-z][a-z0-9_-]*$/, 'a plugin name')).optional(),
    /**
     * Run the plugin in its own permission-restricted, supervised process (docs/SANDBOX.md):
     * `true` with the limits of security.plugin_sandboxing, or the limits for this plugin.
     */
    sandbox: z.union([z.boolean(), sandboxEntrySchema]).optional(),
    /** A trusted plugin runs in the server's process even when security.plugin_sandboxing.enabled is on. */
    trusted: z.boolean().optional(),
    /** The plugin's own settings, validated against the schema the plugin declares. */
    config: z.record(z.string(), z.unknown()).default({}),
  })
  .refine((entry) => !(entry.plugin_file && entry.package), {
    message: 'give either plugin_file or package, not both',
  })
  .refine((entry) => !(entry.trusted === true && entry.sandbox !== undefined && entry.sandbox !== false), {
    message: 'a plugin is either trusted (runs in the server) or sandboxed, not both',
  });

export type PluginEntry = z.output<typeof pluginEntrySchema>;

/** Plugin names as keys of the plugin sections. */
export const pluginNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_-]*$/, 'plugin names use lower-case letters, digits, "-" and "_"');

const pluginSection = z.record(pluginNameSchema, z.unknown()).default({});

export const PLUGIN_SECTIONS = ['backends', 'message_processors', 'features', 'middleware'] as const;
export type PluginSection = (typeof PLUGIN_SECTIONS)[number];

/** Which plugin kind each section must hold. */
export const SECTION_KIND = {
  backends: 'backend-provider',
  message_processors: 'message-processor',
  features: 'feature-extension',
  middleware: 'middleware',
} as const;

export const pluginManagerSchema = z
  .strictObject({
    enable_hot_reload: z.boolean().default(false),
    enable_circuit_breaker: z.boolean().default(true),
    /** How many plugins may initialize at the same time during start-up and reload. */
    max_concurrent_plugins: z.number().int().positive().default(10),
    default_timeout: seconds.default(30),
    /** Folders (relative to the config file) that plugin_file paths must stay inside. */
    plugin_directories: z.array(z.string().min(1)).min(1).default(['.']),
    /**
     * Load every plugin file (`*.plugin.*`, `*.middleware.*`) found in plugin_directories that
     * no entry names, with default settings (FR-2). Default: on in development mode.
     */
    discover: z.boolean().default(false),
    /** Backend used when a request names none (default: the first enabled backend). */
    default_backend: z.string().optional(),
    /** Most model turns per request (tool loops). */
    max_turns: z.number().int().positive().default(8),
    /** How long shutdown, unload and reload wait for running requests to finish. */
    drain_timeout: seconds.default(30),
    /** Bound on each plugin's shutdown. */
    shutdown_timeout: seconds.default(10),
    /** Bound on each plugin's health check. */
    health_timeout: seconds.default(2),
    /** Quiet time after a file change before a hot reload runs (editors save in bursts). */
    reload_debounce: seconds.default(0.2),
  })
  .prefault({});

export const hooksSchema = z
  .strictObject({
    default_timeout: seconds.default(30),
    max_concurrent_hooks: z.number().int().positive().default(10),
    /** Background MONITORING hooks that may queue before new ones are dropped. */
    monitoring_queue: z.number().int().nonnegative().default(1000),
    circuit_breaker: z
      .strictObject({
        failure_threshold: z.number().int().positive().default(5),
        timeout_seconds: seconds.default(60),
      })
      .prefault({}),
  })
  .prefault({});

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;

export const observabilitySchema = z
  .strictObject({
    metrics: z.strictObject({ enabled: z.boolean().default(true) }).prefault({}),
    logging: z
      .strictObject({
        level: z.enum(LOG_LEVELS).default('INFO'),
        /** `json` (one object per line) or `pretty` (for people at a terminal). */
        format: z.enum(['json', 'pretty']).default('json'),
      })
      .prefault({}),
  })
  .prefault({});

export const securitySchema = z
  .strictObject({
    plugin_sandboxing: z
      .strictObject({
        /** Sandbox every plugin not marked `trusted: true` (first-party built-ins are trusted unless given `sandbox`). */
        enabled: z.boolean().default(false),
        /** Default resident memory limit of a sandboxed plugin's process, in MB. */
        max_memory_mb: z.number().int().min(64).default(512),
        /** Default CPU limit of a sandboxed plugin, in percent of one core. */
        max_cpu_percent: z.number().int().min(1).max(100).default(50),
      })
      .prefault({}),
    allowed_imports: z.array(z.string()).default([]),
    denied_imports: z.array(z.string()).default([]),
  })
  .prefault({});

export const serverSchema = z
  .strictObject({
    /** Interface to listen on. Loopback by default: exposing the server is a deliberate choice. */
    host: z.string().min(1).default('127.0.0.1'),
    /** TCP port (0 picks a free one). Not Ollama's 11434, so both can run side by side. */
    port: z.number().int().min(0).max(65535).default(8080),
    /** Largest request body accepted, in MiB (images travel base64-encoded in chat bodies). */
    body_limit_mb: z.number().positive().max(1024).default(16),
    /** Longest a request may run, streaming included, in seconds. */
    request_timeout: seconds.default(600),
    /** How long a graceful shutdown waits for in-flight requests and open streams, in seconds. */
    shutdown_timeout: seconds.default(30),
    /** Seconds a client has to send a request body, extended while it keeps body_min_rate_kb. */
    body_timeout: seconds.default(30),
    /** KiB per second that earn a body more time (0: body_timeout is a hard deadline). */
    body_min_rate_kb: z.number().min(0).default(32),
    /** Most request bodies received at once; beyond: the slowest is cut, or 503. */
    max_pending_bodies: z.number().int().positive().default(128),
    /** Caps on what one request may carry, checked before its messages are validated (413). */
    limits: z
      .strictObject({
        /** Messages in a chat request; also its tools, and parts, images, tool calls of all messages. */
        max_messages: z.number().int().positive().default(10_000),
        /** Inputs in an embeddings request. */
        max_inputs: z.number().int().positive().default(2048),
        /** Characters of text in a request: contents, prompt, system, inputs. */
        max_total_chars: z.number().int().positive().default(8_000_000),
      })
      .prefault({}),
    /** Where `POST /admin/models/pull` downloads GGUF files; relative to the working directory. */
    models_dir: z.string().trim().min(1).default('models'),
    /** Serve the web UI (chat and plugin dashboard) at `/` for browsers and under `/ui/`. */
    ui: z.boolean().default(true),
    /** Token that enables the admin API (`/admin`). Without one, the admin routes do not exist. */
    admin_token: z
      .union([z.literal(''), z.string().min(16, 'must be at least 16 characters (or empty: no admin API)')])
      .optional(),
  })
  .prefault({});

/** The sections other than the plugin sections, each validated (and defaulted) on its own. */
export const GLOBAL_SECTIONS = {
  plugin_manager: pluginManagerSchema,
  hooks: hooksSchema,
  observability: observabilitySchema,
  security: securitySchema,
  server: serverSchema,
  connections: connectionsSchema,
} as const;
export type GlobalSection = keyof typeof GLOBAL_SECTIONS;

/** The whole file. Used for key suggestions and documentation; loading validates section by section. */
export const configFileSchema = z.strictObject({
  mode: z.enum(MODES).default('development'),
  strict: z.boolean().optional(),
  ...GLOBAL_SECTIONS,
  backends: pluginSection,
  message_processors: pluginSection,
  features: pluginSection,
  middleware: pluginSection,
});

/** A plugin entry after loading: where it came from and where to find it. */
export interface ResolvedPluginEntry extends PluginEntry {
  readonly name: string;
  readonly section: PluginSection;
  /** Absolute path of the module: from plugin_file, or a built-in plugin's own file. */
  readonly resolvedPath?: string;
  /** How the plugin was found: an entry's plugin_file or package, a built-in by name, or discovery (FR-2). */
  readonly origin: 'file' | 'package' | 'builtin' | 'discovered';
}

/** The effective configuration. */
export interface PlugboardConfig {
  readonly mode: Mode;
  readonly strict: boolean;
  readonly plugin_manager: z.output<typeof pluginManagerSchema>;
  readonly hooks: z.output<typeof hooksSchema>;
  readonly observability: z.output<typeof observabilitySchema>;
  readonly security: z.output<typeof securitySchema>;
  readonly server: z.output<typeof serverSchema>;
  readonly connections: z.output<typeof connectionsSchema>;
  /** Valid plugin entries, in file order (backends, processors, features, middleware). */
  readonly plugins: readonly ResolvedPluginEntry[];
}
