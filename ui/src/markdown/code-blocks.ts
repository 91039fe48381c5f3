import { highlightTokens } from './highlight.ts';

/**
 * The code blocks of rendered Markdown (`<pre><code class="language-x">`) get a bar with
 * their language and a Copy button, and — once the message is complete — their highlighting.
 * Both work on the DOM the sanitized HTML made; the buttons are made here, after sanitizing
 * (the sanitizer drops any button of the reply itself).
 *
 * @example
 * ```ts
 * element.innerHTML = renderMarkdown(text);
 * decorateCodeBlocks(element);
 * await highlightCodeBlocks(element, signal);
 * ```
 */
export function decorateCodeBlocks(root: HTMLElement): void {
  for (const pre of root.querySelectorAll('pre')) {
    if (pre.parentElement?.classList.contains('code-block')) continue;
    const language = languageOf(pre.querySelector('code'));
    const block = document.createElement('div');
    block.className = 'code-block';
    const bar = document.createElement('div');
    bar.className = 'code-bar';
    const label = document.createElement('span');
    label.className = 'code-language';
    label.textContent = language === '' ? 'code' : language;
    const copy = document.createElement('button');
    copy.type = 'button';
    copy.className = 'code-copy';
    copy.dataset.copyCode = '';
    copy.textContent = 'Copy';
    copy.setAttribute('aria-label', `Copy ${language === '' ? 'code' : `${language} code`}`);
    bar.append(label, copy);
    pre.replaceWith(block);
    block.append(bar, pre);
  }
}

/** The code of the block a Copy button belongs to. */
export function codeOfCopyButton(button: Element): string | undefined {
  const code = button.closest('.code-block')?.querySelector('pre code, pre');
  return code?.textContent ?? undefined;
}

/**
 * Highlights every code block not yet highlighted. Tokens become spans whose colours are CSS
 * variables (`--hl-light`, `--hl-dark`), set through the CSSOM, which a CSP allows.
 */
export async function highlightCodeBlocks(root: HTMLElement, signal?: AbortSignal): Promise<void> {
  for (const code of root.querySelectorAll<HTMLElement>('pre > code')) {
    if (code.dataset.highlighted !== undefined) continue;
    const text = code.textContent ?? '';
    const lines = await highlightTokens(text.replace(/\n$/, ''), languageOf(code));
    if (signal?.aborted || !code.isConnected) return;
    const fragment = document.createDocumentFragment();
    lines.forEach((line, index) => {
      const row = document.createElement('span');
      row.className = 'line';
      for (const token of line) {
        const span = document.createElement('span');
        span.textContent = token.content;
        if (token.light.color !== undefined) span.style.setProperty('--hl-light', token.light.color);
        if (token.dark.color !== undefined) span.style.setProperty('--hl-dark', token.dark.color);
        const italic = ((token.light.fontStyle ?? 0) & 1) !== 0;
        const bold = ((token.light.fontStyle ?? 0) & 2) !== 0;
        if (italic) span.classList.add('hl-italic');
        if (bold) span.classList.add('hl-bold');
        row.append(span);
      }
      fragment.append(row);
      if (index < lines.length - 1) fragment.append('\n');
    });
    code.replaceChildren(fragment);
    code.dataset.highlighted = '';
    code.classList.add('highlighted');
  }
}

function languageOf(code: Element | null): string {
  const match = /(?:^|\s)language-([\w+#.-]+)/.exec(code?.className ?? '');
  return match?.[1] ?? '';
}
