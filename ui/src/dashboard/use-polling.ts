import { useCallback, useEffect, useRef } from 'preact/hooks';

/**
 * Runs `poll` now and then `intervalMs` after each run ends (never two at once), while the
 * page is visible: a hidden tab polls nothing (no load on the server for a page nobody looks
 * at) and polls at once when it shows again. Returns `refresh`, which polls now — after an
 * admin action, so the page shows its effect without waiting for the next tick.
 *
 * @example
 * ```ts
 * const refresh = usePolling(async (signal) => setStatus(await api('/plugins', { signal })), 2000);
 * ```
 */
export function usePolling(poll: (signal: AbortSignal) => Promise<void>, intervalMs: number): () => void {
  const latest = useRef(poll);
  latest.current = poll;
  const control = useRef<{ refresh: () => void }>({ refresh: () => undefined });

  useEffect(() => {
    const stopped = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let running: Promise<void> | undefined;
    let again = false;

    const run = (): void => {
      clearTimeout(timer);
      timer = undefined;
      if (stopped.signal.aborted || document.hidden) return;
      if (running !== undefined) {
        // A refresh asked while a poll runs: poll once more when it ends (it may predate the change).
        again = true;
        return;
      }
      running = latest
        .current(stopped.signal)
        .catch(() => undefined)
        .finally(() => {
          running = undefined;
          if (stopped.signal.aborted) return;
          if (again) {
            again = false;
            run();
          } else if (!document.hidden) timer = setTimeout(run, intervalMs);
        });
    };
    const onVisibility = (): void => {
      if (document.hidden) {
        clearTimeout(timer);
        timer = undefined;
      } else if (running === undefined && timer === undefined) run();
    };

    control.current.refresh = run;
    document.addEventListener('visibilitychange', onVisibility);
    run();
    return () => {
      stopped.abort();
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [intervalMs]);

  return useCallback(() => control.current.refresh(), []);
}
