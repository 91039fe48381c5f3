import type { PlugboardError } from '../errors/plugboard-error.ts';
import type { PluginSettings } from '../plugin/metadata.ts';

/**
 * One change of a reload, as `PluginManager.applyChanges` takes it. Plugins are given as
 * values (already imported), so the core stays free of files and YAML.
 */
export type PluginChange =
  /** A new plugin. */
  | { readonly type: 'add'; readonly plugin: unknown; readonly settings: PluginSettings; readonly source?: string }
  /** New code or new plugin config: a fresh instance takes over once it has initialized. */
  | {
      readonly type: 'replace';
      readonly name: string;
      readonly plugin: unknown;
      readonly settings: PluginSettings;
      readonly source?: string;
    }
  /** Same instance, new priority, timeout, failure policy or enabled flag (no re-initialization). */
  | { readonly type: 'update'; readonly name: string; readonly settings: PluginSettings }
  /** The plugin leaves: drained, shut down, unloaded. */
  | { readonly type: 'remove'; readonly name: string };

/** What applying a set of changes did. */
export interface ApplyReport {
  /** Snapshot version requests see from now on. */
  readonly snapshotVersion: number;
  /** Plugins whose change took effect. */
  readonly applied: readonly string[];
  /** Changes refused, with why; the running version of those plugins stays in place. */
  readonly refused: readonly { readonly plugin: string; readonly error: PlugboardError }[];
}
