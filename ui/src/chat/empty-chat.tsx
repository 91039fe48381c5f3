/** What a new chat shows before its first message: the model, and what the page can do. */
export function EmptyChat(props: {
  readonly model: string | undefined;
  readonly memory: boolean;
  readonly documents: boolean;
}) {
  return (
    <div class="empty-chat">
      <h2>What can I help with?</h2>
      <p class="muted">
        {props.model === undefined ? (
          'Loading the models…'
        ) : (
          <>
            Talking to <code>{props.model}</code>.
          </>
        )}{' '}
        {props.memory
          ? 'This conversation is kept: find it in the list.'
          : 'Conversations are not kept after a reload.'}
        {props.documents ? ' Replies can draw on the documents you add.' : ''}
      </p>
    </div>
  );
}
