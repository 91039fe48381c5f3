import { useEffect, useRef, useState } from 'preact/hooks';
import { copyText } from './copy-text.ts';

/** A Copy button that says "Copied" for a moment (and "Copy failed" when it could not). */
export function CopyButton(props: { readonly text: () => string; readonly label: string }) {
  const [said, setSaid] = useState<'Copied' | 'Copy failed' | undefined>();
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  return (
    <button
      type="button"
      class="message-action"
      aria-label={props.label}
      onClick={async () => {
        const copied = await copyText(props.text());
        setSaid(copied ? 'Copied' : 'Copy failed');
        clearTimeout(timer.current);
        timer.current = setTimeout(() => setSaid(undefined), 1500);
      }}
    >
      <span aria-live="polite">{said ?? 'Copy'}</span>
    </button>
  );
}
