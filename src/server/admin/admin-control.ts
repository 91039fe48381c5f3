import type { ApplyReport } from '../../core/manager/plugin-change.ts';

/**
 * What the admin API can ask of whoever runs the server from a configuration file
 * (ConfigRuntime): reloads and the effective configuration. Without it, the admin API still
 * enables, disables and resets plugins, but answers 501 to reloads.
 */
export interface AdminControl {
  /** Reads the configuration file again and applies what changed. */
  reload(): Promise<ApplyReport & { readonly issues: readonly string[] }>;
  /** Re-imports one plugin's module (and config) and swaps it in. */
  reloadPlugin(name: string): Promise<ApplyReport>;
  /** The configuration in effect, secrets redacted. */
  effectiveConfig(): Readonly<Record<string, unknown>>;
  /** The file the configuration came from, if any. */
  readonly file: string | undefined;
}
