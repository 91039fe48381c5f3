/** Where a sandboxed plugin's proxy keeps its dispose function (a registered symbol: no import needed to find it). */
export const SANDBOX_DISPOSE = Symbol.for('plugboard.sandbox.dispose');

/**
 * Ends a sandboxed plugin's process when a loaded plugin is dropped without having been started
 * (its config refused, its name wrong, a discovered file that an entry names): the runtime only
 * shuts down plugins it started. A no-op for any other plugin. Kept apart from the proxy so the
 * configuration layer can call it without loading the sandbox.
 *
 * @example
 * ```ts
 * const plugin = await loadEntryModule(entry, path, file, security);
 * if (!accepted) await disposeIfSandboxed(plugin);
 * ```
 */
export async function disposeIfSandboxed(plugin: unknown): Promise<void> {
  const dispose = (plugin as { [SANDBOX_DISPOSE]?: unknown } | null)?.[SANDBOX_DISPOSE];
  if (typeof dispose === 'function') await (dispose as () => Promise<void>)();
}
