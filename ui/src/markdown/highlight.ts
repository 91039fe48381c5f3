import type { HighlighterCore } from 'shiki/core';

/**
 * Code highlighting with Shiki's core, its JavaScript regex engine (no WASM) and a fixed set
 * of grammars bundled into one chunk of our own (./shiki-bundle.ts): nothing is fetched from
 * elsewhere, and the chunk loads the first time a reply holds a code block — the first page
 * load does not pay for it. A language outside the set is shown as plain text.
 *
 * @example
 * ```ts
 * const html = await highlightCode('const a = 1;', 'ts', 'dark');
 * ```
 */
export async function highlightCode(code: string, language: string, theme: 'light' | 'dark'): Promise<string> {
  const { highlighter, languageFor } = await loadBundle();
  return highlighter.codeToHtml(code, {
    lang: languageFor(language),
    theme: theme === 'dark' ? 'github-dark' : 'github-light',
  });
}

let bundle: Promise<{ highlighter: HighlighterCore; languageFor: (name: string) => string }> | undefined;

function loadBundle() {
  bundle ??= import('./shiki-bundle.ts').then(async (module) => ({
    highlighter: await module.createHighlighter(),
    languageFor: module.languageFor,
  }));
  return bundle;
}
