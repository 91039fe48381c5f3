/**
 * What `/proc` tells about one process: its resident memory, the CPU time it has used, its
 * children, whether it still runs. Every function is one small synchronous read and answers
 * `undefined` (or `false`, or `[]`) when the process is gone or `/proc` is not Linux's, so a
 * caller polling a process that just died needs no try/catch.
 */
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Linux reports utime/stime in "clock ticks" of `USER_HZ`, which the kernel fixes at 100 per
 * second on every architecture Node runs on (`getconf CLK_TCK`); Node offers no sysconf, so the
 * value is written down here. One tick is therefore 10 ms: CPU times below are that coarse.
 */
const MS_PER_CLOCK_TICK = 10;

/** In /proc/<pid>/stat, after the ")" ending the command name: 0 = state, 11 = utime, 12 = stime. */
const STAT_STATE = 0;
const STAT_UTIME = 11;
const STAT_STIME = 12;

function readProcFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The fields of /proc/<pid>/stat that follow the command name. The name is cut off at the
 * *last* ")" because a process may call itself anything, spaces and parentheses included.
 */
function statFields(pid: number): string[] | undefined {
  const stat = readProcFile(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  const end = stat.lastIndexOf(')');
  if (end < 0) return undefined;
  return stat
    .slice(end + 1)
    .trim()
    .split(/\s+/);
}

/**
 * The resident set size of a process in bytes (`VmRSS` of /proc/<pid>/status), or `undefined`
 * when the process is gone or is a zombie (which has no memory left to report).
 */
export function readRssBytes(pid: number): number | undefined {
  const status = readProcFile(`/proc/${pid}/status`);
  const match = status === undefined ? null : /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : undefined;
}

/** The state and used CPU time of a process, from one read of /proc/<pid>/stat. */
export interface ProcessStat {
  /** The scheduler state: `R` running, `S` sleeping, `T` stopped, `Z` zombie, … */
  readonly state: string;
  /** User + system CPU time of all threads since the process started, in ms (10 ms steps). */
  readonly cpuTimeMs: number;
}

/** {@link ProcessStat} of a process, or `undefined` when it is gone. */
export function readProcessStat(pid: number): ProcessStat | undefined {
  const fields = statFields(pid);
  const state = fields?.[STAT_STATE];
  const user = Number(fields?.[STAT_UTIME]);
  const system = Number(fields?.[STAT_STIME]);
  if (state === undefined || !Number.isFinite(user) || !Number.isFinite(system)) return undefined;
  return { state, cpuTimeMs: (user + system) * MS_PER_CLOCK_TICK };
}

/**
 * The CPU time (user + system, all threads) a process has used since it started, in
 * milliseconds at 10 ms resolution; `undefined` when the process is gone.
 */
export function readCpuTimeMs(pid: number): number | undefined {
  return readProcessStat(pid)?.cpuTimeMs;
}

/**
 * The one-letter scheduler state of a process (`R` running, `S` sleeping, `T` stopped, `Z`
 * zombie, …), or `undefined` when it is gone.
 */
export function readProcessState(pid: number): string | undefined {
  return statFields(pid)?.[STAT_STATE];
}

/**
 * The direct children of a process. The server starts a plugin as `unshare … node …`, so the
 * process to measure and throttle is the child of the pid it spawned. Every thread's
 * `children` file is read, because a child is listed under the thread that forked it.
 */
export function childPids(pid: number): number[] {
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const children = new Set<number>();
  for (const thread of threads) {
    const list = readProcFile(`/proc/${pid}/task/${thread}/children`) ?? '';
    for (const word of list.split(/\s+/)) {
      if (/^\d+$/.test(word)) children.add(Number(word));
    }
  }
  return [...children].sort((a, b) => a - b);
}

/**
 * Whether a process exists and has not yet exited. A zombie (exited, not yet reaped by its
 * parent) counts as dead: it uses no CPU or memory and can no longer be signalled usefully.
 */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const state = readProcessState(pid);
  return state !== 'Z' && state !== 'X';
}
