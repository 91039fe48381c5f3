import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { onCredentialsChange } from '../auth/credentials.ts';
import type { ErrorInfo } from './chat-types.ts';
import { errorInfo, isAbort } from './error-info.ts';
import { findModel, listModels, type ModelEntry } from './models-api.ts';
import { recall, remember } from './remembered.ts';

export type ModelsState =
  | { readonly status: 'loading' }
  | { readonly status: 'ready'; readonly models: readonly ModelEntry[] }
  /** The server answered with no model at all. */
  | { readonly status: 'empty' }
  /** The server could not list (no backend reachable, refused …): its words. */
  | { readonly status: 'failed'; readonly error: ErrorInfo; readonly httpStatus: number };

export interface Models {
  readonly state: ModelsState;
  /** The model in use: the one chosen if it is listed, else the first listed. */
  readonly selected: string | undefined;
  select(id: string): void;
  /** Lists again; selects `prefer` once it is listed (tried a few times: a new file takes a moment). */
  reload(prefer?: string): Promise<void>;
}

/**
 * The model list (`GET /v1/models`) and the model chosen, remembered in this browser. Lists
 * again when a credential changes (an API key entered after a 401).
 *
 * @example
 * ```tsx
 * const models = useModels();
 * <ModelPicker models={models} />
 * ```
 */
export function useModels(): Models {
  const [state, setState] = useState<ModelsState>({ status: 'loading' });
  const [chosen, setChosen] = useState<string | undefined>(() => recall('model'));
  const running = useRef<AbortController | undefined>(undefined);

  const reload = useCallback(async (prefer?: string) => {
    running.current?.abort();
    const controller = new AbortController();
    running.current = controller;
    const attempts = prefer === undefined ? 1 : 5;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        // The server keeps model lists for a while; asking for the model by name refreshes
        // them when it is not in the list yet (docs/API.md, "Models").
        if (prefer !== undefined) await findModel(prefer, controller.signal);
        const models = await listModels(controller.signal);
        if (controller.signal.aborted) return;
        const found = prefer !== undefined && models.some((model) => model.id === prefer);
        if (prefer !== undefined && !found && attempt < attempts) {
          await new Promise((resolve) => setTimeout(resolve, 1000));
          continue;
        }
        if (found && prefer !== undefined) {
          setChosen(prefer);
          remember('model', prefer);
        }
        setState(models.length === 0 ? { status: 'empty' } : { status: 'ready', models });
        return;
      } catch (error) {
        if (isAbort(error) || controller.signal.aborted) return;
        const status = (error as { status?: unknown }).status;
        setState({ status: 'failed', error: errorInfo(error), httpStatus: typeof status === 'number' ? status : 0 });
        return;
      }
    }
  }, []);

  useEffect(() => {
    void reload();
    const unsubscribe = onCredentialsChange(() => void reload());
    return () => {
      unsubscribe();
      running.current?.abort();
    };
  }, [reload]);

  const select = useCallback((id: string) => {
    setChosen(id);
    remember('model', id);
  }, []);

  const models = state.status === 'ready' ? state.models : [];
  const selected = models.some((model) => model.id === chosen) ? chosen : models[0]?.id;
  return { state, selected, select, reload };
}
