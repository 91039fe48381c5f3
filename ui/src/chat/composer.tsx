import type { Ref } from 'preact';
import { useId, useState } from 'preact/hooks';
import { readImages } from './image-files.ts';
import './composer.css';

/**
 * Where the user writes: Enter sends, Shift+Enter starts a new line; images come from the
 * picker or a paste and are shown before sending; while a reply streams, Send becomes Stop
 * (Esc too, see chat-view.tsx).
 */
export function Composer(props: {
  readonly textarea: Ref<HTMLTextAreaElement>;
  readonly busy: boolean;
  readonly canSend: boolean;
  /** Why sending is not possible now, shown as the placeholder. */
  readonly placeholder: string;
  readonly onSend: (text: string, images: readonly string[]) => void;
  readonly onStop: () => void;
}) {
  const [text, setText] = useState('');
  const [images, setImages] = useState<readonly string[]>([]);
  const [refused, setRefused] = useState<readonly string[]>([]);
  const pickerId = useId();
  const ready = props.canSend && !props.busy && (text.trim() !== '' || images.length > 0);

  const addFiles = async (files: Iterable<File>) => {
    const read = await readImages(files);
    setImages((current) => [...current, ...read.images]);
    setRefused(read.refused);
  };
  const submit = () => {
    if (!ready) return;
    props.onSend(text, images);
    setText('');
    setImages([]);
    setRefused([]);
  };

  return (
    <form
      class="composer"
      aria-label="Write a message"
      onSubmit={(event) => {
        event.preventDefault();
        submit();
      }}
    >
      {images.length === 0 ? null : (
        <ul class="composer-images" aria-label="Images to send">
          {images.map((src, index) => (
            <li key={`${index}:${src.length}`}>
              <img src={src} alt={`Attachment ${index + 1}, not sent yet`} />
              <button
                type="button"
                class="composer-image-remove"
                aria-label={`Remove image ${index + 1}`}
                onClick={() => setImages(images.filter((_, at) => at !== index))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      {refused.length === 0 ? null : (
        <p class="banner warning composer-refused" role="alert">
          Not attached: {refused.join('; ')}.
        </p>
      )}
      <div class="composer-row">
        <label class="button-like composer-attach" for={pickerId} title="Attach images">
          <span aria-hidden="true">+</span>
          <span class="visually-hidden">Attach images</span>
        </label>
        <input
          id={pickerId}
          class="visually-hidden"
          type="file"
          accept="image/*"
          multiple
          onChange={(event) => {
            const input = event.currentTarget;
            void addFiles([...(input.files ?? [])]).finally(() => {
              input.value = '';
            });
          }}
        />
        <textarea
          ref={props.textarea}
          class="composer-input"
          aria-label="Message"
          placeholder={props.placeholder}
          rows={1}
          value={text}
          onInput={(event) => setText(event.currentTarget.value)}
          onKeyDown={(event) => {
            if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
              event.preventDefault();
              submit();
            }
          }}
          onPaste={(event) => {
            const files = [...(event.clipboardData?.files ?? [])].filter((file) => file.type.startsWith('image/'));
            if (files.length === 0) return;
            event.preventDefault();
            void addFiles(files);
          }}
        />
        {props.busy ? (
          <button type="button" class="composer-stop" onClick={props.onStop} aria-keyshortcuts="Escape">
            Stop
          </button>
        ) : (
          <button type="submit" class="primary composer-send" disabled={!ready}>
            Send
          </button>
        )}
      </div>
      <p class="composer-keys muted">Enter sends · Shift+Enter: new line · Esc stops a reply</p>
    </form>
  );
}
