import { useCallback, useEffect, useState } from 'preact/hooks';
import { onCredentialsChange } from '../auth/credentials.ts';
import type { ErrorInfo } from './chat-types.ts';
import { errorInfo } from './error-info.ts';
import { type CollectionInfo, probeRag } from './rag-api.ts';

export interface Rag {
  /** undefined while asking; false when the rag plugin is not there. */
  readonly available: boolean | undefined;
  readonly collections: readonly CollectionInfo[];
  /** The collections chats search (the plugin's `collections`), when the server says. */
  readonly searched: readonly string[];
  readonly error: ErrorInfo | undefined;
  refresh(): Promise<void>;
}

/**
 * Whether the rag plugin is there, and its collections: the page offers document uploads
 * only when it is.
 *
 * @example
 * ```tsx
 * const rag = useRag();
 * {rag.available ? <button>Documents</button> : null}
 * ```
 */
export function useRag(): Rag {
  const [available, setAvailable] = useState<boolean | undefined>();
  const [collections, setCollections] = useState<readonly CollectionInfo[]>([]);
  const [searched, setSearched] = useState<readonly string[]>([]);
  const [error, setError] = useState<ErrorInfo | undefined>();

  const refresh = useCallback(async () => {
    try {
      const found = await probeRag();
      setAvailable(found !== undefined);
      setCollections(found?.collections ?? []);
      setSearched(found?.searched ?? []);
      setError(undefined);
    } catch (thrown) {
      setAvailable(false);
      setError(errorInfo(thrown));
    }
  }, []);

  useEffect(() => {
    void refresh();
    return onCredentialsChange(() => void refresh());
  }, [refresh]);

  return { available, collections, searched, error, refresh };
}
