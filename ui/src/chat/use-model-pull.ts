import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { getCredential, onCredentialsChange } from '../auth/credentials.ts';
import type { ErrorInfo } from './chat-types.ts';
import { errorInfo, isAbort, statusOf } from './error-info.ts';
import { cancelModelPull, getModelPull, listModelPulls, type ModelPull, startModelPull } from './model-pull-api.ts';

const POLL_MS = 1000;

export interface ModelPullControl {
  readonly pull: ModelPull | undefined;
  readonly error: ErrorInfo | undefined;
  readonly starting: boolean;
  start(): void;
  cancel(): void;
}

/**
 * Drives one download of the default small model: starts it, polls its state every second
 * until it ends, and calls `onDone(file)` once it is done. When the server wants the admin
 * token (401) the shell asks for it; the download starts as soon as a credential is given.
 * A download already running on the server (started before this panel was last shown, or in
 * another tab) is found when the hook mounts, and followed again — when an admin token is set.
 *
 * @example
 * ```tsx
 * const download = useModelPull((file) => models.reload(modelIdOfFile(file)));
 * <button onClick={download.start}>Download</button>
 * ```
 */
export function useModelPull(onDone: (file: string) => void): ModelPullControl {
  const [pull, setPull] = useState<ModelPull | undefined>();
  const [error, setError] = useState<ErrorInfo | undefined>();
  const [starting, setStarting] = useState(false);
  const done = useRef(onDone);
  done.current = onDone;
  const waitingForToken = useRef<(() => void) | undefined>(undefined);

  const start = useCallback(async () => {
    waitingForToken.current?.();
    waitingForToken.current = undefined;
    setError(undefined);
    setStarting(true);
    try {
      const started = await startModelPull();
      setPull(started);
      // The file may be there already: the pull is done at once.
      if (started.state === 'done') done.current(started.file);
    } catch (thrown) {
      setError(errorInfo(thrown));
      // Refused for want of the admin token: the shell's dialog asks; go on once it is given.
      if (statusOf(thrown) === 401) {
        const unsubscribe = onCredentialsChange(() => {
          unsubscribe();
          waitingForToken.current = undefined;
          void start();
        });
        waitingForToken.current = unsubscribe;
      }
    } finally {
      setStarting(false);
    }
  }, []);

  const id = pull?.id;
  const running = pull?.state === 'running';
  useEffect(() => {
    if (id === undefined || !running) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout>;
    // One request at a time: the next poll is planned when the last one answered.
    const poll = async () => {
      try {
        const next = await getModelPull(id, controller.signal);
        if (controller.signal.aborted) return;
        setError(undefined);
        setPull(next);
        if (next.state === 'done') done.current(next.file);
        if (next.state === 'running') timer = setTimeout(poll, POLL_MS);
      } catch (thrown) {
        if (controller.signal.aborted || isAbort(thrown)) return;
        setError(errorInfo(thrown));
        timer = setTimeout(poll, POLL_MS * 3);
      }
    };
    timer = setTimeout(poll, POLL_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [id, running]);

  useEffect(() => () => waitingForToken.current?.(), []);

  // Resume a download that is already running: the panel may have been left and come back.
  useEffect(() => {
    if (getCredential('adminToken') === undefined) return;
    const controller = new AbortController();
    listModelPulls(controller.signal)
      .then((pulls) => {
        const running = pulls.find((candidate) => candidate.state === 'running');
        if (running !== undefined && !controller.signal.aborted) setPull((current) => current ?? running);
      })
      // Only a look: a refusal or an older server leaves the Download button as it was.
      .catch(() => undefined);
    return () => controller.abort();
  }, []);

  const cancel = useCallback(async () => {
    if (id === undefined) return;
    try {
      setPull(await cancelModelPull(id));
    } catch (thrown) {
      setError(errorInfo(thrown));
    }
  }, [id]);

  return { pull, error, starting, start: () => void start(), cancel: () => void cancel() };
}
