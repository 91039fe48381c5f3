import { useEffect, useRef, useState } from 'preact/hooks';
import { askForCredential } from '../api/client.ts';
import { getCredential, onCredentialsChange } from '../auth/credentials.ts';
import { navigate } from '../shell/use-route.ts';
import { Composer } from './composer.tsx';
import { ConversationSidebar } from './conversation-sidebar.tsx';
import { DocumentUpload } from './document-upload.tsx';
import { EmptyChat } from './empty-chat.tsx';
import { ErrorBanner } from './error-banner.tsx';
import { FirstRun } from './first-run.tsx';
import { MessageList } from './message-list.tsx';
import { ModelPicker } from './model-picker.tsx';
import { useChatSession } from './use-chat-session.ts';
import { useConversations } from './use-conversations.ts';
import { useModels } from './use-models.ts';
import { useRag } from './use-rag.ts';
import './chat.css';

const SIDEBAR_ID = 'chat-sidebar';

/**
 * The chat page: the conversations (memory plugin) beside the chat, the model picker and the
 * document upload (rag plugin) above it, the messages and the composer. `#/c/<id>` names a
 * stored conversation, so a reload finds it.
 */
export function ChatView(props: { readonly rest: readonly string[] }) {
  const models = useModels();
  const conversations = useConversations();
  const rag = useRag();
  const memory = conversations.availability === 'on';
  const [sidebarOpen, setSidebarOpen] = useState(false);
  const [uploading, setUploading] = useState(false);
  const [dismissed, setDismissed] = useState<ReadonlySet<string>>(new Set());
  const textarea = useRef<HTMLTextAreaElement>(null);
  const sidebarToggle = useRef<HTMLButtonElement>(null);

  const session = useChatSession({
    model: models.selected,
    memory,
    // Replaces the address: Back then leaves the chat rather than returning to an empty one.
    onConversationChanged: (id) => location.replace(`#/c/${encodeURIComponent(id)}`),
    onReplyEnded: () => {
      if (memory) conversations.refreshSoon();
    },
  });

  const routeId = props.rest[0] === 'c' ? props.rest[1] : undefined;
  useEffect(() => {
    if (conversations.availability === 'probing') return;
    if (routeId === session.currentConversationId()) return;
    if (routeId === undefined) session.newChat();
    else if (memory) void session.open(routeId);
  }, [routeId, conversations.availability]);

  // Another API key (or none) is another user: with memory on, the conversation on screen is
  // the previous user's, so it goes, with its address. Entering a first key changes nothing.
  const memoryNow = useRef(memory);
  memoryNow.current = memory;
  const sessionNow = useRef(session);
  sessionNow.current = session;
  const apiKeySeen = useRef(getCredential('apiKey'));
  useEffect(
    () =>
      onCredentialsChange(() => {
        const key = getCredential('apiKey');
        const previous = apiKeySeen.current;
        apiKeySeen.current = key;
        if (previous === undefined || previous === key || !memoryNow.current) return;
        sessionNow.current.newChat();
        navigate('/');
      }),
    [],
  );

  // Esc stops a streaming reply (unless a dialog is open: Esc is its own there).
  useEffect(() => {
    if (!session.busy) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape' || event.defaultPrevented || document.querySelector('dialog[open]') !== null) return;
      event.preventDefault();
      session.stop();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [session.busy]);

  // When a reply ends or a conversation is opened, the composer takes the focus back (the
  // Stop button it was on is gone), unless the user is elsewhere on purpose.
  useEffect(() => {
    if (session.busy || session.loading) return;
    const active = document.activeElement;
    if (active === null || active === document.body || active.closest('.chat-main') !== null) textarea.current?.focus();
  }, [session.busy, session.loading]);

  // The narrow screen's conversation panel: focus goes into it, Esc closes it and returns.
  useEffect(() => {
    if (!sidebarOpen) return;
    document.querySelector<HTMLInputElement>(`#${SIDEBAR_ID} .sidebar-search`)?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape' || document.querySelector('dialog[open]') !== null) return;
      setSidebarOpen(false);
      sidebarToggle.current?.focus();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [sidebarOpen]);

  const startNewChat = () => {
    session.newChat();
    setSidebarOpen(false);
    if (routeId !== undefined) navigate('/');
    textarea.current?.focus();
  };

  const noModel = models.state.status === 'failed' || models.state.status === 'empty';
  const notices = [
    conversations.availability === 'failed' && conversations.error !== undefined
      ? { key: 'memory', title: 'Conversations are not kept now', error: conversations.error }
      : undefined,
    rag.error === undefined ? undefined : { key: 'rag', title: 'Documents are not available now', error: rag.error },
  ].filter((notice) => notice !== undefined && !dismissed.has(notice.key));

  return (
    <section class={`chat ${memory ? 'with-sidebar' : ''}`} aria-label="Chat">
      {memory ? (
        <>
          <ConversationSidebar
            id={SIDEBAR_ID}
            conversations={conversations}
            currentId={session.conversationId}
            open={sidebarOpen}
            onNewChat={startNewChat}
            onNavigate={() => setSidebarOpen(false)}
            onDeleted={(id) => {
              if (id === session.currentConversationId()) startNewChat();
            }}
          />
          {sidebarOpen ? (
            // A pointer's way to close; keys use Esc or the toggle.
            <div class="sidebar-backdrop" aria-hidden="true" onClick={() => setSidebarOpen(false)} />
          ) : null}
        </>
      ) : null}
      <div class="chat-main">
        <div class="chat-toolbar" role="toolbar" aria-label="Chat settings">
          {memory ? (
            <button
              ref={sidebarToggle}
              type="button"
              class="sidebar-toggle"
              aria-controls={SIDEBAR_ID}
              aria-expanded={sidebarOpen}
              onClick={() => setSidebarOpen(!sidebarOpen)}
            >
              <span aria-hidden="true">☰</span>
              <span class="visually-hidden">Conversations</span>
            </button>
          ) : null}
          <ModelPicker models={models} disabled={session.busy} />
          <span class="toolbar-spacer" />
          {rag.available ? (
            <button type="button" onClick={() => setUploading(true)}>
              Documents
            </button>
          ) : null}
          {/* On a phone the panel's own New chat button is enough when there is a panel. */}
          <button
            type="button"
            class={memory ? 'toolbar-new-chat in-panel-too' : 'toolbar-new-chat'}
            onClick={startNewChat}
            aria-label="Start a new chat"
          >
            New chat
          </button>
        </div>
        {notices.map((notice) =>
          notice === undefined ? null : (
            <div class="chat-notice" key={notice.key}>
              <ErrorBanner
                title={notice.title}
                error={notice.error}
                onDismiss={() => setDismissed(new Set([...dismissed, notice.key]))}
              />
            </div>
          ),
        )}
        <MessageList
          messages={session.messages}
          busy={session.busy}
          onRegenerate={session.regenerate}
          onResend={session.editAndResend}
        >
          {session.loading ? (
            <p class="muted chat-loading">Loading the conversation…</p>
          ) : session.loadError !== undefined ? (
            <ErrorBanner title="This conversation could not be opened" error={session.loadError}>
              <button type="button" onClick={startNewChat}>
                Start a new chat
              </button>
            </ErrorBanner>
          ) : noModel && models.state.status === 'failed' && isCredentialRefusal(models.state.httpStatus) ? (
            // Refused for want of a key: the models exist, the download offer would mislead.
            <ErrorBanner title="This server needs an API key" error={models.state.error}>
              <button
                type="button"
                onClick={() =>
                  askForCredential('apiKey', models.state.status === 'failed' ? models.state.error.message : '')
                }
              >
                Enter an API key
              </button>
            </ErrorBanner>
          ) : noModel ? (
            <FirstRun models={models} />
          ) : (
            <EmptyChat model={models.selected} memory={memory} documents={rag.available === true} />
          )}
        </MessageList>
        {noModel && session.messages.length > 0 && models.state.status === 'failed' ? (
          <div class="chat-notice">
            <ErrorBanner title="No model is available now" error={models.state.error}>
              <button type="button" onClick={() => void models.reload()}>
                Look again
              </button>
            </ErrorBanner>
          </div>
        ) : null}
        <Composer
          textarea={textarea}
          busy={session.busy}
          canSend={models.selected !== undefined && !session.loading}
          placeholder={noModel ? 'No model to send to yet' : 'Send a message'}
          onSend={(text, images) => {
            session.send(text, images);
            textarea.current?.focus();
          }}
          onStop={() => {
            session.stop();
            textarea.current?.focus();
          }}
        />
      </div>
      {uploading && rag.available ? <DocumentUpload rag={rag} onClose={() => setUploading(false)} /> : null}
    </section>
  );
}

/** A model list refused for want of a credential (401) or of a scope (403). */
function isCredentialRefusal(status: number): boolean {
  return status === 401 || status === 403;
}
