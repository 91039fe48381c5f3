import type { ComponentChildren } from 'preact';
import type { ErrorInfo } from './chat-types.ts';

/**
 * An error as the server put it: its message, then its hint (what to do), and the actions
 * the page offers (retry, dismiss). `role="alert"` so a screen reader says it at once.
 */
export function ErrorBanner(props: {
  readonly error: ErrorInfo;
  readonly title?: string;
  readonly onDismiss?: () => void;
  readonly children?: ComponentChildren;
}) {
  const { error } = props;
  return (
    <div class="banner error chat-error" role="alert">
      <div class="chat-error-text">
        {props.title === undefined ? null : <strong class="chat-error-title">{props.title}</strong>}
        <p class="chat-error-message">{error.message}</p>
        {error.hint === undefined ? null : <p class="chat-error-hint">{error.hint}</p>}
      </div>
      {props.children === undefined && props.onDismiss === undefined ? null : (
        <div class="chat-error-actions">
          {props.children}
          {props.onDismiss === undefined ? null : (
            <button type="button" onClick={props.onDismiss} aria-label="Dismiss this error">
              Dismiss
            </button>
          )}
        </div>
      )}
    </div>
  );
}
