import { dirname, join } from 'node:path';
import type { JsonValue } from '../core/stores/json.ts';
import { type ChildEntry, childEntry, INSTALL_ROOT, launchArgv, pluginReadable, sandboxEnv } from './launch-command.ts';
import { describeGaps, probeSandboxPlatform, type SandboxPlatform } from './platform/capabilities.ts';
import { cleanupStaleCgroups, createPluginCgroup, type PluginCgroup } from './platform/cgroup.ts';
import { ResourceWatchdog } from './platform/resource-watchdog.ts';
import type { ChildPolicy } from './protocol.ts';
import type { ChannelHandlers } from './rpc-channel.ts';
import type { SandboxOptions } from './sandbox-options.ts';
import { SandboxProcess } from './sandbox-process.ts';

/** Processes and threads a sandboxed Node may hold (Node itself runs ~10 threads). */
const PIDS_MAX = 32;

/** What one sandboxed plugin's processes share across restarts: the platform, its cgroup, its watchdog. */
export interface StartedEnvironment {
  readonly platform: SandboxPlatform;
  readonly entry: ChildEntry;
  readonly cgroup: PluginCgroup | undefined;
  /** What this platform cannot enforce for the plugin, as sentences (also logged at start). */
  readonly gaps: readonly string[];
  readonly watchdog: ResourceWatchdog;
  release(): Promise<void>;
}

/** The environment's handlers plus where the process's own output goes. */
export interface StartHandlers extends ChannelHandlers {
  readonly stderr: (line: string) => void;
}

/**
 * Starts one process of a sandboxed plugin: the first time, finds what the platform offers
 * (namespaces, cgroups, the permission flag) and makes the plugin's cgroup; each time, builds the
 * command line and spawns it. The returned environment is handed back for restarts.
 */
export async function startSandboxProcess(
  options: SandboxOptions,
  config: JsonValue | undefined,
  handlers: StartHandlers,
  environment?: StartedEnvironment,
): Promise<{ process: SandboxProcess; environment: StartedEnvironment }> {
  const env = environment ?? (await prepareEnvironment(options));
  const throttle = !(env.cgroup?.enforced.cpu ?? false);
  const policy: ChildPolicy = {
    allowedImports: options.allowedImports,
    deniedImports: options.deniedImports,
    // Plugboard's code only: never node_modules (a plugin's packages are checked by name) nor a plugin folder.
    trustedRoots: [join(INSTALL_ROOT, 'src'), join(INSTALL_ROOT, 'dist')],
    allowedHosts: options.allowHosts,
  };
  let process: SandboxProcess;
  try {
    process = await SandboxProcess.start({
      argv: launchArgv({
        entry: env.entry,
        permissionFlag: env.platform.node.permissionFlag,
        wrapper: env.platform.namespaces.command ?? [],
        cgroupProcs: env.cgroup?.procsFiles ?? [],
        pluginReadable: pluginReadable(options.modulePath, options.configFile),
        heapMb: options.memoryMb,
      }),
      env: sandboxEnv(),
      modulePath: options.modulePath,
      policy,
      ...(config === undefined ? {} : { config }),
      startTimeoutMs: options.startTimeoutMs ?? (env.entry.fromBuild ? 15_000 : 60_000),
      handlers,
      stderr: handlers.stderr,
      ...(env.cgroup === undefined ? {} : { cgroup: env.cgroup }),
      watchdog: env.watchdog,
      watchOptions: { memoryMb: options.memoryMb, cpuPercent: options.cpuPercent, throttle },
    });
  } catch (error) {
    // A first start that failed leaves nothing behind: its cgroup goes too (a restart keeps it).
    if (environment === undefined) await env.release();
    throw error;
  }
  return { process, environment: env };
}

/** Groups left by a server that died without removing them are removed once, before the first is made. */
let staleGroupsCleaned: Promise<unknown> | undefined;

async function prepareEnvironment(options: SandboxOptions): Promise<StartedEnvironment> {
  const platform = await probeSandboxPlatform();
  staleGroupsCleaned ??= cleanupStaleCgroups();
  await staleGroupsCleaned;
  const entry = await childEntry();
  const name = (dirname(options.modulePath).split('/').at(-1) ?? 'plugin').replace(/[^a-zA-Z0-9_-]/g, '_');
  let cgroup: PluginCgroup | undefined;
  const gaps = [...describeGaps(platform)];
  try {
    cgroup = await createPluginCgroup(platform, name, {
      memoryMb: options.memoryMb,
      cpuPercent: options.cpuPercent,
      pidsMax: PIDS_MAX,
    });
    gaps.push(...(cgroup?.warnings ?? []));
  } catch (error) {
    gaps.push(
      `cgroup: could not create one (${error instanceof Error ? error.message : String(error)}); memory and CPU are enforced by sampling only`,
    );
  }
  const watchdog = new ResourceWatchdog();
  return {
    platform,
    entry,
    cgroup,
    gaps,
    watchdog,
    release: async () => {
      watchdog.stop();
      await cgroup?.remove();
    },
  };
}
