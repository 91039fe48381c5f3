import { PlugboardError } from '../core/errors/plugboard-error.ts';
import type { Logger } from '../core/logger.ts';
import type { JsonValue } from '../core/stores/json.ts';
import type { ExitReason, SandboxProcess } from './sandbox-process.ts';

/** How the supervisor restarts a process that ended unasked. */
export interface RestartPolicy {
  /** First delay before a restart, doubled after each crash up to {@link maxDelayMs}. */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Crashes within {@link windowMs} after which the supervisor stops restarting (the plugin is down). */
  readonly maxCrashes: number;
  readonly windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialDelayMs: 250,
  maxDelayMs: 15_000,
  maxCrashes: 5,
  windowMs: 60_000,
};

/** The supervisor's state, as `/plugins` shows it. */
export type SupervisorState = 'starting' | 'running' | 'restarting' | 'failed' | 'stopped';

/** What the supervisor tells its owner. */
export interface SupervisorEvents {
  /** A process ended that nobody stopped (crash, exit, limit, unresponsive). */
  readonly onExit: (reason: ExitReason, willRestart: boolean) => void;
  /** A replacement process is running (and initialized). */
  readonly onRestart: (attempt: number) => void;
}

/**
 * Keeps one sandboxed plugin's process running: when it ends unasked, starts another after a
 * backoff (exponential, capped) and replays the plugin's `initialize`; after `maxCrashes` within
 * `windowMs` it gives up (state `failed`: every call then fails at once, the health check says
 * why, and the plugin's circuit breaker opens on those failures) until the plugin is reloaded.
 * The plugin's in-memory state does not survive a crash: a restarted plugin starts afresh.
 */
export class Supervisor {
  #process: SandboxProcess | undefined;
  #state: SupervisorState = 'starting';
  readonly #crashes: number[] = [];
  #restarts = 0;
  #lastExit: ExitReason | undefined;
  #timer: NodeJS.Timeout | undefined;
  #initialize: ((process: SandboxProcess) => Promise<void>) | undefined;
  #ready: Promise<SandboxProcess> | undefined;
  #rejectReady: ((error: Error) => void) | undefined;
  /** The restart running now, if any (stop waits for it). */
  #restarting: Promise<SandboxProcess> | undefined;

  constructor(
    private readonly spawnProcess: (config: JsonValue | undefined) => Promise<SandboxProcess>,
    private readonly policy: RestartPolicy,
    private readonly events: SupervisorEvents,
    private readonly logger: () => Logger,
  ) {}

  get state(): SupervisorState {
    return this.#state;
  }

  get restarts(): number {
    return this.#restarts;
  }

  get lastExit(): ExitReason | undefined {
    return this.#lastExit;
  }

  /** The running process, or undefined between a crash and its replacement. */
  get process(): SandboxProcess | undefined {
    return this.#state === 'running' ? this.#process : undefined;
  }

  /** Starts the first process (loading validates `config` with the plugin's schema). */
  async start(config: JsonValue | undefined): Promise<SandboxProcess> {
    const process = await this.spawnProcess(config);
    this.#adopt(process);
    return process;
  }

  /** What to run in every replacement process before it takes calls (the plugin's initialize). */
  setInitializer(initialize: (process: SandboxProcess) => Promise<void>): void {
    this.#initialize = initialize;
  }

  /**
   * The running process; while a replacement is starting, waits for it (bounded by `signal`).
   * @throws PlugboardError `PLUGIN_SANDBOX_UNAVAILABLE` when given up or stopped, `PLUGIN_SANDBOX_CRASHED` while in backoff.
   */
  async current(signal?: AbortSignal): Promise<SandboxProcess> {
    if (this.#state === 'running' && this.#process !== undefined) return this.#process;
    if (this.#state === 'failed' || this.#state === 'stopped') throw this.#unavailable();
    if (this.#ready !== undefined && signal !== undefined) {
      const ready = this.#ready;
      return new Promise((resolve, reject) => {
        const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : this.#unavailable());
        signal.addEventListener('abort', onAbort, { once: true });
        ready.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
      });
    }
    throw new PlugboardError(
      'PLUGIN_SANDBOX_CRASHED',
      `the plugin's process is restarting after it ended (${this.#lastExit?.detail ?? 'unknown'})`,
      { publicMessage: "The plugin's process is restarting" },
    );
  }

  /** Stops for good: no more restarts; the process is asked to end, then killed. */
  async stop(): Promise<void> {
    this.#state = 'stopped';
    clearTimeout(this.#timer);
    // Whoever waits for a replacement learns there will be none (instead of waiting out a deadline).
    this.#rejectReady?.(this.#unavailable());
    // A replacement being started now is stopped by #restart itself; wait for it to finish.
    await this.#restarting?.catch(() => undefined);
    await this.#process?.stop();
  }

  #adopt(process: SandboxProcess): void {
    this.#process = process;
    this.#state = 'running';
    void process.exited.then((reason) => this.#ended(process, reason));
  }

  #ended(process: SandboxProcess, reason: ExitReason): void {
    if (process !== this.#process || this.#state === 'stopped') return;
    this.#lastExit = reason;
    const now = Date.now();
    this.#crashes.push(now);
    while (this.#crashes.length > 0 && now - this.#crashes[0]! > this.policy.windowMs) this.#crashes.shift();
    const giveUp = this.#crashes.length >= this.policy.maxCrashes;
    this.events.onExit(reason, !giveUp);
    if (giveUp) {
      this.#state = 'failed';
      this.#process = undefined;
      return;
    }
    this.#state = 'restarting';
    const delay = Math.min(this.policy.maxDelayMs, this.policy.initialDelayMs * 2 ** (this.#crashes.length - 1));
    let resolveReady!: (process: SandboxProcess) => void;
    let rejectReady!: (error: Error) => void;
    this.#ready = new Promise<SandboxProcess>((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    this.#ready.catch(() => undefined);
    this.#rejectReady = rejectReady;
    this.#timer = setTimeout(() => {
      this.#restarting = this.#restart();
      void this.#restarting.then(resolveReady, rejectReady);
    }, delay);
    this.#timer.unref();
  }

  async #restart(): Promise<SandboxProcess> {
    if (this.#state === 'stopped') throw this.#unavailable();
    let process: SandboxProcess | undefined;
    try {
      process = await this.spawnProcess(undefined);
      await this.#initialize?.(process);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      if ((this.#state as SupervisorState) === 'stopped') {
        // Stopped meanwhile: nothing to count or restart; just make sure the new process is gone.
        await process?.stop();
        throw this.#unavailable();
      }
      this.logger().warn({ err: error }, `sandboxed plugin did not restart: ${detail}`);
      if (process !== undefined) {
        process.kill('start-failed', detail);
        this.#process = process;
        this.#state = 'running'; // so that its exit is counted as a crash like any other
        void process.exited.then((reason) => this.#ended(process!, reason));
      } else {
        this.#ended(this.#process!, {
          kind: 'start-failed',
          code: null,
          signal: null,
          detail,
          at: new Date().toISOString(),
        });
      }
      throw this.#unavailable();
    }
    if ((this.#state as SupervisorState) === 'stopped') {
      await process.stop();
      throw this.#unavailable();
    }
    this.#restarts++;
    this.#adopt(process);
    this.#ready = undefined;
    this.events.onRestart(this.#restarts);
    return process;
  }

  #unavailable(): PlugboardError {
    const why =
      this.#state === 'stopped'
        ? 'it was stopped'
        : `it ended ${this.#crashes.length} times within ${Math.round(this.policy.windowMs / 1000)} s (last: ${this.#lastExit?.detail ?? 'unknown'}); reload the plugin once fixed`;
    return new PlugboardError('PLUGIN_SANDBOX_UNAVAILABLE', `the plugin's sandboxed process is not running: ${why}`, {
      publicMessage: "The plugin's process is not running",
    });
  }
}
