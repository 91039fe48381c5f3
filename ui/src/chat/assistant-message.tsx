import type { ChatMessage } from './chat-types.ts';
import { CitationList } from './citation-list.tsx';
import { CopyButton } from './copy-button.tsx';
import { ErrorBanner } from './error-banner.tsx';
import { MarkdownView } from './markdown-view.tsx';
import { splitThinking } from './think-split.ts';
import { ThinkingBlock } from './thinking-block.tsx';
import { ToolActivity } from './tool-activity.tsx';

/**
 * A reply: its thinking (collapsed), its Markdown, the tools it used, its sources, and what
 * happened to it (stopped, failed with the server's words); Copy, and Regenerate on the last.
 */
export function AssistantMessage(props: {
  readonly message: ChatMessage;
  readonly isLast: boolean;
  readonly busy: boolean;
  readonly onRegenerate: () => void;
}) {
  const { message } = props;
  const status = message.status ?? 'done';
  const streaming = status === 'streaming';
  const split = splitThinking(message.content);
  const thinking = [message.thinking ?? '', split.thinking].filter((part) => part !== '').join('\n\n');
  const thinkingOngoing = streaming && (split.open || (split.answer === '' && (message.thinking ?? '') !== ''));
  const empty = split.answer === '' && thinking === '' && (message.toolCalls ?? []).length === 0;
  return (
    <article class={`message assistant ${status}`} aria-label="Assistant" aria-busy={streaming ? 'true' : undefined}>
      {message.model === undefined ? null : <p class="message-model muted">{message.model}</p>}
      {thinking === '' ? null : <ThinkingBlock text={thinking} ongoing={thinkingOngoing} />}
      {split.answer === '' ? null : <MarkdownView text={split.answer} complete={!streaming} />}
      {streaming && empty ? (
        <p class="typing">
          <span class="visually-hidden">The reply is on its way</span>
          <span class="dot" />
          <span class="dot" />
          <span class="dot" />
        </p>
      ) : null}
      {!streaming && empty && status === 'done' ? <p class="muted">(The model sent an empty reply.)</p> : null}
      <ToolActivity
        {...(message.toolCalls === undefined ? {} : { calls: message.toolCalls })}
        {...(message.toolRuns === undefined ? {} : { runs: message.toolRuns })}
      />
      {message.citations === undefined ? null : <CitationList citations={message.citations} />}
      {message.degraded === undefined ? null : (
        <p class="banner warning degraded">Served without: {message.degraded.join(', ')} (see the server's log).</p>
      )}
      {status === 'stopped' ? <p class="muted stopped-note">Stopped.</p> : null}
      {status === 'failed' && message.error !== undefined ? (
        <ErrorBanner title="The reply failed" error={message.error}>
          {props.isLast ? (
            <button type="button" onClick={props.onRegenerate} disabled={props.busy}>
              Try again
            </button>
          ) : null}
        </ErrorBanner>
      ) : null}
      {streaming ? null : (
        <div class="message-actions">
          {split.answer === '' ? null : <CopyButton label="Copy this reply" text={() => split.answer} />}
          {props.isLast && status !== 'failed' ? (
            <button
              type="button"
              class="message-action"
              disabled={props.busy}
              aria-label="Regenerate this reply"
              onClick={props.onRegenerate}
            >
              Regenerate
            </button>
          ) : null}
        </div>
      )}
    </article>
  );
}
