import { stringify } from 'yaml';
import { formatIssue } from '../config/config-issue.ts';
import { loadConfig } from '../config/load-config.ts';
import { checkEntryConfig, importEntry } from '../config/plugin-entries.ts';
import { redactSecrets } from '../config/redact.ts';
import { toPlugboardError } from '../core/errors/plugboard-error.ts';

/** Output sinks, so tests can capture what a command prints. */
export interface CommandIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/**
 * `plugboard config check [file] [--strict]`: validates the file, imports every plugin it
 * names and checks each plugin's config against its schema; prints every problem.
 * Returns the exit code: 0 valid (warnings allowed), 1 errors found. Errors fail the check
 * with or without `--strict`; `--strict` (or a strict file) also fails it on warnings, such
 * as running on built-in defaults because no file was found.
 */
export async function configCheck(file: string | undefined, strict: boolean, io: CommandIo): Promise<number> {
  const loaded = await loadConfig({ ...(file === undefined ? {} : { file }), ...(strict ? { strict: true } : {}) });
  const problems = loaded.issues.map((issue) => ({ severity: issue.severity, text: formatIssue(issue) }));
  for (const entry of loaded.config.plugins) {
    try {
      const imported = await importEntry(entry, loaded.file, loaded.config.security);
      const checked = checkEntryConfig(imported, loaded);
      // A plugin's schema may quote what it was given: secrets from the environment are hidden.
      if (!checked.ok) problems.push({ severity: 'error', text: loaded.hideSubstituted(checked.error.message) });
    } catch (error) {
      const message = toPlugboardError(error, 'PLUGIN_MODULE_LOAD_FAILED', {}).message;
      problems.push({ severity: 'error', text: loaded.hideSubstituted(message) });
    }
  }
  for (const problem of problems) io.err(problem.text);
  const errors = problems.filter((problem) => problem.severity === 'error').length;
  const warnings = problems.length - errors;
  const where = loaded.file ?? 'built-in defaults';
  if (errors > 0) {
    io.err(`${where}: ${errors} error${errors === 1 ? '' : 's'}`);
    return 1;
  }
  if (loaded.config.strict && warnings > 0) {
    io.err(`${where}: ${warnings} warning${warnings === 1 ? '' : 's'}, not allowed in strict mode`);
    return 1;
  }
  io.out(
    `${where}: valid (${loaded.config.plugins.length} plugins, mode ${loaded.config.mode}${loaded.config.strict ? ', strict' : ''})`,
  );
  return 0;
}

/**
 * `plugboard config print [file]`: the effective configuration (defaults and mode presets
 * applied, environment substituted) as YAML, with secrets redacted. Returns the exit code.
 */
export async function configPrint(file: string | undefined, io: CommandIo): Promise<number> {
  const loaded = await loadConfig(file === undefined ? {} : { file });
  for (const issue of loaded.issues) io.err(formatIssue(issue));
  const { plugins, ...sections } = loaded.config;
  const bySection: Record<string, Record<string, unknown>> = {
    backends: {},
    message_processors: {},
    features: {},
    middleware: {},
  };
  for (const { name, section, resolvedPath: _path, origin: _origin, ...entry } of plugins)
    bySection[section]![name] = entry;
  io.out(stringify(redactSecrets({ ...sections, ...bySection })).trimEnd());
  return loaded.fatal ? 1 : 0;
}
