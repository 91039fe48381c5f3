import { type Detector, type Finding, pushMatches, type Span } from './types.ts';

/**
 * Credentials the secretlint preset does not look for in free text (its AWS key id rule is
 * off by default, it needs `sk-proj-…` keys in one exact shape, and it has no JWT rule), found
 * by their well-known prefixes. Each pattern is guarded so that it neither starts nor ends
 * inside a longer token.
 */
const PREFIXED: readonly RegExp[] = [
  // AWS access key ids (long-term AKIA, temporary ASIA …).
  /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Za-z0-9])/g,
  // JSON Web Tokens: base64url header and payload (both `{"…` → `eyJ`), and a signature.
  /(?<![\w-])eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}(?![\w-])/g,
  // OpenAI keys: sk-…, sk-proj-…, sk-svcacct-…, sk-admin-… (checked for mixed characters below).
  /(?<![\w-])sk-(?:proj-|svcacct-|admin-|ant-)?[A-Za-z0-9_-]{20,}(?![\w-])/g,
  // Stripe secret and restricted keys.
  /(?<![\w-])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}(?![\w-])/g,
  // GitHub tokens: classic (ghp_, OAuth gho_, user-to-server ghu_, server ghs_, refresh ghr_) and fine-grained.
  /(?<![\w-])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})(?![\w-])/g,
  // Slack tokens (bot, user, app, config, refresh) and incoming webhooks.
  /(?<![\w-])xox[abposre]-[A-Za-z0-9-]{10,}(?![\w-])/g,
  /https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9_/]{20,}/g,
  // Google API keys.
  /(?<![\w-])AIza[0-9A-Za-z_-]{35}(?![\w-])/g,
];

/**
 * PEM private key blocks, up to their END line — or, while it has not come, to the end of the
 * text: an unfinished block is still a key (and a stream holds it back until it ends).
 */
export const PRIVATE_KEY =
  /-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|$)/g;

/** A value that is all letters or all digits is a word or a number, not a key. */
const MIXED = /^(?=.*\d)(?=.*[A-Za-z])/;

/**
 * Secrets found by prefix, and private key blocks.
 *
 * @example prefixedSecretsDetector().find('key: ghp_…', out)
 */
export function prefixedSecretsDetector(): Detector {
  return {
    category: 'secret',
    find(text: string, out: Finding[]) {
      for (const pattern of PREFIXED) {
        pattern.lastIndex = 0;
        for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
          if (MIXED.test(match[0]))
            out.push({ start: match.index, end: match.index + match[0].length, category: 'secret' });
        }
      }
      if (!text.includes('-----BEGIN')) return;
      PRIVATE_KEY.lastIndex = 0;
      for (let match = PRIVATE_KEY.exec(text); match !== null; match = PRIVATE_KEY.exec(text)) {
        out.push({ start: match.index, end: match.index + match[0].length, category: 'secret' });
      }
    },
    candidates(text: string, out: Span[]) {
      for (const pattern of PREFIXED) pushMatches(pattern, text, out);
    },
  };
}

/**
 * Where an unfinished private key block starts in `text` (a BEGIN line with no END line after
 * it), or -1. A stream holds everything from there until the block ends.
 */
export function openPrivateKeyStart(text: string): number {
  const begin = text.lastIndexOf('-----BEGIN');
  if (begin < 0) return -1;
  PRIVATE_KEY.lastIndex = begin;
  const match = PRIVATE_KEY.exec(text);
  if (match === null || match.index !== begin) return -1;
  return match[0].includes('-----END', 10) ? -1 : begin;
}
