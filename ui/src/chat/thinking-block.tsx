/**
 * A model's reasoning, collapsed: open it to read. While it streams the summary says so.
 */
export function ThinkingBlock(props: { readonly text: string; readonly ongoing: boolean }) {
  return (
    <details class="thinking">
      <summary>{props.ongoing ? 'Thinking…' : 'Thoughts'}</summary>
      <div class="thinking-text">{props.text}</div>
    </details>
  );
}
