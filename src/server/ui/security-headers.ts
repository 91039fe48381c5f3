/**
 * The headers of every response of the web UI (its page and its assets). The page runs only
 * its own scripts and styles, talks only to this server, and cannot be framed: an injected
 * `<script>`, a remote resource or clickjacking are refused by the browser itself.
 * `'unsafe-inline'` styles are allowed because Preact and the highlighter set `style`
 * attributes; scripts get no such leeway.
 */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

/** Security headers of the web UI's responses (see {@link UI_CONTENT_SECURITY_POLICY}). */
export const UI_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': UI_CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** `index.html` changes with every build: revalidate it each time. */
export const PAGE_CACHE_CONTROL = 'no-cache';

/** Hashed file names (`/ui/assets/index-3f9a1c.js`) never change content: cache them for a year. */
export const ASSET_CACHE_CONTROL = 'public, max-age=31536000, immutable';
