/** The chat page (placeholder until the chat lands). */
export function ChatView(_props: { readonly rest: readonly string[] }) {
  return <section aria-label="Chat">Chat</section>;
}
