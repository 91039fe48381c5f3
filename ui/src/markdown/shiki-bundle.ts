import bash from '@shikijs/langs/bash';
import c from '@shikijs/langs/c';
import css from '@shikijs/langs/css';
import diff from '@shikijs/langs/diff';
import go from '@shikijs/langs/go';
import html from '@shikijs/langs/html';
import java from '@shikijs/langs/java';
import javascript from '@shikijs/langs/javascript';
import json from '@shikijs/langs/json';
import markdown from '@shikijs/langs/markdown';
import python from '@shikijs/langs/python';
import rust from '@shikijs/langs/rust';
import sql from '@shikijs/langs/sql';
import tsx from '@shikijs/langs/tsx';
import typescript from '@shikijs/langs/typescript';
import yaml from '@shikijs/langs/yaml';
import githubDark from '@shikijs/themes/github-dark';
import githubLight from '@shikijs/themes/github-light';
import { createHighlighterCore, type HighlighterCore } from 'shiki/core';
import { createJavaScriptRegexEngine } from 'shiki/engine/javascript';

// The languages highlighted: imported statically, so the build holds exactly these (see
// highlight.ts for why they are a chunk of their own). Add one here and to ALIASES.
const LANGUAGES = [
  bash,
  c,
  css,
  diff,
  go,
  html,
  java,
  javascript,
  json,
  markdown,
  python,
  rust,
  sql,
  tsx,
  typescript,
  yaml,
];

const ALIASES: Readonly<Record<string, string>> = {
  sh: 'bash',
  shell: 'bash',
  zsh: 'bash',
  console: 'bash',
  js: 'javascript',
  jsx: 'javascript',
  mjs: 'javascript',
  ts: 'typescript',
  py: 'python',
  yml: 'yaml',
  md: 'markdown',
  rs: 'rust',
  golang: 'go',
  h: 'c',
  patch: 'diff',
};

const KNOWN = new Set([
  'bash',
  'c',
  'css',
  'diff',
  'go',
  'html',
  'java',
  'javascript',
  'json',
  'markdown',
  'python',
  'rust',
  'sql',
  'tsx',
  'typescript',
  'yaml',
]);

/** The highlighter, with every bundled grammar and both themes. */
export function createHighlighter(): Promise<HighlighterCore> {
  return createHighlighterCore({
    themes: [githubLight, githubDark],
    langs: LANGUAGES,
    engine: createJavaScriptRegexEngine({ forgiving: true }),
  });
}

/** The grammar for a fence's language name (`text` when it is not bundled). */
export function languageFor(name: string): string {
  const lower = name.trim().toLowerCase();
  const resolved = ALIASES[lower] ?? lower;
  return KNOWN.has(resolved) ? resolved : 'text';
}
