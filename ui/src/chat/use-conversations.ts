import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { onCredentialsChange } from '../auth/credentials.ts';
import type { ErrorInfo } from './chat-types.ts';
import { errorInfo, isAbort } from './error-info.ts';
import {
  type ConversationSummary,
  deleteConversation,
  listConversations,
  probeMemory,
  renameConversation,
} from './memory-api.ts';

export type MemoryAvailability = 'probing' | 'on' | 'off' | 'failed';

export interface Conversations {
  /** `on`: the memory plugin serves conversations; `off`: it is not there (no sidebar). */
  readonly availability: MemoryAvailability;
  readonly items: readonly ConversationSummary[];
  readonly hasMore: boolean;
  readonly search: string;
  /** The last failure (probe, list, rename, delete), in the server's words. */
  readonly error: ErrorInfo | undefined;
  setSearch(text: string): void;
  refresh(): Promise<void>;
  /** Lists again now and twice more over the next seconds: the title is made after the reply. */
  refreshSoon(): void;
  loadMore(): Promise<void>;
  rename(id: string, title: string): Promise<boolean>;
  remove(id: string): Promise<boolean>;
  clearError(): void;
  /** Shows an error of the sidebar's own (an export that failed). */
  report(error: unknown): void;
}

const SEARCH_DELAY_MS = 250;
/** When the list is read again after a reply: the title is made in the background after it. */
const TITLE_REFRESH_MS = [0, 2500, 7000];

/**
 * The memory plugin's conversations for the sidebar: whether the plugin is there, the list
 * (searched, paged), and the changes the sidebar makes.
 *
 * @example
 * ```tsx
 * const conversations = useConversations();
 * if (conversations.availability === 'on') <ConversationSidebar conversations={conversations} … />
 * ```
 */
export function useConversations(): Conversations {
  const [availability, setAvailability] = useState<MemoryAvailability>('probing');
  const [items, setItems] = useState<readonly ConversationSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [search, setSearchText] = useState('');
  const [error, setError] = useState<ErrorInfo | undefined>();
  const searchRef = useRef('');
  const listing = useRef<AbortController | undefined>(undefined);
  const timers = useRef<ReturnType<typeof setTimeout>[]>([]);

  const refresh = useCallback(async () => {
    listing.current?.abort();
    const controller = new AbortController();
    listing.current = controller;
    try {
      const page = await listConversations({ search: searchRef.current }, controller.signal);
      if (controller.signal.aborted) return;
      setItems(page.data);
      setCursor(page.next_cursor);
    } catch (thrown) {
      if (!isAbort(thrown) && !controller.signal.aborted) setError(errorInfo(thrown));
    }
  }, []);

  const probe = useCallback(async () => {
    try {
      const found = await probeMemory();
      setAvailability(found);
      if (found === 'on') {
        setError(undefined);
        await refresh();
      }
    } catch (thrown) {
      setAvailability('failed');
      setError(errorInfo(thrown));
    }
  }, [refresh]);

  useEffect(() => {
    void probe();
    const unsubscribe = onCredentialsChange(() => void probe());
    return () => {
      unsubscribe();
      listing.current?.abort();
      for (const timer of timers.current) clearTimeout(timer);
    };
  }, [probe]);

  const searchTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  // A search typed just before the page changes must not list into a gone component.
  useEffect(() => () => clearTimeout(searchTimer.current), []);
  const setSearch = useCallback(
    (text: string) => {
      setSearchText(text);
      searchRef.current = text;
      clearTimeout(searchTimer.current);
      searchTimer.current = setTimeout(() => void refresh(), SEARCH_DELAY_MS);
    },
    [refresh],
  );

  const refreshSoon = useCallback(() => {
    for (const timer of timers.current) clearTimeout(timer);
    timers.current = TITLE_REFRESH_MS.map((delay) => setTimeout(() => void refresh(), delay));
  }, [refresh]);

  const loadMore = useCallback(async () => {
    if (cursor === null) return;
    try {
      const page = await listConversations({ search: searchRef.current, cursor });
      setItems((current) => [
        ...current,
        ...page.data.filter((item) => !current.some((known) => known.id === item.id)),
      ]);
      setCursor(page.next_cursor);
    } catch (thrown) {
      setError(errorInfo(thrown));
    }
  }, [cursor]);

  const rename = useCallback(async (id: string, title: string) => {
    try {
      const renamed = await renameConversation(id, title);
      setItems((current) => current.map((item) => (item.id === id ? { ...item, title: renamed.title } : item)));
      return true;
    } catch (thrown) {
      setError(errorInfo(thrown));
      return false;
    }
  }, []);

  const remove = useCallback(async (id: string) => {
    try {
      await deleteConversation(id);
      setItems((current) => current.filter((item) => item.id !== id));
      return true;
    } catch (thrown) {
      setError(errorInfo(thrown));
      return false;
    }
  }, []);

  return {
    availability,
    items,
    hasMore: cursor !== null,
    search,
    error,
    setSearch,
    refresh,
    refreshSoon,
    loadMore,
    rename,
    remove,
    clearError: () => setError(undefined),
    report: (thrown: unknown) => setError(errorInfo(thrown)),
  };
}
