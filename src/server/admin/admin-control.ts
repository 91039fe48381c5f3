import type { LastReload } from '../../config/runtime-support.ts';
import type { PluginSection } from '../../config/schema.ts';
import type { ApplyReport } from '../../core/manager/plugin-change.ts';

/** What a configuration reload did: the manager's report plus the issues found in the file. */
export interface AdminReloadReport extends ApplyReport {
  /** Config issues found in the file read (errors refuse only what they concern). */
  readonly issues: readonly string[];
}

/**
 * What the admin API can ask of whoever runs the server from a configuration file
 * (ConfigRuntime): reloads and the effective configuration. Without it, the admin API still
 * enables, disables and resets plugins, but answers 501 to reloads and to the config view.
 */
export interface AdminControl {
  /** Reads the configuration file again and applies what changed. */
  reload(): Promise<AdminReloadReport>;
  /**
   * Re-imports one plugin's module (and takes its config entry in effect) and swaps it in.
   * A refusal is in the report's `refused`.
   *
   * @throws PlugboardError `PLUGIN_NOT_FOUND` when no plugin of that name is configured.
   */
  reloadPlugin(name: string): Promise<ApplyReport>;
  /** The configuration in effect, secrets redacted. */
  effectiveConfig(): Readonly<Record<string, unknown>>;
  /** The file the configuration came from, if any. */
  readonly file: string | undefined;
  /**
   * A configured plugin's entry as in effect: its section and its `config` with `${VAR}`
   * references substituted, secrets NOT redacted (for the config editor, which must validate
   * what it keeps). Undefined when no valid entry names it (discovered, or rejected).
   */
  pluginEntry?(name: string): PluginEntryInEffect | undefined;
  /**
   * The configuration's status for `GET /plugins` and `GET /health` (`config`): the file and
   * what its last reload did. Absent for a control that runs from no file.
   */
  configStatus?(): ConfigStatusBody;
}

/** A plugin's entry in the configuration in effect (see `AdminControl.pluginEntry`). */
export interface PluginEntryInEffect {
  readonly section: PluginSection;
  readonly config: Readonly<Record<string, unknown>>;
}

/** `config` in `GET /plugins` and `GET /health`, for a server run from a configuration file. */
export interface ConfigStatusBody {
  /** The configuration file in effect. */
  readonly file?: string;
  /** What the last reload did (absent before any): see `LastReload`. */
  readonly lastReload?: LastReload;
}
