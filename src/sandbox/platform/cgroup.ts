/**
 * One cgroup per sandboxed plugin process: the kernel enforces its memory (the OOM killer ends
 * it at the limit), CPU (CFS quota: it is paused once it used its share of each 100 ms period)
 * and process count. On cgroup v1 the "group" is one directory per controller hierarchy, all
 * with the same name; on v2 it is one directory.
 *
 * Names are `<plugin>-<server pid>-<counter>`, so {@link cleanupStaleCgroups} can tell the
 * groups of a server that crashed (its pid is gone) from those of a server still running.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { SandboxPlatform } from './capabilities.ts';
import {
  CGROUP_CONTROLLERS,
  type CgroupController,
  type CgroupParents,
  describeError,
  locateCgroupParents,
} from './cgroup-layout.ts';
import { isAlive } from './proc-stats.ts';

/** The limits of one plugin process. */
export interface CgroupLimits {
  /** Memory (and, where the kernel accounts it, memory + swap) in MiB. */
  readonly memoryMb: number;
  /** Share of one CPU in percent; above 100 allows more than one core. */
  readonly cpuPercent: number;
  /** How many processes and threads the group may hold at once (Node itself needs ~10). */
  readonly pidsMax: number;
}

/** What the kernel counted for a group; a field is `undefined` when its file is missing. */
export interface PluginCgroupStats {
  /** Memory charged to the group now (v1 memory.usage_in_bytes, v2 memory.current). */
  readonly memoryBytes?: number;
  /** The most memory charged to the group so far (v1 memory.max_usage_in_bytes, v2 memory.peak). */
  readonly memoryPeakBytes?: number;
  /**
   * How often the group hit its memory limit (v1 memory.failcnt, v2 memory.events `max`). Some
   * kernels (Linux 6.18 with v1, measured) leave memory.failcnt at 0 even when the OOM killer
   * acted: `oomKills` and `memoryPeakBytes` are the dependable signs.
   */
  readonly memoryLimitHits?: number;
  /** Processes the OOM killer ended in the group (memory.oom_control / memory.events `oom_kill`). */
  readonly oomKills?: number;
  /** Time the group was held back by its CPU quota, in µs (cpu.stat). */
  readonly cpuThrottledUs?: number;
  /** CFS periods in which the group was held back (cpu.stat `nr_throttled`). */
  readonly cpuThrottledPeriods?: number;
  /** Processes and threads in the group now (pids.current). */
  readonly pidsCurrent?: number;
}

/** A plugin's cgroup, made by {@link createPluginCgroup}. */
export interface PluginCgroup {
  readonly version: 1 | 2;
  /** The directory name, the same in every hierarchy: `<plugin>-<server pid>-<counter>`. */
  readonly name: string;
  /** Every directory of the group (v1: one per hierarchy; v2: one). */
  readonly directories: readonly string[];
  /** Every `cgroup.procs` a new process must be written into to be fully inside the group. */
  readonly procsFiles: readonly string[];
  /** Which limits the kernel enforces for processes in the group. */
  readonly enforced: { readonly memory: boolean; readonly cpu: boolean; readonly pids: boolean };
  /** Limits that were set only partly (e.g. swap left unlimited), as sentences. */
  readonly warnings: readonly string[];
  /** Writes `pid` into every {@link procsFiles} entry; throws when the kernel refuses. */
  addProcess(pid: number): void;
  /** The pids in the group now (all hierarchies together). */
  pids(): number[];
  /** Reads the group's counters (synchronous: a few small files). */
  readStats(): PluginCgroupStats;
  /** SIGKILLs what is left in the group and removes its directories; safe to call twice. */
  remove(): Promise<void>;
}

// 10 ms, not the kernel's default 100 ms: a quota is spent and refilled per period, so a plugin
// that used its share waits at most the rest of one period — with 100 ms, a sandboxed call could
// wait ~50 ms behind its own earlier work (measured: p99 of a round trip 5 ms → see bench:sandbox).
const CPU_PERIOD_US = 10_000;
/** The kernel refuses a CFS quota below 1 ms. */
const MIN_CPU_QUOTA_US = 1_000;
/** rmdir fails (EBUSY) until killed tasks have left the group; this is how long to retry. */
const REMOVE_TIMEOUT_MS = 2_000;
const REMOVE_RETRY_MS = 20;
const GROUP_NAME = /^(.+)-(\d+)-(\d+)$/;

let groupCounter = 0;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function readNumber(path: string): number | undefined {
  const text = readText(path)?.trim();
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

/** A "key value" per line file (cpu.stat, memory.events, memory.oom_control) → one value. */
function readKeyed(path: string, key: string): number | undefined {
  const line = readText(path)
    ?.split('\n')
    .find((candidate) => candidate.startsWith(`${key} `));
  const value = Number(line?.slice(key.length + 1));
  return line !== undefined && Number.isFinite(value) ? value : undefined;
}

/** Writes a control file; answers why it failed instead of throwing. */
function writeControl(path: string, value: string): string | undefined {
  try {
    writeFileSync(path, value);
    return undefined;
  } catch (error) {
    return `cannot write ${value} to ${path}: ${describeError(error)}`;
  }
}

function swapIsActive(): boolean {
  return (readText('/proc/swaps') ?? '').trim().split('\n').length > 1;
}

function setMemoryLimit(version: 1 | 2, directory: string, megabytes: number, warnings: string[]): string | undefined {
  const bytes = String(Math.floor(megabytes * 1024 * 1024));
  if (version === 2) {
    const problem = writeControl(join(directory, 'memory.max'), bytes);
    if (problem) return problem;
    // Swap would let the process grow past memory.max; oom.group ends the whole group at once.
    const swap = join(directory, 'memory.swap.max');
    const swapProblem = existsSync(swap) ? writeControl(swap, '0') : undefined;
    if (swapProblem && swapIsActive()) warnings.push(`memory: swap is not limited (${swapProblem})`);
    writeControl(join(directory, 'memory.oom.group'), '1');
    return undefined;
  }
  const problem = writeControl(join(directory, 'memory.limit_in_bytes'), bytes);
  if (problem) return problem;
  // memsw (memory + swap) exists only with swap accounting; it must not be below the memory limit.
  const memsw = join(directory, 'memory.memsw.limit_in_bytes');
  const memswProblem = existsSync(memsw) ? writeControl(memsw, bytes) : 'memory.memsw.limit_in_bytes is missing';
  if (memswProblem && swapIsActive()) warnings.push(`memory: swap is not limited (${memswProblem})`);
  return undefined;
}

function setCpuLimit(version: 1 | 2, directory: string, percent: number): string | undefined {
  // Below 10 % the quota would fall under the kernel's 1 ms minimum: lengthen the period instead.
  const period = Math.max(CPU_PERIOD_US, Math.ceil((MIN_CPU_QUOTA_US * 100) / percent));
  const quota = String(Math.max(MIN_CPU_QUOTA_US, Math.round((period * percent) / 100)));
  if (version === 2) return writeControl(join(directory, 'cpu.max'), `${quota} ${period}`);
  // v1 checks quota against period: set the quota to unlimited first so any period is accepted.
  return (
    writeControl(join(directory, 'cpu.cfs_quota_us'), '-1') ??
    writeControl(join(directory, 'cpu.cfs_period_us'), String(period)) ??
    writeControl(join(directory, 'cpu.cfs_quota_us'), quota)
  );
}

function setLimit(
  version: 1 | 2,
  controller: CgroupController,
  directory: string,
  limits: CgroupLimits,
  warnings: string[],
): string | undefined {
  if (controller === 'memory') return setMemoryLimit(version, directory, limits.memoryMb, warnings);
  if (controller === 'cpu') return setCpuLimit(version, directory, limits.cpuPercent);
  return writeControl(join(directory, 'pids.max'), String(limits.pidsMax));
}

function pidsIn(directories: readonly string[]): number[] {
  const pids = new Set<number>();
  for (const directory of directories) {
    for (const word of (readText(join(directory, 'cgroup.procs')) ?? '').split('\n')) {
      // 0 stands for a process outside our PID namespace: not ours to signal.
      if (/^\d+$/.test(word) && word !== '0') pids.add(Number(word));
    }
  }
  return [...pids];
}

function killEverythingIn(directories: readonly string[]): void {
  for (const directory of directories) {
    // v2 (Linux ≥ 5.14) kills the whole group atomically, also processes forked meanwhile.
    const killFile = join(directory, 'cgroup.kill');
    if (existsSync(killFile)) writeControl(killFile, '1');
  }
  for (const pid of pidsIn(directories)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/**
 * SIGKILLs every process in the directories and removes them, retrying while the killed
 * tasks leave (rmdir answers EBUSY until then). Throws when a directory outlives the timeout.
 */
async function removeGroupDirectories(directories: readonly string[]): Promise<void> {
  const deadline = Date.now() + REMOVE_TIMEOUT_MS;
  let left = [...directories];
  for (;;) {
    killEverythingIn(left);
    const failures: string[] = [];
    left = left.filter((directory) => {
      try {
        rmdirSync(directory);
        return false;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
        failures.push(`${directory}: ${describeError(error)}`);
        return true;
      }
    });
    if (left.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`cannot remove cgroup ${failures.join(', ')} (pids left: ${pidsIn(left).join(' ') || 'none'})`);
    }
    await delay(REMOVE_RETRY_MS);
  }
}

/** A plugin name made safe as one directory name. */
function directoryName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
  return safe.replace(/^\.+/, '') || 'plugin';
}

function validateLimits(limits: CgroupLimits): void {
  const { memoryMb, cpuPercent, pidsMax } = limits;
  if (!(memoryMb > 0) || !(cpuPercent > 0) || !(Number.isInteger(pidsMax) && pidsMax > 0)) {
    throw new RangeError(
      `cgroup limits must be positive (pidsMax a whole number): memoryMb ${memoryMb}, cpuPercent ${cpuPercent}, pidsMax ${pidsMax}`,
    );
  }
}

/**
 * Creates a group in the given parents (one per controller) and sets its limits. The probe
 * uses it directly; everyone else calls {@link createPluginCgroup}.
 */
export function createCgroupIn(
  version: 1 | 2,
  parents: CgroupParents,
  name: string,
  limits: CgroupLimits,
): PluginCgroup | undefined {
  validateLimits(limits);
  groupCounter += 1;
  const leaf = `${directoryName(name)}-${process.pid}-${groupCounter}`;
  const warnings: string[] = [];
  const controllerDirectory: Partial<Record<CgroupController, string>> = {};
  const created = new Set<string>();
  const enforced = { memory: false, cpu: false, pids: false };
  for (const controller of CGROUP_CONTROLLERS) {
    const parent = parents[controller];
    if (!parent) continue;
    const directory = join(parent, leaf);
    if (!created.has(directory)) {
      try {
        // Not recursive: on v2 a parent made here would not hand its controllers down.
        mkdirSync(directory);
        created.add(directory);
      } catch (error) {
        warnings.push(`${controller}: cannot create ${directory}: ${describeError(error)}`);
        continue;
      }
    }
    controllerDirectory[controller] = directory;
    const problem = setLimit(version, controller, directory, limits, warnings);
    if (problem) warnings.push(`${controller}: ${problem}`);
    else enforced[controller] = true;
  }
  if (created.size === 0) return undefined;
  return makeHandle(version, leaf, [...created], controllerDirectory, enforced, warnings);
}

function makeHandle(
  version: 1 | 2,
  name: string,
  directories: readonly string[],
  controllerDirectory: Partial<Record<CgroupController, string>>,
  enforced: PluginCgroup['enforced'],
  warnings: readonly string[],
): PluginCgroup {
  const procsFiles = directories.map((directory) => join(directory, 'cgroup.procs'));
  let removal: Promise<void> | undefined;
  return {
    version,
    name,
    directories,
    procsFiles,
    enforced,
    warnings,
    addProcess(pid) {
      for (const file of procsFiles) writeFileSync(file, String(pid));
    },
    pids: () => pidsIn(directories),
    readStats() {
      const { memory, cpu, pids } = controllerDirectory;
      const file = (directory: string | undefined, name: string) => (directory ? join(directory, name) : '');
      if (version === 2) {
        return {
          memoryBytes: readNumber(file(memory, 'memory.current')),
          memoryPeakBytes: readNumber(file(memory, 'memory.peak')),
          memoryLimitHits: readKeyed(file(memory, 'memory.events'), 'max'),
          oomKills: readKeyed(file(memory, 'memory.events'), 'oom_kill'),
          cpuThrottledUs: readKeyed(file(cpu, 'cpu.stat'), 'throttled_usec'),
          cpuThrottledPeriods: readKeyed(file(cpu, 'cpu.stat'), 'nr_throttled'),
          pidsCurrent: readNumber(file(pids, 'pids.current')),
        };
      }
      const throttledNs = readKeyed(file(cpu, 'cpu.stat'), 'throttled_time');
      return {
        memoryBytes: readNumber(file(memory, 'memory.usage_in_bytes')),
        memoryPeakBytes: readNumber(file(memory, 'memory.max_usage_in_bytes')),
        memoryLimitHits: readNumber(file(memory, 'memory.failcnt')),
        oomKills: readKeyed(file(memory, 'memory.oom_control'), 'oom_kill'),
        cpuThrottledUs: throttledNs === undefined ? undefined : Math.round(throttledNs / 1000),
        cpuThrottledPeriods: readKeyed(file(cpu, 'cpu.stat'), 'nr_throttled'),
        pidsCurrent: readNumber(file(pids, 'pids.current')),
      };
    },
    remove() {
      removal ??= removeGroupDirectories(directories);
      return removal;
    },
  };
}

/**
 * Creates the cgroup of one plugin process, `<own group>/plugboard/pidns-<id>/<name>-<server
 * pid>-<counter>` in every hierarchy the probe found usable, and sets its limits: memory (and
 * swap: memsw = memory on v1, swap.max = 0 on v2), a CFS quota of `cpuPercent` % of a
 * 100 ms period, and pids.max. Answers `undefined` when the platform has no usable cgroup
 * controller. Throws a RangeError for a limit that is not positive.
 *
 * The new process must be put in with {@link PluginCgroup.addProcess} (or by writing its pid to
 * every `procsFiles` entry) *before* it runs plugin code; its children then inherit the group.
 */
export async function createPluginCgroup(
  platform: Pick<SandboxPlatform, 'cgroup'>,
  name: string,
  limits: CgroupLimits,
): Promise<PluginCgroup | undefined> {
  const { version, parents } = platform.cgroup;
  if (version === undefined) return undefined;
  const usable: CgroupParents = {};
  for (const controller of CGROUP_CONTROLLERS) {
    if (platform.cgroup[controller] && parents[controller]) usable[controller] = parents[controller];
  }
  return createCgroupIn(version, usable, name, limits);
}

/**
 * Removes the groups a crashed server left behind: every `<name>-<pid>-<counter>` group under
 * this server's `plugboard/pidns-<id>` folders whose pid is no longer alive (processes still in
 * it are SIGKILLed first). Groups of running servers, this one included, stay. Answers the
 * directories removed; one that cannot be removed is skipped (the error is not thrown, so a
 * start-up clean-up never stops the server).
 */
export async function cleanupStaleCgroups(): Promise<string[]> {
  const { parents } = locateCgroupParents();
  const removed: string[] = [];
  for (const parent of new Set(Object.values(parents))) {
    let entries: string[];
    try {
      entries = readdirSync(parent);
    } catch {
      continue;
    }
    for (const entry of entries) {
      const pid = Number(GROUP_NAME.exec(entry)?.[2]);
      if (!pid || pid === process.pid || isAlive(pid)) continue;
      const directory = join(parent, entry);
      try {
        await removeGroupDirectories([directory]);
        removed.push(directory);
      } catch {
        // Left for the next clean-up; its processes were signalled.
      }
    }
  }
  return removed;
}
