import DOMPurify from 'dompurify';
import { Marked } from 'marked';

/**
 * Model output is untrusted: Markdown becomes HTML here, and nothing of the reply may run.
 * Two layers, so that one mistake is not enough:
 * 1. raw HTML in the Markdown is shown as text, not parsed (`<img src=x onerror=…>` appears
 *    literally), because the renderer escapes every HTML token;
 * 2. the result goes through DOMPurify, which drops scripts, event handlers, `javascript:` and
 *    other unsafe URLs, forms and styles. Links open in a new tab with no opener or referrer.
 * The server's Content-Security-Policy (script-src 'self') is the third.
 *
 * @example
 * ```ts
 * element.innerHTML = renderMarkdown(reply); // safe: sanitized
 * ```
 */
export function renderMarkdown(markdown: string): string {
  const html = marked.parse(markdown) as string;
  return DOMPurify.sanitize(html, SANITIZE);
}

const marked = new Marked({
  gfm: true,
  async: false,
  renderer: {
    // Raw HTML blocks and inline tags of the reply: shown, never interpreted.
    html: ({ text }) => escapeHtml(text),
  },
});

const SANITIZE = {
  USE_PROFILE: { html: true },
  FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'object', 'embed', 'svg', 'math'],
  FORBID_ATTR: ['style', 'srcset', 'action', 'formaction'],
};

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer nofollow');
  }
  // Remote images would leak the reader's address to whoever the model names (and the CSP
  // refuses them anyway): keep only what is on this page.
  if (node.tagName === 'IMG') {
    const src = node.getAttribute('src') ?? '';
    if (!src.startsWith('data:image/') && !src.startsWith('blob:')) node.removeAttribute('src');
  }
});

/** Escapes text for HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
