import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useRef } from 'preact/hooks';
import { AssistantMessage } from './assistant-message.tsx';
import type { ChatMessage } from './chat-types.ts';
import { UserMessage } from './user-message.tsx';
import './messages.css';

/**
 * The conversation, as a log a screen reader follows politely (`role="log"`; busy while a
 * reply streams, so it is read once complete rather than word by word). Keeps the newest
 * message in view while the reader is at the bottom, and leaves the scroll alone when they
 * scrolled up to read.
 */
export function MessageList(props: {
  readonly messages: readonly ChatMessage[];
  readonly busy: boolean;
  readonly onRegenerate: () => void;
  readonly onResend: (messageId: string, text: string) => void;
  /** Shown when there is no message (the empty state, a loading note). */
  readonly children?: ComponentChildren;
}) {
  const list = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);

  useLayoutEffect(() => {
    const element = list.current;
    if (element !== null && atBottom.current) element.scrollTop = element.scrollHeight;
  }, [props.messages]);

  const last = props.messages.length - 1;
  return (
    <div
      ref={list}
      class="message-list"
      role="log"
      aria-live="polite"
      aria-label="Messages"
      aria-busy={props.busy ? 'true' : 'false'}
      // Focusable so that keyboard users can scroll it (a scrollable region must be reachable).
      // biome-ignore lint/a11y/noNoninteractiveTabindex: see above.
      tabIndex={0}
      onScroll={(event) => {
        const element = event.currentTarget;
        atBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < 48;
      }}
    >
      <div class="message-column">
        {props.messages.length === 0 ? props.children : null}
        {props.messages.map((message, index) =>
          message.role === 'user' ? (
            <UserMessage
              key={message.id}
              message={message}
              canEdit={!props.busy}
              onResend={(text) => props.onResend(message.id, text)}
            />
          ) : (
            <AssistantMessage
              key={message.id}
              message={message}
              isLast={index === last}
              busy={props.busy}
              onRegenerate={props.onRegenerate}
            />
          ),
        )}
      </div>
    </div>
  );
}
