import type { HighlighterCore } from 'shiki/core';

/**
 * Code highlighting with Shiki's core, its JavaScript regex engine (no WASM) and a fixed set
 * of grammars bundled into one chunk of our own (./shiki-bundle.ts): nothing is fetched from
 * elsewhere, and the chunk loads the first time a reply holds a code block — the first page
 * load does not pay for it. A language outside the set is shown as plain text.
 * Only tokens are handed out (highlightTokens), never an HTML string to put into the page.
 */

/** One token of a highlighted line: its text and its colour in each theme. */
export interface HighlightedToken {
  readonly content: string;
  readonly light: TokenLook;
  readonly dark: TokenLook;
}

export interface TokenLook {
  readonly color?: string;
  /** Shiki's FontStyle bits: 1 italic, 2 bold, 4 underline. */
  readonly fontStyle?: number;
}

/**
 * The code's tokens with both themes' colours, for building the DOM by hand (see
 * code-blocks.ts): no HTML string and no `style` attribute to parse, so a Content-Security-
 * Policy without `'unsafe-inline'` styles holds, and the colours follow the system's theme
 * through CSS variables without highlighting twice.
 *
 * @example
 * ```ts
 * const lines = await highlightTokens('const a = 1;', 'ts');
 * lines[0][0]; // { content: 'const', light: { color: '#D73A49' }, dark: { color: '#F97583' } }
 * ```
 */
export async function highlightTokens(code: string, language: string): Promise<HighlightedToken[][]> {
  const { highlighter, languageFor } = await loadBundle();
  const lines = highlighter.codeToTokensWithThemes(code, {
    lang: languageFor(language),
    themes: { light: 'github-light', dark: 'github-dark' },
  });
  return lines.map((line) =>
    line.map((token) => ({
      content: token.content,
      light: look(token.variants.light),
      dark: look(token.variants.dark),
    })),
  );
}

function look(style: { color?: string; fontStyle?: number } | undefined): TokenLook {
  return {
    ...(style?.color === undefined ? {} : { color: style.color }),
    ...(style?.fontStyle === undefined ? {} : { fontStyle: style.fontStyle }),
  };
}

let bundle: Promise<{ highlighter: HighlighterCore; languageFor: (name: string) => string }> | undefined;

function loadBundle() {
  bundle ??= import('./shiki-bundle.ts').then(async (module) => ({
    highlighter: await module.createHighlighter(),
    languageFor: module.languageFor,
  }));
  return bundle;
}
