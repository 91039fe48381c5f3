import { useEffect, useRef, useState } from 'preact/hooks';
import { downloadBlob } from './download-file.ts';
import { type ConversationSummary, exportConversation } from './memory-api.ts';

/** The name a conversation is listed under: its title, else when it started. */
export function conversationLabel(conversation: ConversationSummary): string {
  if (conversation.title !== null && conversation.title.trim() !== '') return conversation.title;
  const started = new Date(conversation.created_at);
  return Number.isNaN(started.getTime()) ? 'New conversation' : `Conversation of ${started.toLocaleString()}`;
}

/**
 * One conversation of the sidebar: a link to it, and its actions — rename (in place), export
 * (JSON or Markdown, downloaded), delete (asks first, in place).
 */
export function ConversationRow(props: {
  readonly conversation: ConversationSummary;
  readonly current: boolean;
  readonly onOpen: () => void;
  readonly onRename: (title: string) => Promise<boolean>;
  readonly onDelete: () => Promise<boolean>;
  readonly onError: (error: unknown) => void;
}) {
  const { conversation } = props;
  const [mode, setMode] = useState<'idle' | 'menu' | 'rename' | 'confirm'>('idle');
  const label = conversationLabel(conversation);
  const menuButton = useRef<HTMLButtonElement>(null);

  const save = async (format: 'json' | 'markdown') => {
    setMode('idle');
    try {
      const file = await exportConversation(conversation.id, format);
      downloadBlob(file.blob, file.filename);
    } catch (error) {
      props.onError(error);
    }
  };

  if (mode === 'rename') {
    return (
      <li class="conversation-row editing">
        <RenameForm
          initial={conversation.title ?? ''}
          onCancel={() => {
            setMode('idle');
            menuButton.current?.focus();
          }}
          onSave={async (title) => {
            if (await props.onRename(title)) setMode('idle');
          }}
        />
      </li>
    );
  }
  if (mode === 'confirm') {
    return (
      <li class="conversation-row confirming">
        <p class="confirm-question" role="alert">
          Delete “{label}” and its messages?
        </p>
        <div class="row-actions">
          <ConfirmDelete onConfirm={props.onDelete} onCancel={() => setMode('idle')} />
        </div>
      </li>
    );
  }
  return (
    <li class={`conversation-row ${props.current ? 'current' : ''}`}>
      <a
        href={`#/c/${encodeURIComponent(conversation.id)}`}
        aria-current={props.current ? 'page' : undefined}
        onClick={props.onOpen}
        title={label}
      >
        {label}
      </a>
      <button
        ref={menuButton}
        type="button"
        class="row-menu-button"
        aria-expanded={mode === 'menu'}
        aria-label={`Actions for ${label}`}
        onClick={() => setMode(mode === 'menu' ? 'idle' : 'menu')}
      >
        ⋯
      </button>
      {mode === 'menu' ? (
        <div class="row-menu">
          <button type="button" onClick={() => setMode('rename')}>
            Rename
          </button>
          <button type="button" onClick={() => void save('json')}>
            Export JSON
          </button>
          <button type="button" onClick={() => void save('markdown')}>
            Export Markdown
          </button>
          <button type="button" class="danger" onClick={() => setMode('confirm')}>
            Delete
          </button>
        </div>
      ) : null}
    </li>
  );
}

function RenameForm(props: {
  readonly initial: string;
  readonly onSave: (title: string) => void;
  readonly onCancel: () => void;
}) {
  const [title, setTitle] = useState(props.initial);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.select(), []);
  return (
    <form
      class="rename-form"
      onSubmit={(event) => {
        event.preventDefault();
        if (title.trim() !== '') props.onSave(title.trim());
      }}
    >
      <input
        ref={input}
        aria-label="New title"
        maxLength={500}
        required
        value={title}
        onInput={(event) => setTitle(event.currentTarget.value)}
        onKeyDown={(event) => {
          if (event.key === 'Escape') {
            event.preventDefault();
            props.onCancel();
          }
        }}
      />
      <button type="submit" class="primary">
        Save
      </button>
      <button type="button" onClick={props.onCancel}>
        Cancel
      </button>
    </form>
  );
}

function ConfirmDelete(props: { readonly onConfirm: () => Promise<boolean>; readonly onCancel: () => void }) {
  const cancel = useRef<HTMLButtonElement>(null);
  const [busy, setBusy] = useState(false);
  // Focus on the safe choice: Enter right after does not delete.
  useEffect(() => cancel.current?.focus(), []);
  return (
    <>
      <button
        type="button"
        class="danger"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          if (!(await props.onConfirm())) {
            setBusy(false);
            props.onCancel();
          }
        }}
      >
        Delete
      </button>
      <button ref={cancel} type="button" onClick={props.onCancel}>
        Cancel
      </button>
    </>
  );
}
