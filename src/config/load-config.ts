import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { closestMatch } from '../core/util/closest-match.ts';
import { isSecretKey, redactText } from '../core/util/redact.ts';
import { BUILTIN_PLUGINS, builtinPath } from './builtin-plugins.ts';
import { type ConfigIssue, dotted, fromZodIssue, hiddenValue, valueAt, YamlLocator } from './config-issue.ts';
import { type ConfigPath, pathKey, type SubstitutionProblem, substituteEnv } from './env-substitution.ts';
import { isInside, realOrResolved, realPathResolver } from './plugin-folders.ts';
import { fillFrom, MODE_PRESETS } from './presets.ts';
import {
  configFileSchema,
  GLOBAL_SECTIONS,
  type GlobalSection,
  MODES,
  type Mode,
  PLUGIN_SECTIONS,
  type PlugboardConfig,
  pluginEntrySchema,
  pluginNameSchema,
  type ResolvedPluginEntry,
} from './schema.ts';

/** Where the configuration is looked for when nothing else is said. */
export const DEFAULT_CONFIG_FILE = 'plugins/config.yaml';

/** A plugin entry that could not be used, and why (the plugin goes to ERROR with this reason). */
export interface RejectedPluginEntry {
  readonly name: string;
  readonly section: string;
  readonly issues: readonly ConfigIssue[];
}

/** Everything loading produced. */
export interface LoadedConfig {
  /** The effective configuration (defaults filled in where the file was silent or invalid). */
  readonly config: PlugboardConfig;
  /** Absolute path of the file read, or undefined when none existed. */
  readonly file: string | undefined;
  /** Errors and warnings, each with its location. */
  readonly issues: readonly ConfigIssue[];
  /** Plugin entries that are invalid; the rest of the configuration is usable. */
  readonly rejectedPlugins: readonly RejectedPluginEntry[];
  /** True when errors must stop the caller (strict mode, or a file that cannot be used at all). */
  readonly fatal: boolean;
  /** Paths (see pathKey) whose whole value came from one `${VAR}`, coercible to numbers and booleans. */
  readonly coercible: ReadonlySet<string>;
  /** Line and column of a key path in the file, for issues found later (e.g. by a plugin's schema). */
  readonly locate: (path: ConfigPath, key?: boolean) => { line: number; column: number } | undefined;
  /**
   * A message with every secret the environment supplied (see {@link hideSubstituted}) replaced
   * by its `${VAR}` reference, for messages made later (e.g. from a plugin's schema). The issues
   * above already went through it.
   */
  readonly hideSubstituted: (text: string) => string;
}

/** Names taken by Plugboard's own parts (the built-in provider of shared connections). */
const RESERVED_NAMES: ReadonlySet<string> = new Set(['connections']);

/** Entry keys that only mean something for backend providers. */
const BACKEND_ONLY_KEYS = ['fallback', 'retries', 'retry_delay', 'max_concurrent', 'max_queued'] as const;

export interface LoadOptions {
  /** Config file path; default `PLUGBOARD_CONFIG` or plugins/config.yaml under `cwd`. */
  readonly file?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Overrides the file's `strict` (e.g. `--strict`). */
  readonly strict?: boolean;
  readonly cwd?: string;
}

/** Reads and validates the configuration file. Never throws for content problems: see `issues`. */
export async function loadConfig(options: LoadOptions = {}): Promise<LoadedConfig> {
  const env = options.env ?? process.env;
  const file = resolve(options.cwd ?? process.cwd(), options.file ?? env.PLUGBOARD_CONFIG ?? DEFAULT_CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && options.file === undefined && env.PLUGBOARD_CONFIG === undefined) {
      // No file where we looked by default: run on built-in defaults, loudly.
      const loaded = parseConfig('', undefined, { ...options, env });
      const warning: ConfigIssue = {
        severity: 'warning',
        file,
        path: '',
        message: `no configuration file found; running on built-in defaults (create ${DEFAULT_CONFIG_FILE} or set PLUGBOARD_CONFIG)`,
      };
      return { ...loaded, issues: [warning, ...loaded.issues] };
    }
    // A file that was asked for by name must exist.
    return {
      ...parseConfig('', undefined, { ...options, env }),
      issues: [
        { severity: 'error', file, path: '', message: `cannot read the configuration file: ${code ?? String(error)}` },
      ],
      fatal: true,
    };
  }
  return parseConfig(text, file, { ...options, env });
}

/**
 * Parses and validates configuration text (FR-11). `file` (absolute) is used for locations and
 * to resolve `plugin_file` paths; without it paths resolve against `cwd`.
 *
 * Granularity (NFR-5 "configuration error: use defaults, log warning"): an invalid plugin
 * entry rejects only that plugin; an invalid global section falls back to that section's
 * defaults with a warning; in strict mode any error is fatal.
 */
export function parseConfig(text: string, file: string | undefined, options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const issues: ConfigIssue[] = [];
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const locator = new YamlLocator(document, lines);
  const error = (path: ConfigPath, message: string, key = false, plugin?: string): ConfigIssue => ({
    severity: 'error',
    file,
    ...locator.locate(path, key),
    path: dotted(path),
    message,
    ...(plugin === undefined ? {} : { plugin }),
  });
  const warning = (path: ConfigPath, message: string): ConfigIssue => ({
    ...error(path, message, true),
    severity: 'warning',
  });

  for (const problem of document.errors) {
    const position = problem.linePos?.[0] ?? lines.linePos(problem.pos[0]);
    issues.push({
      severity: 'error',
      file,
      ...(position ? { line: position.line, column: position.col } : {}),
      path: '',
      message: `YAML syntax: ${problem.message.split('\n')[0]}`,
      rule: 'syntax',
    });
  }
  if (file !== undefined && document.errors.length === 0 && document.toJS() == null) {
    // A half-written save or `> config.yaml`: on a reload this must not read as "no plugins".
    issues.push({
      severity: 'warning',
      file,
      path: '',
      message: 'the file is empty: running on built-in defaults (a reload keeps the running configuration instead)',
      rule: 'empty',
    });
  }
  let raw: unknown = document.errors.length > 0 ? {} : (document.toJS() ?? {});
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    issues.push(
      error(
        [],
        `the file must be a mapping of sections (plugin_manager, backends, …), found ${Array.isArray(raw) ? 'a list' : typeof raw}`,
      ),
    );
    raw = {};
  }
  const unusable = issues.length > 0;

  // Environment substitution (§8.2). Values it supplied are never shown in a message.
  const substituted = substituteEnv(raw, env);
  const shown = (path: ConfigPath, value: unknown): string =>
    hiddenValue(path, value, substituted.sources) ?? JSON.stringify(value);
  const missingIssue = (missing: SubstitutionProblem, plugin?: string): ConfigIssue => ({
    ...error(
      missing.path,
      `environment variable ${missing.variable} is not set (use \${${missing.variable}:default} to give a default)`,
      false,
      plugin,
    ),
    rule: 'env-missing',
  });
  const inPluginEntry = (path: ConfigPath): boolean =>
    path.length >= 2 && (PLUGIN_SECTIONS as readonly unknown[]).includes(path[0]);
  for (const missing of substituted.missing) {
    // Those inside a plugin entry are reported with (and reject) that entry, below.
    if (inPluginEntry(missing.path)) continue;
    issues.push(missingIssue(missing));
  }
  // A key with nothing under it (`hooks:` with every child commented out) means its defaults.
  const data = Object.fromEntries(
    Object.entries(substituted.value as Record<string, unknown>).filter(([, value]) => value !== null),
  );

  // Unknown top-level sections.
  const knownSections = Object.keys(configFileSchema.shape);
  for (const key of Object.keys(data)) {
    if (!knownSections.includes(key)) {
      const guess = closestMatch(key, knownSections);
      issues.push(
        error(
          [key],
          `unknown section${guess ? ` (did you mean "${guess}"?)` : ''}; sections are ${knownSections.join(', ')}`,
          true,
        ),
      );
    }
  }

  // Mode, its presets, strictness.
  let mode: Mode = 'development';
  let modeInvalid = false;
  if (data.mode !== undefined) {
    if (MODES.includes(data.mode as Mode)) mode = data.mode as Mode;
    else {
      // Which safeguards were meant is unknown: refuse to guess (see `fatal` below).
      modeInvalid = true;
      const guess = typeof data.mode === 'string' ? closestMatch(data.mode, MODES) : undefined;
      issues.push(
        error(
          ['mode'],
          `expected one of ${MODES.join(', ')}, found ${shown(['mode'], data.mode)}${guess ? ` (did you mean "${guess}"?)` : ''}`,
        ),
      );
    }
  }
  const withPreset = fillFrom(data, MODE_PRESETS[mode]) as Record<string, unknown>;
  let strict = options.strict ?? (withPreset.strict as boolean);
  if (typeof strict !== 'boolean') {
    issues.push(error(['strict'], `expected true or false, found ${shown(['strict'], withPreset.strict)}`));
    strict = false;
  }

  // Global sections, each on its own.
  const sections = {} as { -readonly [K in GlobalSection]: PlugboardConfig[K] };
  for (const [name, schema] of Object.entries(GLOBAL_SECTIONS) as [GlobalSection, z.ZodType][]) {
    const result = validateWithCoercion(schema, withPreset[name], [name], substituted.coercible);
    const missingVariable = substituted.missing.some((missing) => missing.path[0] === name);
    if (result.success && !missingVariable) {
      (sections as Record<string, unknown>)[name] = result.data;
      continue;
    }
    for (const issue of result.success ? [] : result.error.issues) {
      issues.push(
        ...fromZodIssue(issue, [name], result.value, schema, { file, locator, substituted: substituted.sources }),
      );
    }
    (sections as Record<string, unknown>)[name] = schema.parse(fillFrom(undefined, MODE_PRESETS[mode][name]));
    issues.push(warning([name], `section "${name}" is invalid: using its defaults until it is fixed`));
  }

  // Plugin sections: each entry on its own.
  const base = file === undefined ? resolve(options.cwd ?? process.cwd()) : dirname(file);
  const realPath = realPathResolver();
  const allowedRoots = sections.plugin_manager.plugin_directories.map((directory) =>
    realOrResolved(resolve(base, directory)),
  );
  const plugins: ResolvedPluginEntry[] = [];
  const rejectedPlugins: RejectedPluginEntry[] = [];
  const seen = new Map<string, string>();
  for (const section of PLUGIN_SECTIONS) {
    const entries = withPreset[section];
    if (entries === undefined || entries === null) continue;
    if (typeof entries !== 'object' || Array.isArray(entries)) {
      for (const missing of substituted.missing) if (missing.path[0] === section) issues.push(missingIssue(missing));
      issues.push(
        error(
          [section],
          `expected a mapping of plugin name → { plugin_file, enabled, priority, config }, found ${Array.isArray(entries) ? 'a list' : typeof entries}`,
        ),
      );
      continue;
    }
    for (const [name, value] of Object.entries(entries)) {
      const entryIssues: ConfigIssue[] = substituted.missing
        .filter((missing) => missing.path[0] === section && missing.path[1] === name)
        .map((missing) => missingIssue(missing, name));
      const nameCheck = pluginNameSchema.safeParse(name);
      if (!nameCheck.success)
        entryIssues.push(
          error([section, name], `invalid plugin name: ${nameCheck.error.issues[0]?.message}`, true, name),
        );
      const previous = seen.get(name);
      if (previous !== undefined)
        entryIssues.push(
          error([section, name], `plugin "${name}" is already configured under ${previous}`, true, name),
        );
      seen.set(name, section);
      const result = validateWithCoercion(pluginEntrySchema, value, [section, name], substituted.coercible);
      if (!result.success) {
        for (const issue of result.error.issues) {
          entryIssues.push(
            ...fromZodIssue(issue, [section, name], result.value, pluginEntrySchema, {
              file,
              locator,
              plugin: name,
              substituted: substituted.sources,
            }),
          );
        }
      }
      if (result.success && section !== 'backends') {
        for (const key of BACKEND_ONLY_KEYS) {
          if (result.data[key] !== undefined) {
            entryIssues.push(
              error(
                [section, name, key],
                `"${key}" applies to backends only (this entry is under ${section})`,
                false,
                name,
              ),
            );
          }
        }
      }
      if (RESERVED_NAMES.has(name)) {
        entryIssues.push(
          error([section, name], `"${name}" is the name of a built-in part of Plugboard; rename the entry`, true, name),
        );
      }
      let resolvedPath: string | undefined;
      let origin: ResolvedPluginEntry['origin'] = 'file';
      if (result.success && result.data.plugin_file !== undefined) {
        resolvedPath = resolve(base, result.data.plugin_file);
        const real = realPath(resolvedPath);
        if (!allowedRoots.some((root) => isInside(real, root))) {
          entryIssues.push(
            error(
              [section, name, 'plugin_file'],
              `path ${hiddenValue([section, name, 'plugin_file'], result.data.plugin_file, substituted.sources) ?? result.data.plugin_file} leaves the allowed plugin folders (${sections.plugin_manager.plugin_directories.join(', ')}); move the plugin or add its folder to plugin_manager.plugin_directories`,
              false,
              name,
            ),
          );
        }
      } else if (result.success && result.data.package !== undefined) {
        origin = 'package';
      } else if (result.success) {
        // No file, no package: a first-party plugin named by its entry (spec §8.2).
        const builtin = BUILTIN_PLUGINS[name];
        if (builtin === undefined) {
          const guess = closestMatch(name, Object.keys(BUILTIN_PLUGINS));
          entryIssues.push(
            error(
              [section, name],
              `no plugin_file or package, and "${name}" is not a built-in plugin${guess ? ` (did you mean "${guess}"?)` : ''}; built-ins: ${Object.keys(BUILTIN_PLUGINS).join(', ')}`,
              true,
              name,
            ),
          );
        } else if (builtin.section !== section) {
          entryIssues.push(
            error([section, name], `the built-in plugin "${name}" belongs under ${builtin.section}`, true, name),
          );
        } else {
          origin = 'builtin';
          resolvedPath = builtinPath(builtin);
        }
      }
      if (entryIssues.length > 0 || !result.success) {
        issues.push(...entryIssues);
        rejectedPlugins.push({ name, section, issues: entryIssues });
        continue;
      }
      plugins.push({ ...result.data, name, section, origin, ...(resolvedPath === undefined ? {} : { resolvedPath }) });
    }
  }

  // A fallback must be another configured backend; an unknown one is reported and ignored.
  const backendNames = plugins.filter((plugin) => plugin.section === 'backends').map((plugin) => plugin.name);
  for (const [index, plugin] of plugins.entries()) {
    if (plugin.fallback === undefined) continue;
    if (plugin.fallback === plugin.name || !backendNames.includes(plugin.fallback)) {
      const others = backendNames.filter((name) => name !== plugin.name);
      const suggestion = closestMatch(plugin.fallback, others);
      issues.push(
        error(
          ['backends', plugin.name, 'fallback'],
          plugin.fallback === plugin.name
            ? 'a backend cannot be its own fallback'
            : `no backend named ${shown(['backends', plugin.name, 'fallback'], plugin.fallback)} is configured${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; backends: ${others.join(', ') || 'none'}`,
          false,
          plugin.name,
        ),
      );
      const { fallback: _ignored, ...rest } = plugin;
      plugins[index] = rest;
    }
  }

  const defaultBackend = sections.plugin_manager.default_backend;
  if (
    defaultBackend !== undefined &&
    !plugins.some((plugin) => plugin.section === 'backends' && plugin.name === defaultBackend)
  ) {
    const backends = plugins.filter((plugin) => plugin.section === 'backends').map((plugin) => plugin.name);
    issues.push(
      error(
        ['plugin_manager', 'default_backend'],
        `no backend named ${shown(['plugin_manager', 'default_backend'], defaultBackend)} is configured; backends: ${backends.join(', ') || 'none'}`,
      ),
    );
  }

  // A missing variable already explains the wrong value it leaves behind: say it once.
  const missingAt = new Set(substituted.missing.map((missing) => dotted(missing.path)));
  const reported = issues.filter((issue) => !missingAt.has(issue.path) || issue.rule === 'env-missing');
  const hide = hideSubstituted(substituted.values, substituted.sources);
  issues.length = 0;
  issues.push(...reported.map((issue) => ({ ...issue, message: hide(issue.message) })));
  const hasErrors = issues.some((issue) => issue.severity === 'error');
  return {
    config: { mode, strict, ...sections, plugins },
    file,
    issues,
    rejectedPlugins,
    fatal: (strict && hasErrors) || (unusable && file !== undefined) || modeInvalid,
    coercible: substituted.coercible,
    locate: (path, key) => locator.locate(path, key),
    hideSubstituted: hide,
  };
}

/**
 * A function replacing, in a message, each secret the environment supplied with its `${VAR}`
 * reference: the value of a variable whose name says it is a secret (`OPENAI_API_KEY`,
 * `ADMIN_TOKEN`), that went into a secret-named key (`api_key: "${KEY}"`), or that carries
 * credentials (`http://user:password@host`). Values shorter than 4 characters are left: they
 * would mangle the text. The safety net behind the messages that describe a value, which hide
 * every value from the environment (see `hiddenValue`).
 */
function hideSubstituted(
  values: ReadonlyMap<string, string>,
  sources: ReadonlyMap<string, readonly string[]>,
): (text: string) => string {
  const secret = new Set<string>();
  for (const [key, variables] of sources) {
    const last = (JSON.parse(key) as ConfigPath).at(-1);
    if (typeof last === 'string' && isSecretKey(last)) for (const name of variables) secret.add(name);
  }
  const hidden = [...values]
    .filter(
      ([name, value]) => value.length >= 4 && (secret.has(name) || isSecretKey(name) || redactText(value) !== value),
    )
    .sort(([, a], [, b]) => b.length - a.length);
  if (hidden.length === 0) return (text) => text;
  return (text) => {
    let result = text;
    for (const [name, value] of hidden) if (result.includes(value)) result = result.split(value).join(`\${${name}}`);
    return result;
  };
}

/**
 * Validates, coercing strings that came whole from `${VAR}` to the number or boolean the schema
 * expects (`"${OPENAI_TIMEOUT:60}"` → 60), then validating again.
 */
function validateWithCoercion<T>(
  schema: z.ZodType<T>,
  input: unknown,
  basePath: ConfigPath,
  coercible: ReadonlySet<string>,
): { success: true; data: T; value: unknown } | { success: false; error: z.ZodError; value: unknown } {
  let value = input;
  for (let attempt = 0; attempt < 20; attempt++) {
    const result = schema.safeParse(value);
    if (result.success) return { success: true, data: result.data, value };
    let changed = false;
    for (const issue of result.error.issues) {
      if (issue.code !== 'invalid_type' || (issue.expected !== 'number' && issue.expected !== 'boolean')) continue;
      const path = issue.path as (string | number)[];
      if (!coercible.has(pathKey([...basePath, ...path]))) continue;
      const current = valueAt(value, path);
      if (typeof current !== 'string') continue;
      const coerced = coerce(current, issue.expected as 'number' | 'boolean');
      if (coerced === undefined) continue;
      value = setAt(value, path, coerced);
      changed = true;
    }
    if (!changed) return { success: false, error: result.error, value };
  }
  const result = schema.safeParse(value);
  return result.success ? { success: true, data: result.data, value } : { success: false, error: result.error, value };
}

export function coerce(text: string, expected: 'number' | 'boolean'): number | boolean | undefined {
  const trimmed = text.trim();
  if (expected === 'number') {
    const number = Number(trimmed);
    return trimmed !== '' && Number.isFinite(number) ? number : undefined;
  }
  if (/^(true|yes|on|1)$/i.test(trimmed)) return true;
  if (/^(false|no|off|0)$/i.test(trimmed)) return false;
  return undefined;
}

/** A copy of `data` with `value` at `path` (arrays stay arrays). */
export function setAt(data: unknown, path: readonly (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  const container = Array.isArray(data) ? [...data] : { ...(data as Record<string, unknown>) };
  (container as Record<string | number, unknown>)[head] = setAt(
    (data as Record<string | number, unknown>)[head],
    rest,
    value,
  );
  return container;
}
