import { ConversationRow } from './conversation-row.tsx';
import { ErrorBanner } from './error-banner.tsx';
import type { Conversations } from './use-conversations.ts';

/**
 * The conversations the memory plugin keeps: searchable, each renamed, exported or deleted
 * from its row; the list is read again after each reply, so a new chat and its title appear.
 * On a narrow screen it is a panel the chat's toolbar opens (`open`).
 */
export function ConversationSidebar(props: {
  readonly id: string;
  readonly conversations: Conversations;
  readonly currentId: string | undefined;
  readonly open: boolean;
  readonly onNewChat: () => void;
  /** A conversation was chosen (closes the panel on a narrow screen). */
  readonly onNavigate: () => void;
  readonly onDeleted: (id: string) => void;
}) {
  const { conversations } = props;
  return (
    <aside id={props.id} class={`chat-sidebar ${props.open ? 'open' : ''}`} aria-label="Conversations">
      <div class="sidebar-head">
        <h2>Conversations</h2>
        <button type="button" class="primary" onClick={props.onNewChat}>
          New chat
        </button>
      </div>
      <input
        type="search"
        class="sidebar-search"
        aria-label="Search conversations"
        placeholder="Search titles and messages"
        value={conversations.search}
        onInput={(event) => conversations.setSearch(event.currentTarget.value)}
      />
      {conversations.error === undefined ? null : (
        <ErrorBanner error={conversations.error} onDismiss={conversations.clearError} />
      )}
      {conversations.items.length === 0 ? (
        <p class="muted sidebar-empty">
          {conversations.search.trim() === '' ? 'No conversations yet.' : 'No conversation matches.'}
        </p>
      ) : (
        <ul class="conversation-list">
          {conversations.items.map((conversation) => (
            <ConversationRow
              key={conversation.id}
              conversation={conversation}
              current={conversation.id === props.currentId}
              onOpen={props.onNavigate}
              onRename={(title) => conversations.rename(conversation.id, title)}
              onDelete={async () => {
                const deleted = await conversations.remove(conversation.id);
                if (deleted) props.onDeleted(conversation.id);
                return deleted;
              }}
              onError={conversations.report}
            />
          ))}
        </ul>
      )}
      {conversations.hasMore ? (
        <button type="button" class="sidebar-more" onClick={() => void conversations.loadMore()}>
          Show more
        </button>
      ) : null}
    </aside>
  );
}
