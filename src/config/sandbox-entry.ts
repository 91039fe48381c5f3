import type { SandboxOptions } from '../sandbox/sandbox-options.ts';
import type { PlugboardConfig, ResolvedPluginEntry } from './schema.ts';

/** The parts of the configuration that decide sandboxing. */
export type SandboxingConfig = PlugboardConfig['security'];

/**
 * Whether an entry's plugin runs sandboxed, and with what: its own `sandbox` when given (`false`
 * never), else not when `trusted`, else `security.plugin_sandboxing.enabled` for every plugin but
 * Plugboard's first-party built-ins (our own code, which needs the network and native addons:
 * they are sandboxed only when their entry says `sandbox`).
 *
 * @example
 * ```ts
 * sandboxOptionsFor({ ...entry, sandbox: { memory_mb: 128 } }, '/srv/p/x.plugin.ts', undefined, config.security);
 * // { modulePath: '/srv/p/x.plugin.ts', memoryMb: 128, cpuPercent: 50, … }
 * ```
 */
export function sandboxOptionsFor(
  entry: Pick<ResolvedPluginEntry, 'sandbox' | 'trusted' | 'origin'>,
  modulePath: string,
  configFile: string | undefined,
  security: SandboxingConfig | undefined,
): SandboxOptions | undefined {
  const own = entry.sandbox;
  const sandboxed =
    own === undefined
      ? entry.trusted !== true && entry.origin !== 'builtin' && security?.plugin_sandboxing.enabled === true
      : own !== false;
  if (!sandboxed) return undefined;
  const limits = typeof own === 'object' ? own : {};
  const defaults = security?.plugin_sandboxing;
  return {
    modulePath,
    ...(configFile === undefined ? {} : { configFile }),
    memoryMb: limits.memory_mb ?? defaults?.max_memory_mb ?? 512,
    cpuPercent: limits.cpu_percent ?? defaults?.max_cpu_percent ?? 50,
    allowedImports: limits.allowed_imports ?? security?.allowed_imports ?? [],
    deniedImports: [...(security?.denied_imports ?? []), ...(limits.denied_imports ?? [])],
    allowHosts: limits.network?.allow_hosts ?? [],
  };
}
