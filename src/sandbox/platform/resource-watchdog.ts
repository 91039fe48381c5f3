/**
 * Holds a process to memory and CPU limits from outside, for machines (or set-ups) without
 * cgroups: it samples the process's resident memory and CPU time from /proc and
 *
 * - kills it (SIGKILL, unless `kill: false`) and reports `memory` when RSS is above the limit;
 * - with `throttle`, keeps its CPU use at `cpuPercent` on average by stopping it (SIGSTOP)
 *   for as long as it used more than its share, then continuing it (SIGCONT) for a slice of
 *   `intervalMs × cpuPercent / 100` — a duty cycle of about one interval;
 * - reports `cpu` and kills it when it has wanted more than its share for longer than
 *   `cpuGraceMs` without a break (a busy loop; not a burst).
 *
 * Cost per interval: one read of /proc/<pid>/stat, and of /proc/<pid>/status when a memory
 * limit is set. Timers are unref'd (the watchdog never keeps the server alive), a stopped
 * process is always continued when it stops being watched, and a process that died is
 * forgotten at its next sample.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { readProcessStat, readRssBytes } from './proc-stats.ts';

/** What to hold one process to. */
export interface WatchOptions {
  /** Resident memory limit in MiB; omitted: memory is not watched. */
  readonly memoryMb?: number;
  /** CPU share in percent of one core; omitted: CPU is not watched. */
  readonly cpuPercent?: number;
  /** Sampling interval (and duty cycle length), default 250 ms. */
  readonly intervalMs?: number;
  /** How long a process may want more than its share without a break, default 3000 ms. */
  readonly cpuGraceMs?: number;
  /** Stop/continue the process to hold it to `cpuPercent` (when no cgroup quota does), default false. */
  readonly throttle?: boolean;
  /** SIGKILL the process on a violation (else only report it), default true. */
  readonly kill?: boolean;
  /**
   * The cgroup's throttled time in µs (`() => group.readStats().cpuThrottledUs`). Under a
   * cgroup quota a process never *uses* more than its share; that the kernel held it back
   * in a window is how its wanting more is seen.
   */
  readonly readThrottledUs?: () => number | undefined;
}

/** A limit a watched process broke; it is no longer watched afterwards. */
export type ResourceViolation =
  | { readonly kind: 'memory'; readonly pid: number; readonly observedMb: number; readonly limitMb: number }
  | {
      readonly kind: 'cpu';
      readonly pid: number;
      /** The share it took while allowed to run, over the period it wanted more. */
      readonly observedPercent: number;
      readonly limitPercent: number;
    };

/** The events of a {@link ResourceWatchdog}. */
export interface ResourceWatchdogEvents {
  violation: [ResourceViolation];
}

const DEFAULT_INTERVAL_MS = 250;
const DEFAULT_CPU_GRACE_MS = 3_000;
/** Shorter run slices than this measure nothing: CPU time comes in 10 ms ticks. */
const MIN_RUN_SLICE_MS = 20;
/** A pause shorter than this is not worth two signals; the debt is kept for the next window. */
const MIN_PAUSE_MS = 5;
const BYTES_PER_MB = 1024 * 1024;
/** A window this fraction of an interval long counts as a full one (timers fire a little early or late). */
const FULL_WINDOW = 0.9;

interface Watched {
  readonly pid: number;
  readonly options: WatchOptions & { intervalMs: number; cpuGraceMs: number; kill: boolean };
  timer: NodeJS.Timeout | undefined;
  /** Whether we sent SIGSTOP and not yet SIGCONT. */
  stopped: boolean;
  lastCpuMs: number;
  lastSampleAt: number;
  /** Paused time since the last sample: the process could not run then. */
  pausedMs: number;
  /** CPU time used beyond the allowance, still to be paid for by pausing. */
  debtMs: number;
  lastThrottledUs: number | undefined;
  /** When the current unbroken period of wanting more than the share began. */
  overSince: number | undefined;
  overCpuMs: number;
  overRunningMs: number;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Gone already: the next sample forgets it.
  }
}

/** Watches processes' memory and CPU; emits `violation` when one breaks a limit. */
export class ResourceWatchdog extends EventEmitter<ResourceWatchdogEvents> {
  readonly #watched = new Map<number, Watched>();

  /**
   * Starts watching `pid` (again, with new options, if already watched). Answers false when
   * the process does not exist (nothing is watched then).
   */
  watch(pid: number, options: WatchOptions): boolean {
    this.unwatch(pid);
    const stat = readProcessStat(pid);
    if (!stat || stat.state === 'Z') return false;
    const watched: Watched = {
      pid,
      options: {
        ...options,
        intervalMs: options.intervalMs ?? DEFAULT_INTERVAL_MS,
        cpuGraceMs: options.cpuGraceMs ?? DEFAULT_CPU_GRACE_MS,
        kill: options.kill ?? true,
      },
      timer: undefined,
      stopped: false,
      lastCpuMs: stat.cpuTimeMs,
      lastSampleAt: performance.now(),
      pausedMs: 0,
      debtMs: 0,
      lastThrottledUs: options.readThrottledUs?.(),
      overSince: undefined,
      overCpuMs: 0,
      overRunningMs: 0,
    };
    this.#watched.set(pid, watched);
    this.#schedule(watched, watched.options.intervalMs, () => this.#sample(watched));
    return true;
  }

  /** Stops watching `pid`, continuing it if the watchdog had stopped it. */
  unwatch(pid: number): void {
    const watched = this.#watched.get(pid);
    if (!watched) return;
    this.#watched.delete(pid);
    clearTimeout(watched.timer);
    if (watched.stopped) signal(pid, 'SIGCONT');
    watched.stopped = false;
  }

  /** Whether `pid` is being watched. */
  isWatching(pid: number): boolean {
    return this.#watched.has(pid);
  }

  /** Stops watching every process (each stopped one is continued). */
  stop(): void {
    for (const pid of [...this.#watched.keys()]) this.unwatch(pid);
  }

  #schedule(watched: Watched, delayMs: number, task: () => void): void {
    watched.timer = setTimeout(task, delayMs);
    watched.timer.unref();
  }

  #violate(watched: Watched, violation: ResourceViolation): void {
    if (watched.options.kill) signal(watched.pid, 'SIGKILL');
    this.unwatch(watched.pid);
    this.emit('violation', violation);
  }

  #sample(watched: Watched): void {
    if (this.#watched.get(watched.pid) !== watched) return;
    const { pid, options } = watched;
    const stat = readProcessStat(pid);
    if (!stat || stat.state === 'Z') {
      this.unwatch(pid);
      return;
    }
    if (options.memoryMb !== undefined) {
      const rssBytes = readRssBytes(pid) ?? 0;
      if (rssBytes > options.memoryMb * BYTES_PER_MB) {
        const observedMb = Math.round(rssBytes / BYTES_PER_MB);
        this.#violate(watched, { kind: 'memory', pid, observedMb, limitMb: options.memoryMb });
        return;
      }
    }
    const now = performance.now();
    const usedMs = stat.cpuTimeMs - watched.lastCpuMs;
    const wallMs = now - watched.lastSampleAt;
    const runningMs = Math.max(wallMs - watched.pausedMs, 1);
    watched.lastCpuMs = stat.cpuTimeMs;
    watched.lastSampleAt = now;
    watched.pausedMs = 0;
    if (options.cpuPercent === undefined) {
      this.#schedule(watched, options.intervalMs, () => this.#sample(watched));
      return;
    }
    const share = options.cpuPercent / 100;
    if (this.#judgeCpu(watched, now - wallMs, usedMs, runningMs, share)) return;
    watched.debtMs = Math.max(0, watched.debtMs + usedMs - wallMs * share);
    const pauseMs = watched.debtMs / share;
    if (options.throttle && pauseMs >= MIN_PAUSE_MS) {
      this.#pause(watched, pauseMs, share);
    } else {
      this.#schedule(watched, options.intervalMs, () => this.#sample(watched));
    }
  }

  /** Tracks unbroken over-demand; reports and answers true once it outlasted the grace. */
  #judgeCpu(watched: Watched, windowStart: number, usedMs: number, runningMs: number, share: number): boolean {
    const { options } = watched;
    const throttledUs = options.readThrottledUs?.();
    const heldBackByKernel =
      throttledUs !== undefined && watched.lastThrottledUs !== undefined && throttledUs > watched.lastThrottledUs;
    watched.lastThrottledUs = throttledUs;
    const over = usedMs > runningMs * share || heldBackByKernel;
    // CPU time comes in 10 ms ticks, so a short run slice of a busy process can read as 0 ms:
    // only a window as long as an interval is evidence enough that it stopped wanting more.
    if (!over && (watched.overSince === undefined || runningMs >= options.intervalMs * FULL_WINDOW)) {
      watched.overSince = undefined;
      watched.overCpuMs = 0;
      watched.overRunningMs = 0;
      return false;
    }
    watched.overSince ??= windowStart;
    watched.overCpuMs += usedMs;
    watched.overRunningMs += runningMs;
    if (!over || performance.now() - watched.overSince <= options.cpuGraceMs) return false;
    const observedPercent = Math.round((watched.overCpuMs / watched.overRunningMs) * 100);
    this.#violate(watched, { kind: 'cpu', pid: watched.pid, observedPercent, limitPercent: options.cpuPercent ?? 0 });
    return true;
  }

  /** SIGSTOP for as long as pays the debt, then SIGCONT and sample again after a run slice. */
  #pause(watched: Watched, pauseMs: number, share: number): void {
    const { pid, options } = watched;
    signal(pid, 'SIGSTOP');
    watched.stopped = true;
    const stoppedAt = performance.now();
    this.#schedule(watched, pauseMs, () => {
      if (this.#watched.get(pid) !== watched) return;
      signal(pid, 'SIGCONT');
      watched.stopped = false;
      // Timers fire late under load; what counts is how long it really could not run.
      watched.pausedMs += performance.now() - stoppedAt;
      const runSliceMs = Math.min(options.intervalMs, Math.max(MIN_RUN_SLICE_MS, options.intervalMs * share));
      this.#schedule(watched, runSliceMs, () => this.#sample(watched));
    });
  }
}
