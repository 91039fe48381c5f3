import { useEffect, useRef, useState } from 'preact/hooks';
import type { ChatMessage } from './chat-types.ts';
import { CopyButton } from './copy-button.tsx';

/**
 * A message the user sent: its text as written (never rendered as Markdown or HTML), its
 * images, and Edit (change it and send again: what followed is dropped) and Copy.
 */
export function UserMessage(props: {
  readonly message: ChatMessage;
  readonly canEdit: boolean;
  readonly onResend: (text: string) => void;
}) {
  const { message } = props;
  const [editing, setEditing] = useState(false);
  return (
    <article class="message user" aria-label="You">
      <div class="message-body">
        {editing ? (
          <MessageEditor
            initial={message.content}
            onCancel={() => setEditing(false)}
            onSave={(text) => {
              setEditing(false);
              props.onResend(text);
            }}
          />
        ) : (
          <>
            {message.images === undefined ? null : (
              <div class="message-images">
                {message.images.map((src, index) => (
                  <img key={`${index}:${src.length}`} src={src} alt={`Attachment ${index + 1}`} />
                ))}
              </div>
            )}
            {message.content === '' ? null : <p class="user-text">{message.content}</p>}
          </>
        )}
      </div>
      {editing ? null : (
        <div class="message-actions">
          <button
            type="button"
            class="message-action"
            disabled={!props.canEdit}
            aria-label="Edit this message and send it again"
            onClick={() => setEditing(true)}
          >
            Edit
          </button>
          <CopyButton label="Copy this message" text={() => message.content} />
        </div>
      )}
    </article>
  );
}

/** Editing a sent message: Enter (or Save) sends it again, Esc cancels. */
function MessageEditor(props: {
  readonly initial: string;
  readonly onSave: (text: string) => void;
  readonly onCancel: () => void;
}) {
  const [text, setText] = useState(props.initial);
  const area = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    area.current?.focus();
    area.current?.setSelectionRange(props.initial.length, props.initial.length);
  }, [props.initial]);
  return (
    <form
      class="message-editor"
      onSubmit={(event) => {
        event.preventDefault();
        props.onSave(text);
      }}
    >
      <textarea
        ref={area}
        aria-label="Edit your message"
        rows={Math.min(10, Math.max(2, text.split('\n').length))}
        value={text}
        onInput={(event) => setText(event.currentTarget.value)}
        onKeyDown={(event) => {
          if (event.key === 'Escape') {
            event.preventDefault();
            event.stopPropagation();
            props.onCancel();
          } else if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
            event.preventDefault();
            props.onSave(text);
          }
        }}
      />
      <div class="message-editor-actions">
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" class="primary">
          Save and send
        </button>
      </div>
    </form>
  );
}
