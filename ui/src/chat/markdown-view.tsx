import { useEffect, useLayoutEffect, useMemo, useRef } from 'preact/hooks';
import { codeOfCopyButton, decorateCodeBlocks, highlightCodeBlocks } from '../markdown/code-blocks.ts';
import { renderMarkdown } from '../markdown/render.ts';
import { copyText } from './copy-text.ts';

/**
 * A reply's Markdown, rendered inert (render.ts), its code blocks with a Copy button; the
 * code is highlighted once the text is `complete` — highlighting every streamed chunk would
 * redo the work per chunk and flicker.
 */
export function MarkdownView(props: { readonly text: string; readonly complete: boolean }) {
  const element = useRef<HTMLDivElement>(null);
  const html = useMemo(() => renderMarkdown(props.text), [props.text]);

  useLayoutEffect(() => {
    if (element.current !== null) decorateCodeBlocks(element.current);
  }, [html]);

  useEffect(() => {
    if (!props.complete || element.current === null) return;
    const controller = new AbortController();
    highlightCodeBlocks(element.current, controller.signal).catch(() => {
      // Not highlighted: the code stays readable as plain text.
    });
    return () => controller.abort();
  }, [html, props.complete]);

  return (
    // The HTML is sanitized by renderMarkdown (marked + DOMPurify, raw HTML escaped).
    // biome-ignore lint/a11y/useKeyWithClickEvents: the clicks come from the Copy buttons inside, which take keys themselves.
    // biome-ignore lint/a11y/noStaticElementInteractions: delegation of those buttons' clicks.
    <div
      ref={element}
      class="markdown"
      dangerouslySetInnerHTML={{ __html: html }}
      onClick={async (event) => {
        const button = (event.target as Element | null)?.closest('button[data-copy-code]');
        if (!(button instanceof HTMLButtonElement)) return;
        const copied = await copyText(codeOfCopyButton(button) ?? '');
        button.textContent = copied ? 'Copied' : 'Copy failed';
        setTimeout(() => {
          button.textContent = 'Copy';
        }, 1500);
      }}
    />
  );
}
