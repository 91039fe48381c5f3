import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { streamChat } from '../api/chat-stream.ts';
import { type ChatMessage, type ErrorInfo, newMessageId } from './chat-types.ts';
import { errorInfo, isAbort } from './error-info.ts';
import { deleteConversation, getConversation, renameConversation } from './memory-api.ts';
import { ReplyAccumulator, type ReplySoFar } from './reply-accumulator.ts';
import { toOpenAiMessages } from './request-messages.ts';

export interface ChatSessionOptions {
  /** The model new requests name. */
  readonly model: string | undefined;
  /** The memory plugin keeps conversations: requests name one (`x-conversation-id`). */
  readonly memory: boolean;
  /** A conversation got its id (a new one, or a replacement after an edit): show it in the address. */
  readonly onConversationChanged: (id: string) => void;
  /** A reply ended (done, stopped, failed): the sidebar lists again for the new title. */
  readonly onReplyEnded: () => void;
}

export interface ChatSession {
  readonly messages: readonly ChatMessage[];
  readonly conversationId: string | undefined;
  readonly busy: boolean;
  readonly loading: boolean;
  readonly loadError: ErrorInfo | undefined;
  /** The conversation shown now (not stale inside effects). */
  currentConversationId(): string | undefined;
  send(text: string, images: readonly string[]): void;
  stop(): void;
  regenerate(): void;
  editAndResend(messageId: string, text: string): void;
  newChat(): void;
  open(id: string): Promise<void>;
}

/**
 * One chat: its messages, the reply streaming, and what the user can do to them — send, stop,
 * regenerate, edit and resend, start anew, open a stored conversation.
 *
 * Without the memory plugin every request carries the whole history. With it, the server
 * keeps the conversation: a new chat sends `x-conversation-id: new` and keeps the id the
 * response names; the next turns send only the new message. An edit or a regenerate changes
 * the past, which the memory API cannot rewrite: the history up to that point goes into a new
 * conversation, which replaces the old one (its title kept) once the reply came complete.
 *
 * @example
 * ```tsx
 * const chat = useChatSession({ model, memory: true, onConversationChanged: go, onReplyEnded: refresh });
 * chat.send('Hello', []);
 * ```
 */
export function useChatSession(options: ChatSessionOptions): ChatSession {
  const [messages, setMessagesState] = useState<readonly ChatMessage[]>([]);
  const [conversationId, setConversationIdState] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [loading, setLoading] = useState(false);
  const [loadError, setLoadError] = useState<ErrorInfo | undefined>();
  const messagesRef = useRef<readonly ChatMessage[]>([]);
  const conversationRef = useRef<{ id: string | undefined; title: string | null }>({ id: undefined, title: null });
  const streaming = useRef<AbortController | undefined>(undefined);
  const loadingRef = useRef<AbortController | undefined>(undefined);
  /** Counts the chats shown: a stream of a chat the user left must not touch the next one. */
  const generation = useRef(0);
  const optionsRef = useRef(options);
  optionsRef.current = options;

  const setMessages = useCallback((next: readonly ChatMessage[]) => {
    messagesRef.current = next;
    setMessagesState(next);
  }, []);
  const setConversation = useCallback((id: string | undefined, title: string | null) => {
    conversationRef.current = { id, title };
    setConversationIdState(id);
  }, []);
  const patchMessage = useCallback(
    (id: string, change: Partial<ChatMessage>) =>
      setMessages(messagesRef.current.map((message) => (message.id === id ? { ...message, ...change } : message))),
    [setMessages],
  );

  /** Stops the stream of a chat the user leaves; its run ends without touching the next chat. */
  const abandonStream = useCallback(() => {
    streaming.current?.abort();
    streaming.current = undefined;
    setBusy(false);
  }, []);

  useEffect(
    () => () => {
      streaming.current?.abort();
      loadingRef.current?.abort();
    },
    [],
  );

  /** Streams a reply to `history` (which ends with the user's message). */
  const run = useCallback(
    async (history: readonly ChatMessage[], rewritesPast: boolean) => {
      const { model, memory } = optionsRef.current;
      const controller = new AbortController();
      streaming.current = controller;
      const shownChat = generation.current;
      const current = () => generation.current === shownChat;
      const previous = conversationRef.current;
      const replaces = memory && rewritesPast && previous.id !== undefined;
      const continues = memory && !rewritesPast && previous.id !== undefined;
      const reply: ChatMessage = {
        id: newMessageId(),
        role: 'assistant',
        content: '',
        status: 'streaming',
        ...(model === undefined ? {} : { model }),
      };
      setMessages([...history, reply]);
      setBusy(true);

      const accumulator = new ReplyAccumulator();
      let frame: number | undefined;
      const flush = () => {
        frame = undefined;
        patchMessage(reply.id, shown(accumulator.snapshot()));
      };
      let newId: string | undefined;
      const adopt = (id: string | null | undefined) => {
        if (!memory || !current() || id === null || id === undefined || id === '' || id === conversationRef.current.id)
          return;
        newId = id;
        setConversation(id, replaces ? previous.title : null);
        optionsRef.current.onConversationChanged(id);
      };
      let status: 'done' | 'stopped' | 'failed' = 'done';
      let error: ErrorInfo | undefined;
      try {
        const last = history.at(-1);
        const sent = continues && last !== undefined ? [last] : history;
        const chunks = streamChat(
          { ...(model === undefined ? {} : { model }), messages: toOpenAiMessages(sent) },
          controller.signal,
          {
            headers: memory ? { 'x-conversation-id': continues ? (previous.id ?? 'new') : 'new' } : {},
            onHeaders: (headers) => adopt(headers.get('x-conversation-id')),
          },
        );
        for await (const chunk of chunks) {
          accumulator.add(chunk);
          // One render per frame, however fast the chunks come.
          frame ??= requestAnimationFrame(flush);
        }
      } catch (thrown) {
        if (controller.signal.aborted || isAbort(thrown)) status = 'stopped';
        else {
          status = 'failed';
          error = errorInfo(thrown);
        }
      } finally {
        if (frame !== undefined) cancelAnimationFrame(frame);
      }
      const final = accumulator.snapshot();
      if (streaming.current === controller) {
        streaming.current = undefined;
        setBusy(false);
      }
      if (!current()) return;
      adopt(final.conversationId);
      patchMessage(reply.id, { ...shown(final), status, ...(error === undefined ? {} : { error }) });
      if (status === 'done' && replaces && newId !== undefined && previous.id !== undefined) {
        await replaceConversation(previous.id, previous.title, newId);
      }
      optionsRef.current.onReplyEnded();
    },
    [patchMessage, setConversation, setMessages],
  );

  const send = useCallback(
    (text: string, images: readonly string[]) => {
      if (streaming.current !== undefined || (text.trim() === '' && images.length === 0)) return;
      const { model } = optionsRef.current;
      const message: ChatMessage = {
        id: newMessageId(),
        role: 'user',
        content: text,
        ...(images.length === 0 ? {} : { images }),
        ...(model === undefined ? {} : { model }),
      };
      void run([...messagesRef.current, message], false);
    },
    [run],
  );

  const stop = useCallback(() => streaming.current?.abort(), []);

  const regenerate = useCallback(() => {
    if (streaming.current !== undefined) return;
    const list = messagesRef.current;
    const lastUser = list.findLastIndex((message) => message.role === 'user');
    if (lastUser === -1) return;
    void run(list.slice(0, lastUser + 1), true);
  }, [run]);

  const editAndResend = useCallback(
    (messageId: string, text: string) => {
      if (streaming.current !== undefined) return;
      const list = messagesRef.current;
      const at = list.findIndex((message) => message.id === messageId);
      const original = list[at];
      if (original === undefined || original.role !== 'user') return;
      if (text.trim() === '' && (original.images ?? []).length === 0) return;
      void run([...list.slice(0, at), { ...original, id: newMessageId(), content: text }], true);
    },
    [run],
  );

  const newChat = useCallback(() => {
    generation.current += 1;
    abandonStream();
    loadingRef.current?.abort();
    setConversation(undefined, null);
    setMessages([]);
    setLoadError(undefined);
    setLoading(false);
  }, [abandonStream, setConversation, setMessages]);

  const open = useCallback(
    async (id: string) => {
      generation.current += 1;
      abandonStream();
      loadingRef.current?.abort();
      const controller = new AbortController();
      loadingRef.current = controller;
      setConversation(id, null);
      setMessages([]);
      setLoadError(undefined);
      setLoading(true);
      try {
        const conversation = await getConversation(id, controller.signal);
        if (controller.signal.aborted) return;
        setConversation(conversation.id, conversation.title);
        setMessages(conversation.messages);
      } catch (thrown) {
        if (controller.signal.aborted || isAbort(thrown)) return;
        setLoadError(errorInfo(thrown));
      } finally {
        if (loadingRef.current === controller) {
          loadingRef.current = undefined;
          setLoading(false);
        }
      }
    },
    [abandonStream, setConversation, setMessages],
  );

  return {
    messages,
    conversationId,
    busy,
    loading,
    loadError,
    currentConversationId: () => conversationRef.current.id,
    send,
    stop,
    regenerate,
    editAndResend,
    newChat,
    open,
  };
}

/** The parts of a reply so far that the message shows. */
function shown(reply: ReplySoFar): Partial<ChatMessage> {
  return {
    content: reply.content,
    ...(reply.thinking === '' ? {} : { thinking: reply.thinking }),
    ...(reply.toolCalls.length === 0 ? {} : { toolCalls: reply.toolCalls }),
    ...(reply.toolRuns === undefined ? {} : { toolRuns: reply.toolRuns }),
    ...(reply.citations === undefined ? {} : { citations: reply.citations }),
    ...(reply.degraded === undefined || reply.degraded.length === 0 ? {} : { degraded: reply.degraded }),
  };
}

/**
 * The edited copy of a conversation takes the old one's place: the old title (when it had
 * one), and the old conversation deleted. Best effort: a failure leaves both in the list.
 */
async function replaceConversation(oldId: string, title: string | null, newId: string): Promise<void> {
  try {
    if (title !== null) await renameConversation(newId, title);
    await deleteConversation(oldId);
  } catch {
    // Both stay listed; the user can delete the old one from the sidebar.
  }
}
